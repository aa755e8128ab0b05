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

// tokenUser asks p's API, through me, whose token a callback has just received.
// A failure is p's being unavailable (logged as what failed): the Sell, Zendesk and
// Chat callbacks all ask alike before they check the user.
func tokenUser[U any](r *http.Request, p provider, what string, me func(context.Context) (U, error)) (U, *refusal) {
	u, err := me(r.Context())
	if err != nil {
		httpx.LoggerFrom(r.Context()).Warn(what+" failed", "err", err.Error())
		return u, p.unavailable()
	}
	return u, nil
}

// zendeskClient is a Zendesk client acting with tok, the token a callback has just
// received, at the account's root URL that base gives (Support's or the Chat API's).
// The Zendesk and the Chat callbacks both ask through it whose token they hold.
func (h *handler) zendeskClient(account string, base func(account string) (string, error), tok *oauth2.Token) (*zendesk.Client, error) {
	root, err := base(account)
	if err != nil {
		return nil, err
	}
	return zendesk.New(zendesk.Options{Subdomain: account, BaseURL: root, TokenSource: oauth2.StaticTokenSource(tok), HTTPClient: h.http})
}

// provenUser refuses a callback whose token is not the caller's: the user who
// started the round trip (st) must have an email (a state without one, left by an
// older version, proves nothing) and it must be the email of the token's user on
// p's side. Otherwise someone could send their own sign-in link to a colleague and
// collect the colleague's access. The Sell and the Chat callbacks both check it.
func provenUser(p provider, st state, email string) *refusal {
	if st.Email == "" {
		return &refusal{errNoProof.Status, errNoProof.Code, errNoProof.Message}
	}
	if !sell.SameEmail(st.Email, email) {
		return &refusal{http.StatusForbidden, p.code + "_user_mismatch", "You are signed in to " + p.name + " as " + email + ", but started as " + st.Email + ". Sign in to " + p.name + " with your own user and try again."}
	}
	return nil
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
	client, err := h.zendeskClient(account, h.deps.Vault.Chat.Base, tok)
	if err != nil {
		return err
	}
	me, ref := tokenUser(r, chatSide, "chat agent me", client.ChatAgentMe)
	if ref != nil {
		return h.refuse(w, r, ref)
	}
	r = httpx.SetAccount(r, account)
	if ref := provenUser(chatSide, st, me.Email); ref != nil {
		return h.refuse(w, r, ref)
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
