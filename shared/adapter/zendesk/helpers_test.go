package zendesk_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
)

// appKey is the demo app's key for every sandbox of these tests: generating a 2048-bit
// key per test would dominate their run time.
var appKey = sync.OnceValue(zendesktest.GenerateKey)

// newServer starts a demo sandbox with no rate limits unless the test sets them.
func newServer(t testing.TB, opts zendesktest.Options) *zendesktest.Server {
	t.Helper()
	if opts.RateLimit == 0 {
		opts.RateLimit = -1
	}
	if opts.ExportRateLimit == 0 {
		opts.ExportRateLimit = -1
	}
	opts.AppKey = appKey()
	return zendesktest.NewServer(t, opts)
}

// clientWith returns a client of srv holding tok.
func clientWith(t testing.TB, srv *zendesktest.Server, tok *oauth2.Token, mod ...func(*zendesk.Options)) *zendesk.Client {
	t.Helper()
	opts := zendesk.Options{BaseURL: srv.URL, TokenSource: oauth2.StaticTokenSource(tok), HTTPClient: srv.Client()}
	for _, m := range mod {
		m(&opts)
	}
	c, err := zendesk.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// supportAs is how most tests here start: a sandbox (see newServer) with opts, the
// Support API client of the user with id, whom the test mostly acts as, and the
// test's context for the calls.
func supportAs(t *testing.T, opts zendesktest.Options, id int64) (context.Context, *zendesktest.Server, *zendesk.Client) {
	t.Helper()
	srv := newServer(t, opts)
	return t.Context(), srv, srv.SupportAPI(id)
}

// chatAs is supportAs for a test that acts through the Chat API.
func chatAs(t *testing.T, opts zendesktest.Options, id int64) (context.Context, *zendesktest.Server, *zendesk.Client) {
	t.Helper()
	srv := newServer(t, opts)
	return t.Context(), srv, srv.ChatAPI(id)
}

// wantPages fails the test unless srv was asked for the list at path (a GET,
// formatted with args) in exactly n pages since its calls were last reset: a list
// longer than a page must be read whole, and a page no more than once.
func wantPages(t *testing.T, srv *zendesktest.Server, n int, path string, args ...any) {
	t.Helper()
	call := "GET " + fmt.Sprintf(path, args...)
	if got := srv.CallCount(call); got != n {
		t.Errorf("%d calls of %s, want %d pages", got, call, n)
	}
}

// oauthSandbox is a sandbox (see newServer) for the tests of an OAuth flow: the flow's
// config on it (config is Server.SupportOAuthConfig or Server.ChatOAuthConfig), and a
// context whose oauth2 exchanges and refreshes go to the sandbox.
func oauthSandbox(t *testing.T, config func(*zendesktest.Server, string, ...string) *oauth2.Config, redirectURL string) (context.Context, *zendesktest.Server, *oauth2.Config) {
	t.Helper()
	srv := newServer(t, zendesktest.Options{})
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, srv.Client())
	return ctx, srv, config(srv, redirectURL)
}

// approved is the token of cfg's flow as the sandbox's approver grants it at once:
// the authorize page's code, exchanged.
func approved(ctx context.Context, t *testing.T, srv *zendesktest.Server, cfg *oauth2.Config) *oauth2.Token {
	t.Helper()
	q := srv.Authorize(t, cfg.AuthCodeURL("s"))
	tok, err := cfg.Exchange(ctx, q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
