package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
)

// TestMeterSumsConsumedCapacityByOperation checks the figures against AWS's rules:
// a write costs one unit per started KB, a strongly consistent read one per started
// 4 KB (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html),
// so a ~5 KB item costs 5 WCU to put and 2 RCU to get.
func TestMeterSumsConsumedCapacityByOperation(t *testing.T) {
	s, _, key := acmeTest(t, "BIG")
	m := store.NewMeter()
	ctx := store.WithMeter(context.Background(), m)

	if err := s.Put(ctx, key, note{Text: strings.Repeat("x", 5000)}); err != nil {
		t.Fatal(err)
	}
	var got note
	if _, err := s.Get(ctx, key, &got); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, key, &got); err != nil {
		t.Fatal(err)
	}
	ops := m.Ops()
	if u := ops["PutItem"]; u.Calls != 1 || u.WCU != 5 || u.RCU != 0 {
		t.Errorf("PutItem = %+v, want 1 call, 5 WCU", u)
	}
	if u := ops["GetItem"]; u.Calls != 2 || u.RCU != 4 || u.WCU != 0 {
		t.Errorf("GetItem = %+v, want 2 calls, 4 RCU", u)
	}
	if tot := m.Total(); tot.RCU != 4 || tot.WCU != 5 || tot.Calls != 3 {
		t.Errorf("total = %+v, want 3 calls, 4 RCU, 5 WCU", tot)
	}
	if names := m.Names(); strings.Join(names, ",") != "GetItem,PutItem" {
		t.Errorf("names = %v", names)
	}
	m.Reset()
	if tot := m.Total(); tot.Calls != 0 {
		t.Errorf("after Reset total = %+v", tot)
	}
}

// TestMeterCountsTransactionsAtTwiceTheWrite: a transactional write of an item up to
// 1 KB costs 2 WCU (read-write-operations.html), so two small puts in one transaction
// cost 4.
func TestMeterCountsTransactionsAtTwiceTheWrite(t *testing.T) {
	s, _, key := acmeTest(t, "TX#1")
	m := store.NewMeter()
	ctx := store.WithMeter(context.Background(), m)
	other := store.Key{Account: "acme", SK: "TX#2"}
	if err := s.Together(ctx, store.TxPut(key, note{Text: "a"}, time.Time{}), store.TxPut(other, note{Text: "b"}, time.Time{})); err != nil {
		t.Fatal(err)
	}
	if u := m.Ops()["TransactWriteItems"]; u.Calls != 1 || u.WCU != 4 || u.RCU != 0 {
		t.Fatalf("TransactWriteItems = %+v, want 1 call, 4 WCU", u)
	}
}

func TestMeterCountsFailedConditions(t *testing.T) {
	s, _, key := acmeTest(t, "ONCE")
	m := store.NewMeter()
	ctx := store.WithMeter(context.Background(), m)

	if _, err := s.PutVersioned(ctx, key, note{Text: "a"}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutVersioned(ctx, key, note{Text: "b"}, 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	var total store.Usage
	for _, u := range m.Ops() {
		total.Calls += u.Calls
		total.Failed += u.Failed
		total.WCU += u.WCU
	}
	if total.Calls != 2 || total.Failed != 1 || total.WCU < 1 {
		t.Fatalf("usage %+v (%v), want 2 calls, 1 failed, at least 1 WCU", total, m.Ops())
	}
}

func TestMeterIsSafeForConcurrentCalls(t *testing.T) {
	s, _, _ := acmeTest(t, "")
	m := store.NewMeter()
	ctx := store.WithMeter(context.Background(), m)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if err := s.Put(ctx, store.Key{Account: "acme", SK: "N#" + string(rune('a'+i))}, note{Text: "x"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if u := m.Ops()["PutItem"]; u.Calls != 8 || u.WCU != 8 {
		t.Fatalf("PutItem = %+v, want 8 calls, 8 WCU", u)
	}
}

// TestNoMeterNoChange: without a meter the request goes out as before, without
// ReturnConsumedCapacity; with one it asks for TOTAL.
func TestNoMeterNoChange(t *testing.T) {
	t.Parallel()
	base := storetest.New(t)
	var mu sync.Mutex
	var seen []types.ReturnConsumedCapacity
	record := func(st *middleware.Stack) error {
		return st.Serialize.Add(middleware.SerializeMiddlewareFunc("record", func(ctx context.Context, in middleware.SerializeInput, next middleware.SerializeHandler) (middleware.SerializeOutput, middleware.Metadata, error) {
			if p, ok := in.Parameters.(*dynamodb.PutItemInput); ok {
				mu.Lock()
				seen = append(seen, p.ReturnConsumedCapacity)
				mu.Unlock()
			}
			return next.HandleSerialize(ctx, in)
		}), middleware.Before)
	}
	s := store.New(dynamodb.New(base.Client().Options(), func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, record) }), base.Table())
	key := store.Key{Account: "acme", SK: "PLAIN"}
	if err := s.Put(context.Background(), key, note{Text: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutWithTTL(store.WithMeter(context.Background(), store.NewMeter()), key, note{Text: "b"}, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0] != "" || seen[1] != types.ReturnConsumedCapacityTotal {
		t.Fatalf("ReturnConsumedCapacity per call = %q, want [\"\" TOTAL]", seen)
	}
}
