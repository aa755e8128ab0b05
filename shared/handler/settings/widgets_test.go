package settings_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/widgets"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

type widgetJSON struct {
	Widget                string      `json:"widget"`
	Draft                 []string    `json:"draft"`
	Published             []string    `json:"published"`
	ModifiedAt            *time.Time  `json:"modifiedAt"`
	PublishedAt           *time.Time  `json:"publishedAt"`
	Unpublished           bool        `json:"unpublished"`
	Fields                []fieldJSON `json:"fields"`
	CustomFieldsAvailable bool        `json:"customFieldsAvailable"`
}

func (c connected) widget(t *testing.T, name string) widgetJSON {
	t.Helper()
	var w widgetJSON
	res := c.do(t, "GET", "/widgets/"+name, nil)
	res.JSON(t, &w)
	if res.Status != 200 {
		t.Fatalf("GET /widgets/%s: %d %s", name, res.Status, res.Body)
	}
	return w
}

func TestAWidgetIsDraftedPreviewedAndPublished(t *testing.T) {
	t.Parallel()
	c := connect(t)
	w := c.widget(t, "lead")
	if w.Widget != "lead" || !slices.Equal(w.Draft, widgets.Defaults(widgets.Lead)) || !slices.Equal(w.Published, w.Draft) ||
		w.ModifiedAt != nil || w.PublishedAt != nil || w.Unpublished || !w.CustomFieldsAvailable {
		t.Fatalf("fresh lead widget: %+v", w)
	}
	if !slices.ContainsFunc(w.Fields, func(f fieldJSON) bool { return f.Key == "custom:Budget" }) {
		t.Fatalf("the catalogue lacks Sell's custom fields: %+v", w.Fields)
	}

	var d widgetJSON
	res := c.do(t, "PUT", "/widgets/lead/draft", `{"fields":["custom:Budget","email","email","name","custom:Newsletter"]}`)
	res.JSON(t, &d)
	want := []string{"custom:Budget", "email", "name", "custom:Newsletter"}
	if res.Status != 200 || !slices.Equal(d.Draft, want) || !slices.Equal(d.Published, widgets.Defaults(widgets.Lead)) || d.ModifiedAt == nil || !d.Unpublished {
		t.Fatalf("draft: %d %s", res.Status, res.Body)
	}
	if d.ModifiedAt.Location() != time.UTC {
		t.Errorf("modifiedAt must be UTC: %v", d.ModifiedAt)
	}

	var p struct {
		Widget string
		Fields []struct {
			Key, Label, Value string
			Sample            bool
		}
	}
	res = c.do(t, "GET", "/widgets/lead/preview", nil)
	res.JSON(t, &p)
	if res.Status != 200 || len(p.Fields) != len(want) {
		t.Fatalf("preview: %d %s", res.Status, res.Body)
	}
	for i, f := range p.Fields {
		if f.Key != want[i] || !f.Sample || f.Value == "" || f.Label == "" {
			t.Errorf("preview field %d: %+v", i, f)
		}
	}
	if p.Fields[3].Value != "Yes" || p.Fields[0].Value != "1,234.5" {
		t.Errorf("samples must follow the field type: %+v", p.Fields)
	}

	// Agents keep seeing the published list until Publish.
	ctx := context.Background()
	st, _ := c.env.Deps.Store.Widget(ctx, c.account, widgets.Lead)
	if !slices.Equal(st.Published, widgets.Defaults(widgets.Lead)) {
		t.Fatalf("a draft leaked to agents: %+v", st)
	}
	var pub widgetJSON
	res = c.do(t, "POST", "/widgets/lead/publish", nil)
	res.JSON(t, &pub)
	if res.Status != 200 || !slices.Equal(pub.Published, want) || pub.PublishedAt == nil || pub.Unpublished {
		t.Fatalf("publish: %d %s", res.Status, res.Body)
	}
	st, _ = c.env.Deps.Store.Widget(ctx, c.account, widgets.Lead)
	if !slices.Equal(st.Published, want) {
		t.Fatalf("agents' next lookup reads %+v", st.Published)
	}
	// The other widgets are untouched.
	if other := c.widget(t, "person"); !slices.Equal(other.Published, widgets.Defaults(widgets.Person)) || other.ModifiedAt != nil {
		t.Fatalf("person widget changed: %+v", other)
	}
}

func TestWidgetsWorkWithStandardFieldsBeforeSellIsConnected(t *testing.T) {
	t.Parallel()
	c := notConnected(t)
	w := c.widget(t, "company")
	if w.CustomFieldsAvailable || slices.ContainsFunc(w.Fields, func(f fieldJSON) bool { return strings.HasPrefix(f.Key, "custom:") }) {
		t.Fatalf("without Sell the catalogue is the standard fields: %+v", w)
	}
	if res := c.do(t, "PUT", "/widgets/company/draft", `{"fields":["website","name"]}`); res.Status != 200 {
		t.Fatalf("draft of standard fields: %d %s", res.Status, res.Body)
	}
	if res := c.do(t, "POST", "/widgets/company/publish", ""); res.Status != 200 {
		t.Fatalf("publish: %d %s", res.Status, res.Body)
	}
	if res := c.do(t, "GET", "/widgets/company/preview", nil); res.Status != 200 {
		t.Fatalf("preview: %d %s", res.Status, res.Body)
	}
}

func TestBadWidgetEditsChangeNothing(t *testing.T) {
	t.Parallel()
	c := connect(t)
	if res := c.do(t, "PUT", "/widgets/person/draft", `{"fields":["name","custom:VIP"]}`); res.Status != 200 {
		t.Fatalf("setup: %d %s", res.Status, res.Body)
	}
	c.refusesAll(t, "refused widget edits", []fieldRefusal{
		{"a key no widget has", "PUT", "/widgets/lead/draft", `{"fields":["name","shoe_size"]}`, 422, "unknown_field", "fields[1]"},
		{"a custom field Sell does not have", "PUT", "/widgets/lead/draft", `{"fields":["custom:Nope"]}`, 422, "unknown_field", "fields[0]"},
		{"a company field on persons", "PUT", "/widgets/person/draft", `{"fields":["name","custom:Employees"]}`, 422, "unknown_field", "fields[1]"},
		{"no fields", "PUT", "/widgets/lead/draft", `{}`, 422, "required", "fields"},
		{"fields as a string", "PUT", "/widgets/lead/draft", `{"fields":"name"}`, 422, "wrong_type", "fields"},
		{"a field key that is a number", "PUT", "/widgets/lead/draft", `{"fields":[1]}`, 422, "wrong_type", "fields"},
		{"an unknown attribute", "PUT", "/widgets/lead/draft", `{"fields":[],"colour":1}`, 422, "unknown_field", "colour"},
		{"malformed JSON", "PUT", "/widgets/lead/draft", `{"fields":[`, 400, "malformed_json", ""},
		{"an unknown widget", "GET", "/widgets/deal", "", 404, "unknown_widget", ""},
		{"a draft of an unknown widget", "PUT", "/widgets/deal/draft", `{"fields":[]}`, 404, "unknown_widget", ""},
		{"a preview of an unknown widget", "GET", "/widgets/deal/preview", "", 404, "unknown_widget", ""},
		{"publishing an unknown widget", "POST", "/widgets/deal/publish", "", 404, "unknown_widget", ""},
		{"publishing with GET", "GET", "/widgets/lead/publish", "", 405, "method_not_allowed", ""},
	})
}

// TestNewRoutesRefuseStrangersAndBadBodies is the bad-input matrix of the routes this
// file's package added: every one needs an admin of the account, and a malformed or
// oversized body is refused before anything is read or written.
func TestNewRoutesRefuseStrangersAndBadBodies(t *testing.T) {
	t.Parallel()
	c := connect(t)
	c.markInboundPool(t)
	if res := c.do(t, "PUT", "/widgets/lead/draft", `{"fields":["email"]}`); res.Status != 200 {
		t.Fatalf("setup: %d %s", res.Status, res.Body)
	}
	agent := c.env.Token(t, c.account, auth.RoleAgent)
	owner := c.env.Token(t, c.account, auth.RoleOwner)
	expired := c.env.ExpiredToken(t, c.account, auth.RoleAdmin)
	rogue := c.env.RogueToken(t, c.account, auth.RoleAdmin)
	huge := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`

	routes := []route{
		{"GET", "/sell/users", ""},
		{"GET", "/sell/lead-sources", ""},
		{"POST", "/sell/lead-sources", `{"name":"Chat"}`},
		{"GET", "/sell/lead-statuses", ""},
		{"GET", "/sell/fields?widget=lead", ""},
		{"GET", "/pools", ""},
		{"PUT", "/pools/1002", `{"name":"Rex pool"}`},
		{"DELETE", "/pools/1004", ""},
		{"GET", "/widgets/lead", ""},
		{"PUT", "/widgets/lead/draft", `{"fields":["name"]}`},
		{"GET", "/widgets/lead/preview", ""},
		{"POST", "/widgets/lead/publish", ""},
	}
	cases := refusalMatrix(routes, nil, []variant{
		{"without a token", "", 401, "unauthenticated"},
		{"with an expired token", expired, 401, "invalid_token"},
		{"with a forged token", rogue, 401, "invalid_token"},
		{"as an agent", agent, 403, "forbidden"},
	}, c.tok, []variant{
		{"with malformed JSON", `{"name":`, 400, "malformed_json"},
		{"with a body over 1 MiB", huge, 413, "body_too_large"},
	})
	calls := c.env.Sell.TotalCalls()
	checkRefusals(t, c.env, c.h, "refused requests", cases)
	if n := c.env.Sell.TotalCalls() - calls; n != 0 {
		t.Fatalf("refused requests made %d Sell calls", n)
	}

	// An owner is an admin too.
	if res := apptest.Do(t, c.h, apptest.Request{Method: "GET", Path: "/pools", Token: owner}); res.Status != 200 {
		t.Fatalf("owner: %d %s", res.Status, res.Body)
	}
}

func TestAnotherAccountNeitherSeesNorChangesOurPoolsAndWidgets(t *testing.T) {
	t.Parallel()
	c := connect(t)
	c.markInboundPool(t)
	if res := c.do(t, "PUT", "/widgets/lead/draft", `{"fields":["email"]}`); res.Status != 200 {
		t.Fatal(res.Status)
	}
	other := connected{env: c.env, h: c.h, tok: c.env.Token(t, uniqueAccount(t), auth.RoleAdmin)}
	before := storetest.Snapshot(t, c.env.Deps.Store)
	if got := other.pools(t); len(got) != 0 {
		t.Fatalf("another account sees our pools: %+v", got)
	}
	if w := other.widget(t, "lead"); !slices.Equal(w.Draft, widgets.Defaults(widgets.Lead)) {
		t.Fatalf("another account sees our draft: %+v", w.Draft)
	}
	if res := other.do(t, "DELETE", "/pools/1004", nil); res.Status != 404 {
		t.Fatalf("another account unmarks our pool: %d %s", res.Status, res.Body)
	}
	if res := other.do(t, "GET", "/sell/users", nil); res.Status != 409 || res.ErrorCode() != "sell_not_connected" {
		t.Fatalf("another account reaches our Sell: %d %s", res.Status, res.Body)
	}
	if after := storetest.Snapshot(t, c.env.Deps.Store); !reflect.DeepEqual(before, after) {
		t.Fatal("another account's requests changed our data")
	}
}
