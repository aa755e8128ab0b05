// Package auth verifies who is calling: the RS256 JWTs that the Zendesk apps framework
// signs for its iframes (and, locally, that the gateway's /dev/token signs), turned into
// an Identity with an account, a user and a role.
package auth

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// Role is the caller's Zendesk role.
type Role string

// Roles, from most to least privileged.
const (
	RoleOwner Role = "owner"
	RoleAdmin Role = "admin"
	RoleAgent Role = "agent"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool { return r == RoleOwner || r == RoleAdmin || r == RoleAgent }

// Identity is the verified caller.
type Identity struct {
	Account string // Zendesk subdomain, e.g. "acme"
	UserID  string // Zendesk user id
	Email   string
	Name    string
	Role    Role
	Chat    ChatFacts // what the apps framework says of the Chat account, for install checks
}

// ChatFacts are facts about the caller's Chat and Support accounts that only the apps
// framework's token carries (Sell can be asked about Sell; nobody we can call can be
// asked about Chat's plan). Zero values mean "not told".
type ChatFacts struct {
	Phase       int    `json:"chat_phase,omitempty"`   // 3 or 4 are supported
	Plan        string `json:"chat_plan,omitempty"`    // lite, team, professional, enterprise…
	Role        string `json:"chat_role,omitempty"`    // owner, admin or agent in Chat
	SupportRole string `json:"support_role,omitempty"` // admin, agent… in Support
}

// IsAdmin reports whether the caller may change the integration.
func (id Identity) IsAdmin() bool { return id.Role == RoleOwner || id.Role == RoleAdmin }

// Claims is the token's payload. The apps framework's exact claim names vary between
// products (see the reference notes); this is the one place that maps them.
type Claims struct {
	jwt.RegisteredClaims
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  Role   `json:"role"`
	ChatFacts
}

// isSubdomain reports whether s is a Zendesk subdomain: 1 to 63 lower-case letters,
// digits and hyphens, not starting with a hyphen. A loop, not a regexp: a {0,62}
// repetition compiles into hundreds of instructions at every cold start.
func isSubdomain(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// AccountFromIssuer turns an issuer ("https://acme.zendesk.com", "acme.zendesk.com" or
// "acme") into the account subdomain. Anything else is not a Zendesk account.
func AccountFromIssuer(iss string) (string, error) {
	host := strings.ToLower(strings.TrimSpace(iss))
	if strings.Contains(host, "://") {
		u, err := url.Parse(host)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("issuer %q is not a URL", iss)
		}
		host = u.Hostname()
	}
	host = strings.TrimSuffix(host, ".zendesk.com")
	if !isSubdomain(host) {
		return "", fmt.Errorf("issuer %q is not a Zendesk account", iss)
	}
	return host, nil
}

// ValidAccount reports whether s looks like a Zendesk subdomain.
func ValidAccount(s string) bool { return isSubdomain(s) }

// Verifier checks tokens against one public key and audience.
type Verifier struct {
	key      *rsa.PublicKey
	audience string
	accounts map[string]bool // empty: any account
	now      func() time.Time
}

// NewVerifier returns a verifier for RS256 tokens signed by key for audience. When
// accounts is not empty, tokens of other accounts are refused (a deployment that
// serves one company should say which).
func NewVerifier(key *rsa.PublicKey, audience string, accounts []string) *Verifier {
	v := &Verifier{key: key, audience: audience, accounts: map[string]bool{}, now: time.Now}
	for _, a := range accounts {
		if a = strings.TrimSpace(a); a != "" {
			v.accounts[a] = true
		}
	}
	return v
}

// ErrInvalidToken wraps every reason a token is refused.
var ErrInvalidToken = errors.New("invalid token")

// Verify parses and checks a raw token.
func (v *Verifier) Verify(raw string) (Identity, error) {
	if !canonical(raw) {
		return Identity{}, fmt.Errorf("%w: not a compact JWS in base64url", ErrInvalidToken)
	}
	var claims Claims
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return v.key, nil },
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithStrictDecoding(),
		jwt.WithAudience(v.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(30*time.Second),
		jwt.WithTimeFunc(v.now),
	)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	account, err := AccountFromIssuer(claims.Issuer)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if len(v.accounts) > 0 && !v.accounts[account] {
		return Identity{}, fmt.Errorf("%w: account %q is not served here", ErrInvalidToken, account)
	}
	if claims.Subject == "" {
		return Identity{}, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	if !claims.Role.Valid() {
		return Identity{}, fmt.Errorf("%w: unknown role %q", ErrInvalidToken, claims.Role)
	}
	return Identity{Account: account, UserID: claims.Subject, Email: claims.Email, Name: claims.Name, Role: claims.Role, Chat: claims.ChatFacts}, nil
}

// canonical reports whether raw is spelt as a signer writes it: three base64url
// segments and nothing else. Base64 decoders skip line breaks, and a lenient one
// ignores the spare bits of a segment's last character, so without this (and strict
// decoding) one signed token has many spellings that all verify; with it a token
// verifies only byte for byte as it was signed (FuzzVerifyJWT holds us to that).
func canonical(raw string) bool {
	dots := 0
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '.':
			dots++
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return dots == 2
}

type identityKey struct{}

// From returns the identity that Require put on the request.
func From(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// WithIdentity returns ctx carrying id (tests and the gateway's dev routes use it).
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// Require wraps h so it runs only for a verified caller holding one of roles
// (any role when none are given): 401 without a valid token, 403 for another role.
func (v *Verifier) Require(h httpx.HandlerFunc, roles ...Role) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		raw, ok := bearer(r)
		if !ok {
			return httpx.ErrUnauthenticated
		}
		id, err := v.Verify(raw)
		if err != nil {
			httpx.LoggerFrom(r.Context()).Info("token refused", "reason", err.Error())
			return &httpx.Error{Status: http.StatusUnauthorized, Code: "invalid_token", Message: "The token is missing, expired, or not valid for this service."}
		}
		r = httpx.SetAccount(r, id.Account)
		if len(roles) > 0 && !hasRole(id.Role, roles) {
			return httpx.ErrForbidden
		}
		return h(w, r.WithContext(WithIdentity(r.Context(), id)))
	}
}

// Admin is the role set of admin routes.
var Admin = []Role{RoleOwner, RoleAdmin}

func hasRole(r Role, roles []Role) bool {
	for _, want := range roles {
		if r == want {
			return true
		}
	}
	return false
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
