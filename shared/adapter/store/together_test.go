package store_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/sellchat/sellchat/shared/adapter/store"
)

func TestTogetherWritesAllOrNothing(t *testing.T) {
	s, ctx, key := acmeTest(t, "JOB")
	lock := store.Key{Account: "acme", SK: "LOCK"}
	chat := store.Key{Account: "acme", SK: "CHAT#1"}
	if err := s.Put(ctx, chat, note{Text: "chat"}); err != nil {
		t.Fatal(err)
	}

	t.Run("a creation, a put and a counted deletion land together", func(t *testing.T) {
		count := expression.Add(expression.Name("count"), expression.Value(1))
		err := s.Together(ctx,
			store.TxCreate(lock, note{Text: "job-1"}, time.Time{}),
			store.TxPut(key, note{Text: "running"}, time.Time{}),
		)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Together(ctx, store.TxDelete(chat, true), store.TxUpdate(key, count, nil)); err != nil {
			t.Fatal(err)
		}
		var got note
		if _, err := s.Get(ctx, key, &got); err != nil || got.Text != "running" || got.Count != 1 {
			t.Fatalf("%+v %v, want the job counted once", got, err)
		}
		if _, err := s.Get(ctx, chat, &note{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%v, want the chat gone", err)
		}
	})
	t.Run("a deletion of what is gone counts nothing", func(t *testing.T) {
		count := expression.Add(expression.Name("count"), expression.Value(1))
		err := s.Together(ctx, store.TxDelete(chat, true), store.TxUpdate(key, count, nil))
		if !store.IsCancelledAt(err, 0) || !errors.Is(err, store.ErrConflict) || store.IsCancelledAt(err, 1) {
			t.Fatalf("%v, want cancelled by the deletion", err)
		}
		var got note
		if _, err := s.Get(ctx, key, &got); err != nil || got.Count != 1 {
			t.Fatalf("%+v %v, want the count unchanged", got, err)
		}
	})
	t.Run("a creation that meets a live item writes nothing else", func(t *testing.T) {
		other := store.Key{Account: "acme", SK: "JOB-2"}
		err := s.Together(ctx, store.TxCreate(lock, note{Text: "job-2"}, time.Time{}), store.TxPut(other, note{Text: "x"}, time.Time{}))
		if !store.IsCancelledAt(err, 0) {
			t.Fatalf("%v, want cancelled by the creation", err)
		}
		if _, err := s.Get(ctx, other, &note{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%v, want nothing written", err)
		}
	})
	t.Run("a creation replaces an expired leftover", func(t *testing.T) {
		old := store.Key{Account: "acme", SK: "OLD"}
		if err := s.PutWithTTL(ctx, old, note{Text: "old"}, time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.Together(ctx, store.TxCreate(old, note{Text: "new"}, time.Time{})); err != nil {
			t.Fatal(err)
		}
		var got note
		if _, err := s.Get(ctx, old, &got); err != nil || got.Text != "new" {
			t.Fatalf("%+v %v", got, err)
		}
	})
	t.Run("an update may not touch the store's own attributes", func(t *testing.T) {
		upd := expression.Set(expression.Name(store.AttrVersion), expression.Value(7))
		if err := s.Together(ctx, store.TxUpdate(key, upd, nil)); err == nil {
			t.Fatal("an update of the version was accepted")
		}
	})
}

// Concurrent creations of one item: exactly one transaction wins, whatever DynamoDB
// answers the others (a failed condition, or a conflict Together retries).
func TestTogetherLetsOneOfConcurrentCreationsWin(t *testing.T) {
	s, ctx, key := acmeTest(t, "LOCK")
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Together(ctx, store.TxCreate(key, note{Count: i}, time.Time{}),
				store.TxPut(store.Key{Account: "acme", SK: "JOB#" + string(rune('a'+i))}, note{Count: i}, time.Time{}))
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !store.IsCancelledAt(err, 0):
			t.Errorf("creation %d: %v, want won or cancelled by the lock", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d creations won, want 1", won)
	}
}
