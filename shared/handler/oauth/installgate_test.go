package oauth_test

import (
	"context"
	"testing"

	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/oauth"
	"github.com/sellchat/sellchat/shared/handler/panel"
	settingsapi "github.com/sellchat/sellchat/shared/handler/settings"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// The install checks are not advisory: an account whose checks never passed cannot
// switch an element on, and its stored Sell token is not used for agents.
func TestElementsSwitchOnOnlyOnAnInstalledAccount(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	ctx := context.Background()
	oauth, settingsAPI, panelAPI := oauth.New(env.ConnectDeps()), settingsapi.New(env.AdminDeps()), panel.New(env.PanelDeps())
	tok := env.Sign(t, owner)
	put := func(name, body string) apptest.Response {
		return apptest.Do(t, settingsAPI, apptest.Request{Method: "PUT", Path: "/integration/elements/" + name, Token: tok, Body: body})
	}
	refusedAndUnchanged := func(t *testing.T) {
		t.Helper()
		for _, c := range []struct{ name, body string }{
			{"sell_app_in_chat", `{"enabled":true}`},
			{"chat_app_in_sell", `{"enabled":true,"signInOnLoad":true}`},
			{"chat_history_in_sell", `{"enabled":true,"confirm":true}`},
		} {
			before := storetest.Snapshot(t, env.Deps.Store)
			if res := put(c.name, c.body); res.Status != 409 || res.ErrorCode() != "not_installed" {
				t.Fatalf("switching %s on: %d %s", c.name, res.Status, res.Body)
			}
			if after := storetest.Snapshot(t, env.Deps.Store); len(after) != len(before) {
				t.Fatalf("a refused switch changed the table: %d → %d items", len(before), len(after))
			}
		}
	}

	// Sell connected through the real OAuth round trip, no install yet.
	if res := callback(t, oauth, authorize(t, env, oauth, tok, "install")); res.Status != 302 {
		t.Fatalf("connect: %d %s", res.Status, res.Body)
	}
	t.Run("before the install checks ran", refusedAndUnchanged)

	t.Run("after the install checks failed", func(t *testing.T) {
		lite := owner
		lite.Chat.Plan = "lite"
		res := apptest.Do(t, oauth, apptest.Request{Method: "POST", Path: "/integration/install", Token: env.Sign(t, lite)})
		if res.Status != 422 {
			t.Fatalf("install on Lite: %d %s", res.Status, res.Body)
		}
		refusedAndUnchanged(t)
	})

	t.Run("switching off is always allowed", func(t *testing.T) {
		if res := put("sell_app_in_chat", `{"enabled":false}`); res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})

	t.Run("an element left on without an install does not reach Sell", func(t *testing.T) {
		// As an account switched on before the rule existed would be stored.
		if _, err := env.Deps.Store.UpdateIntegration(ctx, "acme", func(in *settings.Integration) error {
			in.Elements = map[settings.Element]settings.ElementState{settings.SellAppInChat: {Enabled: true}}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		env.SetSettings(t, "acme", func(s *settings.Settings) { s.Access = settings.AccessAllAgents })
		agent := env.Token(t, "acme", auth.RoleAgent)
		calls := env.Sell.TotalCalls()
		res := apptest.Do(t, panelAPI, apptest.Request{Method: "GET", Path: "/panel?email=vera@example.com", Token: agent})
		if res.Status != 403 || res.ErrorCode() != "app_disabled" {
			t.Fatalf("panel: %d %s", res.Status, res.Body)
		}
		if env.Sell.TotalCalls() != calls {
			t.Fatal("the panel called Sell for an account that is not installed")
		}
	})

	t.Run("once installed, elements switch on", func(t *testing.T) {
		if res := apptest.Do(t, oauth, apptest.Request{Method: "POST", Path: "/integration/install", Token: tok}); res.Status != 201 {
			t.Fatalf("install: %d %s", res.Status, res.Body)
		}
		if res := put("chat_history_in_sell", `{"enabled":true,"confirm":true}`); res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		var in struct{ Installed bool }
		res := apptest.Do(t, settingsAPI, apptest.Request{Method: "GET", Path: "/integration", Token: tok})
		if res.JSON(t, &in); !in.Installed {
			t.Fatalf("GET /integration does not say installed: %s", res.Body)
		}
	})
}
