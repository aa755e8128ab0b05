// Package tokens keeps the OAuth tokens of an account at rest, sealed so the table
// never holds one in clear: the Sell admin's from install, each agent's own Sell token,
// and the account's Zendesk (Support) and Chat API connections. It turns a stored token
// into a Sell or Zendesk client whose refreshes are saved back, so a refresh in one
// Lambda is seen by the next.
package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
)

// Holder says whose token it is.
type Holder struct {
	agent   bool
	zendesk bool   // the account's Zendesk (Support) connection, not a Sell token
	chat    bool   // the account's Chat API connection, not a Sell token
	userID  string // Zendesk user id, for agents
}

// Admin is the token of the Sell admin who installed the integration.
func Admin() Holder { return Holder{} }

// Agent is the token a Chat agent got by signing in with Sell.
func Agent(zendeskUserID string) Holder { return Holder{agent: true, userID: zendeskUserID} }

// Zendesk is the account's Zendesk connection: the Support token an admin granted,
// with which sellchat learns who a signed app token names (users/{id}) and reads the
// apps' installations and keys.
func Zendesk() Holder { return Holder{zendesk: true} }

// Chat is the account's Chat API connection: the Chat token an admin granted, with
// which sellchat reads finished chats from the Chat API's export.
func Chat() Holder { return Holder{chat: true} }

// prefix is the sort-key prefix of every token item.
const prefix = "TOKEN#"

func (h Holder) sk() string {
	switch {
	case h.agent:
		return prefix + "agent#" + h.userID
	case h.zendesk:
		return prefix + "zendesk"
	case h.chat:
		return prefix + "chat"
	}
	return prefix + "admin"
}

// aad binds a sealed token to its account and holder: a token copied onto another
// agent's item, or another account's, does not open.
func (h Holder) aad(account string) []byte {
	switch {
	case h.agent:
		return secrets.AAD(account, "sell_token:agent:"+h.userID)
	case h.zendesk:
		return secrets.AAD(account, "zendesk_token")
	case h.chat:
		return secrets.AAD(account, "chat_token")
	}
	return secrets.AAD(account, "sell_token:admin")
}

func (h Holder) String() string {
	switch {
	case h.agent:
		return "agent " + h.userID
	case h.zendesk:
		return "zendesk"
	case h.chat:
		return "chat"
	}
	return "admin"
}

// Status of a stored token.
const (
	StatusActive = "active"
	// StatusBroken marks a token Sell refused (revoked, or its refresh failed). It is
	// kept, not retried: the holder must sign in again.
	StatusBroken = "broken"
)

// Record is a stored token with who it belongs to in Sell.
type Record struct {
	Sealed       []byte `json:"sealed"`
	SellUserID   int64  `json:"sellUserId"`
	SellUserName string `json:"sellUserName"`
	SellEmail    string `json:"sellEmail"`
	Status       string `json:"status"`
	BrokenReason string `json:"brokenReason,omitempty"`
	// Who granted the Zendesk or Chat connection (those holders only).
	ZendeskUserID string    `json:"zendeskUserId,omitempty"`
	ZendeskName   string    `json:"zendeskName,omitempty"`
	ZendeskEmail  string    `json:"zendeskEmail,omitempty"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// Errors callers branch on.
var (
	ErrNoToken = errors.New("tokens: no Sell token stored")
	ErrBroken  = errors.New("tokens: the stored Sell token no longer works")
)

// Vault stores and opens tokens, and builds Sell clients from them.
type Vault struct {
	// Limiters and Cache are shared by every client the vault makes; nil uses the
	// process-wide ones. Tests that run several Sell sandboxes side by side give each
	// its own, since the keys (account and holder) would otherwise collide.
	Limiters *sell.Limiters
	Cache    *sell.Cache
	// Zendesk is the deployment's Zendesk OAuth client, for the Zendesk connection.
	Zendesk ZendeskApp
	// Chat is the deployment's Chat API client, for the Chat connection.
	Chat ChatApp

	store   *store.Store
	box     *secrets.Box
	oauth   *oauth2.Config
	sellURL string
	http    *http.Client
	now     func() time.Time
}

// NewVault returns a vault. oauth is the Sell app's configuration, used to refresh.
func NewVault(s *store.Store, box *secrets.Box, oauth *oauth2.Config, sellURL string) *Vault {
	return &Vault{store: s, box: box, oauth: oauth, sellURL: sellURL,
		http: &http.Client{Timeout: 20 * time.Second}, now: time.Now}
}

// OAuth returns the Sell app's OAuth configuration.
func (v *Vault) OAuth() *oauth2.Config { return v.oauth }

// SellUser is who a token acts as in Sell.
type SellUser struct {
	ID    int64
	Name  string
	Email string
}

// Save stores tok for holder, replacing any earlier token (and clearing a broken mark).
func (v *Vault) Save(ctx context.Context, account string, h Holder, tok *oauth2.Token, u SellUser) error {
	sealed, err := v.seal(account, h, tok)
	if err != nil {
		return err
	}
	rec := Record{Sealed: sealed, SellUserID: u.ID, SellUserName: u.Name, SellEmail: u.Email, Status: StatusActive, UpdatedAt: v.now().UTC()}
	if err := v.store.Put(ctx, store.Key{Account: account, SK: h.sk()}, rec); err != nil {
		return fmt.Errorf("save %s token of %s: %w", h, account, err)
	}
	return nil
}

// Key addresses holder's token item, for batch reads (see FromRecord).
func Key(account string, h Holder) store.Key { return store.Key{Account: account, SK: h.sk()} }

// Load returns holder's token and record: ErrNoToken when there is none, ErrBroken
// (with the record) when Sell refused it before.
func (v *Vault) Load(ctx context.Context, account string, h Holder) (*oauth2.Token, Record, error) {
	var rec Record
	if _, err := v.store.Get(ctx, store.Key{Account: account, SK: h.sk()}, &rec); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, Record{}, ErrNoToken
		}
		return nil, Record{}, fmt.Errorf("load %s token of %s: %w", h, account, err)
	}
	return v.open(account, h, rec)
}

func (v *Vault) open(account string, h Holder, rec Record) (*oauth2.Token, Record, error) {
	if rec.Status == StatusBroken {
		return nil, rec, ErrBroken
	}
	raw, err := v.box.Open(rec.Sealed, h.aad(account))
	if err != nil {
		return nil, rec, fmt.Errorf("open %s token of %s: %w", h, account, err)
	}
	var tok oauth2.Token
	if err := json.Unmarshal(raw, &tok); err != nil {
		return nil, rec, fmt.Errorf("decode %s token of %s: %w", h, account, err)
	}
	return &tok, rec, nil
}

// MarkBroken records that Sell refused holder's token, so later calls stop at once
// with a clear answer instead of hammering Sell with a dead token.
func (v *Vault) MarkBroken(ctx context.Context, account string, h Holder, reason string) error {
	_, _, err := store.Update(ctx, v.store, store.Key{Account: account, SK: h.sk()}, func(r *Record) error {
		if len(r.Sealed) == 0 {
			return ErrNoToken
		}
		r.Status, r.BrokenReason, r.UpdatedAt = StatusBroken, reason, v.now().UTC()
		return nil
	})
	if err != nil && !errors.Is(err, ErrNoToken) {
		return fmt.Errorf("mark %s token of %s broken: %w", h, account, err)
	}
	return nil
}

// Delete removes holder's token.
func (v *Vault) Delete(ctx context.Context, account string, h Holder) error {
	return v.store.Delete(ctx, store.Key{Account: account, SK: h.sk()})
}

// DeleteAll removes every token of the account (uninstall) and returns how many.
func (v *Vault) DeleteAll(ctx context.Context, account string) (int, error) {
	return v.store.DeletePrefix(ctx, account, prefix)
}

// Client returns a Sell client acting with holder's token. Refreshed tokens are
// sealed and saved as they come; a refresh that Sell refuses surfaces as an error
// that IsRefused recognises.
func (v *Vault) Client(ctx context.Context, account string, h Holder) (*sell.Client, Record, error) {
	tok, rec, err := v.Load(ctx, account, h)
	if err != nil {
		return nil, rec, err
	}
	return v.client(ctx, account, h, tok, rec)
}

// FromRecord is Client for a record the caller already read (a batch read): found
// says whether the item existed.
func (v *Vault) FromRecord(ctx context.Context, account string, h Holder, rec Record, found bool) (*sell.Client, Record, error) {
	if !found {
		return nil, Record{}, ErrNoToken
	}
	tok, rec, err := v.open(account, h, rec)
	if err != nil {
		return nil, rec, err
	}
	return v.client(ctx, account, h, tok, rec)
}

func (v *Vault) client(ctx context.Context, account string, h Holder, tok *oauth2.Token, rec Record) (*sell.Client, Record, error) {
	ts := sell.PersistingTokenSource(v.refreshContext(ctx), v.oauth, tok, v.saver(account, h))
	c, err := sell.New(sell.Options{BaseURL: v.sellURL, TokenSource: ts, Key: account + "/" + h.sk(), Limiters: v.Limiters, Cache: v.Cache})
	if err != nil {
		return nil, rec, err
	}
	return c, rec, nil
}

// refreshContext is the context refreshes run in. It outlives the request: a refresh
// begun for one request must be saved even if that request is cancelled.
func (v *Vault) refreshContext(ctx context.Context) context.Context {
	return context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, v.http)
}

// saver seals and saves holder's refreshed tokens.
func (v *Vault) saver(account string, h Holder) func(context.Context, *oauth2.Token) error {
	return func(ctx context.Context, nt *oauth2.Token) error {
		sealed, err := v.seal(account, h, nt)
		if err != nil {
			return err
		}
		_, _, err = store.Update(ctx, v.store, store.Key{Account: account, SK: h.sk()}, func(r *Record) error {
			r.Sealed, r.UpdatedAt = sealed, v.now().UTC()
			if r.Status == "" {
				r.Status = StatusActive
			}
			return nil
		})
		return err
	}
}

// IsRefused reports whether err means Sell (or Zendesk) no longer accepts the token:
// a 401 after a refresh, or a refresh the token endpoint refused.
func IsRefused(err error) bool {
	if errors.Is(err, sell.ErrUnauthorized) || errors.Is(err, zendesk.ErrUnauthorized) {
		return true
	}
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500
}

func (v *Vault) seal(account string, h Holder, tok *oauth2.Token) ([]byte, error) {
	raw, err := json.Marshal(tok)
	if err != nil {
		return nil, fmt.Errorf("encode token: %w", err)
	}
	return v.box.Seal(raw, h.aad(account)), nil
}

// zendeskProduct is the deployment's OAuth client of one of Zendesk's products
// (Support or Chat): where an account's API lives, and the OAuth configuration that
// grants and refreshes its tokens.
type zendeskProduct interface {
	Base(account string) (string, error)
	OAuth(account string) (*oauth2.Config, error)
}

// apiBase is override, or account's own https://<account>.zendesk.com when it is empty.
func apiBase(override, account string) (string, error) {
	if override != "" {
		return override, nil
	}
	return zendesk.BaseURL(account)
}

// ZendeskApp is the deployment's Zendesk OAuth client. Zendesk's OAuth endpoints and
// API live on each account's own host, so the configuration is built per account.
// A client created in one account's Admin Center serves that account; a deployment
// that serves several accounts needs a global OAuth client (docs/zendesk-apps.md).
type ZendeskApp struct {
	ClientID, ClientSecret, RedirectURL string
	// BaseURL replaces https://<account>.zendesk.com (the local stack's sandbox).
	BaseURL string
}

// Base returns account's Zendesk root URL.
func (z ZendeskApp) Base(account string) (string, error) { return apiBase(z.BaseURL, account) }

// OAuth returns the Support OAuth configuration for account.
func (z ZendeskApp) OAuth(account string) (*oauth2.Config, error) {
	base, err := z.Base(account)
	if err != nil {
		return nil, err
	}
	return zendesk.SupportOAuthConfig(base, z.ClientID, z.ClientSecret, z.RedirectURL, nil), nil
}

// ChatApp is the deployment's Chat API OAuth client, the one added in the Chat
// dashboard. Chat's OAuth lives on one host for every account (which the authorize
// page is told with subdomain=), its API on each account's host.
type ChatApp struct {
	ClientID, ClientSecret, RedirectURL string
	// AuthURL is Chat's OAuth host: zendesk.ChatOAuthBaseURL when empty (the sandbox
	// locally).
	AuthURL string
	// APIURL replaces https://<account>.zendesk.com, where an integrated account's
	// Chat API lives (the sandbox locally).
	APIURL string
}

// Base returns the root URL of account's Chat API.
func (c ChatApp) Base(account string) (string, error) { return apiBase(c.APIURL, account) }

// OAuth returns the Chat OAuth configuration for account (no PKCE: Chat has none).
func (c ChatApp) OAuth(account string) (*oauth2.Config, error) {
	if _, err := zendesk.BaseURL(account); err != nil {
		return nil, err // the subdomain goes into the authorize URL: it must be one
	}
	return zendesk.ChatOAuthConfig(c.AuthURL, account, c.ClientID, c.ClientSecret, c.RedirectURL, nil), nil
}

// SaveZendesk stores the account's Zendesk connection, granted by Zendesk user
// userID (name, email as Zendesk gave them).
func (v *Vault) SaveZendesk(ctx context.Context, account string, tok *oauth2.Token, userID, name, email string) error {
	return v.saveGrant(ctx, account, Zendesk(), tok, userID, name, email)
}

// SaveChat stores the account's Chat API connection, granted by the Chat agent (and
// Zendesk user) userID.
func (v *Vault) SaveChat(ctx context.Context, account string, tok *oauth2.Token, userID, name, email string) error {
	return v.saveGrant(ctx, account, Chat(), tok, userID, name, email)
}

// saveGrant stores a Zendesk product's token for holder h, replacing any earlier one
// (and clearing a broken mark), with who granted it.
func (v *Vault) saveGrant(ctx context.Context, account string, h Holder, tok *oauth2.Token, userID, name, email string) error {
	sealed, err := v.seal(account, h, tok)
	if err != nil {
		return err
	}
	rec := Record{Sealed: sealed, ZendeskUserID: userID, ZendeskName: name, ZendeskEmail: email, Status: StatusActive, UpdatedAt: v.now().UTC()}
	if err := v.store.Put(ctx, Key(account, h), rec); err != nil {
		return fmt.Errorf("save %s token of %s: %w", h, account, err)
	}
	return nil
}

// ZendeskClient returns a Zendesk client acting with the account's Zendesk
// connection; refreshed tokens are saved as they come. ErrNoToken when the account
// never connected Zendesk, ErrBroken when Zendesk refused the token before.
func (v *Vault) ZendeskClient(ctx context.Context, account string) (*zendesk.Client, error) {
	return v.zendeskClient(ctx, account, Zendesk(), v.Zendesk)
}

// ChatClient returns a Zendesk client acting with the account's Chat API connection,
// for the Chat API's calls (the export); refreshed tokens are saved as they come.
// ErrNoToken when the account never connected Chat, ErrBroken when its token was
// marked refused (MarkBroken).
func (v *Vault) ChatClient(ctx context.Context, account string) (*zendesk.Client, error) {
	return v.zendeskClient(ctx, account, Chat(), v.Chat)
}

// zendeskClient is a client of product p acting with holder h's stored token.
func (v *Vault) zendeskClient(ctx context.Context, account string, h Holder, p zendeskProduct) (*zendesk.Client, error) {
	tok, _, err := v.Load(ctx, account, h)
	if err != nil {
		return nil, err
	}
	cfg, err := p.OAuth(account)
	if err != nil {
		return nil, err
	}
	base, err := p.Base(account)
	if err != nil {
		return nil, err
	}
	ts := sell.PersistingTokenSource(v.refreshContext(ctx), cfg, tok, v.saver(account, h))
	return zendesk.New(zendesk.Options{Subdomain: account, BaseURL: base, TokenSource: ts, HTTPClient: v.http})
}
