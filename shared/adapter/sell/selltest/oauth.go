package selltest

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/sandbox"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/internal/wire"
)

// caller is the authenticated user of an API request.
type caller struct {
	user   int64
	admin  bool
	token  string
	scopes map[string]bool
}

type callerKey struct{}

func withCaller(ctx context.Context, c caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(callerKey{}).(caller)
	return c
}

func (s *Sandbox) authenticate(r *http.Request) (caller, bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return caller{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.access[tok]
	if !ok || !s.opts.Now().Before(at.Expires) {
		return caller{}, false
	}
	u, ok := s.users[at.User]
	if !ok || !u.IsActive() {
		return caller{}, false
	}
	c := caller{user: u.ID, admin: u.IsAdmin(), token: tok, scopes: map[string]bool{}}
	for _, sc := range at.Scopes {
		c.scopes[sc] = true
	}
	return c, true
}

// authorize approves at once: as the user whose email is login_hint, or as
// the first admin. It denies (error=access_denied) when DenyAuthorization is
// on or login_hint names no active, real user.
func (s *Sandbox) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != s.opts.ClientID {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_client", "error_description": "unknown client_id"})
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || !redirect.IsAbs() {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "redirect_uri must be an absolute URL"})
		return
	}
	back := func(params url.Values) {
		if st := q.Get("state"); st != "" {
			params.Set("state", st)
		}
		u := *redirect
		rq := u.Query()
		for k, v := range params {
			rq[k] = v
		}
		u.RawQuery = rq.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	if q.Get("response_type") != "code" {
		back(url.Values{"error": {"unsupported_response_type"}})
		return
	}
	scopes := wire.DefaultScopes
	if sc := strings.Fields(q.Get("scope")); len(sc) > 0 {
		scopes = sc
	}
	s.mu.Lock()
	var user *sell.User
	if hint := q.Get("login_hint"); hint != "" {
		user = s.userByEmailLocked(hint)
	} else {
		user = s.firstAdminLocked()
	}
	if s.deny || user == nil || !user.IsActive() || s.pools[user.ID] != nil {
		s.mu.Unlock()
		back(url.Values{"error": {"access_denied"}, "error_description": {"The user denied access."}})
		return
	}
	code := randomToken()
	s.codes[code] = &sandbox.Code{Grant: sandbox.Grant{User: user.ID, Scopes: scopes}, RedirectURI: redirect.String(),
		Expires: s.opts.Now().Add(10 * time.Minute)}
	s.mu.Unlock()
	back(url.Values{"code": {code}})
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// tokenEndpoint implements the authorization_code and refresh_token grants
// with HTTP Basic client authentication.
func (s *Sandbox) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(id), []byte(s.opts.ClientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="sell"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Malformed body.")
		return
	}
	grant := r.PostForm.Get("grant_type")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grants[grant]++
	switch grant {
	case "authorization_code":
		code := r.PostForm.Get("code")
		ac, ok := s.codes[code]
		delete(s.codes, code) // single use, even when the exchange fails
		if !ok || !s.opts.Now().Before(ac.Expires) {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "The authorization code is invalid or expired.")
			return
		}
		if ru := r.PostForm.Get("redirect_uri"); ru != "" && ru != ac.RedirectURI {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match.")
			return
		}
		s.writeToken(w, s.issueLocked(ac.Grant, ""))
	case "refresh_token":
		old := r.PostForm.Get("refresh_token")
		rt, ok := s.refresh[old]
		if !ok {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "The refresh token is invalid.")
			return
		}
		keep := old
		if !s.opts.KeepRefreshTokens {
			delete(s.refresh, old)
			keep = ""
		}
		s.writeToken(w, s.issueLocked(*rt, keep))
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant_type.")
	}
}

// issueLocked mints an access token, with a new refresh token unless
// refresh names one to keep.
func (s *Sandbox) issueLocked(g sandbox.Grant, refresh string) *oauth2.Token {
	g.Scopes = slices.Clone(g.Scopes)
	if refresh == "" {
		refresh = randomToken()
		s.refresh[refresh] = &g
	}
	access := randomToken()
	exp := s.opts.Now().Add(s.opts.TokenLifetime)
	s.access[access] = &sandbox.AccessToken{Grant: g, Expires: exp, Refresh: refresh}
	t := &oauth2.Token{AccessToken: access, TokenType: "Bearer", RefreshToken: refresh, Expiry: exp}
	return t.WithExtra(map[string]any{"scope": strings.Join(g.Scopes, " ")})
}

func (s *Sandbox) writeToken(w http.ResponseWriter, t *oauth2.Token) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  t.AccessToken,
		"token_type":    "bearer",
		"expires_in":    int(s.opts.TokenLifetime.Seconds()),
		"refresh_token": t.RefreshToken,
		"scope":         t.Extra("scope"),
	})
}

// TokenFor mints a token for the user with that email, as if they had gone
// through OAuth with the default scopes (read, write, profile). Pass scopes
// to narrow them. It panics when no such user exists: it is a test helper.
func (s *Sandbox) TokenFor(email string, scopes ...string) *oauth2.Token {
	defer s.changed()
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByEmailLocked(email)
	if u == nil {
		panic("selltest: TokenFor: no user with email " + email)
	}
	if len(scopes) == 0 {
		scopes = wire.DefaultScopes
	}
	return s.issueLocked(sandbox.Grant{User: u.ID, Scopes: scopes}, "")
}

// ExpireToken makes an access token expired (the refresh token still
// works), as happens to a Lambda holding a token for more than an hour.
func (s *Sandbox) ExpireToken(accessToken string) {
	defer s.changed()
	s.mu.Lock()
	defer s.mu.Unlock()
	if at, ok := s.access[accessToken]; ok {
		at.Expires = time.Time{}
	}
}

// RevokeToken revokes an access or refresh token. Revoking a refresh token
// also revokes the access tokens issued with it, like an app being
// disconnected in Sell's settings.
func (s *Sandbox) RevokeToken(token string) {
	defer s.changed()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.access[token]; ok {
		delete(s.access, token)
		return
	}
	if _, ok := s.refresh[token]; ok {
		delete(s.refresh, token)
		for k, at := range s.access {
			if at.Refresh == token {
				delete(s.access, k)
			}
		}
	}
}

// RevokeUser revokes every token of the user with that email.
func (s *Sandbox) RevokeUser(email string) {
	defer s.changed()
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByEmailLocked(email)
	if u == nil {
		return
	}
	for k, at := range s.access {
		if at.User == u.ID {
			delete(s.access, k)
		}
	}
	for k, rt := range s.refresh {
		if rt.User == u.ID {
			delete(s.refresh, k)
		}
	}
}

// DenyAuthorization makes the authorize endpoint answer access_denied, as
// when a user clicks "Deny".
func (s *Sandbox) DenyAuthorization(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deny = deny
}

// Grants returns how many token requests used grant_type (e.g.
// "refresh_token"), failed ones included.
func (s *Sandbox) Grants(grantType string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants[grantType]
}

// OAuthConfig returns the client configuration of the sandbox's OAuth app
// for a sandbox served at baseURL.
func (s *Sandbox) OAuthConfig(baseURL, redirectURL string, scopes ...string) *oauth2.Config {
	return sell.OAuthConfig(baseURL, s.opts.ClientID, s.opts.ClientSecret, redirectURL, scopes)
}

func (s *Sandbox) userByEmailLocked(email string) *sell.User {
	email = strings.ToLower(strings.TrimSpace(email))
	for _, u := range s.users {
		if strings.ToLower(u.Email) == email {
			return u
		}
	}
	return nil
}

func (s *Sandbox) firstAdminLocked() *sell.User {
	var best *sell.User
	for _, u := range s.users {
		if u.IsAdmin() && u.IsActive() && (best == nil || u.ID < best.ID) {
			best = u
		}
	}
	return best
}
