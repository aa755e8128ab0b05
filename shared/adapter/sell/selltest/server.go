package selltest

import (
	"net/http"
	"net/http/httptest"

	"golang.org/x/oauth2"
)

// Server is a Sandbox listening on a local port, like httptest.Server.
type Server struct {
	*Sandbox
	// URL is the base URL, e.g. http://127.0.0.1:41234, to use as the
	// client's BaseURL.
	URL string
	hs  *httptest.Server
}

// NewServer starts a sandbox on 127.0.0.1. Close it when done (t.Cleanup).
func NewServer(opts Options) *Server {
	sb := New(opts)
	hs := httptest.NewServer(sb)
	return &Server{Sandbox: sb, URL: hs.URL, hs: hs}
}

// Close releases hanging requests and shuts the server down.
func (s *Server) Close() {
	s.Sandbox.Close()
	s.hs.Close()
}

// Client returns an HTTP client for the server (no token handling).
func (s *Server) Client() *http.Client { return s.hs.Client() }

// OAuthConfig returns the configuration of the sandbox's OAuth app at URL.
func (s *Server) OAuthConfig(redirectURL string, scopes ...string) *oauth2.Config {
	return s.Sandbox.OAuthConfig(s.URL, redirectURL, scopes...)
}
