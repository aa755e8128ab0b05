package widgets_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/domain/widgets"
)

func keysOf(fs []widgets.Field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Key
	}
	return out
}

func demoFields(resource string) []sell.CustomField {
	return selltest.DemoSeed().CustomFields[resource]
}

func TestContactCustomFieldsGoToPersonsOrCompaniesByTheirFlags(t *testing.T) {
	t.Parallel()
	contact := demoFields(sell.ResourceContact)
	person := keysOf(widgets.Catalogue(widgets.Person, contact))
	company := keysOf(widgets.Catalogue(widgets.Company, contact))
	for _, k := range []string{"custom:Customer tier", "custom:Customer since", "custom:VIP"} {
		if !slices.Contains(person, k) || slices.Contains(company, k) {
			t.Errorf("%s: person has it %v, company has it %v; want persons only", k, slices.Contains(person, k), slices.Contains(company, k))
		}
	}
	if slices.Contains(person, "custom:Employees") || !slices.Contains(company, "custom:Employees") {
		t.Errorf("Employees must be offered to companies only: person %v company %v", person, company)
	}
	unflagged := []sell.CustomField{{Name: "Legacy", Type: "string"}}
	if !slices.Contains(keysOf(widgets.Catalogue(widgets.Person, unflagged)), "custom:Legacy") ||
		!slices.Contains(keysOf(widgets.Catalogue(widgets.Company, unflagged)), "custom:Legacy") {
		t.Error("a contact field marked for neither must be offered to both")
	}
}

func TestTheLeadCatalogueHasStandardThenCustomFieldsWithTypes(t *testing.T) {
	t.Parallel()
	cat := widgets.Catalogue(widgets.Lead, demoFields(sell.ResourceLead))
	if cat[0].Key != "name" || cat[0].Custom {
		t.Fatalf("first field %+v, want the standard name", cat[0])
	}
	want := map[string]widgets.Type{
		"custom:Budget": widgets.TypeNumber, "custom:Preferred language": widgets.TypeList, "custom:Newsletter": widgets.TypeBool,
		"custom:Next follow-up": widgets.TypeDate, "custom:Interests": widgets.TypeMultiList, "custom:Homepage": widgets.TypeURL,
		"custom:Billing email": widgets.TypeEmail, "custom:Assistant phone": widgets.TypePhone,
		"custom:Referral code": widgets.TypeString, "custom:Office address": widgets.TypeAddress,
		"owner": widgets.TypeUser, "source": widgets.TypeSource,
	}
	got := map[string]widgets.Field{}
	for _, f := range cat {
		if _, dup := got[f.Key]; dup {
			t.Errorf("key %s appears twice", f.Key)
		}
		got[f.Key] = f
	}
	for k, typ := range want {
		if got[k].Type != typ {
			t.Errorf("%s has type %q, want %q", k, got[k].Type, typ)
		}
	}
	if f := got["custom:Preferred language"]; !reflect.DeepEqual(f.Choices, []string{"English", "French", "Spanish"}) || f.Label != "Preferred language" || !f.Custom {
		t.Errorf("list field %+v", f)
	}
	if got := widgets.Catalogue(widgets.Lead, []sell.CustomField{{Name: "Odd", Type: "hologram"}}); got[len(got)-1].Type != widgets.TypeString {
		t.Errorf("an unknown Sell type must fall back to string, got %q", got[len(got)-1].Type)
	}
}

func TestEveryDefaultIsInItsCatalogueAndAFreshStateShowsTheDefaults(t *testing.T) {
	t.Parallel()
	for _, w := range widgets.Names {
		cat := widgets.Catalogue(w, nil)
		def := widgets.Defaults(w)
		if len(def) == 0 {
			t.Fatalf("%s has no defaults", w)
		}
		if got, err := widgets.ValidateDraft(def, cat); err != nil || !slices.Equal(got, def) {
			t.Errorf("%s defaults %v do not validate: %v", w, def, err)
		}
		st := widgets.NewState(w)
		if !slices.Equal(st.Draft, def) || !slices.Equal(st.Published, def) || st.Dirty() {
			t.Errorf("%s fresh state %+v", w, st)
		}
		def[0] = "mutated"
		if widgets.Defaults(w)[0] == "mutated" {
			t.Errorf("%s: Defaults must return a copy", w)
		}
	}
	if n, ok := widgets.Parse("person"); !ok || n != widgets.Person {
		t.Error("Parse(person)")
	}
	if _, ok := widgets.Parse("deal"); ok {
		t.Error("deal is not a widget")
	}
}

func TestValidateDraftDropsRepeatsAndNamesTheFirstUnknownKey(t *testing.T) {
	t.Parallel()
	cat := widgets.Catalogue(widgets.Lead, demoFields(sell.ResourceLead))
	got, err := widgets.ValidateDraft([]string{"email", "custom:Budget", "email", "name", "custom:Budget"}, cat)
	if err != nil || !slices.Equal(got, []string{"email", "custom:Budget", "name"}) {
		t.Fatalf("got %v, %v", got, err)
	}
	cases := []struct {
		name  string
		keys  []string
		field string
	}{
		{"an unknown standard key", []string{"email", "shoe_size"}, "fields[1]"},
		{"a custom field Sell does not have", []string{"custom:Nope"}, "fields[0]"},
		{"a person field on a lead", []string{"name", "company"}, "fields[1]"},
		{"the empty key", []string{""}, "fields[0]"},
	}
	for _, c := range cases {
		_, err := widgets.ValidateDraft(c.keys, cat)
		var fe *widgets.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || fe.Code != "unknown_field" {
			t.Errorf("%s: %v, want unknown_field on %s", c.name, err, c.field)
		}
	}
	if got, err := widgets.ValidateDraft([]string{}, cat); err != nil || len(got) != 0 {
		t.Errorf("an empty widget is allowed: %v %v", got, err)
	}
	many := make([]string, 0, len(cat))
	for _, f := range cat {
		many = append(many, f.Key)
	}
	for len(many) <= widgets.MaxFields {
		many = append(many, many...)
	}
	if _, err := widgets.ValidateDraft(many, cat); err != nil {
		t.Errorf("repeats do not count towards the limit: %v", err)
	}
}

var (
	users   = map[int64]string{1001: "Ada Admin", 1002: "Rex Rep"}
	sources = map[int64]string{5001: "Website"}
)

// decoded turns a Go value into what a decoded Sell response holds (float64, maps…),
// since custom values reach Render through JSON.
func decoded(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRenderFormatsEveryFieldType(t *testing.T) {
	t.Parallel()
	cf := func(name, typ string) sell.CustomField { return sell.CustomField{Name: name, Type: typ} }
	cat := widgets.Catalogue(widgets.Lead, []sell.CustomField{
		cf("S", "string"), cf("T", "text"), cf("E", "email"), cf("P", "phone"), cf("U", "url"),
		cf("N", "number"), cf("NF", "number"), cf("NNeg", "number"), cf("B", "bool"), cf("BF", "bool"), cf("BS", "bool"),
		cf("D", "date"), cf("DI", "date"), cf("DT", "datetime"), cf("L", "list"), cf("LO", "list"),
		cf("M", "multi_select_list"), cf("MO", "multi_select_list"), cf("A", "address"), cf("Odd", "date"),
	})
	lead := sell.Lead{
		ID: 1, FirstName: "Vera", LastName: "Visitor", OrganizationName: "Visitor Labs", Status: "New",
		OwnerID: 1002, CreatorID: 77, SourceID: 5001, Email: "vera@example.com", Phone: "+1 415 555 0100",
		Website: "https://visitorlabs.example.com", Tags: []string{"chat", " ", "vip"},
		Address:   &sell.Address{Line1: "1 Market St", City: "San Francisco", PostalCode: "94105", State: "CA", Country: "US"},
		CreatedAt: time.Date(2025, 1, 6, 9, 5, 0, 0, time.UTC),
		CustomFields: decoded(t, map[string]any{
			"S": " plain ", "T": "long text", "E": "bill@example.com", "P": "+44 20 7946 0958", "U": "https://x.example",
			"N": "15000", "NF": 1234567.5, "NNeg": "-1234.50", "B": true, "BF": false, "BS": "true",
			"D": "4/27/2016", "DI": "2025-06-30", "DT": "4/28/2016 6:00", "L": "English", "LO": map[string]any{"id": 1, "name": "French"},
			"M": []any{"Pricing", "Integrations"}, "MO": []any{map[string]any{"id": 1, "name": "Support"}},
			"A":   map[string]any{"line1": "5 Anvil Way", "city": "New York", "postal_code": "10001", "country": "US"},
			"Odd": "sometime soon",
		}).(map[string]any),
	}
	keys := []string{"name", "organization", "status", "owner", "creator", "source", "email", "phone", "website", "tags", "address", "created_at",
		"custom:S", "custom:T", "custom:E", "custom:P", "custom:U", "custom:N", "custom:NF", "custom:NNeg", "custom:B", "custom:BF", "custom:BS",
		"custom:D", "custom:DI", "custom:DT", "custom:L", "custom:LO", "custom:M", "custom:MO", "custom:A", "custom:Odd"}
	want := map[string]string{
		"name": "Vera Visitor", "organization": "Visitor Labs", "status": "New",
		"owner": "Rex Rep", "creator": "#77", "source": "Website",
		"email": "vera@example.com", "phone": "+1 415 555 0100", "website": "https://visitorlabs.example.com",
		"tags": "chat, vip", "address": "1 Market St, San Francisco, CA 94105, US", "created_at": "6 Jan 2025 09:05 UTC",
		"custom:S": "plain", "custom:T": "long text", "custom:E": "bill@example.com", "custom:P": "+44 20 7946 0958", "custom:U": "https://x.example",
		"custom:N": "15,000", "custom:NF": "1,234,567.5", "custom:NNeg": "-1,234.50",
		"custom:B": "Yes", "custom:BF": "No", "custom:BS": "Yes",
		"custom:D": "27 Apr 2016", "custom:DI": "30 Jun 2025", "custom:DT": "28 Apr 2016 06:00 UTC",
		"custom:L": "English", "custom:LO": "French", "custom:M": "Pricing, Integrations", "custom:MO": "Support",
		"custom:A": "5 Anvil Way, New York, 10001, US", "custom:Odd": "sometime soon",
	}
	got := widgets.Render(widgets.Lead, keys, cat, lead, users, sources)
	if len(got) != len(keys) {
		t.Errorf("rendered %d values for %d keys: %+v", len(got), len(keys), got)
	}
	for i, v := range got {
		if v.Key != keys[i] {
			t.Fatalf("value %d is %s, want %s: the order must be the keys' order", i, v.Key, keys[i])
		}
		if v.Value != want[v.Key] {
			t.Errorf("%s = %q, want %q", v.Key, v.Value, want[v.Key])
		}
		if v.Label == "" || v.Sample {
			t.Errorf("%s: label %q sample %v", v.Key, v.Label, v.Sample)
		}
	}
	// Pointers render the same.
	if p := widgets.Render(widgets.Lead, keys, cat, &lead, users, sources); !reflect.DeepEqual(p, got) {
		t.Error("a *sell.Lead must render like a sell.Lead")
	}
}

func TestRenderLeavesOutEmptyValuesAndKeysNoLongerInSell(t *testing.T) {
	t.Parallel()
	cat := widgets.Catalogue(widgets.Lead, []sell.CustomField{{Name: "Budget", Type: "number"}, {Name: "Newsletter", Type: "bool"}, {Name: "Tags2", Type: "multi_select_list"}})
	lead := sell.Lead{LastName: "Only", CustomFields: map[string]any{"Budget": "", "Tags2": []any{}, "Newsletter": nil}}
	got := widgets.Render(widgets.Lead, []string{"email", "owner", "source", "address", "tags", "created_at", "custom:Budget", "custom:Newsletter", "custom:Tags2", "custom:Deleted", "name"}, cat, lead, nil, nil)
	if len(got) != 1 || got[0].Key != "name" || got[0].Value != "Only" {
		t.Fatalf("got %+v, want only the name", got)
	}
	org := sell.Lead{OrganizationName: "Northwind Traders"}
	if got := widgets.Render(widgets.Lead, []string{"name"}, cat, org, nil, nil); len(got) != 1 || got[0].Value != "Northwind Traders" {
		t.Fatalf("an organisation-only lead is named by its organisation: %+v", got)
	}
}

func TestRenderReadsPersonsAndCompanies(t *testing.T) {
	t.Parallel()
	seed := selltest.DemoSeed()
	var acme, paul sell.Contact
	for _, c := range seed.Contacts {
		switch c.ID {
		case selltest.DemoAcmeID:
			acme = c
		case selltest.DemoPaulContactID:
			paul = c
		}
	}
	contactFields := seed.CustomFields[sell.ResourceContact]
	personCat := widgets.Catalogue(widgets.Person, contactFields)
	companyCat := widgets.Catalogue(widgets.Company, contactFields)
	cases := []struct {
		name   string
		widget widgets.Name
		keys   []string
		cat    []widgets.Field
		record any
		want   []widgets.Value
	}{
		{"person", widgets.Person,
			[]string{"name", "company", "title", "owner", "customer_status", "prospect_status", "custom:Customer tier", "custom:VIP", "custom:Employees"},
			personCat, widgets.PersonRecord{Contact: paul, Company: "Acme Corp"},
			[]widgets.Value{
				{Key: "name", Label: "Name", Value: "Paul Person"},
				{Key: "company", Label: "Company", Value: "Acme Corp"},
				{Key: "title", Label: "Title", Value: "Head of Purchasing"},
				{Key: "owner", Label: "Owner", Value: "Rex Rep"},
				{Key: "customer_status", Label: "Customer status", Value: "Current"},
				{Key: "custom:Customer tier", Label: "Customer tier", Value: "Gold"},
				{Key: "custom:VIP", Label: "VIP", Value: "Yes"},
			}},
		{"company", widgets.Company,
			[]string{"name", "website", "address", "custom:Employees", "owner"},
			companyCat, &acme,
			[]widgets.Value{
				{Key: "name", Label: "Name", Value: "Acme Corp"},
				{Key: "website", Label: "Website", Value: "https://acme.example"},
				{Key: "address", Label: "Address", Value: "5 Anvil Way, New York, NY 10001, US"},
				{Key: "custom:Employees", Label: "Employees", Value: "250"},
				{Key: "owner", Label: "Owner", Value: "Ada Admin"},
			}},
	}
	for _, c := range cases {
		if got := widgets.Render(c.widget, c.keys, c.cat, c.record, users, nil); !reflect.DeepEqual(got, c.want) {
			t.Fatalf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
	if got := widgets.Render(widgets.Person, []string{"name", "company"}, personCat, paul, users, nil); len(got) != 1 {
		t.Errorf("a bare contact has no company name to show: %+v", got)
	}
}

func TestRenderRefusesARecordOfTheWrongKind(t *testing.T) {
	t.Parallel()
	cat := widgets.Catalogue(widgets.Person, nil)
	company := sell.Contact{IsOrganization: true, Name: "Acme"}
	person := sell.Contact{FirstName: "P", LastName: "Q"}
	for name, got := range map[string][]widgets.Value{
		"a lead in the person widget":    widgets.Render(widgets.Person, []string{"name"}, cat, sell.Lead{LastName: "L"}, nil, nil),
		"a company in the person widget": widgets.Render(widgets.Person, []string{"name"}, cat, company, nil, nil),
		"a person in the company widget": widgets.Render(widgets.Company, []string{"name"}, widgets.Catalogue(widgets.Company, nil), person, nil, nil),
		"a contact in the lead widget":   widgets.Render(widgets.Lead, []string{"name"}, widgets.Catalogue(widgets.Lead, nil), person, nil, nil),
		"a nil pointer":                  widgets.Render(widgets.Lead, []string{"name"}, widgets.Catalogue(widgets.Lead, nil), (*sell.Lead)(nil), nil, nil),
		"something else":                 widgets.Render(widgets.Lead, []string{"name"}, widgets.Catalogue(widgets.Lead, nil), "lead", nil, nil),
	} {
		if got != nil {
			t.Errorf("%s rendered %+v", name, got)
		}
	}
}

func TestMoneyReadsWithItsCurrency(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		widgets.FormatMoney("12000.00", "usd"): "12,000.00 USD",
		widgets.FormatMoney("900.50", "USD"):   "900.50 USD",
		widgets.FormatMoney("50000", ""):       "50,000",
		widgets.FormatMoney("", "EUR"):         "",
		widgets.Format(widgets.TypeMoney, widgets.Money{Amount: "2500", Currency: "EUR"}, nil, nil): "2,500 EUR",
		widgets.Format(widgets.TypeMoney, &widgets.Money{Amount: "0.5", Currency: "GBP"}, nil, nil): "0.5 GBP",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestPreviewUsesASampleOfEachFieldsType(t *testing.T) {
	t.Parallel()
	cat := widgets.Catalogue(widgets.Lead, demoFields(sell.ResourceLead))
	keys := make([]string, 0, len(cat))
	for _, f := range cat {
		keys = append(keys, f.Key)
	}
	got := widgets.Preview(widgets.Lead, append(keys, "custom:Gone"), cat)
	if len(got) != len(cat) {
		t.Fatalf("preview has %d values for %d fields", len(got), len(cat))
	}
	byKey := map[string]string{}
	for _, v := range got {
		if !v.Sample || v.Value == "" || v.Label == "" {
			t.Errorf("%+v: every preview value is a non-empty sample", v)
		}
		byKey[v.Key] = v.Value
	}
	for k, want := range map[string]string{
		"custom:Preferred language": "English", "custom:Interests": "Pricing, Integrations", "custom:Newsletter": "Yes",
		"custom:Next follow-up": "14 Mar 2026", "custom:Budget": "1,234.5", "email": "jane.sample@example.com",
	} {
		if byKey[k] != want {
			t.Errorf("sample of %s = %q, want %q", k, byKey[k], want)
		}
	}
	if got := widgets.Preview(widgets.Company, []string{"name"}, widgets.Catalogue(widgets.Company, nil)); got[0].Value != "Example Corp" {
		t.Errorf("a company's sample name reads as a company: %q", got[0].Value)
	}
}

func TestACatalogueListsABoundedNumberOfChoices(t *testing.T) {
	t.Parallel()
	cf := sell.CustomField{Name: "Region", Type: "list"}
	for i := range widgets.MaxChoices * 3 {
		cf.Choices = append(cf.Choices, sell.Choice{ID: int64(i + 1), Name: fmt.Sprint("choice ", i)})
	}
	for _, f := range widgets.Catalogue(widgets.Lead, []sell.CustomField{cf}) {
		if f.Key == widgets.CustomPrefix+"Region" {
			if len(f.Choices) != widgets.MaxChoices || f.Choices[0] != "choice 0" {
				t.Fatalf("%d choices, first %q", len(f.Choices), f.Choices[0])
			}
			return
		}
	}
	t.Fatal("the custom field is not in the catalogue")
}
