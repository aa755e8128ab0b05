package zendesktest

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/sandbox"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
)

// product tells Support's OAuth and tokens from the Chat API's: Zendesk keeps them
// apart (zendesk.SupportAndChatTokensAreSeparate).
type product string

const (
	support product = "support"
	chat    product = "chat"
)

// codeLifetime is how long an authorization code may be exchanged: "valid for 120
// seconds" (https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/);
// assumed the same for Chat.
const codeLifetime = 120 * time.Second

// A code or token is recorded as in every sandbox, with the product it is for: a
// Support code or token is no good for Chat.

type authCode struct {
	Product product `json:"product"`
	sandbox.Code
	Challenge string `json:"challenge,omitempty"` // PKCE S256 code_challenge
}

type accessToken struct {
	Product product `json:"product"`
	sandbox.AccessToken
}

type refreshToken struct {
	Product product `json:"product"`
	sandbox.Grant
}

// caller is the authenticated user of an API call.
type caller struct {
	user    zendesk.User
	owner   bool
	token   string
	scopes  []string
	product product
}

type callerKey struct{}

func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(callerKey{}).(caller)
	return c
}

// may reports whether the token carries scope, or "read"/"write" covering it
// (resource scopes look like "users:read").
func (c caller) may(scope string) bool {
	_, access, _ := strings.Cut(scope, ":")
	return slices.Contains(c.scopes, scope) || slices.Contains(c.scopes, access)
}

// productOf is the token product a path needs.
func productOf(path string) product {
	if strings.HasPrefix(path, "/api/v2/chat/") {
		return chat
	}
	return support
}

// authenticate finds the token's live user; a token of the other product is as good
// as none.
func (s *Sandbox) authenticate(r *http.Request) (caller, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return caller{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.st.Access[tok]
	if !ok || !s.now().Before(at.Expires) || (zendesk.SupportAndChatTokensAreSeparate && at.Product != productOf(r.URL.Path)) {
		return caller{}, false
	}
	u, ok := s.st.Users[at.User]
	if !ok || !u.Active || u.Suspended {
		return caller{}, false
	}
	return caller{user: *u, owner: u.ID == s.st.OwnerID, token: tok, scopes: at.Scopes, product: at.Product}, true
}

// clientOf returns the credentials of the product's OAuth client.
func (s *Sandbox) clientOf(p product) (id, secret string) {
	if p == chat {
		return s.opts.ChatClientID, s.opts.ChatClientSecret
	}
	return s.opts.SupportClientID, s.opts.SupportClientSecret
}

// authorize is the authorization page, which approves at once and redirects back
// with a code: as the user whose email is login_hint, else the one SetApprover chose,
// else the account owner. Support takes a PKCE S256 challenge; Chat needs the
// subdomain= of the integrated account and ignores PKCE, which it does not support.
func (s *Sandbox) authorize(p product) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if id, _ := s.clientOf(p); q.Get("client_id") != id {
			oauthError(w, http.StatusBadRequest, "invalid_client", "Unknown client_id.")
			return
		}
		redirect, err := url.Parse(q.Get("redirect_uri"))
		if err != nil || !redirect.IsAbs() {
			oauthError(w, http.StatusBadRequest, "invalid_request", "redirect_uri must be an absolute URL.")
			return
		}
		if p == chat && q.Get(zendesk.ChatSubdomainParameter) != s.opts.Subdomain {
			oauthError(w, http.StatusBadRequest, "invalid_request", "subdomain must name the integrated Zendesk account.")
			return
		}
		challenge, bad := pkceOf(p, q)
		switch {
		case q.Get("response_type") != "code":
			redirectBack(w, r, redirect, url.Values{"error": {"unsupported_response_type"}})
		case bad != "":
			redirectBack(w, r, redirect, url.Values{"error": {"invalid_request"}, "error_description": {bad}})
		default:
			code, ok := s.issueCode(p, q, redirect.String(), challenge)
			if !ok {
				redirectBack(w, r, redirect, url.Values{"error": {"access_denied"}, "error_description": {"The end-user or authorization server denied the request."}})
				return
			}
			redirectBack(w, r, redirect, url.Values{"code": {code}})
		}
	}
}

// redirectBack ends an authorize request: the browser goes back to the client's
// redirect URI with params added to its query, and the request's state (RFC 6749
// section 4.1.2).
func redirectBack(w http.ResponseWriter, r *http.Request, to *url.URL, params url.Values) {
	u := *to
	q := u.Query()
	maps.Copy(q, params)
	if st := r.URL.Query().Get("state"); st != "" {
		q.Set("state", st)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// pkceOf reads the PKCE parameters of a Support authorize request: no challenge, or
// one with method S256 (the only method Zendesk names). Chat ignores them.
func pkceOf(p product, q url.Values) (challenge, problem string) {
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case p == chat || challenge == "" && method == "":
		return "", ""
	case method != "S256":
		return "", "code_challenge_method must be S256."
	case len(challenge) != 43:
		return "", "code_challenge must be the base64url SHA-256 of the code_verifier."
	}
	return challenge, ""
}

// issueCode picks the approving user and records a code for them; false when the
// authorization is denied or nobody may approve.
func (s *Sandbox) issueCode(p product, q url.Values, redirect, challenge string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.Users[cmp.Or(s.approver, s.st.OwnerID)]
	if hint := q.Get("login_hint"); hint != "" {
		u = s.userByEmailLocked(hint)
	}
	// Only agents and admins have a Chat seat to grant.
	if s.deny || u == nil || !u.Active || u.Suspended || (p == chat && !u.IsStaff()) {
		return "", false
	}
	scopes := strings.Fields(q.Get("scope"))
	if len(scopes) == 0 {
		scopes = []string{"read"}
	}
	code := randomHex(32)
	s.st.Codes[code] = &authCode{Product: p, Challenge: challenge, Code: sandbox.Code{
		Grant: sandbox.Grant{User: u.ID, Scopes: scopes}, RedirectURI: redirect, Expires: s.now().Add(codeLifetime)}}
	return code, true
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// tokenParams reads a token request: JSON, as Zendesk documents for Support, or a
// form, as OAuth libraries send (zendesk.SupportTokenRequestsMayBeForms). Client
// credentials may also come as HTTP Basic.
func tokenParams(r *http.Request) (url.Values, bool) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	v := url.Values{}
	if ct == "application/json" {
		var m map[string]any
		if json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&m) != nil {
			return nil, false
		}
		for k, x := range m {
			switch x := x.(type) {
			case string:
				v.Set(k, x)
			case float64:
				v.Set(k, strconv.FormatFloat(x, 'f', -1, 64))
			}
		}
	} else {
		if r.ParseForm() != nil {
			return nil, false
		}
		v = r.PostForm
	}
	if id, secret, ok := r.BasicAuth(); ok {
		v.Set("client_id", id)
		v.Set("client_secret", secret)
	}
	return v, true
}

// tokenEndpoint exchanges codes (checking PKCE) and refresh tokens, rotating the
// latter (zendesk.RefreshTokensRotate).
func (s *Sandbox) tokenEndpoint(p product) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, ok := tokenParams(r)
		if !ok {
			oauthError(w, http.StatusBadRequest, "invalid_request", "Malformed body.")
			return
		}
		id, secret := s.clientOf(p)
		secretOK := subtle.ConstantTimeCompare([]byte(v.Get("client_secret")), []byte(secret)) == 1
		if v.Get("client_id") != id || (v.Get("client_secret") != "" && !secretOK) {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
			return
		}
		lifetime, ok := s.lifetimeOf(p, v.Get("expires_in"))
		if !ok {
			oauthError(w, http.StatusBadRequest, "invalid_request", "expires_in must be more than 300 and less than 172800.")
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		switch v.Get("grant_type") {
		case "authorization_code":
			s.exchangeCodeLocked(w, p, v, secretOK, lifetime)
		case "refresh_token":
			s.refreshLocked(w, p, v, lifetime)
		default:
			oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant_type.")
		}
	}
}

// lifetimeOf reads a Support request's expires_in; Chat ignores it.
func (s *Sandbox) lifetimeOf(p product, expiresIn string) (time.Duration, bool) {
	if p == chat || expiresIn == "" {
		return s.opts.TokenLifetime, true
	}
	secs, err := strconv.Atoi(expiresIn)
	d := time.Duration(secs) * time.Second
	return d, err == nil && d > zendesk.MinTokenLifetime && d < zendesk.MaxTokenLifetime
}

func (s *Sandbox) exchangeCodeLocked(w http.ResponseWriter, p product, v url.Values, secretOK bool, lifetime time.Duration) {
	ac, ok := s.st.Codes[v.Get("code")]
	delete(s.st.Codes, v.Get("code")) // single use, even when the exchange fails
	switch {
	case !ok || ac.Product != p || !s.now().Before(ac.Expires):
		oauthError(w, zendesk.TokenErrorStatus, "invalid_grant", "The authorization code is invalid or expired.")
	case v.Get("redirect_uri") != "" && v.Get("redirect_uri") != ac.RedirectURI:
		oauthError(w, zendesk.TokenErrorStatus, "invalid_grant", "redirect_uri does not match.")
	case ac.Challenge != "" && s256(v.Get("code_verifier")) != ac.Challenge:
		oauthError(w, zendesk.TokenErrorStatus, "invalid_grant", "The code_verifier does not match the code_challenge.")
	case ac.Challenge == "" && !secretOK:
		// Without PKCE only the client secret proves who is asking.
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
	default:
		s.writeToken(w, s.issueLocked(p, ac.Grant, lifetime))
	}
}

func (s *Sandbox) refreshLocked(w http.ResponseWriter, p product, v url.Values, lifetime time.Duration) {
	old := v.Get("refresh_token")
	rt, ok := s.st.Refresh[old]
	if !ok || rt.Product != p {
		oauthError(w, zendesk.TokenErrorStatus, "invalid_grant", "The refresh token is invalid.")
		return
	}
	if zendesk.RefreshTokensRotate {
		s.revokeLocked(old)
	}
	s.writeToken(w, s.issueLocked(p, rt.Grant, lifetime))
}

// s256 is PKCE's S256: base64url(SHA-256(verifier)) without padding (RFC 7636).
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// issueLocked mints an access token and its refresh token.
func (s *Sandbox) issueLocked(p product, g sandbox.Grant, lifetime time.Duration) *oauth2.Token {
	g.Scopes = slices.Clone(g.Scopes)
	refresh, access := randomHex(32), randomHex(32)
	exp := s.now().Add(lifetime)
	s.st.Refresh[refresh] = &refreshToken{Product: p, Grant: g}
	s.st.Access[access] = &accessToken{Product: p, AccessToken: sandbox.AccessToken{Grant: g, Expires: exp, Refresh: refresh}}
	t := &oauth2.Token{AccessToken: access, TokenType: "bearer", RefreshToken: refresh, Expiry: exp}
	return t.WithExtra(map[string]any{"scope": strings.Join(g.Scopes, " "), "expires_in": int(lifetime.Seconds())})
}

func (s *Sandbox) writeToken(w http.ResponseWriter, t *oauth2.Token) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": t.AccessToken, "token_type": "bearer", "refresh_token": t.RefreshToken,
		"scope": t.Extra("scope"), "expires_in": t.Extra("expires_in"),
	})
}

// revokeLocked revokes an access token, or a refresh token with the access tokens
// issued alongside it.
func (s *Sandbox) revokeLocked(token string) {
	delete(s.st.Access, token)
	if _, ok := s.st.Refresh[token]; !ok {
		return
	}
	delete(s.st.Refresh, token)
	for k, at := range s.st.Access {
		if at.Refresh == token {
			delete(s.st.Access, k)
		}
	}
}

// SupportToken mints a Support token for a user as if they had gone through OAuth;
// scopes default to "read". It panics when the user does not exist: a test helper.
func (s *Sandbox) SupportToken(userID int64, scopes ...string) *oauth2.Token {
	return s.tokenFor(support, userID, scopes)
}

// ChatToken mints a Chat API token for a user, like SupportToken.
func (s *Sandbox) ChatToken(userID int64, scopes ...string) *oauth2.Token {
	return s.tokenFor(chat, userID, scopes)
}

func (s *Sandbox) tokenFor(p product, userID int64, scopes []string) *oauth2.Token {
	defer s.changed()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.Users[userID] == nil {
		panic("zendesktest: no user " + strconv.FormatInt(userID, 10))
	}
	if len(scopes) == 0 {
		scopes = []string{"read"}
	}
	return s.issueLocked(p, sandbox.Grant{User: userID, Scopes: scopes}, s.opts.TokenLifetime)
}

// ExpireToken makes an access token expired; its refresh token still works.
func (s *Sandbox) ExpireToken(accessToken string) {
	defer s.changed()
	s.mu.Lock()
	defer s.mu.Unlock()
	if at, ok := s.st.Access[accessToken]; ok {
		at.Expires = time.Time{}
	}
}

// RevokeToken revokes an access token, or a refresh token and its access tokens, as
// an admin removing the app's access would.
func (s *Sandbox) RevokeToken(token string) {
	defer s.changed()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokeLocked(token)
}

// SetApprover makes the authorize pages approve as that user (0: the account owner)
// when the request has no login_hint. Sandbox only: Zendesk approves as whoever is
// signed in.
func (s *Sandbox) SetApprover(userID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.approver = userID
}

// DenyAuthorization makes the authorize pages answer access_denied, as when the user
// clicks "Deny".
func (s *Sandbox) DenyAuthorization(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deny = deny
}

// SupportOAuthConfig is the configuration of the sandbox's Support OAuth client for a
// sandbox served at baseURL.
func (s *Sandbox) SupportOAuthConfig(baseURL, redirectURL string, scopes ...string) *oauth2.Config {
	return zendesk.SupportOAuthConfig(baseURL, s.opts.SupportClientID, s.opts.SupportClientSecret, redirectURL, scopes)
}

// ChatOAuthConfig is the configuration of the sandbox's Chat API client for a sandbox
// served at baseURL, which stands in for www.zopim.com too.
func (s *Sandbox) ChatOAuthConfig(baseURL, redirectURL string, scopes ...string) *oauth2.Config {
	return zendesk.ChatOAuthConfig(baseURL, s.opts.Subdomain, s.opts.ChatClientID, s.opts.ChatClientSecret, redirectURL, scopes)
}

func (s *Sandbox) userByEmailLocked(email string) *zendesk.User {
	for _, u := range s.st.Users {
		if strings.EqualFold(u.Email, strings.TrimSpace(email)) {
			return u
		}
	}
	return nil
}
