package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
)

func TestUpdateIf(t *testing.T) {
	s, ctx, key := acmeTest(t, "NOTE")
	count := expression.Name("count")
	bump := expression.Set(count, expression.Plus(count.IfNotExists(expression.Value(0)), expression.Value(1)))

	t.Run("a condition on a missing item that needs it to exist conflicts", func(t *testing.T) {
		if err := s.UpdateIf(ctx, key, bump, store.Exists(), nil); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("err = %v, want ErrConflict", err)
		}
	})
	t.Run("an update that holds changes the item and returns it", func(t *testing.T) {
		if err := s.Put(ctx, key, note{Text: "a"}); err != nil {
			t.Fatal(err)
		}
		upd := bump.Add(expression.Name("tags"), expression.Value(store.StringSet{"x", "y"}))
		var got note
		if err := s.UpdateIf(ctx, key, upd, store.Exists(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Text != "a" || got.Count != 1 || !slices.Equal(slices.Sorted(slices.Values(got.Tags)), []string{"x", "y"}) {
			t.Fatalf("got %+v", got)
		}
		// A set keeps a member added twice once.
		if err := s.UpdateIf(ctx, key, upd, store.Exists(), &got); err != nil || got.Count != 2 || len(got.Tags) != 2 {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("a condition that fails changes nothing", func(t *testing.T) {
		cond := expression.Name("text").Equal(expression.Value("b"))
		if err := s.UpdateIf(ctx, key, bump, cond, nil); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("err = %v, want ErrConflict", err)
		}
		var got note
		if _, err := s.Get(ctx, key, &got); err != nil || got.Count != 2 {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("the store's own attributes cannot be updated", func(t *testing.T) {
		upd := expression.Set(expression.Name(store.AttrVersion), expression.Value(9))
		if err := s.UpdateIf(ctx, key, upd, store.Exists(), nil); err == nil || errors.Is(err, store.ErrConflict) {
			t.Fatalf("err = %v, want a refusal", err)
		}
	})
}

func TestQueryPageAndScanKeys(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	for _, k := range []store.Key{
		{Account: "acme", SK: "ROW#1"}, {Account: "acme", SK: "ROW#2"}, {Account: "acme", SK: "ROW#3"},
		{Account: "acme", SK: "OTHER"}, {Account: "beta", SK: "ROW#1"},
	} {
		if err := s.Put(ctx, k, note{Text: k.Account}); err != nil {
			t.Fatal(err)
		}
	}
	sks := func(items []store.Item) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.SK)
		}
		return out
	}

	t.Run("pages go newest first from after the last key", func(t *testing.T) {
		page, err := s.QueryPage(ctx, "acme", "ROW#", "", 2, true)
		if err != nil || !slices.Equal(sks(page), []string{"ROW#3", "ROW#2"}) {
			t.Fatalf("first page %v, %v", sks(page), err)
		}
		page, err = s.QueryPage(ctx, "acme", "ROW#", "ROW#2", 2, true)
		if err != nil || !slices.Equal(sks(page), []string{"ROW#1"}) {
			t.Fatalf("second page %v, %v", sks(page), err)
		}
		var got note
		if err := page[0].Decode(&got); err != nil || got.Text != "acme" {
			t.Fatalf("decoded %+v, %v", got, err)
		}
	})
	t.Run("a scan finds the matching keys of every account", func(t *testing.T) {
		keys, err := s.ScanKeys(ctx, store.SortKeyBeginsWith("ROW#").And(expression.Name("text").Equal(expression.Value("beta"))).
			Or(store.SortKeyIs("OTHER")))
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(keys, func(a, b store.Key) int { return strings.Compare(a.String(), b.String()) })
		want := []store.Key{{Account: "acme", SK: "OTHER"}, {Account: "beta", SK: "ROW#1"}}
		if !slices.Equal(keys, want) {
			t.Fatalf("got %v, want %v", keys, want)
		}
	})
}
