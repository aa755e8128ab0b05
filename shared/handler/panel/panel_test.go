package panel_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/domain/widgets"
	"github.com/sellchat/sellchat/shared/handler/panel"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// agent is Zendesk user 361 of acme.
func agent(t *testing.T, env *apptest.Env) string {
	t.Helper()
	return env.AgentToken(t, "acme", "361", "rex@example.com")
}

func lookup(t *testing.T, env *apptest.Env, query, token string) (panel.Lookup, apptest.Response) {
	t.Helper()
	res := apptest.Do(t, panel.New(env.PanelDeps()), apptest.Request{Method: "GET", Path: "/panel?" + query, Token: token})
	var out panel.Lookup
	if res.Status == 200 {
		res.JSON(t, &out)
	}
	return out, res
}

func setAccess(t *testing.T, env *apptest.Env, a settings.Access) {
	t.Helper()
	env.SetSettings(t, "acme", func(s *settings.Settings) { s.Access = a })
}

// signedIn is a deployment with acme installed, in the default sell-users mode, and
// its agent 361 signed in to Sell as Rex.
func signedIn(t *testing.T) *apptest.Env {
	t.Helper()
	env := apptest.New(t)
	env.Connect(t, "acme")
	env.SignInAgent(t, "acme", "361", selltest.DemoRexEmail)
	return env
}

func TestLookupFindsTheVisitorWithTheAgentsOwnSellUser(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.Connect(t, "acme")
	tok := agent(t, env)

	t.Run("an agent who has not signed in to Sell gets no_sell_access", func(t *testing.T) {
		_, res := lookup(t, env, "email=vera@example.com", tok)
		if res.Status != 403 || res.ErrorCode() != "no_sell_access" || !strings.Contains(string(res.Body), "Access") {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})

	env.SignInAgent(t, "acme", "361", selltest.DemoRexEmail)
	t.Run("the lead is found by email with its published fields", func(t *testing.T) {
		out, res := lookup(t, env, "email=VERA@example.com&name=Vera", tok)
		if res.Status != 200 || len(out.Matches) != 1 || out.Matches[0].ID != selltest.DemoVeraLeadID || out.Matches[0].Type != widgets.Lead {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if !hasField(out.Matches[0], "email", "vera@example.com") {
			t.Fatalf("fields %+v", out.Matches[0].Fields)
		}
	})
	t.Run("the lead is found by phone written another way", func(t *testing.T) {
		out, res := lookup(t, env, "phone=(415)%20555-0100", tok)
		if res.Status != 200 || len(out.Matches) != 1 || out.Matches[0].ID != selltest.DemoVeraLeadID {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("a person comes with their company and deals", func(t *testing.T) {
		out, res := lookup(t, env, "email=paul@acme.example", tok)
		if res.Status != 200 || len(out.Matches) != 1 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		m := out.Matches[0]
		if m.Type != widgets.Person || len(m.Deals) != 2 || m.Deals[0].Value == "" {
			t.Fatalf("%+v", m)
		}
	})
	t.Run("Sell decides visibility: Rita's lead is not shown to Rex", func(t *testing.T) {
		out, res := lookup(t, env, "email=liam@example.org", tok)
		if res.Status != 200 || len(out.Matches) != 0 || out.NoMatch == "" {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("no match says so plainly", func(t *testing.T) {
		out, res := lookup(t, env, "email=nobody@example.com", tok)
		if res.Status != 200 || out.Matches == nil || len(out.Matches) != 0 || !strings.Contains(out.NoMatch, "nobody@example.com") {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("the published order is the order shown", func(t *testing.T) {
		ctx := context.Background()
		if _, err := env.Deps.Store.SaveDraft(ctx, "acme", widgets.Lead, []string{"phone", "email"}, "admin", time.Now()); err != nil {
			t.Fatal(err)
		}
		out, _ := lookup(t, env, "email=vera@example.com", tok)
		if keys(out.Matches[0]) == "phone,email" {
			t.Fatal("a draft was shown before publishing")
		}
		if _, err := env.Deps.Store.Publish(ctx, "acme", widgets.Lead, "admin", time.Now()); err != nil {
			t.Fatal(err)
		}
		out, _ = lookup(t, env, "email=vera@example.com", tok)
		if got := keys(out.Matches[0]); got != "phone,email" {
			t.Fatalf("fields %s", got)
		}
	})
}

func TestAllAgentsModeUsesTheAdminsToken(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.ConnectForAllAgents(t, "acme")
	out, res := lookup(t, env, "email=liam@example.org", agent(t, env))
	if res.Status != 200 || len(out.Matches) != 1 || out.Matches[0].ID != selltest.DemoLiamLeadID {
		t.Fatalf("%d %s", res.Status, res.Body)
	}

	t.Run("a person shows the name of their company when the widget asks for it", func(t *testing.T) {
		ctx := context.Background()
		if _, err := env.Deps.Store.SaveDraft(ctx, "acme", widgets.Person, []string{"name", "company", "email"}, "admin", time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Deps.Store.Publish(ctx, "acme", widgets.Person, "admin", time.Now()); err != nil {
			t.Fatal(err)
		}
		out, res := lookup(t, env, "email=paul@acme.example", agent(t, env))
		if res.Status != 200 || len(out.Matches) != 1 || !hasField(out.Matches[0], "company", "Acme Corp") || keys(out.Matches[0]) != "name,company,email" {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
}

func TestARevokedAgentTokenIsMarkedAndNotRetried(t *testing.T) {
	t.Parallel()
	env := signedIn(t)
	env.Sell.RevokeUser(selltest.DemoRexEmail)
	tok := agent(t, env)
	if _, res := lookup(t, env, "email=vera@example.com", tok); res.Status != 403 || res.ErrorCode() != "no_sell_access" {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	if _, _, err := env.Deps.Vault.Load(context.Background(), "acme", tokens.Agent("361")); err != tokens.ErrBroken {
		t.Fatalf("the token was not marked: %v", err)
	}
	calls := env.Sell.TotalCalls()
	if _, res := lookup(t, env, "email=vera@example.com", tok); res.Status != 403 || env.Sell.TotalCalls() != calls {
		t.Fatalf("a broken token was tried again: %d, calls %d → %d", res.Status, calls, env.Sell.TotalCalls())
	}
}

func TestSellDownIsA502(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.ConnectForAllAgents(t, "acme")
	env.Sell.SetFaults(selltest.Faults{ErrorRate: 1, ErrorStatus: 503})
	if _, res := lookup(t, env, "email=vera@example.com", agent(t, env)); res.Status != 502 || res.ErrorCode() != "sell_unavailable" {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
}

func TestOwners(t *testing.T) {
	t.Parallel()
	env := signedIn(t)
	h := panel.New(env.PanelDeps())
	tok := agent(t, env)
	get := func() (map[string]any, apptest.Response) {
		res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/panel/owners", Token: tok})
		var out map[string]any
		res.JSON(t, &out)
		return out, res
	}
	out, res := get()
	def, _ := out["default"].(map[string]any)
	if res.Status != 200 || def == nil || def["id"] != float64(selltest.DemoRexID) || out["mustChoose"] != false {
		t.Fatalf("nothing configured: %d %s", res.Status, res.Body)
	}
	ctx := context.Background()
	if _, err := env.Deps.Store.MarkPool(ctx, "acme", settings.Pool{SellUserID: selltest.DemoPoolID, Name: "Inbound"}); err != nil {
		t.Fatal(err)
	}
	env.SetSettings(t, "acme", func(s *settings.Settings) {
		s.Owners = []settings.Owner{{Type: settings.OwnerPool, ID: selltest.DemoPoolID}, {Type: settings.OwnerUser, ID: selltest.DemoRitaID}}
	})
	out, res = get()
	choices, _ := out["choices"].([]any)
	if res.Status != 200 || len(choices) != 2 || out["mustChoose"] != true {
		t.Fatalf("configured: %d %s", res.Status, res.Body)
	}
}

func TestBadLookupsAreRefused(t *testing.T) {
	t.Parallel()
	env := signedIn(t)
	tok := agent(t, env)
	disabledEnv := apptest.New(t)
	cases := []struct {
		name, query, token string
		env                *apptest.Env
		status             int
		code               string
	}{
		{"no token is 401", "email=vera@example.com", "", env, 401, "unauthenticated"},
		{"an expired token is 401", "email=vera@example.com", env.ExpiredToken(t, "acme", auth.RoleAgent), env, 401, "invalid_token"},
		{"a forged token is 401", "email=vera@example.com", env.RogueToken(t, "acme", auth.RoleAgent), env, 401, "invalid_token"},
		{"neither email nor phone is 422", "name=Vera", tok, env, 422, "visitor_unidentified"},
		{"an email without @ is 422", "email=vera", tok, env, 422, "invalid_value"},
		{"another account's agent finds the app off there", "email=vera@example.com", env.Token(t, "globex", auth.RoleAgent), env, 403, "app_disabled"},
		{"an account with the app off is 403", "email=vera@example.com", disabledEnv.Token(t, "acme", auth.RoleAgent), disabledEnv, 403, "app_disabled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := storetest.Snapshot(t, c.env.Deps.Store)
			_, res := lookup(t, c.env, c.query, c.token)
			if res.Status != c.status || res.ErrorCode() != c.code {
				t.Fatalf("%d %s; want %d %s", res.Status, res.Body, c.status, c.code)
			}
			if after := storetest.Snapshot(t, c.env.Deps.Store); !reflect.DeepEqual(before, after) {
				t.Fatal("a refused lookup changed the table")
			}
		})
	}
}

func hasField(m panel.Match, key, value string) bool {
	for _, f := range m.Fields {
		if f.Key == key && f.Value == value {
			return true
		}
	}
	return false
}

func keys(m panel.Match) string {
	var ks []string
	for _, f := range m.Fields {
		ks = append(ks, f.Key)
	}
	return strings.Join(ks, ",")
}
