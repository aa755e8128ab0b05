package sell_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// authorize runs the browser half of OAuth against the sandbox and returns
// the redirect's query.
func authorize(t *testing.T, srv *selltest.Server, cfg *oauth2.Config, opts ...oauth2.AuthCodeOption) url.Values {
	t.Helper()
	status, loc := apptest.Redirect(t, cfg.AuthCodeURL("state-123", opts...))
	if status != http.StatusFound {
		t.Fatalf("authorize status %d", status)
	}
	return loc.Query()
}

func TestOAuthFlow(t *testing.T) {
	t.Parallel()
	srv := newServer(t, selltest.Options{})
	cfg := srv.OAuthConfig("http://localhost:8080/oauth/callback")
	ctx := context.Background()

	tests := []struct {
		name   string
		opts   []oauth2.AuthCodeOption
		wantID int64
	}{
		{"without a login hint the sandbox admin approves", nil, selltest.DemoAdminID},
		{"a login hint approves as that user", []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("login_hint", selltest.DemoRitaEmail)}, selltest.DemoRitaID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := authorize(t, srv, cfg, tt.opts...)
			if q.Get("state") != "state-123" || q.Get("code") == "" {
				t.Fatalf("redirect query = %v", q)
			}
			tok, err := cfg.Exchange(ctx, q.Get("code"))
			if err != nil {
				t.Fatal(err)
			}
			if tok.RefreshToken == "" || len(tok.AccessToken) != 64 || time.Until(tok.Expiry) < 50*time.Minute {
				t.Errorf("token = %+v", tok)
			}
			c, _ := newClient(t, srv, oauth2.StaticTokenSource(tok))
			u, err := c.Self(ctx)
			if err != nil || u.ID != tt.wantID {
				t.Fatalf("Self = %+v, %v", u, err)
			}
			if _, err := cfg.Exchange(ctx, q.Get("code")); err == nil {
				t.Errorf("a code was accepted twice")
			}
		})
	}
	t.Run("an unknown login hint is denied", func(t *testing.T) {
		q := authorize(t, srv, cfg, oauth2.SetAuthURLParam("login_hint", "stranger@example.com"))
		if q.Get("error") != "access_denied" || q.Get("state") != "state-123" {
			t.Fatalf("redirect query = %v", q)
		}
	})
	t.Run("a pool phantom cannot sign in", func(t *testing.T) {
		q := authorize(t, srv, cfg, oauth2.SetAuthURLParam("login_hint", "pool-inbound@example.com"))
		if q.Get("error") != "access_denied" {
			t.Fatalf("redirect query = %v", q)
		}
	})
	t.Run("a wrong client secret is refused", func(t *testing.T) {
		q := authorize(t, srv, cfg)
		bad := *cfg
		bad.ClientSecret = "nope"
		_, err := bad.Exchange(ctx, q.Get("code"))
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestPersistingTokenSource(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("an expired token is refreshed once for 50 parallel lookups", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, selltest.Options{})
		tok := srv.TokenFor(selltest.DemoAdminEmail)
		tok.Expiry = time.Now().Add(-time.Minute)
		var saved atomic.Int32
		var last atomic.Pointer[oauth2.Token]
		ts := sell.PersistingTokenSource(ctx, srv.OAuthConfig(""), tok, func(_ context.Context, nt *oauth2.Token) error {
			saved.Add(1)
			last.Store(nt)
			return nil
		})
		c, _ := newClient(t, srv, ts)
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if _, err := c.Find(ctx, visitor(selltest.DemoVeraEmail, "+14155550100")); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := srv.Grants("refresh_token"); n != 1 {
			t.Errorf("refresh grants = %d, want 1", n)
		}
		if saved.Load() != 1 || last.Load() == nil || last.Load().RefreshToken == tok.RefreshToken {
			t.Errorf("saved %d times; the rotated refresh token must be persisted", saved.Load())
		}
	})
	t.Run("a token Sell rejects is refreshed and the call retried once", func(t *testing.T) {
		t.Parallel()
		srv, tok, c := refreshingAdmin(t, ctx)
		srv.ExpireToken(tok.AccessToken)
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if _, err := c.Lead(ctx, selltest.DemoVeraLeadID); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := srv.Grants("refresh_token"); n != 1 {
			t.Errorf("refresh grants = %d, want 1", n)
		}
	})
	t.Run("a revoked grant surfaces as ErrUnauthorized", func(t *testing.T) {
		t.Parallel()
		srv, tok, c := refreshingAdmin(t, ctx)
		srv.RevokeToken(tok.RefreshToken)
		_, err := c.Self(ctx)
		if !errors.Is(err, sell.ErrUnauthorized) {
			t.Fatalf("err = %v, want ErrUnauthorized", err)
		}
		if n := srv.Calls("GET /v2/users/self"); n != 1 {
			t.Errorf("calls = %d, want 1 (no retry after the failed refresh)", n)
		}
	})
	t.Run("a static token Sell rejects is ErrUnauthorized without retry", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, selltest.Options{})
		tok := srv.TokenFor(selltest.DemoAdminEmail)
		c, _ := newClient(t, srv, oauth2.StaticTokenSource(tok))
		srv.RevokeToken(tok.AccessToken)
		if _, err := c.Self(ctx); !errors.Is(err, sell.ErrUnauthorized) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a failed save is retried on the next call", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, selltest.Options{})
		tok := srv.TokenFor(selltest.DemoAdminEmail)
		tok.AccessToken = ""
		var calls atomic.Int32
		ts := sell.PersistingTokenSource(ctx, srv.OAuthConfig(""), tok, func(context.Context, *oauth2.Token) error {
			if calls.Add(1) == 1 {
				return errors.New("store down")
			}
			return nil
		})
		for range 3 {
			if _, err := ts.Token(); err != nil {
				t.Fatal(err)
			}
		}
		if calls.Load() != 2 || srv.Grants("refresh_token") != 1 {
			t.Errorf("save calls = %d, refreshes = %d; want 2 and 1", calls.Load(), srv.Grants("refresh_token"))
		}
	})
	t.Run("the old refresh token stops working after rotation", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, selltest.Options{})
		tok := srv.TokenFor(selltest.DemoAdminEmail)
		cfg := srv.OAuthConfig("")
		if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
			t.Fatal(err)
		}
		_, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("err = %v, want invalid_grant", err)
		}
	})
}

// refreshingAdmin starts a sandbox and a client of its admin whose token source
// refreshes a token Sell rejects (and saves the new one nowhere).
func refreshingAdmin(t *testing.T, ctx context.Context) (*selltest.Server, *oauth2.Token, *sell.Client) {
	t.Helper()
	srv := newServer(t, selltest.Options{})
	tok := srv.TokenFor(selltest.DemoAdminEmail)
	c, _ := newClient(t, srv, sell.PersistingTokenSource(ctx, srv.OAuthConfig(""), tok, nil))
	return srv, tok, c
}
