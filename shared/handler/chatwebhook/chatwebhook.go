// Package chatwebhook serves the two webhook routes. POST /webhooks/chat/{account}
// takes a signed chat object from a custom sender (Zendesk Chat itself has no
// webhook); POST /webhooks/zendesk/{account} takes Zendesk's own Support webhook, which
// on Agent Workspace accounts names a solved chat ticket, and reads that ticket's chat
// from the Chat API (support.go). Both check the signature, store a finished chat once
// under its id and answer 202. Neither calls Sell: matching happens later, from the
// table's stream (package transcripts).
package chatwebhook

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/store/privacystore"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/conversation"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// Deps are what the webhook route uses, built once by the function's main.
type Deps struct {
	Store *store.Store
	Box   *secrets.Box // opens the stored webhook secrets
	// Vault opens the accounts' Chat API connections, from which the Support webhook's
	// chats are read; without it that route answers 503.
	Vault    *tokens.Vault
	Accounts []string // the accounts served (ACCOUNTS); empty: any
	Logger   *slog.Logger
}

type handler struct {
	deps     Deps
	chats    *chatstore.Store
	keeper   conversation.Keeper // messaging conversations, through chats
	accounts map[string]bool
	now      func() time.Time

	mu      sync.Mutex
	secrets map[string]cachedSecret
}

// cachedSecret spares each delivery a read of the integration item. A secret the
// admin has just replaced is caught at once: a delivery that fails with the cached
// secret is checked again against a fresh read.
type cachedSecret struct {
	secret []byte
	at     time.Time
}

const secretTTL = time.Minute

// New returns the chatwebhook function's routes.
func New(d Deps) *httpx.Router {
	return NewWithClock(d, time.Now)
}

// NewWithClock is New with a clock, for tests of the timestamp window.
func NewWithClock(d Deps, now func() time.Time) *httpx.Router {
	h := &handler{deps: d, now: now, accounts: map[string]bool{}, secrets: map[string]cachedSecret{}}
	if d.Store != nil {
		// A chat of an erased visitor is not stored again (privacy erasures'
		// tombstones), and a flood waits in its account's backlog.
		h.chats = chatstore.ForIngest(d.Store, privacystore.New(d.Store, d.Box).ErasedAll)
		h.keeper = conversation.NewKeeper(h.chats, d.Store)
	}
	for _, a := range d.Accounts {
		h.accounts[a] = true
	}
	rt := httpx.NewRouter(d.Logger)
	rt.Handle("POST /webhooks/chat/{account}", h.receive)
	rt.Handle("POST "+settings.SupportWebhookPath+"{account}", h.receiveSupport)
	return rt
}

// errUnverified is the one answer to every delivery we cannot verify: unknown
// account, no secret set, missing headers, stale time or wrong signature look alike.
var errUnverified = &httpx.Error{Status: http.StatusUnauthorized, Code: "invalid_signature",
	Message: "The webhook signature is missing, stale or does not match this account's signing secret."}

type accepted struct {
	ChatID    string `json:"chatId"`
	Status    string `json:"status"`
	Duplicate bool   `json:"duplicate,omitempty"`
	// Revised: a messaging conversation solved again replaced the stored one, and
	// its notes are updated when it is processed.
	Revised bool `json:"revised,omitempty"`
}

func (h *handler) receive(w http.ResponseWriter, r *http.Request) error {
	r, account, body, err := h.verified(r, customSender)
	if err != nil {
		return err
	}
	log := httpx.LoggerFrom(r.Context())
	switch c, err := h.chats.Ingest(r.Context(), account, body, h.now()); {
	case chats.Invalid(err):
		return parseError(err)
	case errors.Is(err, chatstore.ErrTooLarge):
		return &httpx.Error{Status: http.StatusRequestEntityTooLarge, Code: "chat_too_large", Message: "The chat is too large to store, even compressed."}
	case errors.Is(err, chatstore.ErrExists):
		log.Info("chat redelivered", "chat_id", c.ID)
		httpx.WriteJSON(w, http.StatusAccepted, accepted{ChatID: c.ID, Status: "accepted", Duplicate: true})
		return nil
	case err != nil:
		return err
	default:
		log.Info("chat stored", "chat_id", c.ID, "type", c.Type)
		httpx.WriteJSON(w, http.StatusAccepted, accepted{ChatID: c.ID, Status: "accepted"})
		return nil
	}
}

// sender is who signs a webhook route's deliveries: each has its own secret in the
// integration item.
type sender struct {
	name string
	// sealed picks the sender's sealed secret out of the integration; aad is what it
	// was sealed with.
	sealed func(settings.Integration) []byte
	aad    func(account string) []byte
}

var (
	customSender = sender{name: "custom",
		sealed: func(in settings.Integration) []byte { return in.WebhookSecret },
		aad:    func(account string) []byte { return secrets.AAD(account, "webhook_secret") }}
	zendeskSender = sender{name: "zendesk",
		sealed: func(in settings.Integration) []byte { return in.Zendesk.Notifications.Secret },
		aad:    func(account string) []byte { return secrets.AAD(account, settings.NotificationsSecretKind) }}
)

// verified reads a delivery's body and checks its signature with from's secret of the
// path's account; it returns the request carrying the account for the logs.
func (h *handler) verified(r *http.Request, from sender) (*http.Request, string, []byte, error) {
	account := r.PathValue("account")
	log := httpx.LoggerFrom(r.Context())
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return r, "", nil, httpx.ErrTooLarge
		}
		return r, "", nil, &httpx.Error{Status: http.StatusBadRequest, Code: "unreadable_body", Message: "The request body could not be read.", Err: err}
	}
	if !auth.ValidAccount(account) || (len(h.accounts) > 0 && !h.accounts[account]) {
		log.Info("webhook refused", "reason", "account not served", "sender", from.name)
		return r, "", nil, errUnverified
	}
	r = httpx.SetAccount(r, account)
	log = httpx.LoggerFrom(r.Context())
	ts, sig := r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature)
	secret, cached, err := h.secret(r, account, from, false)
	if err != nil {
		return r, "", nil, err
	}
	verr := Verify(secret, ts, sig, body, h.now())
	if verr != nil && cached {
		if secret, _, err = h.secret(r, account, from, true); err != nil {
			return r, "", nil, err
		}
		verr = Verify(secret, ts, sig, body, h.now())
	}
	if verr != nil {
		log.Info("webhook refused", "reason", reason(secret, r), "sender", from.name)
		return r, "", nil, errUnverified
	}
	return r, account, body, nil
}

// secret returns account's signing secret of from (nil when none is set) and whether
// it came from the cache; fresh skips the cache.
func (h *handler) secret(r *http.Request, account string, from sender, fresh bool) ([]byte, bool, error) {
	key := from.name + "|" + account
	h.mu.Lock()
	c, ok := h.secrets[key]
	h.mu.Unlock()
	if ok && !fresh && h.now().Sub(c.at) < secretTTL {
		return c.secret, true, nil
	}
	in, err := h.deps.Store.Integration(r.Context(), account)
	if err != nil {
		return nil, false, err
	}
	var secret []byte
	if sealed := from.sealed(in); len(sealed) > 0 {
		if secret, err = h.deps.Box.Open(sealed, from.aad(account)); err != nil {
			httpx.LoggerFrom(r.Context()).Error("webhook secret does not open", "sender", from.name, "err", err.Error())
			secret = nil
		}
	}
	if secret != nil { // only real secrets are kept: unknown accounts are not remembered
		h.mu.Lock()
		h.secrets[key] = cachedSecret{secret: secret, at: h.now()}
		h.mu.Unlock()
	}
	return secret, false, nil
}

// reason names why a delivery failed, for our logs only.
func reason(secret []byte, r *http.Request) string {
	switch {
	case len(secret) == 0:
		return "no signing secret set"
	case r.Header.Get(HeaderSignature) == "" || r.Header.Get(HeaderTimestamp) == "":
		return "signature headers missing"
	default:
		return "signature or timestamp wrong"
	}
}

func parseError(err error) error {
	var fe *chats.FieldError
	if errors.As(err, &fe) {
		return httpx.Invalid(fe.Field, fe.Code, fe.Message)
	}
	return &httpx.Error{Status: http.StatusBadRequest, Code: "malformed_json", Message: "The body must be a Chat API chat object in JSON."}
}
