package settings_test

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/domain/settings"
)

type poolJSON struct {
	SellUserID int64  `json:"sellUserId"`
	Name       string `json:"name"`
	InUse      bool   `json:"inUse"`
}

// markInboundPool marks the sandbox's pool user 1004 as the pool "Inbound" through
// PUT /pools, as an admin does before choosing it as an owner.
func (c connected) markInboundPool(t *testing.T) {
	t.Helper()
	if res := c.do(t, "PUT", "/pools/1004", `{"name":"Inbound"}`); res.Status != 201 {
		t.Fatalf("mark pool 1004: %d %s", res.Status, res.Body)
	}
}

func (c connected) pools(t *testing.T) []poolJSON {
	t.Helper()
	var body struct{ Pools []poolJSON }
	res := c.do(t, "GET", "/pools", nil)
	res.JSON(t, &body)
	if res.Status != 200 || body.Pools == nil {
		t.Fatalf("GET /pools: %d %s", res.Status, res.Body)
	}
	return body.Pools
}

func TestPoolsAreMarkedRenamedAndUnmarkedUnlessInUse(t *testing.T) {
	t.Parallel()
	c := connect(t)
	if got := c.pools(t); len(got) != 0 {
		t.Fatalf("pools before marking: %+v", got)
	}
	var p poolJSON
	res := c.do(t, "PUT", "/pools/1004", `{"name":"  Inbound  leads "}`)
	res.JSON(t, &p)
	if res.Status != 201 || p != (poolJSON{SellUserID: 1004, Name: "Inbound leads"}) {
		t.Fatalf("mark: %d %s", res.Status, res.Body)
	}
	if res := c.do(t, "PUT", "/pools/1004", `{"name":"Inbound"}`); res.Status != 200 {
		t.Fatalf("rename: %d %s", res.Status, res.Body)
	}
	if got := c.pools(t); !reflect.DeepEqual(got, []poolJSON{{1004, "Inbound", false}}) {
		t.Fatalf("pools: %+v", got)
	}

	if res := c.do(t, "PATCH", "/settings", `{"owners":[{"type":"pool","id":1004}]}`, "If-Match", "0"); res.Status != 200 {
		t.Fatalf("pool as owner: %d %s", res.Status, res.Body)
	}
	if got := c.pools(t); !got[0].InUse {
		t.Fatalf("the pool is an owner: %+v", got)
	}
	before := storetest.Snapshot(t, c.env.Deps.Store)
	if res := c.do(t, "DELETE", "/pools/1004", nil); res.Status != 409 || res.ErrorCode() != "pool_in_use" {
		t.Fatalf("unmark a pool in use: %d %s", res.Status, res.Body)
	}
	if after := storetest.Snapshot(t, c.env.Deps.Store); !reflect.DeepEqual(before, after) {
		t.Fatal("a refused unmark changed the table")
	}

	if res := c.do(t, "PATCH", "/settings", `{"owners":[]}`, "If-Match", "1"); res.Status != 200 {
		t.Fatalf("clear owners: %d %s", res.Status, res.Body)
	}
	res = c.do(t, "DELETE", "/pools/1004", nil)
	var after struct{ Pools []poolJSON }
	res.JSON(t, &after)
	if res.Status != 200 || len(after.Pools) != 0 {
		t.Fatalf("unmark: %d %s", res.Status, res.Body)
	}
	if res := c.do(t, "DELETE", "/pools/1004", nil); res.Status != 404 || res.ErrorCode() != "unknown_pool" {
		t.Fatalf("unmark again: %d %s", res.Status, res.Body)
	}
	// An unmarked pool can no longer be an owner.
	if res := c.do(t, "PATCH", "/settings", `{"owners":[{"type":"pool","id":1004}]}`, "If-Match", "2"); res.Status != 422 || res.ErrorCode() != "not_a_pool" {
		t.Fatalf("owner of an unmarked pool: %d %s", res.Status, res.Body)
	}
}

func TestPoolMarksAreCheckedAgainstSellAndTheOwners(t *testing.T) {
	t.Parallel()
	c := connect(t)
	if res := c.do(t, "PATCH", "/settings", `{"owners":[{"type":"user","id":1002}]}`, "If-Match", "0"); res.Status != 200 {
		t.Fatalf("owner: %d %s", res.Status, res.Body)
	}
	c.refusesAll(t, "refused pool marks", []fieldRefusal{
		{"a user Sell does not have", "PUT", "/pools/4242", `{"name":"Ghost"}`, 422, "unknown_user", "sellUserId"},
		{"an inactive user", "PUT", "/pools/1005", `{"name":"Ivan"}`, 422, "inactive_user", "sellUserId"},
		{"an id that is not a number", "PUT", "/pools/abc", `{"name":"X"}`, 422, "invalid_value", "sellUserId"},
		{"a negative id", "PUT", "/pools/-4", `{"name":"X"}`, 422, "invalid_value", "sellUserId"},
		{"no name", "PUT", "/pools/1004", `{}`, 422, "required", "name"},
		{"a blank name", "PUT", "/pools/1004", `{"name":"   "}`, 422, "required", "name"},
		{"a name that is too long", "PUT", "/pools/1004", `{"name":"` + strings.Repeat("x", 101) + `"}`, 422, "too_long", "name"},
		{"a name of the wrong type", "PUT", "/pools/1004", `{"name":7}`, 422, "wrong_type", "name"},
		{"a user who owns leads as a person", "PUT", "/pools/1002", `{"name":"Rex"}`, 409, "owner_in_use", ""},
		{"unmark a pool never marked", "DELETE", "/pools/1004", "", 404, "unknown_pool", ""},
		{"unmark with a bad id", "DELETE", "/pools/x", "", 422, "invalid_value", "sellUserId"},
	})
}

// TestLeadsOwnedByTheMarkedPoolAreSpreadOverItsMembers proves that the user marked as
// a pool through /pools and chosen as owner in the settings is the phantom Sell
// rotates: 100 leads created at once with that owner go evenly to the pool's members.
func TestLeadsOwnedByTheMarkedPoolAreSpreadOverItsMembers(t *testing.T) {
	t.Parallel()
	c := connect(t)
	c.markInboundPool(t)
	if res := c.do(t, "PATCH", "/settings", `{"owners":[{"type":"pool","id":1004}]}`, "If-Match", "0"); res.Status != 200 {
		t.Fatalf("owner: %d %s", res.Status, res.Body)
	}
	ctx := context.Background()
	st, _, err := c.env.Deps.Store.Settings(ctx, c.account)
	if err != nil || len(st.Owners) != 1 || st.Owners[0].Type != settings.OwnerPool {
		t.Fatalf("stored owners %+v %v", st.Owners, err)
	}
	owner := st.Owners[0].ID
	client, _, err := c.env.Deps.Vault.Client(ctx, c.account, tokens.Admin())
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	ids := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			l, err := client.CreateLead(ctx, sell.NewLead{LastName: "Pooled", OwnerID: owner})
			if err != nil {
				t.Errorf("lead %d: %v", i, err)
				return
			}
			ids[i] = l.ID
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	counts := map[int64]int{}
	for _, id := range ids {
		l, ok := c.env.Sell.Lead(id)
		if !ok {
			t.Fatalf("lead %d is not in Sell", id)
		}
		counts[l.OwnerID]++
	}
	rex, rita := counts[selltest.DemoRexID], counts[selltest.DemoRitaID]
	if rex+rita != n || len(counts) != 2 {
		t.Fatalf("owners %v: every lead must go to a member of the pool", counts)
	}
	if d := rex - rita; d > 1 || d < -1 {
		t.Fatalf("Rex got %d and Rita %d: not an even spread", rex, rita)
	}
}
