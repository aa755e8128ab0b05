package sell_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
)

func TestReadOperations(t *testing.T) {
	t.Parallel()
	srv, c := adminClient(t)
	ctx := context.Background()

	t.Run("the current user is the token's owner", func(t *testing.T) {
		u, err := c.Self(ctx)
		if err != nil || u.ID != selltest.DemoAdminID || !u.IsAdmin() {
			t.Fatalf("Self = %+v, %v", u, err)
		}
	})
	t.Run("the account is returned", func(t *testing.T) {
		a, err := c.Account(ctx)
		if err != nil || a.Currency != "USD" {
			t.Fatalf("Account = %+v, %v", a, err)
		}
	})
	t.Run("users include reps, their manager and the pool phantom", func(t *testing.T) {
		us, err := c.Users(ctx)
		if err != nil {
			t.Fatal(err)
		}
		byID := map[int64]sell.User{}
		for _, u := range us {
			byID[u.ID] = u
		}
		if byID[selltest.DemoRexID].ReportsTo != selltest.DemoAdminID || byID[selltest.DemoRexID].Role != "user" {
			t.Errorf("rex = %+v", byID[selltest.DemoRexID])
		}
		if !strings.HasPrefix(byID[selltest.DemoPoolID].Name, "Pool: ") || !byID[selltest.DemoPoolID].IsActive() {
			t.Errorf("pool phantom = %+v", byID[selltest.DemoPoolID])
		}
		if byID[selltest.DemoInactiveID].IsActive() {
			t.Errorf("inactive user reported active")
		}
		u, err := c.User(ctx, selltest.DemoRitaID)
		if err != nil || u.Email != selltest.DemoRitaEmail {
			t.Errorf("User = %+v, %v", u, err)
		}
	})
	t.Run("a lead is read with its custom fields", func(t *testing.T) {
		l, err := c.Lead(ctx, selltest.DemoVeraLeadID)
		if err != nil {
			t.Fatal(err)
		}
		if l.Email != selltest.DemoVeraEmail || l.Status != "New" || l.OwnerID != selltest.DemoRexID || l.CustomFields["Budget"] != "15000" {
			t.Errorf("Lead = %+v", l)
		}
		if l.Address == nil || l.Address.City != "San Francisco" || l.CreatedAt.IsZero() {
			t.Errorf("address or timestamps missing: %+v", l)
		}
	})
	t.Run("leads and contacts are read by ids", func(t *testing.T) {
		ls, err := c.Leads(ctx, selltest.DemoVeraLeadID, selltest.DemoLiamLeadID, selltest.DemoVeraLeadID)
		if err != nil || len(ls) != 2 {
			t.Fatalf("Leads = %d, %v", len(ls), err)
		}
		cs, err := c.Contacts(ctx, selltest.DemoAcmeID)
		if err != nil || len(cs) != 1 || !cs[0].IsOrganization || cs[0].DisplayName() != "Acme Corp" {
			t.Fatalf("Contacts = %+v, %v", cs, err)
		}
	})
	t.Run("a person contact knows its company", func(t *testing.T) {
		p, err := c.Contact(ctx, selltest.DemoPaulContactID)
		if err != nil || p.ContactID != selltest.DemoAcmeID || p.IsOrganization || p.DisplayName() != "Paul Person" {
			t.Fatalf("Contact = %+v, %v", p, err)
		}
	})
	t.Run("deals of several contacts come in one call", func(t *testing.T) {
		srv.ResetCalls()
		ds, err := c.DealsForContacts(ctx, selltest.DemoPaulContactID, selltest.DemoCaraContactID)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range ds {
			names = append(names, d.Name)
		}
		slices.Sort(names)
		if want := []string{"Acme annual plan", "Acme onboarding", "Cara renewal"}; !slices.Equal(names, want) {
			t.Errorf("deals = %v, want %v", names, want)
		}
		if n := srv.Calls("GET /v2/deals"); n != 1 {
			t.Errorf("GET /v2/deals calls = %d, want 1", n)
		}
		for _, d := range ds {
			if d.ID == selltest.DemoAnnualDealID && (d.Value != "12000.00" || d.Currency != "USD" || !d.Hot) {
				t.Errorf("annual deal = %+v", d)
			}
		}
	})
	t.Run("no contacts means no deals and no call", func(t *testing.T) {
		ds, err := c.DealsForContacts(ctx)
		if err != nil || ds != nil {
			t.Fatalf("DealsForContacts() = %v, %v", ds, err)
		}
	})
	t.Run("lead statuses list New, Working and Unqualified", func(t *testing.T) {
		st, err := c.LeadStatuses(ctx)
		if err != nil || len(st) != 3 || st[0].Name != "New" {
			t.Fatalf("LeadStatuses = %+v, %v", st, err)
		}
	})
	t.Run("custom fields of every resource type are listed", func(t *testing.T) {
		m, err := c.Metadata(ctx)
		if err != nil {
			t.Fatal(err)
		}
		types := map[string]bool{}
		for _, f := range m.CustomFields[sell.ResourceLead] {
			types[f.Type] = true
		}
		for _, want := range []string{"string", "number", "date", "bool", "list", "multi_select_list", "address", "url", "email", "phone"} {
			if !types[want] {
				t.Errorf("no lead custom field of type %s", want)
			}
		}
		if len(m.CustomFields[sell.ResourceContact]) == 0 || len(m.CustomFields[sell.ResourceDeal]) == 0 {
			t.Errorf("contact or deal fields missing")
		}
		if len(m.Users) == 0 || len(m.LeadSources) == 0 || len(m.LeadStatuses) == 0 {
			t.Errorf("metadata incomplete: %+v", m)
		}
		if _, err := c.CustomFields(ctx, "widget"); err == nil {
			t.Errorf("an unknown resource type was accepted")
		}
	})
}

func TestCreateLead(t *testing.T) {
	t.Parallel()
	srv, c := adminClient(t)
	ctx := context.Background()

	t.Run("a lead is created with status, source, owner and custom fields", func(t *testing.T) {
		l, err := c.CreateLead(ctx, sell.NewLead{
			FirstName: "Chat", LastName: "Visitor", Email: "chat@example.com", Status: "Working",
			SourceID: selltest.DemoSourceWebID, OwnerID: selltest.DemoRitaID,
			CustomFields: map[string]any{"Budget": "100", "Newsletter": true, "Interests": []string{"Support"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if l.ID == 0 || l.OwnerID != selltest.DemoRitaID || l.Status != "Working" || l.CreatorID != selltest.DemoAdminID {
			t.Errorf("created = %+v", l)
		}
		stored, ok := srv.Lead(l.ID)
		if !ok || stored.SourceID != selltest.DemoSourceWebID || stored.CustomFields["Newsletter"] != true {
			t.Errorf("stored = %+v", stored)
		}
	})

	tests := []struct {
		name  string
		lead  sell.NewLead
		field string
		code  string
	}{
		{"a lead without last name or organisation is refused", sell.NewLead{FirstName: "Only"}, "/last_name", "missing"},
		{"an unknown status is refused", sell.NewLead{LastName: "X", Status: "Hot"}, "/status", "incorrect_value"},
		{"an unknown source is refused", sell.NewLead{LastName: "X", SourceID: 42}, "/source_id", "incorrect_value"},
		{"an inactive owner is refused", sell.NewLead{LastName: "X", OwnerID: selltest.DemoInactiveID}, "/owner_id", "incorrect_value"},
		{"an undefined custom field is refused", sell.NewLead{LastName: "X", CustomFields: map[string]any{"Shoe size": "9"}}, "/custom_fields/Shoe size", "unknown"},
		{"a list value outside its choices is refused", sell.NewLead{LastName: "X", CustomFields: map[string]any{"Preferred language": "Klingon"}}, "/custom_fields/Preferred language", "incorrect_value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := c.CreateLead(ctx, tt.lead)
			var ae *sell.APIError
			if !errors.As(err, &ae) || !errors.Is(err, sell.ErrValidation) {
				t.Fatalf("err = %v, want a validation APIError", err)
			}
			if ae.Status != 422 || ae.Field != tt.field || ae.Code != tt.code || ae.RequestID == "" {
				t.Errorf("APIError = %+v, want field %s code %s", ae, tt.field, tt.code)
			}
			if ae.Details == "" || strings.Contains(err.Error(), ae.Details) {
				t.Errorf("Error() must not carry Sell's details text: %q", err.Error())
			}
		})
	}
}

func TestLeadSources(t *testing.T) {
	t.Parallel()
	_, c := adminClient(t)
	ctx := context.Background()

	before, err := c.LeadSources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a new source is created and shows in the list at once", func(t *testing.T) {
		src, err := c.CreateLeadSource(ctx, "Zendesk Chat")
		if err != nil || src.ID == 0 || src.Name != "Zendesk Chat" {
			t.Fatalf("CreateLeadSource = %+v, %v", src, err)
		}
		after, err := c.LeadSources(ctx)
		if err != nil || len(after) != len(before)+1 {
			t.Fatalf("LeadSources after create = %d, %v", len(after), err)
		}
	})
	t.Run("a duplicate name is an already-exists validation error", func(t *testing.T) {
		_, err := c.CreateLeadSource(ctx, "website")
		if !errors.Is(err, sell.ErrAlreadyExists) || !errors.Is(err, sell.ErrValidation) {
			t.Fatalf("err = %v, want ErrAlreadyExists", err)
		}
	})
}

func TestNotes(t *testing.T) {
	t.Parallel()
	srv := newServer(t, selltest.Options{})
	c := clientFor(t, srv, selltest.DemoRexEmail)
	ctx := context.Background()

	n, err := c.CreateNote(ctx, sell.NewNote{ResourceType: sell.ResourceLead, ResourceID: selltest.DemoVeraLeadID, Content: "Chat transcript"})
	if err != nil || n.ID == 0 || n.CreatorID != selltest.DemoRexID {
		t.Fatalf("CreateNote = %+v, %v", n, err)
	}
	t.Run("notes of a record are listed newest first", func(t *testing.T) {
		ns, err := c.Notes(ctx, sell.ResourceLead, selltest.DemoVeraLeadID)
		if err != nil || len(ns) != 2 || ns[0].ID != n.ID {
			t.Fatalf("Notes = %+v, %v", ns, err)
		}
	})
	t.Run("a note on a record the user cannot see is refused", func(t *testing.T) {
		_, err := c.CreateNote(ctx, sell.NewNote{ResourceType: sell.ResourceLead, ResourceID: selltest.DemoLiamLeadID, Content: "x"})
		if ae, ok := errors.AsType[*sell.APIError](err); !ok || ae.Field != "/resource_id" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a bad resource type is refused on /resource_type", func(t *testing.T) {
		_, err := c.CreateNote(ctx, sell.NewNote{ResourceType: "person", ResourceID: 1, Content: "x"})
		if ae, ok := errors.AsType[*sell.APIError](err); !ok || ae.Field != "/resource_type" || ae.Code != "incorrect_value" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a note's content is replaced in place, and a blank one refused", func(t *testing.T) {
		u, err := c.UpdateNote(ctx, n.ID, "Chat transcript, continued")
		if err != nil || u.ID != n.ID || u.Content != "Chat transcript, continued" || u.ResourceID != selltest.DemoVeraLeadID {
			t.Fatalf("UpdateNote = %+v, %v", u, err)
		}
		ns, _ := c.Notes(ctx, sell.ResourceLead, selltest.DemoVeraLeadID)
		if len(ns) != 2 || ns[0].Content != "Chat transcript, continued" {
			t.Fatalf("notes after the update = %+v", ns)
		}
		if _, err := c.UpdateNote(ctx, n.ID, " "); err == nil {
			t.Fatal("a blank content was accepted")
		}
		if _, err := c.UpdateNote(ctx, 987654321, "x"); !errors.Is(err, sell.ErrNotFound) {
			t.Fatalf("an unknown note: %v, want ErrNotFound", err)
		}
	})
	t.Run("a deleted note is gone and deleting it again succeeds", func(t *testing.T) {
		if err := c.DeleteNote(ctx, n.ID); err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteNote(ctx, n.ID); err != nil {
			t.Fatalf("second delete: %v", err)
		}
		ns, _ := c.Notes(ctx, sell.ResourceLead, selltest.DemoVeraLeadID)
		if len(ns) != 1 {
			t.Errorf("notes after delete = %d", len(ns))
		}
	})
}

func TestPagination(t *testing.T) {
	t.Parallel()
	srv := newServer(t, selltest.Options{})
	for i := range 230 {
		srv.AddDeal(sell.Deal{Name: fmt.Sprintf("bulk %03d", i), ContactID: selltest.DemoCaraContactID, OwnerID: selltest.DemoRitaID})
	}
	for i := range 120 {
		srv.AddUser(sell.User{Name: fmt.Sprintf("User %d", i), Email: fmt.Sprintf("u%d@example.com", i)})
	}
	c := clientFor(t, srv, selltest.DemoAdminEmail)
	ctx := context.Background()

	t.Run("deals past the first page are all returned", func(t *testing.T) {
		ds, err := c.DealsForContacts(ctx, selltest.DemoCaraContactID)
		if err != nil || len(ds) != 231 {
			t.Fatalf("deals = %d, %v; want 231", len(ds), err)
		}
		if n := srv.Calls("GET /v2/deals"); n != 3 {
			t.Errorf("GET /v2/deals calls = %d, want 3 (100+100+31)", n)
		}
	})
	t.Run("users past the first page are all returned", func(t *testing.T) {
		us, err := c.Users(ctx)
		if err != nil || len(us) != 125 {
			t.Fatalf("users = %d, %v; want 125", len(us), err)
		}
	})
}

func TestVisibility(t *testing.T) {
	t.Parallel()
	srv := newServer(t, selltest.Options{})
	rex := clientFor(t, srv, selltest.DemoRexEmail)
	admin := clientFor(t, srv, selltest.DemoAdminEmail)
	ctx := context.Background()

	t.Run("a rep cannot read a lead owned by another rep", func(t *testing.T) {
		_, err := rex.Lead(ctx, selltest.DemoLiamLeadID)
		if !errors.Is(err, sell.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
	t.Run("the admin reads every lead", func(t *testing.T) {
		if _, err := admin.Lead(ctx, selltest.DemoLiamLeadID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a rep does not find another rep's lead by email", func(t *testing.T) {
		ls, err := rex.FindLeads(ctx, sell.Visitor{Email: "liam@example.org"})
		if err != nil || len(ls) != 0 {
			t.Fatalf("FindLeads = %v, %v", ls, err)
		}
	})
	t.Run("a rep sees a record shared with them", func(t *testing.T) {
		srv.MakeVisible(selltest.DemoRexID, sell.ResourceContact, selltest.DemoCaraContactID)
		if _, err := rex.Contact(ctx, selltest.DemoCaraContactID); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFind(t *testing.T) {
	t.Parallel()
	for _, searchAPI := range []bool{true, false} {
		name := "with the search api"
		if !searchAPI {
			name = "without the search api"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, selltest.Options{DisableSearchAPI: !searchAPI})
			c := clientFor(t, srv, selltest.DemoAdminEmail)
			ctx := context.Background()
			tests := []struct {
				name         string
				email, phone string
				leads        []int64
				contacts     []int64
			}{
				{"an email in other case finds the lead", " VERA@example.com", "", []int64{selltest.DemoVeraLeadID}, nil},
				{"a national phone number finds the lead in E.164", "", "(415) 555-0100", []int64{selltest.DemoVeraLeadID}, nil},
				{"a mobile number finds the lead", "", "+447700900123", []int64{selltest.DemoLiamLeadID}, nil},
				{"a UK number finds the person contact", "", "+44 20 7946 0958", nil, []int64{selltest.DemoPaulContactID}},
				{"email and phone of different records find both", "info@acme.example", "415.555.0100", []int64{selltest.DemoVeraLeadID}, []int64{selltest.DemoAcmeID}},
				{"an unknown visitor matches nothing", "nobody@example.com", "+1 999 555 0000", nil, nil},
				{"nothing to match on matches nothing", "", "n/a", nil, nil},
			}
			for _, tt := range tests {
				m, err := c.Find(ctx, visitor(tt.email, tt.phone))
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				var leads, contacts []int64
				for _, l := range m.Leads {
					leads = append(leads, l.ID)
				}
				for _, ct := range m.Contacts {
					contacts = append(contacts, ct.ID)
				}
				slices.Sort(leads)
				slices.Sort(contacts)
				if !slices.Equal(leads, tt.leads) || !slices.Equal(contacts, tt.contacts) {
					t.Errorf("%s: leads %v contacts %v, want %v %v", tt.name, leads, contacts, tt.leads, tt.contacts)
				}
			}
		})
	}

	t.Run("a lookup costs two calls with the search api", func(t *testing.T) {
		t.Parallel()
		srv, c := adminClient(t)
		m, err := c.Find(context.Background(), visitor(selltest.DemoVeraEmail, "+1 415 555 0100"))
		if err != nil || len(m.Leads) != 1 {
			t.Fatalf("Find = %+v, %v", m, err)
		}
		if got := srv.CallCounts(); got["POST /v3/leads/search"] != 1 || got["POST /v3/contacts/search"] != 1 || srv.TotalCalls() != 2 {
			t.Errorf("calls = %v, want one search per resource", got)
		}
		if l := m.Leads[0]; l.CustomFields["Preferred language"] != "English" || l.OwnerID != selltest.DemoRexID {
			t.Errorf("search result lacks projected attributes: %+v", l)
		}
	})
	t.Run("the search api is not retried while known to be missing", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, selltest.Options{DisableSearchAPI: true})
		c := clientFor(t, srv, selltest.DemoAdminEmail)
		for range 3 {
			if _, err := c.Find(context.Background(), visitor(selltest.DemoVeraEmail, "")); err != nil {
				t.Fatal(err)
			}
		}
		if n := srv.Calls("POST /v3/leads/search"); n != 1 {
			t.Errorf("v3 lead searches = %d, want 1", n)
		}
	})
}

func TestErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a 429 is retried after the Retry-After it carries", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, selltest.Options{RetryAfter: 2 * time.Second})
		c, sl := newClient(t, srv, oauth2.StaticTokenSource(srv.TokenFor(selltest.DemoAdminEmail)))
		srv.FailNext(1, http.StatusTooManyRequests)
		if _, err := c.Lead(ctx, selltest.DemoVeraLeadID); err != nil {
			t.Fatal(err)
		}
		if got := sl.all(); !slices.Equal(got, []time.Duration{2 * time.Second}) {
			t.Errorf("waits = %v, want [2s]", got)
		}
	})
	t.Run("a create refused with 429 is retried and creates one lead", func(t *testing.T) {
		t.Parallel()
		srv, c := adminClient(t)
		before := len(srv.Leads())
		srv.FailNext(2, http.StatusTooManyRequests)
		if _, err := c.CreateLead(ctx, sell.NewLead{LastName: "Retry"}); err != nil {
			t.Fatal(err)
		}
		if n := len(srv.Leads()) - before; n != 1 {
			t.Errorf("leads created = %d, want 1", n)
		}
	})
	t.Run("a Retry-After beyond the bound is returned at once", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, selltest.Options{RetryAfter: time.Hour})
		c, sl := newClient(t, srv, oauth2.StaticTokenSource(srv.TokenFor(selltest.DemoAdminEmail)))
		srv.FailNext(1, http.StatusTooManyRequests)
		_, err := c.Lead(ctx, selltest.DemoVeraLeadID)
		ae, ok := errors.AsType[*sell.APIError](err)
		if !ok || !errors.Is(err, sell.ErrRateLimited) || ae.RetryAfter != time.Hour {
			t.Fatalf("err = %v", err)
		}
		if len(sl.all()) != 0 {
			t.Errorf("client waited %v", sl.all())
		}
	})
	// Sell failing the next calls with a status: what the call answers and, where
	// path is set, how many times the client sent it.
	getVera := func(c *sell.Client) error { _, err := c.Lead(ctx, selltest.DemoVeraLeadID); return err }
	for _, tc := range []struct {
		name         string
		mod          func(*sell.Options)
		fail, status int
		call         func(*sell.Client) error
		want         error // nil: the call succeeds
		path         string
		calls        int
	}{
		{name: "a read is retried after a 503", fail: 1, status: http.StatusServiceUnavailable, call: getVera},
		{name: "a read failing every attempt is a server error", mod: func(o *sell.Options) { o.MaxAttempts = 3 },
			fail: 5, status: http.StatusInternalServerError, call: getVera,
			want: sell.ErrServer, path: "GET /v2/leads/2001", calls: 3},
		{name: "a create is not retried after a 500", fail: 1, status: http.StatusInternalServerError,
			call: func(c *sell.Client) error { _, err := c.CreateLead(ctx, sell.NewLead{LastName: "Once"}); return err },
			want: sell.ErrServer, path: "POST /v2/leads", calls: 1},
		{name: "a forbidden answer maps to ErrForbidden", fail: 1, status: http.StatusForbidden,
			call: func(c *sell.Client) error { _, err := c.Self(ctx); return err },
			want: sell.ErrForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, selltest.Options{})
			var mods []func(*sell.Options)
			if tc.mod != nil {
				mods = append(mods, tc.mod)
			}
			c := clientFor(t, srv, selltest.DemoAdminEmail, mods...)
			srv.FailNext(tc.fail, tc.status)
			err := tc.call(c)
			if !errors.Is(err, tc.want) || (tc.path != "" && srv.Calls(tc.path) != tc.calls) {
				t.Fatalf("err = %v after %d calls; want %v after %d", err, srv.Calls(tc.path), tc.want, tc.calls)
			}
		})
	}
	t.Run("a create is not retried after a timeout", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, selltest.Options{})
		c := clientFor(t, srv, selltest.DemoAdminEmail, func(o *sell.Options) {
			o.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond}
		})
		srv.SetFaults(selltest.Faults{HangRate: 1})
		_, err := c.CreateLead(ctx, sell.NewLead{LastName: "Hang"})
		if err == nil || srv.Calls("POST /v2/leads") != 1 {
			t.Fatalf("err = %v after %d calls", err, srv.Calls("POST /v2/leads"))
		}
	})
	t.Run("a token without the write scope cannot create", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, selltest.Options{})
		c, _ := newClient(t, srv, oauth2.StaticTokenSource(srv.TokenFor(selltest.DemoAdminEmail, "read", "profile")))
		_, err := c.CreateLead(ctx, sell.NewLead{LastName: "X"})
		if ae, ok := errors.AsType[*sell.APIError](err); !ok || ae.Code != "insufficient_scope" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a request without User-Agent is refused by the sandbox", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, selltest.Options{})
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v2/users/self", nil)
		req.Header.Set("Authorization", "Bearer "+srv.TokenFor(selltest.DemoAdminEmail).AccessToken)
		req.Header.Set("User-Agent", "") // an empty value makes net/http send none
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Errors []struct{ Error struct{ Code string } }
		}
		_ = jsonDecode(resp, &body)
		if resp.StatusCode != 400 || len(body.Errors) != 1 || body.Errors[0].Error.Code != "invalid_user_agent" {
			t.Fatalf("status %d body %+v", resp.StatusCode, body)
		}
	})
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	srv := newServer(t, selltest.Options{RateLimit: 10, RateBurst: 10, Now: clk.Now})
	c, sl := newClient(t, srv, oauth2.StaticTokenSource(srv.TokenFor(selltest.DemoAdminEmail)))
	sl.then = clk.Advance // the sandbox's bucket refills while the client "waits"

	for i := range 25 {
		if _, err := c.Lead(context.Background(), selltest.DemoVeraLeadID); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if len(sl.all()) == 0 {
		t.Errorf("the sandbox never answered 429 past 10/s")
	}
	for _, d := range sl.all() {
		if d != time.Second {
			t.Errorf("wait %v, want the 1s Retry-After", d)
		}
	}
}

func TestLimitersAreSharedByKey(t *testing.T) {
	t.Parallel()
	srv := newServer(t, selltest.Options{})
	lims := sell.NewLimiters(1000, 1)
	tok := srv.TokenFor(selltest.DemoAdminEmail)
	a, _ := newClient(t, srv, oauth2.StaticTokenSource(tok), func(o *sell.Options) { o.Limiters = lims })
	b, _ := newClient(t, srv, oauth2.StaticTokenSource(tok), func(o *sell.Options) { o.Limiters = lims })
	// Not a timing assertion: both clients must work through the shared
	// bucket; the internal test checks identity of the limiter.
	var wg sync.WaitGroup
	for _, c := range []*sell.Client{a, b} {
		wg.Go(func() {
			if _, err := c.Self(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func TestMetadataCache(t *testing.T) {
	t.Parallel()
	srv := newServer(t, selltest.Options{})
	clk := newFakeClock()
	c := clientFor(t, srv, selltest.DemoAdminEmail, func(o *sell.Options) { o.Cache = sell.NewCache(time.Minute, clk.Now) })
	ctx := context.Background()

	t.Run("concurrent cold reads share one call", func(t *testing.T) {
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if _, err := c.Users(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := srv.Calls("GET /v2/users"); n != 1 {
			t.Errorf("GET /v2/users calls = %d, want 1", n)
		}
	})
	t.Run("a fresh entry is served from the cache", func(t *testing.T) {
		clk.Advance(59 * time.Second)
		_, _ = c.Users(ctx)
		if n := srv.Calls("GET /v2/users"); n != 1 {
			t.Errorf("calls = %d, want 1", n)
		}
	})
	t.Run("an expired entry is read again", func(t *testing.T) {
		clk.Advance(2 * time.Second)
		_, _ = c.Users(ctx)
		if n := srv.Calls("GET /v2/users"); n != 2 {
			t.Errorf("calls = %d, want 2", n)
		}
	})
	t.Run("callers cannot corrupt the cached list", func(t *testing.T) {
		us, _ := c.Users(ctx)
		us[0].Name = "changed"
		again, _ := c.Users(ctx)
		if again[0].Name == "changed" {
			t.Errorf("cached slice was shared")
		}
	})
}

func TestPoolRotation(t *testing.T) {
	t.Parallel()
	_, c := adminClient(t)
	counts := map[int64]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			l, err := c.CreateLead(context.Background(), sell.NewLead{LastName: fmt.Sprintf("Pool %d", i), OwnerID: selltest.DemoPoolID})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			counts[l.OwnerID]++
			mu.Unlock()
		})
	}
	wg.Wait()
	rex, rita := counts[selltest.DemoRexID], counts[selltest.DemoRitaID]
	if rex+rita != 100 || rex-rita > 1 || rita-rex > 1 || len(counts) != 2 {
		t.Fatalf("owners = %v, want 100 leads split evenly between the two members", counts)
	}
}

// A phone search without a way to read phones must say so, not silently match on
// the email alone: that would hide a visitor from the agent.
func TestAPhoneSearchNeedsAPhoneReader(t *testing.T) {
	t.Parallel()
	srv, c := adminClient(t)
	_, err := c.Find(context.Background(), sell.Visitor{Email: selltest.DemoVeraEmail, Phone: "+1 415 555 0100"})
	if !errors.Is(err, sell.ErrNoPhoneReader) {
		t.Fatalf("Find without ReadPhone = %v, want ErrNoPhoneReader", err)
	}
	if srv.TotalCalls() != 0 {
		t.Errorf("%d Sell calls made for a lookup that cannot be done", srv.TotalCalls())
	}
}
