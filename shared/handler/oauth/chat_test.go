package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// startChat starts connecting Chat with token and returns the authorize URL.
func startChat(t *testing.T, h http.Handler, token string) string {
	t.Helper()
	res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/oauth/start?account=acme&purpose=chat", Token: token,
		Header: map[string]string{"Accept": "application/json"}})
	if res.Status != 200 {
		t.Fatalf("start: %d %s", res.Status, res.Body)
	}
	var start struct{ AuthorizeURL string }
	res.JSON(t, &start)
	return start.AuthorizeURL
}

// connectChat runs the Chat round trip from authURL through the Zendesk sandbox's
// authorize page and returns the callback's answer.
func connectChat(t *testing.T, env *apptest.Env, h http.Handler, authURL string) apptest.Response {
	t.Helper()
	back := env.Zendesk.Authorize(t, authURL)
	return apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/oauth/callback?" + back.Encode()})
}

func TestAnAdminConnectsChatAndItsTokenIsStoredSealed(t *testing.T) {
	t.Parallel()
	env, h := newOAuth(t)
	ctx := context.Background()
	authURL := startChat(t, h, env.Sign(t, owner))
	u, err := url.Parse(authURL)
	if err != nil || u.Path != zendesk.ChatAuthorizePath || u.Query().Get("subdomain") != "acme" || u.Query().Has("code_challenge") {
		t.Fatalf("authorize URL %s: want Chat's authorize page for acme, without PKCE", authURL)
	}
	res := connectChat(t, env, h, authURL)
	if res.Status != http.StatusFound || res.Header.Get("Location") != "/settings/?chat=connected" {
		t.Fatalf("callback: %d %q %s", res.Status, res.Header.Get("Location"), res.Body)
	}
	in, err := env.Deps.Store.Integration(ctx, "acme")
	if err != nil || !in.Chat.Connected || in.Chat.ConnectedBy != "1" || in.Chat.ConnectedAt.IsZero() {
		t.Fatalf("integration's Chat link %+v %v", in.Chat, err)
	}
	tok, rec, err := env.Deps.Vault.Load(ctx, "acme", tokens.Chat())
	if err != nil || rec.ZendeskEmail != zendesktest.DemoAdaEmail {
		t.Fatalf("the Chat token was not stored: %+v %v", rec, err)
	}
	if strings.Contains(string(rec.Sealed), tok.AccessToken) {
		t.Fatal("the stored Chat token is readable in the table")
	}
	// The stored token works for what the poll does: an admin's Chat API calls.
	client, err := env.Deps.Vault.ChatClient(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.ChatAccount(ctx); err != nil {
		t.Fatalf("the stored Chat token does not work: %v", err)
	}
	// Not yet installed, history off: not polled until both.
	if accounts, _ := env.Deps.Store.ChatPollAccounts(ctx); len(accounts) != 0 {
		t.Fatalf("accounts to poll %v before install and history", accounts)
	}
	env.Connect(t, "acme")
	env.SetHistory(t, "acme", true)
	if accounts, _ := env.Deps.Store.ChatPollAccounts(ctx); !slices.Equal(accounts, []string{"acme"}) {
		t.Fatalf("accounts to poll %v, want [acme]", accounts)
	}
}

func TestOnlyAChatAdminWhoStartedCanConnectChat(t *testing.T) {
	t.Parallel()
	// Each case returns the authorize URL a browser follows, after setting the world
	// up; every one ends in a 403 of its code and nothing connected.
	cases := []struct {
		name, code string
		authorize  func(t *testing.T, env *apptest.Env, h http.Handler) string
	}{
		{"a Chat agent is refused", "not_chat_admin", func(t *testing.T, env *apptest.Env, h http.Handler) string {
			// An admin in the token (say, of Support), but only an agent in Chat.
			rex := owner
			rex.Email = zendesktest.DemoRexEmail
			return startChat(t, h, env.Sign(t, rex))
		}},
		{"another admin approving the link is refused", "chat_user_mismatch", func(t *testing.T, env *apptest.Env, h http.Handler) string {
			env.Zendesk.AddUser(zendesk.User{Name: "Otto Other", Email: "otto@example.com", Role: zendesk.RoleAdmin, Active: true})
			// The link Ada started, approved by Otto (forwarded, or Otto signed in).
			return strings.Replace(startChat(t, h, env.Sign(t, owner)), url.QueryEscape(zendesktest.DemoAdaEmail), url.QueryEscape("otto@example.com"), 1)
		}},
		{"a denied authorization connects nothing", "access_denied", func(t *testing.T, env *apptest.Env, h http.Handler) string {
			env.Zendesk.DenyAuthorization(true)
			return startChat(t, h, env.Sign(t, owner))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env, h := newOAuth(t)
			res := connectChat(t, env, h, c.authorize(t, env, h))
			if res.Status != http.StatusForbidden || !strings.Contains(string(res.Body), c.code) {
				t.Fatalf("callback %d %s, want 403 %s", res.Status, res.Body, c.code)
			}
			assertChatNotConnected(t, env)
		})
	}
}

func TestADeploymentWithoutAChatClientSaysSo(t *testing.T) {
	t.Parallel()
	env, h := newOAuth(t)
	env.Deps.Vault.Chat.ClientID = ""
	res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/oauth/start?account=acme&purpose=chat", Token: env.Sign(t, owner)})
	if res.Status != http.StatusServiceUnavailable || res.ErrorCode() != "chat_not_configured" {
		t.Fatalf("start answered %d %s", res.Status, res.Body)
	}
}

func assertChatNotConnected(t *testing.T, env *apptest.Env) {
	t.Helper()
	if _, _, err := env.Deps.Vault.Load(context.Background(), "acme", tokens.Chat()); err != tokens.ErrNoToken {
		t.Errorf("a refused round trip stored a Chat token (%v)", err)
	}
	if in, _ := env.Deps.Store.Integration(context.Background(), "acme"); in.Chat.Connected {
		t.Error("a refused round trip connected Chat")
	}
}
