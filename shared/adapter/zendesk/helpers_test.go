package zendesk_test

import (
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
