package zendesktest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/zendesk"
)

// Server is a Sandbox listening on a local port, like httptest.Server.
type Server struct {
	*Sandbox
	// URL is the base URL, e.g. http://127.0.0.1:41234: the client's BaseURL and, for
	// Chat OAuth, the stand-in for www.zopim.com.
	URL string
	hs  *httptest.Server
}

// NewServer starts a sandbox on 127.0.0.1 and closes it when the test ends.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	sb, err := Open(opts)
	if err != nil {
		t.Fatalf("zendesktest: %v", err)
	}
	hs := httptest.NewServer(sb)
	s := &Server{Sandbox: sb, URL: hs.URL, hs: hs}
	t.Cleanup(s.Close)
	return s
}

// Close releases held requests and shuts the server down.
func (s *Server) Close() {
	s.Sandbox.Close()
	s.hs.Close()
}

// Client returns an HTTP client for the server (no token handling).
func (s *Server) Client() *http.Client { return s.hs.Client() }

// SupportOAuthConfig is the sandbox's Support OAuth client at URL.
func (s *Server) SupportOAuthConfig(redirectURL string, scopes ...string) *oauth2.Config {
	return s.Sandbox.SupportOAuthConfig(s.URL, redirectURL, scopes...)
}

// ChatOAuthConfig is the sandbox's Chat API client at URL.
func (s *Server) ChatOAuthConfig(redirectURL string, scopes ...string) *oauth2.Config {
	return s.Sandbox.ChatOAuthConfig(s.URL, redirectURL, scopes...)
}

// Authorize plays the browser on an authorize URL of the sandbox (cfg.AuthCodeURL):
// it fetches the page, which approves at once, and returns the query of the redirect
// back: code and state, or error.
func (s *Server) Authorize(t testing.TB, authURL string) url.Values {
	t.Helper()
	hc := *s.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Get(authURL)
	if err != nil {
		t.Fatalf("zendesktest: authorize: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("zendesktest: authorize answered %d, not a redirect", resp.StatusCode)
	}
	return loc.Query()
}

// SupportAPI returns a zendesk client of the server with a fresh Support token of
// userID; ChatAPI one with a Chat token.
func (s *Server) SupportAPI(userID int64) *zendesk.Client { return s.api(s.SupportToken(userID)) }

// ChatAPI returns a zendesk client of the server with a fresh Chat token of userID.
func (s *Server) ChatAPI(userID int64) *zendesk.Client { return s.api(s.ChatToken(userID)) }

func (s *Server) api(tok *oauth2.Token) *zendesk.Client {
	c, err := zendesk.New(zendesk.Options{BaseURL: s.URL, TokenSource: oauth2.StaticTokenSource(tok), HTTPClient: s.Client()})
	if err != nil {
		panic("zendesktest: " + err.Error()) // cannot happen: URL is absolute
	}
	return c
}
