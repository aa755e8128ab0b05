package oauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/sellchat/sellchat/shared/domain/audit"
	"github.com/sellchat/sellchat/shared/platform/trail"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/domain/session"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
	"github.com/sellchat/sellchat/shared/platform/webpage"
)

// PurposeZendesk connects the account's Zendesk and signs the admin in to the
// settings page ("Sign in with Zendesk"): Zendesk's authorization code grant with
// PKCE (https://developer.zendesk.com/documentation/api-basics/authentication/oauth-pkce).
const PurposeZendesk = "zendesk"

var errSessionsOff = webpage.ErrSessionsOff

// startAny serves GET /oauth/start: the Zendesk sign-in starts without a session (it
// is how an admin gets one); every other purpose needs the caller's session.
func (h *handler) startAny(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Query().Get("purpose") == PurposeZendesk {
		return h.startZendesk(w, r)
	}
	return h.deps.Verifier.Require(h.start)(w, r)
}

func (h *handler) startZendesk(w http.ResponseWriter, r *http.Request) error {
	account := r.URL.Query().Get("account")
	if !auth.ValidAccount(account) {
		return httpx.Invalid("account", "invalid_value", "account must be the Zendesk subdomain, e.g. acme for acme.zendesk.com.")
	}
	if h.deps.Sessions == nil {
		return errSessionsOff
	}
	cfg, err := h.deps.Vault.Zendesk.OAuth(account)
	if err != nil || h.deps.Vault.Zendesk.ClientID == "" {
		return &httpx.Error{Status: http.StatusServiceUnavailable, Code: "zendesk_not_configured",
			Message: "This deployment has no Zendesk OAuth client (ZENDESK_CLIENT_ID)."}
	}
	r = httpx.SetAccount(r, account)
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	nonce := base64.RawURLEncoding.EncodeToString(raw[:])
	st := state{Purpose: PurposeZendesk, Verifier: oauth2.GenerateVerifier(), Created: h.now().UTC()}
	if err := h.deps.Store.Create(r.Context(), store.Key{Account: account, SK: statePrefix + nonce}, st, h.now().Add(StateTTL)); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return toAuthorize(w, r, cfg.AuthCodeURL(account+"."+nonce, oauth2.S256ChallengeOption(st.Verifier)))
}

// zendeskCallback finishes "Sign in with Zendesk": the code is exchanged (with the
// PKCE verifier), the token must belong to a Zendesk admin of the account, sellchat's
// installed apps and their keys are read through it, and the admin lands on the
// settings page holding a session. Nothing is stored unless every step passed.
func (h *handler) zendeskCallback(w http.ResponseWriter, r *http.Request, account string, st state) error {
	code, ref := callbackCode(r, zendeskSide)
	if ref != nil {
		return h.refuse(w, r, ref)
	}
	if h.deps.Sessions == nil {
		return errSessionsOff
	}
	cfg, err := h.deps.Vault.Zendesk.OAuth(account)
	if err != nil {
		return err
	}
	tok, ref := h.exchange(r, zendeskSide, cfg, code, oauth2.VerifierOption(st.Verifier))
	if ref != nil {
		return h.refuse(w, r, ref)
	}
	client, err := h.zendeskClient(account, h.deps.Vault.Zendesk.Base, tok)
	if err != nil {
		return err
	}
	me, ref := tokenUser(r, zendeskSide, "zendesk me", client.Me)
	if ref != nil {
		return h.refuse(w, r, ref)
	}
	if !me.IsAdmin() || me.Suspended {
		return h.fail(w, r, http.StatusForbidden, "not_zendesk_admin", "Only a Zendesk admin can connect Zendesk and open sellchat's settings. Ask an admin to sign in.")
	}
	apps, err := h.ourApps(r.Context(), client)
	if err != nil {
		httpx.LoggerFrom(r.Context()).Warn("zendesk apps failed", "err", err.Error())
		return h.fail(w, r, http.StatusBadGateway, "zendesk_unavailable", "Zendesk could not list the account's apps. Try again in a moment.")
	}
	userID := fmt.Sprint(me.ID)
	if err := h.deps.Vault.SaveZendesk(r.Context(), account, tok, userID, me.Name, me.Email); err != nil {
		return err
	}
	if _, err := h.deps.Store.UpdateIntegration(r.Context(), account, func(in *settings.Integration) error {
		in.Zendesk = settings.ZendeskLink{Connected: true, ConnectedBy: userID, ConnectedAt: h.now().UTC(), Apps: apps,
			Notifications: in.Zendesk.Notifications}
		return nil
	}); err != nil {
		return err
	}
	sess, err := h.deps.Sessions.Mint(account, session.User{ID: userID, Role: auth.RoleAdmin, Email: me.Email, Name: me.Name}, "", "")
	if err != nil {
		return err
	}
	httpx.LoggerFrom(r.Context()).Info("zendesk connected", "by", userID, "apps", len(apps))
	trail.RecordAs(r.Context(), h.deps.Store, auth.Identity{Account: account, UserID: userID, Email: me.Email, Name: me.Name, Role: auth.RoleAdmin},
		audit.ConnectionZendesk, "", map[string]audit.Change{"apps": {To: len(apps)}})
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	// The session rides in the fragment: the browser keeps it, no server log sees it.
	http.Redirect(w, r, "/settings/?zendesk=connected#token="+url.QueryEscape(sess.Token), http.StatusSeeOther)
	return nil
}

// ourApps returns sellchat's apps among the account's installations: those whose
// backend_url setting (the packages' one parameter, infra/apps) is this deployment,
// each with the key Zendesk signs its tokens with.
func (h *handler) ourApps(ctx context.Context, client *zendesk.Client) ([]settings.ZendeskApp, error) {
	ins, err := client.Installations(ctx)
	if err != nil {
		return nil, err
	}
	var apps []settings.ZendeskApp
	for _, in := range ins {
		var s struct {
			BackendURL string `json:"backend_url"`
		}
		if json.Unmarshal(in.Settings, &s) != nil || !in.Enabled || !sameBase(s.BackendURL, h.deps.PublicBaseURL) {
			continue
		}
		key, err := client.AppPublicKey(ctx, in.AppID)
		if err != nil {
			return nil, err
		}
		pemText, err := auth.EncodePublicKey(key)
		if err != nil {
			return nil, err
		}
		apps = append(apps, settings.ZendeskApp{AppID: in.AppID, InstallationID: in.ID, PublicKey: string(pemText)})
	}
	return apps, nil
}

func sameBase(a, b string) bool {
	return a != "" && strings.EqualFold(strings.TrimRight(a, "/"), strings.TrimRight(b, "/"))
}

// sessionRequest is POST /session's body.
type sessionRequest struct {
	Token string `json:"token"`
}

// session serves POST /session: the signed-URL exchange as an API, for clients and
// tests (the pages' entry URLs do the same for a browser).
func (h *handler) session(w http.ResponseWriter, r *http.Request) error {
	var req sessionRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Token == "" {
		return httpx.Invalid("token", "required", "token is the token Zendesk posted to the app.")
	}
	if h.deps.Sessions == nil {
		return errSessionsOff
	}
	sess, err := h.deps.Sessions.Exchange(r.Context(), req.Token)
	if err != nil {
		return session.Answer(err)
	}
	r = httpx.SetAccount(r, sess.Account)
	httpx.LoggerFrom(r.Context()).Info("session minted", "user", sess.User.ID, "role", sess.User.Role, "product", sess.Product, "location", sess.Location)
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, sess)
	return nil
}
