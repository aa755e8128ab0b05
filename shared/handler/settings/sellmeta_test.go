package settings_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/handler/settings"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// uniqueAccount names an account no other test uses. The Sell client caches metadata
// per account in the process, and each test has its own sandbox: sharing an account
// name would let one test read another's cached lead sources.
func uniqueAccount(t *testing.T) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:])
}

// connected is an installed account: Sell connected as the demo settings.
type connected struct {
	env     *apptest.Env
	h       http.Handler
	tok     string
	account string
}

func connect(t *testing.T) connected {
	t.Helper()
	env := apptest.New(t)
	account := uniqueAccount(t)
	env.Connect(t, account)
	return connected{env: env, h: settings.New(env.AdminDeps()), tok: env.Token(t, account, auth.RoleAdmin), account: account}
}

func notConnected(t *testing.T) connected {
	t.Helper()
	env := apptest.New(t)
	account := uniqueAccount(t)
	return connected{env: env, h: settings.New(env.AdminDeps()), tok: env.Token(t, account, auth.RoleAdmin), account: account}
}

func (c connected) do(t *testing.T, method, path string, body any, header ...string) apptest.Response {
	t.Helper()
	req := apptest.Request{Method: method, Path: path, Token: c.tok, Body: body}
	if len(header) == 2 {
		req.Header = map[string]string{header[0]: header[1]}
	}
	return apptest.Do(t, c.h, req)
}

type userJSON struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Active bool   `json:"active"`
	Pool   bool   `json:"pool"`
}

type namedJSON struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type fieldJSON struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Type  string `json:"type"`
}

func TestSellMetadataFeedsThePagesPickers(t *testing.T) {
	t.Parallel()
	c := connect(t)

	var users struct{ Users []userJSON }
	res := c.do(t, "GET", "/sell/users", nil)
	res.JSON(t, &users)
	if res.Status != 200 || len(users.Users) != 5 {
		t.Fatalf("users: %d %s", res.Status, res.Body)
	}
	byID := map[int64]userJSON{}
	for _, u := range users.Users {
		byID[u.ID] = u
	}
	if !byID[selltest.DemoAdminID].Active || byID[selltest.DemoInactiveID].Active || byID[selltest.DemoPoolID].Pool {
		t.Fatalf("users: %+v", users.Users)
	}
	c.markInboundPool(t)
	c.do(t, "GET", "/sell/users", nil).JSON(t, &users)
	for _, u := range users.Users {
		if u.Pool != (u.ID == selltest.DemoPoolID) {
			t.Errorf("user %d pool = %v", u.ID, u.Pool)
		}
	}

	var sources struct{ LeadSources []namedJSON }
	res = c.do(t, "GET", "/sell/lead-sources", nil)
	res.JSON(t, &sources)
	if res.Status != 200 || !reflect.DeepEqual(sources.LeadSources, []namedJSON{{5002, "Referral"}, {5003, "Trade show"}, {5001, "Website"}}) {
		t.Fatalf("sources: %d %s", res.Status, res.Body)
	}
	var statuses struct{ LeadStatuses []namedJSON }
	res = c.do(t, "GET", "/sell/lead-statuses", nil)
	res.JSON(t, &statuses)
	if res.Status != 200 || !reflect.DeepEqual(statuses.LeadStatuses, []namedJSON{{6001, "New"}, {6002, "Working"}, {6003, "Unqualified"}}) {
		t.Fatalf("statuses: %d %s", res.Status, res.Body)
	}

	fieldsOf := func(widget string) map[string]fieldJSON {
		var body struct {
			Widget string
			Fields []fieldJSON
		}
		res := c.do(t, "GET", "/sell/fields?widget="+widget, nil)
		res.JSON(t, &body)
		if res.Status != 200 || body.Widget != widget {
			t.Fatalf("fields of %s: %d %s", widget, res.Status, res.Body)
		}
		out := map[string]fieldJSON{}
		for _, f := range body.Fields {
			if f.Key == "" || f.Label == "" || f.Type == "" {
				t.Errorf("%s: incomplete field %+v", widget, f)
			}
			out[f.Key] = f
		}
		return out
	}
	lead, person, company := fieldsOf("lead"), fieldsOf("person"), fieldsOf("company")
	if lead["custom:Budget"].Type != "number" || lead["custom:Interests"].Type != "multi_select_list" || lead["status"].Label != "Status" {
		t.Errorf("lead fields: %+v", lead)
	}
	if _, ok := person["custom:VIP"]; !ok {
		t.Error("persons must offer the person custom field VIP")
	}
	if _, ok := person["custom:Employees"]; ok {
		t.Error("persons must not offer the company custom field Employees")
	}
	if _, ok := company["custom:Employees"]; !ok {
		t.Error("companies must offer Employees")
	}
	if _, ok := company["custom:VIP"]; ok {
		t.Error("companies must not offer VIP")
	}
	if res := c.do(t, "GET", "/sell/fields?widget=deal", nil); res.Status != 422 || res.ErrorCode() != "invalid_value" {
		t.Errorf("an unknown widget: %d %s", res.Status, res.Body)
	}
	if res := c.do(t, "GET", "/sell/fields", nil); res.Status != 422 {
		t.Errorf("no widget: %d %s", res.Status, res.Body)
	}
}

func TestTypingAnExistingSourceNameReusesItInsteadOfMakingADuplicate(t *testing.T) {
	t.Parallel()
	c := connect(t)
	var created namedJSON
	res := c.do(t, "POST", "/sell/lead-sources", `{"name":"  Zendesk   Chat "}`)
	res.JSON(t, &created)
	if res.Status != 201 || created.Name != "Zendesk Chat" || created.ID == 0 {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	for _, name := range []string{"zendesk chat", "ZENDESK CHAT ", "Zendesk Chat"} {
		var again namedJSON
		res := c.do(t, "POST", "/sell/lead-sources", map[string]string{"name": name})
		res.JSON(t, &again)
		if res.Status != 200 || again != created {
			t.Fatalf("%q: %d %s, want the existing source with 200", name, res.Status, res.Body)
		}
	}
	var existing namedJSON
	c.do(t, "POST", "/sell/lead-sources", `{"name":"website"}`).JSON(t, &existing)
	if existing.ID != selltest.DemoSourceWebID {
		t.Fatalf("a seeded source by another case: %+v", existing)
	}
	// Only the one creation is an admin's change in the trail; reusing changes nothing.
	if es, _, err := c.env.Deps.Store.AuditPage(context.Background(), c.account, "", 10); err != nil || len(es) != 1 ||
		es[0].Action != "lead_source.create" || es[0].Changes["name"].To != "Zendesk Chat" {
		t.Fatalf("audit trail: %+v %v", es, err)
	}
	if n := c.env.Sell.Calls("POST /v2/lead_sources"); n != 1 {
		t.Fatalf("Sell was asked to create %d sources, want 1", n)
	}
	var sources struct{ LeadSources []namedJSON }
	c.do(t, "GET", "/sell/lead-sources", nil).JSON(t, &sources)
	if len(sources.LeadSources) != 4 || !slices.Contains(sources.LeadSources, created) {
		t.Fatalf("the new source must be listed at once: %+v", sources.LeadSources)
	}

	// The new source can be the settings' source straight away.
	res = c.do(t, "PATCH", "/settings", map[string]int64{"leadSourceId": created.ID}, "If-Match", "0")
	if res.Status != 200 {
		t.Fatalf("choose the new source: %d %s", res.Status, res.Body)
	}
}

func TestSellRoutesSayWhenSellIsNotConnected(t *testing.T) {
	t.Parallel()
	c := notConnected(t)
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/sell/users", ""},
		{"GET", "/sell/lead-sources", ""},
		{"POST", "/sell/lead-sources", `{"name":"Chat"}`},
		{"GET", "/sell/lead-statuses", ""},
		{"GET", "/sell/fields?widget=lead", ""},
		{"PUT", "/pools/1004", `{"name":"Inbound"}`},
		{"PUT", "/widgets/lead/draft", `{"fields":["name","custom:Budget"]}`},
	} {
		var body any
		if r.body != "" {
			body = r.body
		}
		if res := c.do(t, r.method, r.path, body); res.Status != 409 || res.ErrorCode() != "sell_not_connected" {
			t.Errorf("%s %s: %d %s", r.method, r.path, res.Status, res.Body)
		}
	}
	before := storetest.Snapshot(t, c.env.Deps.Store)
	for _, patch := range []string{`{"leadStatus":"Working"}`, `{"leadSourceId":5001}`, `{"owners":[{"type":"user","id":1002}]}`} {
		if res := c.do(t, "PATCH", "/settings", patch, "If-Match", "0"); res.Status != 409 || res.ErrorCode() != "sell_not_connected" {
			t.Errorf("PATCH %s: %d %s", patch, res.Status, res.Body)
		}
	}
	if after := storetest.Snapshot(t, c.env.Deps.Store); !reflect.DeepEqual(before, after) {
		t.Fatal("a refused PATCH changed the table")
	}
	// What needs no Sell still works: the access mode, and clearing Sell-backed fields.
	res := c.do(t, "PATCH", "/settings", `{"access":"all_agents","leadSourceId":null,"owners":[],"allowAgentsAssignAnyOwner":true}`, "If-Match", "0")
	if res.Status != 200 {
		t.Fatalf("a PATCH without Sell-backed values: %d %s", res.Status, res.Body)
	}
}

func TestSellFailuresAreA502AndARefusedTokenAsksToConnectAgain(t *testing.T) {
	t.Parallel()
	t.Run("Sell answering 503 is a 502", func(t *testing.T) {
		t.Parallel()
		c := connect(t)
		c.env.Sell.SetFaults(selltest.Faults{ErrorRate: 1, ErrorStatus: 503})
		before := storetest.Snapshot(t, c.env.Deps.Store)
		for _, path := range []string{"/sell/users", "/sell/lead-sources", "/sell/lead-statuses", "/sell/fields?widget=person", "/widgets/company"} {
			if res := c.do(t, "GET", path, nil); res.Status != 502 || res.ErrorCode() != "sell_unavailable" {
				t.Errorf("GET %s: %d %s", path, res.Status, res.Body)
			}
		}
		if res := c.do(t, "PATCH", "/settings", `{"leadStatus":"Working"}`, "If-Match", "0"); res.Status != 502 {
			t.Errorf("PATCH while Sell fails: %d %s", res.Status, res.Body)
		}
		if res := c.do(t, "POST", "/sell/lead-sources", `{"name":"Chat"}`); res.Status != 502 {
			t.Errorf("POST source while Sell fails: %d %s", res.Status, res.Body)
		}
		if after := storetest.Snapshot(t, c.env.Deps.Store); !reflect.DeepEqual(before, after) {
			t.Fatal("a failed Sell call changed the table")
		}
		// Publishing needs no Sell, so it still happens.
		var w widgetJSON
		res := c.do(t, "POST", "/widgets/person/publish", nil)
		res.JSON(t, &w)
		if res.Status != 200 || w.PublishedAt == nil || w.CustomFieldsAvailable {
			t.Errorf("publish while Sell fails: %d %s", res.Status, res.Body)
		}
	})
	t.Run("Sell hanging is a 502 within the request's budget", func(t *testing.T) {
		t.Parallel()
		c := connect(t)
		c.env.Sell.SetFaults(selltest.Faults{HangRate: 1, MaxHang: time.Minute})
		if res := c.do(t, "GET", "/sell/lead-statuses", nil); res.Status != 502 || res.ErrorCode() != "sell_unavailable" {
			t.Errorf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("Sell refusing the admin token is a 409 to connect again", func(t *testing.T) {
		t.Parallel()
		c := connect(t)
		c.env.Sell.RevokeUser(selltest.DemoAdminEmail)
		if res := c.do(t, "GET", "/sell/users", nil); res.Status != 409 || res.ErrorCode() != "sell_not_connected" {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		c.env.Sell.ResetCalls()
		if res := c.do(t, "GET", "/sell/lead-sources", nil); res.Status != 409 || res.ErrorCode() != "sell_not_connected" {
			t.Fatalf("after the refusal: %d %s", res.Status, res.Body)
		}
		if n := c.env.Sell.TotalCalls(); n != 0 {
			t.Fatalf("a token Sell refused was tried again (%d calls)", n)
		}
	})
}

func TestSettingsAreCheckedAgainstSell(t *testing.T) {
	t.Parallel()
	c := connect(t)
	c.markInboundPool(t)
	cases := []struct {
		name, patch, field, code string
	}{
		{"a status Sell does not have", `{"leadStatus":"Won"}`, "leadStatus", "unknown_lead_status"},
		{"a source Sell does not have", `{"leadSourceId":5999}`, "leadSourceId", "unknown_lead_source"},
		{"a user Sell does not have", `{"owners":[{"type":"user","id":1002},{"type":"user","id":4242}]}`, "owners[1].id", "unknown_user"},
		{"an inactive user", `{"owners":[{"type":"user","id":1005}]}`, "owners[0].id", "inactive_user"},
		{"a pool given as a user", `{"owners":[{"type":"user","id":1004}]}`, "owners[0].type", "is_pool"},
		{"a user given as a pool", `{"owners":[{"type":"user","id":1003},{"type":"pool","id":1002}]}`, "owners[1].id", "not_a_pool"},
		{"a pool id Sell does not have", `{"owners":[{"type":"pool","id":777}]}`, "owners[0].id", "not_a_pool"},
		{"a bad owner among good fields", `{"access":"all_agents","leadStatus":"Working","owners":[{"type":"user","id":4242}]}`, "owners[0].id", "unknown_user"},
	}
	before := storetest.Snapshot(t, c.env.Deps.Store)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := c.do(t, "PATCH", "/settings", tc.patch, "If-Match", "0")
			var e struct {
				Error struct{ Code, Field string }
			}
			res.JSON(t, &e)
			if res.Status != 422 || e.Error.Code != tc.code || e.Error.Field != tc.field {
				t.Fatalf("got %d %s; want 422 %s on %s", res.Status, res.Body, tc.code, tc.field)
			}
		})
	}
	if after := storetest.Snapshot(t, c.env.Deps.Store); !reflect.DeepEqual(before, after) {
		t.Fatal("a refused PATCH changed the table")
	}

	var got settingsBody
	res := c.do(t, "PATCH", "/settings", `{"leadStatus":"working","owners":[{"type":"pool","id":1004},{"type":"user","id":1003}]}`, "If-Match", "0")
	res.JSON(t, &got)
	if res.Status != 200 || got.LeadStatus != "Working" || len(got.Owners) != 2 || got.Owners[0].Type != "pool" {
		t.Fatalf("a valid PATCH (status spelled Sell's way): %d %s", res.Status, res.Body)
	}
	// A PATCH that leaves owners alone does not re-check them.
	if res := c.do(t, "PATCH", "/settings", `{"access":"all_agents"}`, "If-Match", "1"); res.Status != 200 {
		t.Fatalf("PATCH of access only: %d %s", res.Status, res.Body)
	}
}
