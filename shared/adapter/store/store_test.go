package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// note is the item the tests store: a text and a count, the holder of a claim
// (DeleteIf) and a string set (UpdateIf).
type note struct {
	Text   string   `json:"text"`
	Count  int      `json:"count"`
	Holder string   `json:"holder,omitempty"`
	Tags   []string `json:"tags,omitempty"`
}

// acmeTest runs t in parallel on a table of its own and returns it with the key sk
// of account acme, which the test writes.
func acmeTest(t *testing.T, sk string) (*store.Store, context.Context, store.Key) {
	t.Helper()
	t.Parallel()
	return storetest.New(t), context.Background(), store.Key{Account: "acme", SK: sk}
}

func TestVersionedWrites(t *testing.T) {
	s, ctx, key := acmeTest(t, "NOTE")

	t.Run("a first write needs version 0 and yields version 1", func(t *testing.T) {
		v, err := s.PutVersioned(ctx, key, note{Text: "a"}, 0)
		if err != nil || v != 1 {
			t.Fatalf("got version %d, err %v; want 1, nil", v, err)
		}
	})
	t.Run("a second create from version 0 conflicts", func(t *testing.T) {
		if _, err := s.PutVersioned(ctx, key, note{Text: "b"}, 0); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("err = %v, want ErrConflict", err)
		}
	})
	t.Run("a stale version conflicts and changes nothing", func(t *testing.T) {
		if _, err := s.PutVersioned(ctx, key, note{Text: "c"}, 7); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("err = %v, want ErrConflict", err)
		}
		var got note
		v, err := s.Get(ctx, key, &got)
		if err != nil || v != 1 || got.Text != "a" {
			t.Fatalf("got %+v v%d err %v; want text a at v1", got, v, err)
		}
	})
	t.Run("the current version wins", func(t *testing.T) {
		v, err := s.PutVersioned(ctx, key, note{Text: "d"}, 1)
		if err != nil || v != 2 {
			t.Fatalf("got version %d, err %v; want 2", v, err)
		}
	})
}

func TestConcurrentVersionedWritesHaveOneWinner(t *testing.T) {
	s, ctx, key := acmeTest(t, "RACE")
	if _, err := s.PutVersioned(ctx, key, note{Text: "start"}, 0); err != nil {
		t.Fatal(err)
	}
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Go(func() {
			_, err := s.PutVersioned(ctx, key, note{Text: "racer", Count: i}, 1)
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, store.ErrConflict):
				conflicts.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != 19 {
		t.Fatalf("wins %d conflicts %d; want 1 and 19", wins.Load(), conflicts.Load())
	}
}

func TestUpdateLosesNoConcurrentChange(t *testing.T) {
	s, ctx, key := acmeTest(t, "COUNTER")
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Go(func() {
			if _, _, err := store.Update(ctx, s, key, func(n *note) error { n.Count++; return nil }); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var got note
	if _, err := s.Get(ctx, key, &got); err != nil || got.Count != 5 {
		t.Fatalf("count %d err %v; want 5", got.Count, err)
	}
}

func TestCreateHappensOnlyOnce(t *testing.T) {
	s, ctx, key := acmeTest(t, "ONCE")
	if err := s.Create(ctx, key, note{Text: "first"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, key, note{Text: "second"}, time.Time{}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("err = %v, want ErrExists", err)
	}
	var got note
	if _, err := s.Get(ctx, key, &got); err != nil || got.Text != "first" {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestExpiredItemsCountAsAbsent(t *testing.T) {
	s, ctx, key := acmeTest(t, "STATE#x")
	if err := s.Create(ctx, key, note{Text: "old"}, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, key, &note{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired item: err = %v, want ErrNotFound", err)
	}
	if err := s.Create(ctx, key, note{Text: "new"}, time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("creating over an expired item: %v", err)
	}
}

func TestKeysAreScopedByAccount(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	if err := s.Put(ctx, store.Key{Account: "acme", SK: "SETTINGS"}, note{Text: "acme's"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, store.Key{Account: "globex", SK: "SETTINGS"}, &note{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account read acme's item: err = %v", err)
	}
}

func TestReservedAttributesAreRefused(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	type bad struct {
		Version int `json:"version"`
	}
	if err := s.Put(context.Background(), store.Key{Account: "acme", SK: "X"}, bad{Version: 3}); err == nil {
		t.Fatal("an item with its own version attribute was written")
	}
}

func TestTakeHandsAnItemToExactlyOneCaller(t *testing.T) {
	s, ctx, key := acmeTest(t, "STATE#abc")
	if err := s.Create(ctx, key, note{Text: "state"}, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var got atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Go(func() {
			var n note
			err := s.Take(ctx, key, &n)
			if err == nil && n.Text == "state" {
				got.Add(1)
			} else if !errors.Is(err, store.ErrNotFound) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got.Load() != 1 {
		t.Fatalf("%d callers took the item, want 1", got.Load())
	}
}

func TestQueryPrefixStaysInsideTheAccountAndPrefix(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	for _, k := range []store.Key{{"acme", "TOKEN#admin"}, {"acme", "TOKEN#agent#1"}, {"acme", "SETTINGS"}, {"globex", "TOKEN#admin"}} {
		if err := s.Put(ctx, k, note{Text: k.String()}); err != nil {
			t.Fatal(err)
		}
	}
	items, err := s.QueryPrefix(ctx, "acme", "TOKEN#", 0, false)
	if err != nil || len(items) != 2 || items[0].SK != "TOKEN#admin" {
		t.Fatalf("got %v, %v", items, err)
	}
	n, err := s.DeletePrefix(ctx, "acme", "TOKEN#")
	if err != nil || n != 2 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	if _, err := s.Get(ctx, store.Key{Account: "globex", SK: "TOKEN#admin"}, &note{}); err != nil {
		t.Fatalf("globex's token went too: %v", err)
	}
}
