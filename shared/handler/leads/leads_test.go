package leads_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/leads"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func post(t *testing.T, env *apptest.Env, key, body, token string) apptest.Response {
	t.Helper()
	h := map[string]string{}
	if key != "" {
		h["Idempotency-Key"] = key
	}
	return apptest.Do(t, leads.New(leads.DepsOf(env), nil), apptest.Request{Method: "POST", Path: "/leads", Token: token, Body: body, Header: h})
}

func created(t *testing.T, res apptest.Response) leads.Lead {
	t.Helper()
	if res.Status != 201 {
		t.Fatalf("want 201, got %d %s", res.Status, res.Body)
	}
	var c leads.Created
	res.JSON(t, &c)
	return c.Lead
}

const newVisitor = `{"firstName":"Nina","lastName":"New","email":"nina@example.com","phone":"+1 415 555 0199","description":"Asked about pricing","chatId":"2401.1.abc"}`

func TestALeadGetsTheAdminsStatusSourceAndOwnerExactlyOnce(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.Connect(t, "acme")
	env.SetSettings(t, "acme", func(s *settings.Settings) {
		s.Access = settings.AccessAllAgents
		s.LeadStatus = "Working"
		src := int64(selltest.DemoSourceWebID)
		s.LeadSourceID = &src
	})
	tok := env.AgentToken(t, "acme", "361", "rex@example.com")
	before := len(env.Sell.Leads())

	lead := created(t, post(t, env, "key-1", newVisitor, tok))
	got, ok := env.Sell.Lead(lead.ID)
	if !ok || got.Status != "Working" || got.SourceID != selltest.DemoSourceWebID || got.OwnerID != selltest.DemoAdminID {
		t.Fatalf("in Sell: %+v (want status Working, source web, owned by the superior manager)", got)
	}
	if !strings.Contains(got.Description, "Asked about pricing") || !strings.Contains(got.Description, "2401.1.abc") {
		t.Fatalf("description %q", got.Description)
	}

	t.Run("a retry with the same key returns the same lead", func(t *testing.T) {
		res := post(t, env, "key-1", newVisitor, tok)
		if again := created(t, res); again.ID != lead.ID || res.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry gave lead %d", again.ID)
		}
		if n := len(env.Sell.Leads()); n != before+1 {
			t.Fatalf("%d leads in Sell, want %d", n, before+1)
		}
	})
	t.Run("the same key with another body is a conflict", func(t *testing.T) {
		res := post(t, env, "key-1", strings.Replace(newVisitor, "Nina", "Nora", 1), tok)
		if res.Status != 409 || res.ErrorCode() != "idempotency_key_reused" {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("an email Sell already has is a conflict unless the agent insists", func(t *testing.T) {
		dup := `{"firstName":"Vera","lastName":"Again","email":"vera@example.com"}`
		res := post(t, env, "key-2", dup, tok)
		if res.Status != 409 || res.ErrorCode() != "already_exists" || !strings.Contains(string(res.Body), fmt.Sprint(selltest.DemoVeraLeadID)) {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		created(t, post(t, env, "key-3", strings.Replace(dup, "}", `,"createAnyway":true}`, 1), tok))
	})
}

func TestConcurrentRetriesCreateOneLead(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.ConnectForAllAgents(t, "acme")
	tok := env.AgentToken(t, "acme", "361", "rex@example.com")
	before := len(env.Sell.Leads())
	ids := make(chan int64, 20)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Go(func() {
			res := post(t, env, "same-key", newVisitor, tok)
			if res.Status != 201 {
				t.Errorf("%d %s", res.Status, res.Body)
				return
			}
			var c leads.Created
			res.JSON(t, &c)
			ids <- c.Lead.ID
		})
	}
	wg.Wait()
	close(ids)
	seen := map[int64]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 || len(env.Sell.Leads()) != before+1 {
		t.Fatalf("lead ids %v, leads in Sell %d → %d; want one lead", seen, before, len(env.Sell.Leads()))
	}
}

func TestOwnerRules(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.Connect(t, "acme")
	ctx := context.Background()
	if _, err := env.Deps.Store.MarkPool(ctx, "acme", settings.Pool{SellUserID: selltest.DemoPoolID, Name: "Inbound"}); err != nil {
		t.Fatal(err)
	}
	env.SetSettings(t, "acme", func(s *settings.Settings) {
		s.Access = settings.AccessAllAgents
		s.Owners = []settings.Owner{{Type: settings.OwnerPool, ID: selltest.DemoPoolID}, {Type: settings.OwnerUser, ID: selltest.DemoRitaID}}
	})
	tok := env.AgentToken(t, "acme", "361", "rex@example.com")
	withOwner := func(typ string, id int64) string {
		return strings.Replace(newVisitor, "}", fmt.Sprintf(`,"owner":{"type":%q,"id":%d}}`, typ, id), 1)
	}

	if res := post(t, env, "o-1", newVisitor, tok); res.Status != 422 || res.ErrorCode() != "owner_required" {
		t.Fatalf("no owner: %d %s", res.Status, res.Body)
	}
	if res := post(t, env, "o-2", withOwner("user", selltest.DemoAdminID), tok); res.Status != 422 || res.ErrorCode() != "owner_not_allowed" {
		t.Fatalf("an owner outside the list: %d %s", res.Status, res.Body)
	}
	lead := created(t, post(t, env, "o-3", withOwner("user", selltest.DemoRitaID), tok))
	if lead.OwnerID != selltest.DemoRitaID || lead.OwnerName != "Rita Rep" {
		t.Fatalf("%+v", lead)
	}
	counts := map[int64]int{}
	for i := 0; i < 4; i++ {
		body := strings.Replace(withOwner("pool", selltest.DemoPoolID), "nina@", fmt.Sprintf("nina%d@", i), 1)
		counts[created(t, post(t, env, fmt.Sprint("pool-", i), body, tok)).OwnerID]++
	}
	if counts[selltest.DemoRexID] != 2 || counts[selltest.DemoRitaID] != 2 {
		t.Fatalf("pool leads went to %v; want two each to Rex and Rita", counts)
	}
}

func TestSellUsersModeNeedsTheAgentsSellUser(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.Connect(t, "acme")
	tok := env.AgentToken(t, "acme", "361", "rex@example.com")
	if res := post(t, env, "s-1", newVisitor, tok); res.Status != 403 || res.ErrorCode() != "no_sell_access" {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	env.SignInAgent(t, "acme", "361", selltest.DemoRexEmail)
	lead := created(t, post(t, env, "s-2", newVisitor, tok))
	if lead.OwnerID != selltest.DemoRexID {
		t.Fatalf("owner %d, want the agent's own Sell user", lead.OwnerID)
	}
}

func TestFailuresStoreNothingAndCanBeRetried(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.ConnectForAllAgents(t, "acme")
	tok := env.AgentToken(t, "acme", "361", "rex@example.com")

	t.Run("Sell down is a 502 and the key can be used again", func(t *testing.T) {
		before := storetest.Snapshot(t, env.Deps.Store)
		env.Sell.SetFaults(selltest.Faults{ErrorRate: 1, ErrorStatus: 503})
		res := post(t, env, "f-1", newVisitor, tok)
		env.Sell.SetFaults(selltest.Faults{})
		if res.Status != 502 || res.ErrorCode() != "sell_unavailable" {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if after := storetest.Snapshot(t, env.Deps.Store); !reflect.DeepEqual(before, after) {
			t.Fatal("a failed creation left something in the table")
		}
		created(t, post(t, env, "f-1", newVisitor, tok))
	})
	t.Run("Sell's validation error names the field", func(t *testing.T) {
		env.SetSettings(t, "acme", func(s *settings.Settings) { s.LeadStatus = "No such status" })
		res := post(t, env, "f-2", strings.Replace(newVisitor, "nina@", "nina2@", 1), tok)
		if res.Status != 422 || !strings.Contains(string(res.Body), `"field":"leadStatus"`) {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
}

func TestBadRequestsChangeNothing(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.ConnectForAllAgents(t, "acme")
	tok := env.AgentToken(t, "acme", "361", "rex@example.com")
	off := apptest.New(t)
	cases := []struct {
		name, key, body, token string
		env                    *apptest.Env
		status                 int
		code                   string
	}{
		{"no Idempotency-Key is 400", "", newVisitor, tok, env, 400, "idempotency_key_required"},
		{"a key with spaces is 400", "a b", newVisitor, tok, env, 400, "invalid_idempotency_key"},
		{"a key over 128 characters is 400", strings.Repeat("k", 129), newVisitor, tok, env, 400, "invalid_idempotency_key"},
		{"malformed JSON is 400", "b-1", `{"lastName":`, tok, env, 400, "malformed_json"},
		{"a body over 1 MiB is 413", "b-2", `{"description":"` + strings.Repeat("x", 1<<20) + `"}`, tok, env, 413, "body_too_large"},
		{"a number for a name is 422", "b-3", `{"lastName":5}`, tok, env, 422, "wrong_type"},
		{"no last name nor organization is 422", "b-4", `{"firstName":"Nina"}`, tok, env, 422, "required"},
		{"a bad email is 422", "b-5", `{"lastName":"N","email":"nina at example"}`, tok, env, 422, "invalid_value"},
		{"an owner of an unknown type is 422", "b-6", `{"lastName":"N","owner":{"type":"team","id":1}}`, tok, env, 422, "invalid_value"},
		{"an unknown field is 422", "b-7", `{"lastName":"N","ownerId":1}`, tok, env, 422, "unknown_field"},
		{"no token is 401", "b-8", newVisitor, "", env, 401, "unauthenticated"},
		{"an expired token is 401", "b-9", newVisitor, env.ExpiredToken(t, "acme", auth.RoleAgent), env, 401, "invalid_token"},
		{"a forged token is 401", "b-10", newVisitor, env.RogueToken(t, "acme", auth.RoleAgent), env, 401, "invalid_token"},
		{"another account's agent finds the app off there", "b-11", newVisitor, env.Token(t, "globex", auth.RoleAgent), env, 403, "app_disabled"},
		{"an account with the app off is 403", "b-12", newVisitor, off.Token(t, "acme", auth.RoleAgent), off, 403, "app_disabled"},
	}
	leadsBefore := len(env.Sell.Leads())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := storetest.Snapshot(t, c.env.Deps.Store)
			res := post(t, c.env, c.key, c.body, c.token)
			if res.Status != c.status || res.ErrorCode() != c.code {
				t.Fatalf("%d %s; want %d %s", res.Status, res.Body, c.status, c.code)
			}
			if after := storetest.Snapshot(t, c.env.Deps.Store); !reflect.DeepEqual(before, after) {
				t.Fatal("a refused request changed the table")
			}
		})
	}
	if len(env.Sell.Leads()) != leadsBefore {
		t.Fatal("a refused request created a lead")
	}
}

// A request that runs out of its time budget while Sell stalls still gives its
// claims back: the same email can be tried again at once, not after the lease.
func TestARequestOutOfTimeReleasesItsClaims(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.ConnectForAllAgents(t, "acme")
	tok := env.AgentToken(t, "acme", "361", "rex@example.com")
	h := httpx.WithBudget(leads.New(leads.DepsOf(env), nil), time.Second)
	before := storetest.Snapshot(t, env.Deps.Store)
	env.Sell.SetFaults(selltest.Faults{HangRate: 1, MaxHang: 3 * time.Second})
	res := apptest.Do(t, h, apptest.Request{Method: "POST", Path: "/leads", Token: tok, Body: newVisitor,
		Header: map[string]string{"Idempotency-Key": "slow-1"}})
	env.Sell.SetFaults(selltest.Faults{})
	if res.Status < 500 {
		t.Fatalf("a request that ran out of time: %d %s", res.Status, res.Body)
	}
	if after := storetest.Snapshot(t, env.Deps.Store); !reflect.DeepEqual(before, after) {
		t.Fatalf("the timed-out request left %d items behind (its claims)", len(after)-len(before))
	}
	created(t, post(t, env, "slow-2", newVisitor, tok))
}
