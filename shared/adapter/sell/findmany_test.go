package sell_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/internal/wire"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
)

// manyVisitors are the demo's lookups (as TestFind's) and n leads of their own,
// every third with a phone as well: more queries than one search request holds.
func manyVisitors(srv *selltest.Server, n int) []sell.Visitor {
	vs := []sell.Visitor{
		visitor(" VERA@example.com", ""),
		visitor("", "(415) 555-0100"),
		visitor("", "+447700900123"),
		visitor("", "+44 20 7946 0958"),
		visitor("info@acme.example", "415.555.0100"),
		visitor("paul@acme.example", ""),
		visitor("nobody@example.com", "+1 999 555 0000"),
		visitor("", "n/a"),
		visitor("", ""),
	}
	for i := range n {
		l := sell.Lead{LastName: fmt.Sprintf("Many %d", i), Email: fmt.Sprintf("many%d@example.com", i), OwnerID: selltest.DemoAdminID}
		phone := ""
		if i%3 == 0 {
			l.Mobile = fmt.Sprintf("+1 212 555 %04d", i)
			phone = l.Mobile
		}
		srv.AddLead(l)
		vs = append(vs, visitor(fmt.Sprintf("MANY%d@example.com", i), phone))
	}
	return vs
}

// queries counts the search queries vs need: one per email, one per phone.
func queries(vs []sell.Visitor) int {
	n := 0
	for _, v := range vs {
		if v.Email != "" {
			n++
		}
		if e164, ok := v.ReadPhone(v.Phone); v.Phone != "" && ok && e164 != "" {
			n++
		}
	}
	return n
}

func TestFindManyFindsWhatFindFindsPerVisitor(t *testing.T) {
	t.Parallel()
	for _, searchAPI := range []bool{true, false} {
		t.Run(fmt.Sprintf("search api %v", searchAPI), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, selltest.Options{DisableSearchAPI: !searchAPI})
			vs := manyVisitors(srv, 30)
			ctx := context.Background()
			got, err := clientFor(t, srv, selltest.DemoAdminEmail).FindMany(ctx, vs)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(vs) {
				t.Fatalf("%d matches for %d visitors", len(got), len(vs))
			}
			one := clientFor(t, srv, selltest.DemoAdminEmail)
			found := 0
			for i, v := range vs {
				want, err := one.Find(ctx, v)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got[i], want) {
					t.Errorf("visitor %d (%q, %q): FindMany %+v, Find %+v", i, v.Email, v.Phone, got[i], want)
				}
				found += len(want.Leads) + len(want.Contacts)
			}
			if found < 30 {
				t.Fatalf("only %d records found: the comparison proves little", found)
			}
		})
	}
}

func TestFindManyBatchesQueriesIntoFewRequests(t *testing.T) {
	t.Parallel()
	srv, c := adminClient(t)
	vs := manyVisitors(srv, 30)
	q := queries(vs)
	if q <= wire.MaxSearchItems {
		t.Fatalf("%d queries fit one request: the test needs more", q)
	}
	if _, err := c.FindMany(context.Background(), vs); err != nil {
		t.Fatal(err)
	}
	want := (q + wire.MaxSearchItems - 1) / wire.MaxSearchItems
	got := srv.CallCounts()
	if got["POST /v3/leads/search"] != want || got["POST /v3/contacts/search"] != want || srv.TotalCalls() != 2*want {
		t.Errorf("calls for %d visitors (%d queries) = %v, want %d search(es) per resource", len(vs), q, got, want)
	}
}

func TestFindManySharesTheQueriesOfTheSameVisitor(t *testing.T) {
	t.Parallel()
	srv, c := adminClient(t)
	vs := make([]sell.Visitor, 2*wire.MaxSearchItems)
	for i := range vs {
		vs[i] = visitor(selltest.DemoVeraEmail, "+1 415 555 0100")
	}
	got, err := c.FindMany(context.Background(), vs)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range got {
		if len(m.Leads) != 1 || m.Leads[0].ID != selltest.DemoVeraLeadID {
			t.Fatalf("visitor %d: %+v", i, m)
		}
	}
	got[0].Leads[0].Email = "edited@example.com"
	if got[1].Leads[0].Email != selltest.DemoVeraEmail {
		t.Error("visitors sharing a search share their records: editing one edits the other")
	}
	if srv.TotalCalls() != 2 {
		t.Errorf("calls = %v, want one search per resource", srv.CallCounts())
	}
}

func TestFindManyWithoutTheSearchAPILooksUpEachVisitorOnV2(t *testing.T) {
	t.Parallel()
	srv := newServer(t, selltest.Options{DisableSearchAPI: true})
	c := clientFor(t, srv, selltest.DemoAdminEmail)
	vs := manyVisitors(srv, 5)
	if _, err := c.FindMany(context.Background(), vs); err != nil {
		t.Fatal(err)
	}
	// The first failed search marks v3 missing; nothing else goes to v3.
	if n := srv.Calls("POST /v3/leads/search") + srv.Calls("POST /v3/contacts/search"); n != 2 {
		t.Errorf("v3 searches = %d, want 2 (one per resource)", n)
	}
	if srv.Calls("GET /v2/leads") == 0 || srv.Calls("GET /v2/contacts") == 0 {
		t.Errorf("no v2 lookups: %v", srv.CallCounts())
	}
}

func TestFindManyWithNothingToLookUpCallsNothing(t *testing.T) {
	t.Parallel()
	srv, c := adminClient(t)
	got, err := c.FindMany(context.Background(), []sell.Visitor{visitor("", ""), visitor("", "n/a")})
	if err != nil || len(got) != 2 || got[0].Leads != nil || got[1].Contacts != nil {
		t.Fatalf("FindMany = %+v, %v", got, err)
	}
	if srv.TotalCalls() != 0 {
		t.Errorf("calls = %v", srv.CallCounts())
	}
}

func TestFindManyNeedsAPhoneReader(t *testing.T) {
	t.Parallel()
	srv, c := adminClient(t)
	_, err := c.FindMany(context.Background(), []sell.Visitor{visitor(selltest.DemoVeraEmail, ""), {Phone: "+1 415 555 0100"}})
	if !errors.Is(err, sell.ErrNoPhoneReader) {
		t.Fatalf("FindMany = %v, want ErrNoPhoneReader", err)
	}
	if srv.TotalCalls() != 0 {
		t.Errorf("%d Sell calls made for a lookup that cannot be done", srv.TotalCalls())
	}
}

// The sandbox holds the client to wire.MaxSearchItems, so a client that stops
// chunking fails its tests.
func TestTheSandboxRefusesMoreQueriesThanMaxSearchItems(t *testing.T) {
	t.Parallel()
	srv := newServer(t, selltest.Options{})
	for _, n := range []int{wire.MaxSearchItems, wire.MaxSearchItems + 1} {
		body := `{"items":[` + strings.Repeat(`{"data":{"query":{}}},`, n-1) + `{"data":{"query":{}}}]}`
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v3/leads/search", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+srv.TokenFor(selltest.DemoAdminEmail).AccessToken)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "sellchat-test")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{true: http.StatusOK, false: http.StatusBadRequest}[n <= wire.MaxSearchItems]; resp.StatusCode != want {
			t.Errorf("%d queries: status %d, want %d", n, resp.StatusCode, want)
		}
	}
}
