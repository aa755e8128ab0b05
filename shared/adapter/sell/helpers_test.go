package sell_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/sandbox"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
)

// visitor is a lookup as the functions make it, phones read by shared/adapter/phone.
func visitor(email, number string) sell.Visitor {
	return sell.Visitor{Email: email, Phone: number, ReadPhone: phone.E164}
}

// newServer starts a demo-seeded sandbox without its rate limit unless the
// test sets one, since most tests make bursts of calls.
func newServer(t testing.TB, opts selltest.Options) *selltest.Server {
	t.Helper()
	if opts.RateLimit == 0 {
		opts.RateLimit = -1
	}
	srv := selltest.NewServer(opts)
	t.Cleanup(srv.Close)
	return srv
}

// sleeps records the waits a client asked for instead of waiting.
type sleeps struct {
	mu    sync.Mutex
	waits []time.Duration
	then  func(time.Duration)
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	then := s.then
	s.mu.Unlock()
	if then != nil {
		then(d)
	}
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// newClient returns a client of srv for ts with test-friendly defaults: no
// client-side rate limit, a private cache, recorded instead of real sleeps.
func newClient(t testing.TB, srv *selltest.Server, ts oauth2.TokenSource, mod ...func(*sell.Options)) (*sell.Client, *sleeps) {
	t.Helper()
	sl := &sleeps{}
	opts := sell.Options{
		BaseURL:     srv.URL,
		TokenSource: ts,
		Limiters:    sell.NewLimiters(0, 1),
		Cache:       sell.NewCache(time.Minute, nil),
		Sleep:       sl.sleep,
		Backoff:     func(int) time.Duration { return time.Millisecond },
	}
	for _, m := range mod {
		m(&opts)
	}
	c, err := sell.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, sl
}

// clientFor returns a client using a static token of the user with email.
func clientFor(t testing.TB, srv *selltest.Server, email string, mod ...func(*sell.Options)) *sell.Client {
	t.Helper()
	c, _ := newClient(t, srv, oauth2.StaticTokenSource(srv.TokenFor(email)), mod...)
	return c
}

// adminClient starts a demo sandbox, as newServer does, and returns it with a
// client of its admin.
func adminClient(t testing.TB) (*selltest.Server, *sell.Client) {
	t.Helper()
	srv := newServer(t, selltest.Options{})
	return srv, clientFor(t, srv, selltest.DemoAdminEmail)
}

// newFakeClock returns a settable clock for a sandbox and a client to share.
func newFakeClock() *sandbox.Clock {
	return sandbox.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
}
