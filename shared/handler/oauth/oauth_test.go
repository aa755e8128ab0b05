package oauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/oauth"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// owner is a phase-4 Chat owner whose Sell user is the sandbox admin.
var owner = auth.Identity{Account: "acme", UserID: "100", Email: "ada@example.com", Name: "Ada", Role: auth.RoleOwner,
	Chat: auth.ChatFacts{Phase: 4, Plan: "professional", Role: "owner"}}

// authorize starts a round trip and follows Sell's authorize page (the sandbox
// approves at once) up to the redirect back to us, returning the callback query.
func authorize(t *testing.T, env *apptest.Env, h http.Handler, token, purpose string) url.Values {
	t.Helper()
	res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/oauth/start?account=acme&purpose=" + purpose, Token: token,
		Header: map[string]string{"Accept": "application/json"}})
	if res.Status != 200 {
		t.Fatalf("start: %d %s", res.Status, res.Body)
	}
	var start struct{ AuthorizeURL string }
	res.JSON(t, &start)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	sellRes, err := noFollow.Get(start.AuthorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	sellRes.Body.Close()
	loc, err := url.Parse(sellRes.Header.Get("Location"))
	if err != nil || sellRes.StatusCode != http.StatusFound || loc.Path != "/oauth/callback" {
		t.Fatalf("authorize answered %d Location %q", sellRes.StatusCode, sellRes.Header.Get("Location"))
	}
	return loc.Query()
}

// newOAuth is a fresh deployment and its oauth function's handler.
func newOAuth(t testing.TB) (*apptest.Env, http.Handler) {
	t.Helper()
	env := apptest.New(t)
	return env, oauth.New(env.ConnectDeps())
}

func callback(t *testing.T, h http.Handler, q url.Values) apptest.Response {
	t.Helper()
	return apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/oauth/callback?" + q.Encode()})
}

func TestInstallFlowEndToEnd(t *testing.T) {
	t.Parallel()
	env, h := newOAuth(t)
	ctx := context.Background()
	tok := env.Sign(t, owner)

	q := authorize(t, env, h, tok, "install")
	res := callback(t, h, q)
	if res.Status != http.StatusFound || res.Header.Get("Location") != "/settings/?connected=1" {
		t.Fatalf("callback: %d %s %s", res.Status, res.Header.Get("Location"), res.Body)
	}
	in, _ := env.Deps.Store.Integration(ctx, "acme")
	if !in.SellConnected || in.SuperiorManager == nil || in.SuperiorManager.ID != selltest.DemoAdminID {
		t.Fatalf("integration after connect: %+v", in)
	}

	t.Run("the stored token makes Sell calls and its refresh is saved", func(t *testing.T) {
		stored, _, err := env.Deps.Vault.Load(ctx, "acme", tokens.Admin())
		if err != nil {
			t.Fatal(err)
		}
		env.Sell.ExpireToken(stored.AccessToken)
		c, _, err := env.Deps.Vault.Client(ctx, "acme", tokens.Admin())
		if err != nil {
			t.Fatal(err)
		}
		me, err := c.Self(ctx)
		if err != nil || me.ID != selltest.DemoAdminID {
			t.Fatalf("Self after expiry: %+v %v", me, err)
		}
		again, _, _ := env.Deps.Vault.Load(ctx, "acme", tokens.Admin())
		if again.AccessToken == stored.AccessToken {
			t.Fatal("the refreshed token was not persisted")
		}
	})

	t.Run("a replayed callback is refused and stores nothing", func(t *testing.T) {
		before := storetest.Snapshot(t, env.Deps.Store)
		res := callback(t, h, q)
		if res.Status != 400 || !strings.Contains(string(res.Body), "invalid_state") {
			t.Fatalf("replay: %d %s", res.Status, res.Body)
		}
		if after := storetest.Snapshot(t, env.Deps.Store); !reflect.DeepEqual(before, after) {
			t.Fatal("a replayed callback changed the table")
		}
	})

	t.Run("install checks pass and switch the two apps on", func(t *testing.T) {
		res := apptest.Do(t, h, apptest.Request{Method: "POST", Path: "/integration/install", Token: tok})
		if res.Status != 201 {
			t.Fatalf("install: %d %s", res.Status, res.Body)
		}
		in, _ := env.Deps.Store.Integration(ctx, "acme")
		if !in.Installed || !in.Elements["chat_app_in_sell"].Enabled || !in.Elements["sell_app_in_chat"].Enabled || in.Elements["chat_history_in_sell"].Enabled {
			t.Fatalf("after install: %+v", in)
		}
	})

	t.Run("uninstall drops tokens and states but keeps settings", func(t *testing.T) {
		env.SetSettings(t, "acme", func(*settings.Settings) {}) // saves the defaults
		authorize(t, env, h, tok, "install")                    // leaves a pending state behind
		res := apptest.Do(t, h, apptest.Request{Method: "DELETE", Path: "/integration", Token: tok})
		if res.Status != 200 {
			t.Fatalf("uninstall: %d %s", res.Status, res.Body)
		}
		if _, _, err := env.Deps.Vault.Load(ctx, "acme", tokens.Admin()); !errors.Is(err, tokens.ErrNoToken) {
			t.Fatalf("admin token after uninstall: %v", err)
		}
		if states, _ := env.Deps.Store.QueryPrefix(ctx, "acme", "STATE#", 0, false); len(states) != 0 {
			t.Fatalf("%d states left", len(states))
		}
		if _, v, _ := env.Deps.Store.Settings(ctx, "acme"); v != 1 {
			t.Fatal("settings were not kept")
		}
		res = apptest.Do(t, h, apptest.Request{Method: "DELETE", Path: "/integration?purge=true", Token: tok})
		if res.Status != 200 {
			t.Fatalf("purge: %d %s", res.Status, res.Body)
		}
		// Everything is gone but the purge's own audit entry: who purged, and when.
		items, _ := env.Deps.Store.QueryPrefix(ctx, "acme", "", 0, false)
		if len(items) != 1 || !strings.HasPrefix(items[0].SK, "AUDIT#") {
			t.Fatalf("%d items left after purge", len(items))
		}
		if es, _, _ := env.Deps.Store.AuditPage(ctx, "acme", "", 5); len(es) != 1 || es[0].Action != "integration.uninstall" || es[0].Changes["purge"].To != true {
			t.Fatalf("the purge's audit entry: %+v", es)
		}
	})
}

func TestAgentSignIn(t *testing.T) {
	t.Parallel()
	env, h := newOAuth(t)
	ctx := context.Background()
	rex := auth.Identity{Account: "acme", UserID: "361", Email: "rex@example.com", Name: "Rex", Role: auth.RoleAgent}

	q := authorize(t, env, h, env.Sign(t, rex), "agent")
	res := callback(t, h, q)
	if res.Status != 200 || !strings.Contains(string(res.Body), "Connected") {
		t.Fatalf("agent callback: %d %s", res.Status, res.Body)
	}
	_, rec, err := env.Deps.Vault.Load(ctx, "acme", tokens.Agent("361"))
	if err != nil || rec.SellUserID != selltest.DemoRexID {
		t.Fatalf("agent token: %+v %v", rec, err)
	}

	t.Run("a sign-in finished as another Sell user stores nothing", func(t *testing.T) {
		// Rita starts; the page is then approved as Rex (login_hint is the starter's, so
		// swap it on the way, as someone forwarding their link to a colleague would).
		rita := auth.Identity{Account: "acme", UserID: "362", Email: "rita@example.com", Role: auth.RoleAgent}
		res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/oauth/start?purpose=agent", Token: env.Sign(t, rita), Header: map[string]string{"Accept": "application/json"}})
		var start struct{ AuthorizeURL string }
		res.JSON(t, &start)
		u, _ := url.Parse(start.AuthorizeURL)
		qq := u.Query()
		qq.Set("login_hint", "rex@example.com")
		u.RawQuery = qq.Encode()
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		sellRes, err := noFollow.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		sellRes.Body.Close()
		loc, _ := url.Parse(sellRes.Header.Get("Location"))
		before := storetest.Snapshot(t, env.Deps.Store)
		res = callback(t, h, loc.Query())
		if res.Status != 403 || !strings.Contains(string(res.Body), "sell_user_mismatch") {
			t.Fatalf("mismatch: %d %s", res.Status, res.Body)
		}
		after := storetest.Snapshot(t, env.Deps.Store)
		if len(after) != len(before)-1 { // only the state was consumed
			t.Fatalf("items %d → %d", len(before), len(after))
		}
		if _, _, err := env.Deps.Vault.Load(ctx, "acme", tokens.Agent("362")); !errors.Is(err, tokens.ErrNoToken) {
			t.Fatalf("rita got a token: %v", err)
		}
	})
}

func TestCallbackRefusals(t *testing.T) {
	t.Parallel()
	env, h := newOAuth(t)
	ctx := context.Background()
	tok := env.Sign(t, owner)

	t.Run("a state moved to another account is unknown", func(t *testing.T) {
		q := authorize(t, env, h, tok, "install")
		_, nonce, _ := strings.Cut(q.Get("state"), ".")
		q.Set("state", "globex."+nonce)
		if res := callback(t, h, q); res.Status != 400 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("an expired state is refused", func(t *testing.T) {
		key := store.Key{Account: "acme", SK: "STATE#expiredexpiredexpired"}
		if err := env.Deps.Store.Create(ctx, key, map[string]any{"userId": "100", "purpose": "install"}, time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		res := callback(t, h, url.Values{"state": {"acme.expiredexpiredexpired"}, "code": {"x"}})
		if res.Status != 400 || !strings.Contains(string(res.Body), "invalid_state") {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("a denied authorization stores nothing", func(t *testing.T) {
		env.Sell.DenyAuthorization(true)
		q := authorize(t, env, h, tok, "install")
		env.Sell.DenyAuthorization(false)
		res := callback(t, h, q)
		if res.Status != 403 || !strings.Contains(string(res.Body), "access_denied") {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if _, _, err := env.Deps.Vault.Load(ctx, "acme", tokens.Admin()); !errors.Is(err, tokens.ErrNoToken) {
			t.Fatal("a token was stored after access_denied")
		}
	})
	t.Run("a forged code is refused", func(t *testing.T) {
		q := authorize(t, env, h, tok, "install")
		q.Set("code", "forged")
		res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/oauth/callback?" + q.Encode(), Header: map[string]string{"Accept": "application/json"}})
		if res.Status != 400 || res.ErrorCode() != "invalid_code" {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("garbage states are refused", func(t *testing.T) {
		for _, s := range []string{"", "nodot", "acme.", ".x", "ACME!.x", strings.Repeat("a", 300)} {
			if res := callback(t, h, url.Values{"state": {s}, "code": {"c"}}); res.Status != 400 {
				t.Fatalf("state %q: %d", s, res.Status)
			}
		}
	})
	t.Run("installing needs a Sell admin", func(t *testing.T) {
		notAdmin := owner
		notAdmin.Email = "rex@example.com"
		q := authorize(t, env, h, env.Sign(t, notAdmin), "install")
		if res := callback(t, h, q); res.Status != 403 || !strings.Contains(string(res.Body), "not_sell_admin") {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if _, _, err := env.Deps.Vault.Load(ctx, "acme", tokens.Admin()); !errors.Is(err, tokens.ErrNoToken) {
			t.Fatal("a non-admin's token was stored as the admin token")
		}
	})
}

func TestInstallReportsEveryFailedPrerequisite(t *testing.T) {
	t.Parallel()
	env, h := newOAuth(t)

	res := apptest.Do(t, h, apptest.Request{Method: "POST", Path: "/integration/install", Token: env.Sign(t, owner)})
	if res.Status != 409 || res.ErrorCode() != "sell_not_connected" {
		t.Fatalf("before connecting: %d %s", res.Status, res.Body)
	}
	env.Connect(t, "acme")
	phase4Admin := owner
	phase4Admin.Role = auth.RoleAdmin
	phase4Admin.Chat = auth.ChatFacts{Phase: 4, Plan: "lite", Role: "admin"}
	res = apptest.Do(t, h, apptest.Request{Method: "POST", Path: "/integration/install", Token: env.Sign(t, phase4Admin)})
	var body struct {
		Error struct {
			Code    string
			Details []oauth.Check
		}
	}
	res.JSON(t, &body)
	got := []string{}
	for _, c := range body.Error.Details {
		got = append(got, c.Code)
	}
	if res.Status != 422 || body.Error.Code != "prerequisites_failed" || fmt.Sprint(got) != "[chat_plan_too_low not_account_owner]" {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
}

func TestBadRequestsChangeNothing(t *testing.T) {
	t.Parallel()
	env, h := newOAuth(t)
	env.Connect(t, "acme")
	admin := env.Sign(t, owner)
	agent := env.Token(t, "acme", auth.RoleAgent)
	other := env.Token(t, "globex", auth.RoleAdmin)
	cases := []struct {
		name   string
		req    apptest.Request
		status int
		code   string
	}{
		{"start without a token is 401", apptest.Request{Method: "GET", Path: "/oauth/start?purpose=install"}, 401, "unauthenticated"},
		{"start with an expired token is 401", apptest.Request{Method: "GET", Path: "/oauth/start?purpose=install", Token: env.ExpiredToken(t, "acme", auth.RoleAdmin)}, 401, "invalid_token"},
		{"start with a forged token is 401", apptest.Request{Method: "GET", Path: "/oauth/start?purpose=install", Token: env.RogueToken(t, "acme", auth.RoleAdmin)}, 401, "invalid_token"},
		{"an agent cannot start an install", apptest.Request{Method: "GET", Path: "/oauth/start?purpose=install", Token: agent}, 403, "forbidden"},
		{"an agent cannot start connecting Chat", apptest.Request{Method: "GET", Path: "/oauth/start?purpose=chat", Token: agent}, 403, "forbidden"},
		{"connecting another account's Chat is 403", apptest.Request{Method: "GET", Path: "/oauth/start?account=acme&purpose=chat", Token: other}, 403, "account_mismatch"},
		{"starting for another account is 403", apptest.Request{Method: "GET", Path: "/oauth/start?account=acme&purpose=install", Token: other}, 403, "account_mismatch"},
		{"an unknown purpose is 422", apptest.Request{Method: "GET", Path: "/oauth/start?purpose=steal", Token: admin}, 422, "invalid_value"},
		{"an agent cannot install", apptest.Request{Method: "POST", Path: "/integration/install", Token: agent}, 403, "forbidden"},
		{"install without a token is 401", apptest.Request{Method: "POST", Path: "/integration/install"}, 401, "unauthenticated"},
		{"an agent cannot uninstall", apptest.Request{Method: "DELETE", Path: "/integration", Token: agent}, 403, "forbidden"},
		{"a bad purge flag is 422", apptest.Request{Method: "DELETE", Path: "/integration?purge=maybe", Token: admin}, 422, "invalid_value"},
	}
	before := storetest.Snapshot(t, env.Deps.Store)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := apptest.Do(t, h, c.req)
			if res.Status != c.status || res.ErrorCode() != c.code {
				t.Fatalf("got %d %s; want %d %s", res.Status, res.Body, c.status, c.code)
			}
		})
	}
	if after := storetest.Snapshot(t, env.Deps.Store); !reflect.DeepEqual(before, after) {
		b, _ := json.Marshal(after)
		t.Fatalf("bad requests changed the table: %s", b)
	}
}

// A caller whose identity carries no email cannot prove that the Sell user who
// approves is them: a forwarded link, approved by an admin in Sell, would otherwise
// make the admin's Sell access theirs (as agent) or the account's (as installer).
func TestASignInThatCannotProveWhoIsSigningInIsRefused(t *testing.T) {
	t.Parallel()
	env, h := newOAuth(t)
	ctx := context.Background()
	for _, purpose := range []string{"agent", "install"} {
		t.Run(purpose+": starting without an email is refused and stores nothing", func(t *testing.T) {
			anon := owner
			anon.UserID, anon.Email = "377", ""
			before := storetest.Snapshot(t, env.Deps.Store)
			res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/oauth/start?purpose=" + purpose, Token: env.Sign(t, anon),
				Header: map[string]string{"Accept": "application/json"}})
			if res.Status != 403 || res.ErrorCode() != "sell_user_mismatch" {
				t.Fatalf("%d %s", res.Status, res.Body)
			}
			if after := storetest.Snapshot(t, env.Deps.Store); len(after) != len(before) {
				t.Fatalf("items %d → %d", len(before), len(after))
			}
		})
		t.Run(purpose+": a pending sign-in without an email is refused at the callback", func(t *testing.T) {
			// A real code, approved in Sell as the sandbox admin, brought back with a
			// state that names no email (as one left by an earlier version would).
			q := authorize(t, env, h, env.Sign(t, owner), purpose)
			nonce := "noemailnoemailnoemail" + purpose
			if err := env.Deps.Store.Create(ctx, store.Key{Account: "acme", SK: "STATE#" + nonce},
				map[string]any{"userId": "377", "purpose": purpose, "created": time.Now().UTC()}, time.Now().Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			q.Set("state", "acme."+nonce)
			res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/oauth/callback?" + q.Encode(), Header: map[string]string{"Accept": "application/json"}})
			if res.Status != 403 || res.ErrorCode() != "sell_user_mismatch" {
				t.Fatalf("%d %s", res.Status, res.Body)
			}
			if _, _, err := env.Deps.Vault.Load(ctx, "acme", tokens.Agent("377")); !errors.Is(err, tokens.ErrNoToken) {
				t.Fatalf("the agent got a Sell token: %v", err)
			}
			if _, _, err := env.Deps.Vault.Load(ctx, "acme", tokens.Admin()); !errors.Is(err, tokens.ErrNoToken) {
				t.Fatalf("an admin token was stored: %v", err)
			}
		})
	}
}
