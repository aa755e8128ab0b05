// Package session turns the token Zendesk signs for one of sellchat's app iframes into
// a sellchat session (the signed-app-token rule in docs/design.md). Zendesk posts that
// token once, as the form field "token", to the app's entry URL; it names the account
// (iss), the app installation (aud) and the viewing user (sub) and nothing else, so the
// user's role, email and name are read from Zendesk's API with the account's Zendesk
// connection. The session is a short-lived RS256 token of sellchat's own that the page
// sends as Authorization: Bearer; it is what every other route verifies.
package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// TTL is how long a session lasts. The apps framework posts its token only when the
// iframe loads, so a session must outlive an agent's stretch in one chat, and stay short
// enough that a user Zendesk demoted or removed loses access soon after.
const TTL = time.Hour

// UserCacheTTL bounds how stale a cached Zendesk user (role, email) may be.
const UserCacheTTL = 2 * time.Minute

// maxCachedUsers bounds the user cache of one process.
const maxCachedUsers = 10000

// Leeway is the clock skew allowed on Zendesk's exp, nbf and iat.
const Leeway = 60 * time.Second

// MaxTokenBytes bounds a token before any parsing.
const MaxTokenBytes = 8 << 10

// Errors callers answer differently.
var (
	// ErrInvalidToken: the token does not verify against an installation of this
	// account that sellchat knows (forged, expired, another installation's, malformed).
	ErrInvalidToken = errors.New("session: the Zendesk token is not valid here")
	// ErrNotStaff: the token is genuine but names an end user, or a suspended or
	// deleted (inactive) one.
	ErrNotStaff = errors.New("session: the Zendesk user is not an agent or admin")
	// ErrNotConnected: the account has no working Zendesk connection to look the
	// user up with; an admin must connect Zendesk first.
	ErrNotConnected = errors.New("session: the account's Zendesk is not connected")
	// ErrUnavailable: Zendesk did not answer who the user is (rate limited, down,
	// unreachable); the caller may try again.
	ErrUnavailable = errors.New("session: Zendesk is unavailable")
)

// User is who the session is for, as Zendesk's API says.
type User struct {
	ID    string    `json:"id"`
	Role  auth.Role `json:"role"`
	Email string    `json:"email"`
	Name  string    `json:"name"`
}

// Session is a minted session.
type Session struct {
	Token     string    `json:"session"`
	ExpiresAt time.Time `json:"expiresAt"`
	Account   string    `json:"account"`
	User      User      `json:"user"`
	// Product and Location say where the app runs ("chat", "chat_sidebar"); not part
	// of the answer's contract, kept for logs.
	Product  string `json:"-"`
	Location string `json:"-"`
}

// Exchanger verifies Zendesk's app tokens and mints sessions.
type Exchanger struct {
	Store  *store.Store
	Vault  *tokens.Vault
	Signer auth.Signer // sellchat's own session key
	Now    func() time.Time

	mu    sync.Mutex
	users map[string]cachedUser // account/user id → Zendesk user
	links map[string]cachedLink // account → its Zendesk link
}

type cachedUser struct {
	user zendesk.User
	at   time.Time
}

func (x *Exchanger) now() time.Time {
	if x.Now != nil {
		return x.Now()
	}
	return time.Now()
}

// Exchange verifies raw and returns a session for the user it names.
func (x *Exchanger) Exchange(ctx context.Context, raw string) (Session, error) {
	claims, client, err := x.verify(ctx, raw)
	if err != nil {
		return Session{}, err
	}
	account, _ := auth.AccountFromIssuer(claims.Issuer) // checked by verify
	zuser, err := x.user(ctx, account, claims.Subject, client)
	if err != nil {
		return Session{}, err
	}
	if !zuser.IsStaff() || zuser.Suspended || !zuser.Active {
		return Session{}, ErrNotStaff
	}
	role := auth.RoleAgent
	if zuser.IsAdmin() {
		role = auth.RoleAdmin
	}
	u := User{ID: claims.Subject, Role: role, Email: zuser.Email, Name: zuser.Name}
	return x.Mint(account, u, claims.Context.Product, claims.Context.Location)
}

// Mint signs a session for u (after an exchange, or after a Zendesk sign-in).
func (x *Exchanger) Mint(account string, u User, product, location string) (Session, error) {
	signer := x.Signer
	signer.TTL = TTL
	now := x.now()
	signer.Now = func() time.Time { return now }
	tok, err := signer.Sign(auth.Identity{Account: account, UserID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role})
	if err != nil {
		return Session{}, fmt.Errorf("mint session: %w", err)
	}
	return Session{Token: tok, ExpiresAt: now.Add(TTL).UTC(), Account: account, User: u, Product: product, Location: location}, nil
}

// verify checks raw against the account's stored installations: RS256 only, signed
// with the key of the app whose installation aud names, iss the account's host, exp
// and nbf within Leeway. The key is never fetched from a URL the token names (cnf.jku):
// it is the one stored when the admin connected Zendesk.
//
// While the installations are read, the account's Zendesk connection is opened too
// (a table read, no call to Zendesk), unless the user is cached: the exchange's one
// Zendesk round trip then starts as soon as the token is verified.
func (x *Exchanger) verify(ctx context.Context, raw string) (zendesk.AppTokenClaims, *pendingClient, error) {
	var claims zendesk.AppTokenClaims
	if len(raw) == 0 || len(raw) > MaxTokenBytes {
		return claims, nil, fmt.Errorf("%w: empty or oversized", ErrInvalidToken)
	}
	// Read the claims unverified only to learn which account's keys to try; nothing
	// read here is trusted until the signature checks out below.
	var peek zendesk.AppTokenClaims
	if _, _, err := jwt.NewParser().ParseUnverified(raw, &peek); err != nil {
		return claims, nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	account, err := auth.AccountFromIssuer(peek.Issuer)
	if err != nil || peek.Issuer != zendesk.AppTokenIssuer(account) {
		return claims, nil, fmt.Errorf("%w: issuer %q", ErrInvalidToken, peek.Issuer)
	}
	var client *pendingClient
	if _, ok := x.cachedUser(account, peek.Subject); !ok {
		client = x.openClient(ctx, account)
	}
	link, err := x.link(ctx, account)
	if err != nil {
		return claims, nil, err
	}
	app, ok := appFor(link, account, peek.Audience)
	if !ok {
		return claims, nil, fmt.Errorf("%w: audience %q is no installation of %s that sellchat knows", ErrInvalidToken, peek.Audience, account)
	}
	key, err := auth.ParsePublicKey([]byte(app.PublicKey))
	if err != nil {
		return claims, nil, fmt.Errorf("%w: stored key of app %d: %v", ErrInvalidToken, app.AppID, err)
	}
	_, err = jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer(zendesk.AppTokenIssuer(account)),
		jwt.WithAudience(zendesk.AppTokenAudience(account, app.InstallationID)),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(x.now),
	)
	if err != nil {
		return claims, nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if _, err := strconv.ParseInt(claims.Subject, 10, 64); err != nil {
		return claims, nil, fmt.Errorf("%w: subject %q is not a user id", ErrInvalidToken, claims.Subject)
	}
	return claims, client, nil
}

// pendingClient is the account's Zendesk client being opened.
type pendingClient struct {
	done   chan struct{}
	client *zendesk.Client
	err    error
}

func (x *Exchanger) openClient(ctx context.Context, account string) *pendingClient {
	p := &pendingClient{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.client, p.err = x.Vault.ZendeskClient(ctx, account)
	}()
	return p
}

// LinkCacheTTL bounds how long a process trusts the installations (and keys) it read:
// they change only when an admin reconnects Zendesk.
const LinkCacheTTL = 30 * time.Second

// link returns the account's Zendesk link, from a short cache when it holds apps.
func (x *Exchanger) link(ctx context.Context, account string) (settings.ZendeskLink, error) {
	x.mu.Lock()
	c, ok := x.links[account]
	x.mu.Unlock()
	if ok && x.now().Sub(c.at) < LinkCacheTTL {
		return c.link, nil
	}
	in, err := x.Store.Integration(ctx, account)
	if err != nil {
		return settings.ZendeskLink{}, fmt.Errorf("read integration of %s: %w", account, err)
	}
	if len(in.Zendesk.Apps) > 0 {
		x.mu.Lock()
		if x.links == nil || len(x.links) >= maxCachedUsers {
			x.links = map[string]cachedLink{}
		}
		x.links[account] = cachedLink{link: in.Zendesk, at: x.now()}
		x.mu.Unlock()
	}
	return in.Zendesk, nil
}

type cachedLink struct {
	link settings.ZendeskLink
	at   time.Time
}

func appFor(z settings.ZendeskLink, account, aud string) (settings.ZendeskApp, bool) {
	for _, a := range z.Apps {
		if aud == zendesk.AppTokenAudience(account, a.InstallationID) {
			return a, true
		}
	}
	return settings.ZendeskApp{}, false
}

func (x *Exchanger) cachedUser(account, id string) (zendesk.User, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	c, ok := x.users[account+"/"+id]
	if !ok || x.now().Sub(c.at) >= UserCacheTTL {
		return zendesk.User{}, false
	}
	return c.user, true
}

// user reads the Zendesk user, through a short cache: an iframe that reloads does not
// cost a Zendesk round trip each time. client is the connection verify began to open
// (nil when the user was cached then).
func (x *Exchanger) user(ctx context.Context, account, id string, client *pendingClient) (zendesk.User, error) {
	if u, ok := x.cachedUser(account, id); ok {
		return u, nil
	}
	if client == nil {
		client = x.openClient(ctx, account)
	}
	<-client.done
	if errors.Is(client.err, tokens.ErrNoToken) || errors.Is(client.err, tokens.ErrBroken) {
		return zendesk.User{}, ErrNotConnected
	}
	if client.err != nil {
		return zendesk.User{}, client.err
	}
	n, _ := strconv.ParseInt(id, 10, 64) // checked by verify
	u, err := client.client.User(ctx, n)
	if errors.Is(err, zendesk.ErrNotFound) {
		return zendesk.User{}, ErrNotStaff
	}
	if errors.Is(err, zendesk.ErrUnauthorized) {
		_ = x.Vault.MarkBroken(ctx, account, tokens.Zendesk(), "Zendesk refused the token")
		return zendesk.User{}, ErrNotConnected
	}
	if err != nil {
		return zendesk.User{}, fmt.Errorf("%w: read user %s of %s: %v", ErrUnavailable, id, account, err)
	}
	x.mu.Lock()
	if x.users == nil || len(x.users) >= maxCachedUsers {
		x.users = map[string]cachedUser{} // a crude bound; a Lambda sees few users
	}
	x.users[account+"/"+id] = cachedUser{user: u, at: x.now()}
	x.mu.Unlock()
	return u, nil
}
