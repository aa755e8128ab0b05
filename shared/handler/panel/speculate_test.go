package panel_test

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/panel"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// warm is one panel handler kept across lookups, as a warm Lambda container keeps
// it: lookups after the first start their Sell searches before the session is read.
type warm struct {
	env *apptest.Env
	h   http.Handler
	tok string
}

// newWarm is the panel handler of env for agent 361, before its first lookup.
func newWarm(t *testing.T, env *apptest.Env) *warm {
	return &warm{env: env, h: panel.New(env.PanelDeps()), tok: agent(t, env)}
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
		w := newWarm(t, signedIn(t))
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
		w := newWarm(t, signedIn(t))
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
		w := newWarm(t, signedIn(t))
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
		w := newWarm(t, signedIn(t))
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
		w := newWarm(t, signedIn(t))
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

// seeded is a demo contact as seeded, to change in the sandbox.
func seeded(t *testing.T, id int64) sell.Contact {
	for _, c := range selltest.DemoSeed().Contacts {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no contact %d in the demo seed", id)
	return sell.Contact{}
}

// callsSince is how many calls each route got since before was taken.
func (w *warm) callsSince(before map[string]int) map[string]int {
	d := w.env.Sell.CallCounts()
	for k, n := range before {
		if d[k] -= n; d[k] == 0 {
			delete(d, k)
		}
	}
	return d
}

func dealNames(m panel.Match) []string {
	var names []string
	for _, d := range m.Deals {
		names = append(names, d.Name)
	}
	slices.Sort(names)
	return names
}

// A repeat lookup of the same visitor by the same agent asks for the deals and
// company names its last lookup needed alongside the searches. Each case changes
// what Sell holds, or who asks, between two warm lookups and checks the answer is
// the fresh one all the same.
func TestARepeatLookupFetchesTheDealsWithTheSearches(t *testing.T) {
	t.Parallel()
	const paul = "email=paul@acme.example"
	paulsDeals := []string{"Acme annual plan", "Acme onboarding"}
	// warmAfterPaul is a warm handler in all-agents mode whose last lookup was Paul's.
	warmAfterPaul := func(t *testing.T) *warm {
		env := apptest.New(t)
		env.ConnectForAllAgents(t, "acme")
		w := newWarm(t, env)
		w.lookup(t, paul)
		return w
	}

	t.Run("the deals and company are asked for before any search answers", func(t *testing.T) {
		t.Parallel()
		w := warmAfterPaul(t)
		before := w.env.Sell.CallCounts()
		// Every call hangs, then fails once: the deals of a lookup that waited for its
		// search could only be asked for after a search was retried.
		w.env.Sell.SetFaults(selltest.Faults{HangRate: 1, MaxHang: 2 * time.Second})
		done := make(chan apptest.Response, 1)
		go func() {
			done <- apptest.Do(t, w.h, apptest.Request{Method: "GET", Path: "/panel?" + paul, Token: w.tok})
		}()
		for c := w.callsSince(before); c["GET /v2/deals"] == 0 || c["GET /v2/contacts"] == 0; c = w.callsSince(before) {
			if c["POST /v3/contacts/search"] > 1 || c["POST /v3/leads/search"] > 1 {
				w.env.Sell.SetFaults(selltest.Faults{})
				t.Fatalf("a search was retried before the deals and company were asked for: %v", c)
			}
			time.Sleep(5 * time.Millisecond)
		}
		w.env.Sell.SetFaults(selltest.Faults{}) // the retries answer
		res := <-done
		var out panel.Lookup
		if res.Status == 200 {
			res.JSON(t, &out)
		}
		if res.Status != 200 || len(out.Matches) != 1 || !slices.Equal(dealNames(out.Matches[0]), paulsDeals) || !hasField(out.Matches[0], "company", "Acme Corp") {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("a deal and a company name changed since are shown, at no extra calls", func(t *testing.T) {
		t.Parallel()
		w := warmAfterPaul(t)
		w.env.Sell.AddDeal(sell.Deal{OwnerID: selltest.DemoRexID, Name: "Acme support", ContactID: selltest.DemoPaulContactID, Value: "300", Currency: "USD"})
		acme := seeded(t, selltest.DemoAcmeID)
		acme.Name = "Acme Corporation"
		w.env.Sell.AddContact(acme)
		before := w.env.Sell.CallCounts()
		out, res := w.lookup(t, paul)
		if res.Status != 200 || len(out.Matches) != 1 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if got := dealNames(out.Matches[0]); !slices.Equal(got, []string{"Acme annual plan", "Acme onboarding", "Acme support"}) {
			t.Errorf("deals %v", got)
		}
		if !hasField(out.Matches[0], "company", "Acme Corporation") {
			t.Errorf("fields %+v", out.Matches[0].Fields)
		}
		want := map[string]int{"POST /v3/leads/search": 1, "POST /v3/contacts/search": 1, "GET /v2/deals": 1, "GET /v2/contacts": 1}
		if got := w.callsSince(before); !maps.Equal(got, want) {
			t.Errorf("a repeat lookup made %v, want %v", got, want)
		}
	})
	t.Run("a new contact with the visitor's email", func(t *testing.T) {
		t.Parallel()
		w := warmAfterPaul(t)
		paula := w.env.Sell.AddContact(sell.Contact{OwnerID: selltest.DemoAdminID, FirstName: "Paula", LastName: "Person", Email: "paul@acme.example"})
		w.env.Sell.AddDeal(sell.Deal{OwnerID: selltest.DemoAdminID, Name: "Paula's trial", ContactID: paula.ID, Value: "10", Currency: "USD"})
		out, res := w.lookup(t, paul)
		if res.Status != 200 || len(out.Matches) != 2 || out.Matches[0].ID != selltest.DemoPaulContactID || out.Matches[1].ID != paula.ID {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if !slices.Equal(dealNames(out.Matches[0]), paulsDeals) || !slices.Equal(dealNames(out.Matches[1]), []string{"Paula's trial"}) {
			t.Fatalf("deals %+v", out.Matches)
		}
	})
	t.Run("the visitor moving to another company", func(t *testing.T) {
		t.Parallel()
		w := warmAfterPaul(t)
		globex := w.env.Sell.AddContact(sell.Contact{OwnerID: selltest.DemoAdminID, IsOrganization: true, Name: "Globex", Email: "info@globex.example"})
		moved := seeded(t, selltest.DemoPaulContactID)
		moved.ContactID = globex.ID
		w.env.Sell.AddContact(moved)
		out, res := w.lookup(t, paul)
		if res.Status != 200 || len(out.Matches) != 1 || !hasField(out.Matches[0], "company", "Globex") || !slices.Equal(dealNames(out.Matches[0]), paulsDeals) {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("another visitor gets no speculation", func(t *testing.T) {
		t.Parallel()
		w := warmAfterPaul(t)
		before := w.env.Sell.CallCounts()
		out, res := w.lookup(t, "email=vera@example.com")
		if res.Status != 200 || len(out.Matches) != 1 || out.Matches[0].ID != selltest.DemoVeraLeadID {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		want := map[string]int{"POST /v3/leads/search": 1, "POST /v3/contacts/search": 1}
		if got := w.callsSince(before); !maps.Equal(got, want) {
			t.Errorf("Vera's lookup made %v, want %v: Paul's deals were asked for", got, want)
		}
	})
	t.Run("a failed early call does not fail the lookup", func(t *testing.T) {
		t.Parallel()
		w := warmAfterPaul(t)
		time.Sleep(600 * time.Millisecond) // the client's rate limiter refills: the early calls go out at once
		before := w.env.Sell.CallCounts()
		// The latency keeps the fresh calls behind the four early ones, which fail
		// (a 400 is not retried).
		w.env.Sell.SetFaults(selltest.Faults{Latency: 200 * time.Millisecond})
		w.env.Sell.FailNext(4, 400)
		out, res := w.lookup(t, paul)
		if res.Status != 200 || len(out.Matches) != 1 || !slices.Equal(dealNames(out.Matches[0]), paulsDeals) || !hasField(out.Matches[0], "company", "Acme Corp") {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if got := w.callsSince(before)["GET /v2/deals"]; got != 2 {
			t.Errorf("deals asked for %d times, want 2 (early, failed; then again)", got)
		}
	})
	t.Run("a changed credential", func(t *testing.T) {
		t.Parallel()
		w := newWarm(t, signedIn(t))
		// Rex does not see Rita's deal with Paul; the admin's token does.
		w.env.Sell.AddDeal(sell.Deal{OwnerID: selltest.DemoRitaID, Name: "Rita's referral", ContactID: selltest.DemoPaulContactID, Value: "50", Currency: "USD"})
		withRitas := append(slices.Clone(paulsDeals), "Rita's referral")
		for i, c := range []struct {
			access settings.Access
			deals  []string
		}{
			{settings.AccessSellUsers, paulsDeals},
			{settings.AccessAllAgents, withRitas},
			{settings.AccessSellUsers, paulsDeals},
			{settings.AccessAllAgents, withRitas},
		} {
			setAccess(t, w.env, c.access)
			out, res := w.lookup(t, paul)
			if res.Status != 200 || len(out.Matches) != 1 {
				t.Fatalf("lookup %d: %d %s", i, res.Status, res.Body)
			}
			if got := dealNames(out.Matches[0]); !slices.Equal(got, c.deals) {
				t.Errorf("lookup %d in %s mode: deals %v, want %v", i, c.access, got, c.deals)
			}
		}
	})
}
