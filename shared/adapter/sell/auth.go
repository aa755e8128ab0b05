package sell

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"golang.org/x/oauth2"
)

// OAuthConfig returns the OAuth2 configuration of a Sell app. baseURL is the
// API root (DefaultBaseURL in production, the sandbox URL locally). Sell
// authenticates clients at the token endpoint with HTTP Basic, so the auth
// style is fixed rather than auto-detected (auto-detection would send a failing
// request first on every exchange).
func OAuthConfig(baseURL, clientID, clientSecret, redirectURL string, scopes []string) *oauth2.Config {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	baseURL = strings.TrimRight(baseURL, "/")
	return &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		RedirectURL:  redirectURL,
		Scopes:       scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   baseURL + "/oauth2/authorize",
			TokenURL:  baseURL + "/oauth2/token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
	}
}

// PersistingTokenSource returns a token source for one stored Sell token. When
// the access token has expired (or Sell rejected it with a 401, see Client) it
// refreshes it exactly once however many goroutines ask at the same time, and
// hands the new token to save before returning it. Persisting matters because
// Sell rotates refresh tokens: a Lambda that refreshed without saving would
// leave the next one holding a dead refresh token.
//
// ctx is used for refresh requests and for save, so it should outlive single
// requests (context.Background(), optionally carrying oauth2.HTTPClient). If
// save fails the new token is still used in this process, the failure is
// logged, and saving is retried on the next call.
func PersistingTokenSource(ctx context.Context, cfg *oauth2.Config, tok *oauth2.Token, save func(context.Context, *oauth2.Token) error) oauth2.TokenSource {
	return &persistingSource{ctx: ctx, cfg: cfg, tok: tok, save: save}
}

type persistingSource struct {
	ctx  context.Context
	cfg  *oauth2.Config
	save func(context.Context, *oauth2.Token) error

	// mu is held across the refresh request so that concurrent callers wait
	// for the one refresh instead of each spending the refresh token.
	mu      sync.Mutex
	tok     *oauth2.Token
	unsaved bool
}

func (s *persistingSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.tok.Valid() {
		if s.unsaved {
			s.persist()
		}
		return s.tok, nil
	}
	if s.tok == nil || s.tok.RefreshToken == "" {
		return nil, fmt.Errorf("sell: token expired and no refresh token: %w", ErrUnauthorized)
	}
	// A token without an access token is always refreshed by oauth2's
	// refresher, which also keeps the old refresh token if none comes back.
	nt, err := s.cfg.TokenSource(s.ctx, &oauth2.Token{RefreshToken: s.tok.RefreshToken}).Token()
	if err != nil {
		return nil, fmt.Errorf("sell: refresh token: %w", err)
	}
	s.tok = nt
	s.unsaved = true
	s.persist()
	return s.tok, nil
}

func (s *persistingSource) persist() {
	if s.save == nil {
		s.unsaved = false
		return
	}
	if err := s.save(s.ctx, s.tok); err != nil {
		slog.WarnContext(s.ctx, "sell: persisting refreshed token failed; will retry", "error", err)
		return
	}
	s.unsaved = false
}

// invalidate forgets accessToken if it is still the current one, so the next
// Token call refreshes. Client calls it after a 401: Sell may revoke or expire
// a token before its stated expiry.
func (s *persistingSource) invalidate(accessToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != nil && s.tok.AccessToken == accessToken {
		t := *s.tok
		t.AccessToken = ""
		s.tok = &t
	}
}

// invalidator is implemented by token sources that can be told a token was
// rejected. It is unexported: only PersistingTokenSource qualifies.
type invalidator interface{ invalidate(accessToken string) }
