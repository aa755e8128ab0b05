package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store"
)

func TestDeleteIfDeletesOnlyTheNamedHoldersItem(t *testing.T) {
	s, ctx, key := acmeTest(t, "CLAIM#1")
	if err := s.Create(ctx, key, note{Holder: "a", Text: "pending"}, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}

	t.Run("another holder cannot delete it", func(t *testing.T) {
		if err := s.DeleteIf(ctx, key, "holder", "b"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("%v, want ErrConflict", err)
		}
		var got note
		if _, err := s.Get(ctx, key, &got); err != nil || got.Text != "pending" {
			t.Fatalf("%+v %v, want the item kept", got, err)
		}
	})
	t.Run("another account's item of the same key is out of reach", func(t *testing.T) {
		if err := s.DeleteIf(ctx, store.Key{Account: "globex", SK: key.SK}, "holder", "a"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("%v, want ErrConflict", err)
		}
		if _, err := s.Get(ctx, key, &note{}); err != nil {
			t.Fatalf("%v, want the item kept", err)
		}
	})
	t.Run("the holder deletes it", func(t *testing.T) {
		if err := s.DeleteIf(ctx, key, "holder", "a"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, key, &note{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%v, want it gone", err)
		}
	})
	t.Run("a missing item is a conflict", func(t *testing.T) {
		if err := s.DeleteIf(ctx, key, "holder", "a"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("%v, want ErrConflict", err)
		}
	})
	t.Run("the table's own attributes are refused", func(t *testing.T) {
		for _, attr := range []string{"", store.AttrPK, store.AttrSK, store.AttrVersion, store.AttrTTL} {
			if err := s.DeleteIf(ctx, key, attr, "x"); err == nil {
				t.Fatalf("DeleteIf on %q accepted", attr)
			}
		}
	})
}
