package leads

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// A request that claimed a key and then died cannot release it; its claim must run
// out by itself, while a live claim and a finished answer hold.
func TestAClaimLeftByADeadRequestRunsOutButALiveOneHolds(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	key := idemKey("acme", "361", "k-1")
	now := time.Now()

	if prior, err := claim(ctx, s, key, "h", now, 0); err != nil || prior != nil {
		t.Fatalf("first claim: %v %v", prior, err)
	}
	_, err := claim(ctx, s, key, "h", now, 100*time.Millisecond)
	var he *httpx.Error
	if !errors.As(err, &he) || he.Code != "request_in_progress" {
		t.Fatalf("a live claim: %v, want request_in_progress", err)
	}

	dead := idemKey("acme", "361", "k-2")
	if _, err := claim(ctx, s, dead, "h", now.Add(-ClaimLease-time.Minute), 0); err != nil {
		t.Fatal(err)
	}
	if prior, err := claim(ctx, s, dead, "h", now, 100*time.Millisecond); err != nil || prior != nil {
		t.Fatalf("a claim past its lease: %v %v, want it taken again", prior, err)
	}

	done := idemKey("acme", "361", "k-3")
	old := now.Add(-ClaimLease - time.Minute)
	if _, err := claim(ctx, s, done, "h", old, 0); err != nil {
		t.Fatal(err)
	}
	if err := finish(ctx, s, done, "h", 201, map[string]int{"id": 7}, old); err != nil {
		t.Fatal(err)
	}
	prior, err := claim(ctx, s, done, "h", now, 100*time.Millisecond)
	if err != nil || prior == nil || string(prior.Response) != `{"id":7}` {
		t.Fatalf("a finished answer past the lease: %+v %v, want it replayed", prior, err)
	}
}
