package oauth

import (
	"context"
	"errors"
	"fmt"
	"github.com/sellchat/sellchat/shared/domain/audit"
	"github.com/sellchat/sellchat/shared/platform/trail"
	"net/http"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// Connecting Chat (purpose=chat): an admin grants sellchat a Chat API token, with
// which the chatpoll function reads the account's finished chats from the Chat API's
// incremental export (Zendesk Chat has no chat webhook). It is Chat's authorization
// code grant on www.zopim.com, without PKCE, which Chat does not support
// (zendesk.ChatOAuthConfig); the single-use state alone binds the callback to the
// admin who started.

// provider is the authorization server a callback comes back from, as its answers
// name it: in sentences, and as the prefix of their codes.
type provider struct{ name, code string }

var (
	sellSide    = provider{"Sell", "sell"}
	zendeskSide = provider{"Zendesk", "zendesk"}
	chatSide    = provider{"Chat", "chat"}
)

// refusal is a callback's answer when the round trip cannot go on (see fail).
type refusal struct {
	status        int
	code, message string
}

func (h *handler) refuse(w http.ResponseWriter, r *http.Request, ref *refusal) error {
	return h.fail(w, r, ref.status, ref.code, ref.message)
}

// callbackCode reads the authorization server's answer: its code, or a refusal when
// it sent an error (the person denied access) or no usable code.
func callbackCode(r *http.Request, p provider) (string, *refusal) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		if e == "access_denied" {
			return "", &refusal{http.StatusForbidden, "access_denied", p.name + " access was not granted, so nothing was connected. You can try again at any time."}
		}
		return "", &refusal{http.StatusBadGateway, p.code + "_oauth_error", p.name + " could not complete the sign-in. Try again in a moment."}
	}
	code := q.Get("code")
	if code == "" || len(code) > 2048 {
		return "", &refusal{http.StatusBadRequest, "missing_code", p.name + " did not send an authorization code. Start again from sellchat."}
	}
	return code, nil
}

// exchange trades code for a token at cfg's token endpoint: a refusal when the
// server turned the code down (expired, used) or could not be reached.
func (h *handler) exchange(r *http.Request, p provider, cfg *oauth2.Config, code string, opts ...oauth2.AuthCodeOption) (*oauth2.Token, *refusal) {
	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, h.http)
	tok, err := cfg.Exchange(ctx, code, opts...)
	if err == nil {
		return tok, nil
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
		return nil, &refusal{http.StatusBadRequest, "invalid_code", p.name + " refused the authorization code (it may have expired). Start again from sellchat."}
	}
	httpx.LoggerFrom(r.Context()).Warn(p.code+" token exchange failed", "err", err.Error())
	return nil, p.unavailable()
}

// unavailable is the refusal of a round trip whose server failed after the code.
func (p provider) unavailable() *refusal {
	return &refusal{http.StatusBadGateway, p.code + "_unavailable", p.name + " could not be reached. Try again in a moment."}
}

// chatOAuth is the deployment's Chat OAuth configuration for account; 503 when the
// deployment has no Chat API client.
func (h *handler) chatOAuth(account string) (*oauth2.Config, error) {
	if h.deps.Vault.Chat.ClientID == "" {
		return nil, &httpx.Error{Status: http.StatusServiceUnavailable, Code: "chat_not_configured",
			Message: "This deployment has no Chat API client (CHAT_CLIENT_ID)."}
	}
	return h.deps.Vault.Chat.OAuth(account)
}

// chatCallback finishes connecting Chat: the code is exchanged, the token must work
// and belong to a Chat admin (the export is theirs to read) with the email of the
// Zendesk admin who started, so a forwarded link cannot connect someone else's
// access. Then the token is sealed in the vault and the integration records the
// connection, which starts the poll when history in Sell is on. Nothing is stored
// unless every step passed.
func (h *handler) chatCallback(w http.ResponseWriter, r *http.Request, account string, st state) error {
	code, ref := callbackCode(r, chatSide)
	if ref != nil {
		return h.refuse(w, r, ref)
	}
	cfg, err := h.chatOAuth(account)
	if err != nil {
		return err
	}
	tok, ref := h.exchange(r, chatSide, cfg, code)
	if ref != nil {
		return h.refuse(w, r, ref)
	}
	base, err := h.deps.Vault.Chat.Base(account)
	if err != nil {
		return err
	}
	client, err := zendesk.New(zendesk.Options{Subdomain: account, BaseURL: base, TokenSource: oauth2.StaticTokenSource(tok), HTTPClient: h.http})
	if err != nil {
		return err
	}
	me, err := client.ChatAgentMe(r.Context())
	if err != nil {
		httpx.LoggerFrom(r.Context()).Warn("chat agent me failed", "err", err.Error())
		return h.refuse(w, r, chatSide.unavailable())
	}
	r = httpx.SetAccount(r, account)
	if st.Email == "" {
		return h.fail(w, r, errNoProof.Status, errNoProof.Code, errNoProof.Message)
	}
	if !sell.SameEmail(st.Email, me.Email) {
		return h.fail(w, r, http.StatusForbidden, "chat_user_mismatch", "You are signed in to Chat as "+me.Email+", but started as "+st.Email+". Sign in to Chat with your own user and try again.")
	}
	if !me.Roles.Administrator && !me.Roles.Owner {
		return h.fail(w, r, http.StatusForbidden, "not_chat_admin", "Connecting Chat needs a Chat admin: only admins may read the account's chats. Ask a Chat admin to connect it.")
	}
	userID := fmt.Sprint(me.ID) // a Chat agent's id is their Zendesk user id (zendesk.ChatAgentIDIsUserID)
	if err := h.deps.Vault.SaveChat(r.Context(), account, tok, userID, me.DisplayName, me.Email); err != nil {
		return err
	}
	if _, err := h.deps.Store.UpdateIntegration(r.Context(), account, func(in *settings.Integration) error {
		in.Chat = settings.ChatLink{Connected: true, ConnectedBy: userID, ConnectedAt: h.now().UTC()}
		return nil
	}); err != nil {
		return err
	}
	httpx.LoggerFrom(r.Context()).Info("chat connected", "by", userID)
	trail.RecordAs(r.Context(), h.deps.Store, st.identity(account), audit.ConnectionChat, "", map[string]audit.Change{"chatAgent": {To: userID}})
	http.Redirect(w, r, "/settings/?chat=connected", http.StatusFound)
	return nil
}
