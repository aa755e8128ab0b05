// Package oauth serves the oauth function: connecting an account's Sell to sellchat
// (the admin's install through Sell OAuth, then the prerequisite checks), each agent's
// own Sell sign-in, and uninstalling.
package oauth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/domain/audit"
	"github.com/sellchat/sellchat/shared/platform/trail"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/domain/session"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// StateTTL bounds how long a person may take on Sell's authorize page.
const StateTTL = 10 * time.Minute

// Purposes of an OAuth round trip.
const (
	PurposeInstall = "install" // the admin connects the account's Sell
	PurposeAgent   = "agent"   // an agent signs in with their own Sell user
	PurposeChat    = "chat"    // the admin connects the account's Chat API (chat.go)
)

// Deps are what the oauth routes use, built once by the function's main.
type Deps struct {
	Store    *store.Store
	Vault    *tokens.Vault // Sell tokens at rest, and the Sell OAuth app
	Verifier *auth.Verifier
	Logger   *slog.Logger
	// SellAPIURL is Sell's API root, called with a fresh token to learn whose it is.
	SellAPIURL string
	// Sessions mints sellchat sessions (POST /session, Sign in with Zendesk); nil
	// when the deployment has no session key.
	Sessions *session.Exchanger
	// PublicBaseURL is this deployment, as the apps' backend_url setting names it.
	PublicBaseURL string
	// Box seals the Zendesk webhook's signing secret (notify.go).
	Box *secrets.Box
}

type handler struct {
	deps Deps
	http *http.Client
	now  func() time.Time
}

// New returns the oauth function's routes.
func New(d Deps) *httpx.Router {
	h := &handler{deps: d, http: &http.Client{Timeout: 20 * time.Second}, now: time.Now}
	rt := httpx.NewRouter(d.Logger)
	rt.Handle("GET /oauth/start", h.startAny)
	rt.Handle("GET /oauth/callback", h.callback)
	rt.Handle("POST /session", h.session)
	rt.Handle("POST /integration/install", d.Verifier.Require(h.install, auth.Admin...))
	rt.Handle("DELETE /integration", d.Verifier.Require(h.uninstall, auth.Admin...))
	rt.Handle("POST "+NotificationsPath, d.Verifier.Require(h.setUpNotifications, auth.Admin...))
	rt.Handle("DELETE "+NotificationsPath, d.Verifier.Require(h.removeNotifications, auth.Admin...))
	return rt
}

// state is what a pending OAuth round trip remembers. The callback is a browser
// redirect without our token, so everything it needs is here, bound to the state.
type state struct {
	UserID  string    `json:"userId"`
	Email   string    `json:"email"`
	Name    string    `json:"name"`
	Purpose string    `json:"purpose"`
	Created time.Time `json:"created"`
	// Verifier is the PKCE code verifier of a Zendesk round trip.
	Verifier string `json:"verifier,omitempty"`
}

const statePrefix = "STATE#"

// identity is who started the round trip, for the audit trail.
func (st state) identity(account string) auth.Identity {
	return auth.Identity{Account: account, UserID: st.UserID, Email: st.Email, Name: st.Name}
}

// errNoProof refuses a Sell sign-in for a caller whose identity carries no email:
// the only proof that the Sell user is the caller is the same email on both sides.
var errNoProof = &httpx.Error{Status: http.StatusForbidden, Code: "sell_user_mismatch",
	Message: "Your Zendesk identity carries no email address, so sellchat cannot check that the Sell user who signs in is you. Add an email to your Zendesk user and try again."}

func (h *handler) start(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	q := r.URL.Query()
	if acct := q.Get("account"); acct != "" && acct != id.Account {
		return &httpx.Error{Status: http.StatusForbidden, Code: "account_mismatch", Message: "You can only connect the account you are signed in to."}
	}
	purpose := q.Get("purpose")
	cfg := h.deps.Vault.OAuth()
	switch purpose {
	case PurposeInstall:
		if !id.IsAdmin() {
			return &httpx.Error{Status: http.StatusForbidden, Code: "forbidden", Message: "Only a Zendesk admin or owner can connect Sell for the account."}
		}
	case PurposeChat:
		if !id.IsAdmin() {
			return &httpx.Error{Status: http.StatusForbidden, Code: "forbidden", Message: "Only a Zendesk admin or owner can connect Chat for the account."}
		}
		var err error
		if cfg, err = h.chatOAuth(id.Account); err != nil {
			return err
		}
	case PurposeAgent:
	default:
		return httpx.Invalid("purpose", "invalid_value", `purpose must be "install", "agent" or "chat".`)
	}
	if id.Email == "" {
		// The callback proves the Sell user is the caller by comparing emails; without
		// the caller's email nothing could be proved, and whoever approved in Sell
		// (a forwarded link clicked by an admin) would become this caller's Sell access.
		return errNoProof
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	nonce := base64.RawURLEncoding.EncodeToString(raw[:])
	st := state{UserID: id.UserID, Email: id.Email, Name: id.Name, Purpose: purpose, Created: h.now().UTC()}
	if err := h.deps.Store.Create(r.Context(), store.Key{Account: id.Account, SK: statePrefix + nonce}, st, h.now().Add(StateTTL)); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	opts := []oauth2.AuthCodeOption{}
	if id.Email != "" {
		// Sell may ignore it; the sandbox signs in as that user, which keeps local runs hands-free.
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", id.Email))
	}
	return toAuthorize(w, r, cfg.AuthCodeURL(id.Account+"."+nonce, opts...))
}

// toAuthorize sends the caller on to an authorize page: a 302, or {"authorizeUrl"}
// for a page that navigates itself (Accept: application/json).
func toAuthorize(w http.ResponseWriter, r *http.Request, authURL string) error {
	if wantsJSON(r) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"authorizeUrl": authURL})
		return nil
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, authURL, http.StatusFound)
	return nil
}

// callback finishes a round trip. It answers people in a browser, so its failures
// are short pages (or JSON for a client that asks for it), and nothing is stored
// unless everything checked out.
func (h *handler) callback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	account, nonce, ok := strings.Cut(q.Get("state"), ".")
	if !ok || !auth.ValidAccount(account) || nonce == "" || len(nonce) > 100 {
		return h.fail(w, r, http.StatusBadRequest, "invalid_state", "This sign-in link is not valid. Start again from sellchat.")
	}
	var st state
	// Taking the state deletes it: a replayed or concurrent callback finds nothing.
	if err := h.deps.Store.Take(r.Context(), store.Key{Account: account, SK: statePrefix + nonce}, &st); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return h.fail(w, r, http.StatusBadRequest, "invalid_state", "This sign-in link has expired or was already used. Start again from sellchat.")
		}
		return err
	}
	switch st.Purpose {
	case PurposeZendesk:
		return h.zendeskCallback(w, r, account, st)
	case PurposeChat:
		return h.chatCallback(w, r, account, st)
	}
	code, ref := callbackCode(r, sellSide)
	if ref != nil {
		return h.refuse(w, r, ref)
	}
	tok, ref := h.exchange(r, sellSide, h.deps.Vault.OAuth(), code)
	if ref != nil {
		return h.refuse(w, r, ref)
	}
	client, err := sell.New(sell.Options{BaseURL: h.deps.SellAPIURL, TokenSource: oauth2.StaticTokenSource(tok), HTTPClient: h.http})
	if err != nil {
		return err
	}
	me, ref := tokenUser(r, sellSide, "sell self", client.Self)
	if ref != nil {
		return h.refuse(w, r, ref)
	}
	r = httpx.SetAccount(r, account)
	// The Sell user must be the Zendesk user who started.
	if ref := provenUser(sellSide, st, me.Email); ref != nil {
		return h.refuse(w, r, ref)
	}
	user := tokens.SellUser{ID: me.ID, Name: me.Name, Email: me.Email}
	switch st.Purpose {
	case PurposeInstall:
		if !me.IsAdmin() {
			return h.fail(w, r, http.StatusForbidden, "not_sell_admin", "Connecting Sell needs a Sell admin. Ask a Sell admin to connect it.")
		}
		if err := h.deps.Vault.Save(r.Context(), account, tokens.Admin(), tok, user); err != nil {
			return err
		}
		if _, err := h.deps.Store.UpdateIntegration(r.Context(), account, func(in *settings.Integration) error {
			in.SellConnected = true
			in.SuperiorManager = &settings.SellUser{ID: me.ID, Name: me.Name}
			return nil
		}); err != nil {
			return err
		}
		httpx.LoggerFrom(r.Context()).Info("sell connected", "by", st.UserID, "sell_user", me.ID)
		trail.RecordAs(r.Context(), h.deps.Store, st.identity(account), audit.ConnectionSell, "",
			map[string]audit.Change{"sellUser": {To: map[string]any{"id": me.ID, "name": me.Name}}})
		http.Redirect(w, r, "/settings/?connected=1", http.StatusFound)
		return nil
	case PurposeAgent:
		if err := h.deps.Vault.Save(r.Context(), account, tokens.Agent(st.UserID), tok, user); err != nil {
			return err
		}
		httpx.LoggerFrom(r.Context()).Info("agent signed in to sell", "user", st.UserID, "sell_user", me.ID)
		return h.page(w, r, http.StatusOK, "Connected to Sell", "You are signed in to Sell as "+me.Name+". You can close this window.")
	}
	return h.fail(w, r, http.StatusBadRequest, "invalid_state", "This sign-in link is not valid. Start again from sellchat.")
}

// installResult is POST /integration/install's answer.
type installResult struct {
	Installed       bool                                       `json:"installed"`
	Elements        map[settings.Element]settings.ElementState `json:"elements"`
	SuperiorManager *settings.SellUser                         `json:"superiorManager"`
	Stated          *Stated                                    `json:"stated,omitempty"`
}

func (h *handler) install(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	client, _, err := h.deps.Vault.Client(r.Context(), id.Account, tokens.Admin())
	if errors.Is(err, tokens.ErrNoToken) || errors.Is(err, tokens.ErrBroken) {
		return &httpx.Error{Status: http.StatusConflict, Code: "sell_not_connected", Message: "Connect Sell first (Connect Sell on the settings page), then install."}
	}
	if err != nil {
		return err
	}
	req, err := readInstallRequest(r)
	if err != nil {
		return err
	}
	facts := Facts{Account: id.Account, Chat: id.Chat}
	var missing []Check
	if id.Chat == (auth.ChatFacts{}) {
		// A session from Zendesk carries no Chat facts: ask Zendesk's APIs, and take
		// the phase as the installer stated it.
		if facts.Chat, missing, err = h.chatFacts(r.Context(), id, req.ChatPhase); err != nil {
			return err
		}
		facts.PhaseStated = req.ChatPhase != 0
		facts.FromAPI = true
	}
	if facts.SellAcct, err = client.Account(r.Context()); err == nil {
		facts.SellUser, err = client.Self(r.Context())
	}
	if err != nil {
		return h.sellError(r, err)
	}
	if failed := append(missing, Prerequisites(facts)...); len(failed) > 0 {
		return &httpx.Error{Status: http.StatusUnprocessableEntity, Code: "prerequisites_failed",
			Message: fmt.Sprintf("%d install requirement(s) are not met; each one says what to do.", len(failed)), Details: sourced(failed, facts)}
	}
	in, err := h.deps.Store.UpdateIntegration(r.Context(), id.Account, func(in *settings.Integration) error {
		if in.Elements == nil {
			in.Elements = map[settings.Element]settings.ElementState{}
		}
		if !in.Installed {
			// A first install switches on the two apps; history waits for the admin's
			// explicit confirmation (history confirmation). A re-install leaves the
			// switches as they are.
			for _, e := range []settings.Element{settings.ChatAppInSell, settings.SellAppInChat} {
				st := in.Elements[e]
				st.Enabled = true
				in.Elements[e] = st
			}
		}
		in.Installed, in.InstalledBy, in.InstalledAt = true, id.UserID, h.now().UTC()
		in.SellConnected = true
		in.SuperiorManager = &settings.SellUser{ID: facts.SellUser.ID, Name: facts.SellUser.Name}
		return nil
	})
	if err != nil {
		return err
	}
	httpx.LoggerFrom(r.Context()).Info("integration installed", "by", id.UserID)
	changes := map[string]audit.Change{"installed": {From: false, To: true}}
	if facts.PhaseStated {
		changes["chatPhase"] = audit.Change{To: req.ChatPhase} // stated by the installer, not read
	}
	trail.Record(r, h.deps.Store, audit.Install, "", changes)
	httpx.WriteJSON(w, http.StatusCreated, installResult{Installed: true, Elements: in.Elements, SuperiorManager: in.SuperiorManager, Stated: statedOf(facts)})
	return nil
}

func (h *handler) uninstall(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	purge := false
	if v := r.URL.Query().Get("purge"); v != "" {
		if v != "true" && v != "false" {
			return httpx.Invalid("purge", "invalid_value", `purge must be "true" or "false".`)
		}
		purge = v == "true"
	}
	if purge {
		n, err := h.deps.Store.DeletePrefix(r.Context(), id.Account, "")
		if err != nil {
			return err
		}
		httpx.LoggerFrom(r.Context()).Info("integration purged", "by", id.UserID, "items", n)
		// Recorded after the purge, which deleted the trail with everything else: the
		// entry is what is left to say who purged the account, and when.
		trail.Record(r, h.deps.Store, audit.Uninstall, "", map[string]audit.Change{"purge": {To: true}, "deletedItems": {To: n}})
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"uninstalled": true, "purged": true, "deletedItems": n})
		return nil
	}
	n, err := h.deps.Vault.DeleteAll(r.Context(), id.Account)
	if err != nil {
		return err
	}
	if _, err := h.deps.Store.DeletePrefix(r.Context(), id.Account, statePrefix); err != nil {
		return err
	}
	// Chats, feed entries and settings stay: reinstalling picks up where it was.
	if _, err := h.deps.Store.UpdateIntegration(r.Context(), id.Account, func(in *settings.Integration) error {
		in.SellConnected, in.Installed = false, false
		for e, st := range in.Elements {
			st.Enabled = false
			in.Elements[e] = st
		}
		return nil
	}); err != nil {
		return err
	}
	httpx.LoggerFrom(r.Context()).Info("integration uninstalled", "by", id.UserID, "tokens", n)
	trail.Record(r, h.deps.Store, audit.Uninstall, "", map[string]audit.Change{"purge": {To: false}, "deletedTokens": {To: n}})
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"uninstalled": true, "purged": false, "deletedTokens": n})
	return nil
}

// sellError maps a Sell failure to the contract: the admin's token no longer works,
// or Sell is unreachable.
func (h *handler) sellError(r *http.Request, err error) error {
	if tokens.IsRefused(err) {
		id, _ := auth.From(r.Context())
		_ = h.deps.Vault.MarkBroken(r.Context(), id.Account, tokens.Admin(), "refused by Sell")
		return &httpx.Error{Status: http.StatusConflict, Code: "sell_not_connected", Message: "Sell no longer accepts the connection. Connect Sell again from the settings page.", Err: err}
	}
	return &httpx.Error{Status: http.StatusBadGateway, Code: "sell_unavailable", Message: "Sell could not be reached. Try again in a moment.", Err: err}
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}
