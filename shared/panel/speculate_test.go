package panel_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/sellchat/sellchat/shared/app/apptest"
	"github.com/sellchat/sellchat/shared/panel"
	"github.com/sellchat/sellchat/shared/sell/selltest"
	"github.com/sellchat/sellchat/shared/settings"
	"github.com/sellchat/sellchat/shared/tokens"
)

// warm is one panel handler kept across lookups, as a warm Lambda container keeps
// it: lookups after the first start their Sell searches before the session is read.
type warm struct {
	env *apptest.Env
	h   http.Handler
	tok string
}

func newWarm(t *testing.T) *warm {
	env := apptest.New(t)
	env.Connect(t, "acme")
	return &warm{env: env, h: panel.New(env.Deps), tok: agent(t, env)}
}

func (w *warm) lookup(t *testing.T, query string) (panel.Lookup, apptest.Response) {
	t.Helper()
	res := apptest.Do(t, w.h, apptest.Request{Method: "GET", Path: "/panel?" + query, Token: w.tok})
	var out panel.Lookup
	if res.Status == 200 {
		res.JSON(t, &out)
	}
	return out, res
}

// Each case makes a warm lookup with one credential, changes what the session will
// be, and checks the next answer is the new session's: an early search made with
// the old client must never be shown.
func TestAnEarlySearchIsShownOnlyForTheSameCredential(t *testing.T) {
	t.Parallel()
	liam := "email=liam@example.org" // Rita's lead: Rex's token does not see it

	t.Run("the same credential gives the same answer at the same cost", func(t *testing.T) {
		t.Parallel()
		w := newWarm(t)
		w.env.SignInAgent(t, "acme", "361", selltest.DemoRexEmail)
		first, _ := w.lookup(t, "email=vera@example.com")
		calls := w.env.Sell.TotalCalls()
		second, res := w.lookup(t, "email=vera@example.com")
		if res.Status != 200 || len(second.Matches) != 1 || second.Matches[0].ID != first.Matches[0].ID {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if n := w.env.Sell.TotalCalls() - calls; n != 2 {
			t.Errorf("a warm lookup made %d Sell calls, want 2 (one search per resource)", n)
		}
	})
	t.Run("signing in as another Sell user", func(t *testing.T) {
		t.Parallel()
		w := newWarm(t)
		w.env.SignInAgent(t, "acme", "361", selltest.DemoRexEmail)
		if out, _ := w.lookup(t, liam); len(out.Matches) != 0 {
			t.Fatalf("Rex sees Rita's lead: %+v", out.Matches)
		}
		w.env.SignInAgent(t, "acme", "361", selltest.DemoAdminEmail)
		if out, res := w.lookup(t, liam); res.Status != 200 || len(out.Matches) != 1 {
			t.Fatalf("after signing in as the admin: %d %s", res.Status, res.Body)
		}
	})
	t.Run("the admin switching access to all agents", func(t *testing.T) {
		t.Parallel()
		w := newWarm(t)
		w.env.SignInAgent(t, "acme", "361", selltest.DemoRexEmail)
		if out, _ := w.lookup(t, liam); len(out.Matches) != 0 {
			t.Fatalf("Rex sees Rita's lead: %+v", out.Matches)
		}
		setAccess(t, w.env, settings.AccessAllAgents)
		if out, res := w.lookup(t, liam); res.Status != 200 || len(out.Matches) != 1 {
			t.Fatalf("with the admin's token: %d %s", res.Status, res.Body)
		}
		setAccess(t, w.env, settings.AccessSellUsers)
		if out, _ := w.lookup(t, liam); len(out.Matches) != 0 {
			t.Fatalf("back in sell_users mode Rex sees Rita's lead: %+v", out.Matches)
		}
	})
	t.Run("the admin switching the app off", func(t *testing.T) {
		t.Parallel()
		w := newWarm(t)
		w.env.SignInAgent(t, "acme", "361", selltest.DemoRexEmail)
		w.lookup(t, "email=vera@example.com")
		if _, err := w.env.Deps.Store.UpdateIntegration(context.Background(), "acme", func(in *settings.Integration) error {
			in.Elements[settings.SellAppInChat] = settings.ElementState{Enabled: false}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, res := w.lookup(t, "email=vera@example.com"); res.Status != 403 || res.ErrorCode() != "app_disabled" {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("Sell revoking the agent's token", func(t *testing.T) {
		t.Parallel()
		w := newWarm(t)
		w.env.SignInAgent(t, "acme", "361", selltest.DemoRexEmail)
		w.lookup(t, "email=vera@example.com")
		w.env.Sell.RevokeUser(selltest.DemoRexEmail)
		if _, res := w.lookup(t, "email=vera@example.com"); res.Status != 403 || res.ErrorCode() != "no_sell_access" {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if _, _, err := w.env.Deps.Vault.Load(context.Background(), "acme", tokens.Agent("361")); err != tokens.ErrBroken {
			t.Fatalf("the token was not marked: %v", err)
		}
		calls := w.env.Sell.TotalCalls()
		if _, res := w.lookup(t, "email=vera@example.com"); res.Status != 403 || w.env.Sell.TotalCalls() != calls {
			t.Fatalf("the refused token was tried again: %d, calls %d → %d", res.Status, calls, w.env.Sell.TotalCalls())
		}
	})
}
