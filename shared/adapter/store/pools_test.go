package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/settings"
)

func TestPoolsAreMarkedRenamedAndUnmarked(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	if created, err := s.MarkPool(ctx, "acme", settings.Pool{SellUserID: 1004, Name: "Inbound"}); err != nil || !created {
		t.Fatalf("mark: %v %v", created, err)
	}
	if created, err := s.MarkPool(ctx, "acme", settings.Pool{SellUserID: 1004, Name: "Inbound EU"}); err != nil || created {
		t.Fatalf("rename: %v %v", created, err)
	}
	if _, err := s.MarkPool(ctx, "acme", settings.Pool{SellUserID: 1009, Name: "Another"}); err != nil {
		t.Fatal(err)
	}
	ps, err := s.Pools(ctx, "acme")
	if err != nil || len(ps) != 2 || ps[0].Name != "Another" || ps[1].Name != "Inbound EU" {
		t.Fatalf("pools %+v %v", ps, err)
	}
	if ps, _ := s.Pools(ctx, "globex"); len(ps) != 0 {
		t.Fatalf("another account sees %+v", ps)
	}
	if err := s.UnmarkPool(ctx, "acme", 1009, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool(ctx, "acme", 1009); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unmarked pool: %v", err)
	}
	if err := s.UnmarkPool(ctx, "acme", 1009, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unmarking twice: %v", err)
	}
}

func TestAPoolCannotBeUnmarkedUnderAChangedSettingsVersionNorOwnedWhenUnmarked(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	if _, err := s.MarkPool(ctx, "acme", settings.Pool{SellUserID: 1004, Name: "Inbound"}); err != nil {
		t.Fatal(err)
	}
	st := settings.Defaults()
	st.Owners = []settings.Owner{{Type: settings.OwnerUser, ID: 1002}, {Type: settings.OwnerPool, ID: 1004}}
	v, err := s.SaveSettingsCheckingPools(ctx, "acme", st, 0)
	if err != nil || v != 1 {
		t.Fatalf("save with a marked pool: %d %v", v, err)
	}
	// Checked at version 0, but the settings moved on: the unmark must not happen.
	if err := s.UnmarkPool(ctx, "acme", 1004, 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("unmark at a stale version: %v", err)
	}
	if _, err := s.Pool(ctx, "acme", 1004); err != nil {
		t.Fatalf("the pool must still be marked: %v", err)
	}

	before := storetest.Snapshot(t, s)
	st.Owners = append(st.Owners, settings.Owner{Type: settings.OwnerPool, ID: 1010})
	_, err = s.SaveSettingsCheckingPools(ctx, "acme", st, 1)
	var missing *store.MissingPoolError
	if !errors.As(err, &missing) || missing.Index != 2 || missing.ID != 1010 {
		t.Fatalf("an unmarked pool owner: %v", err)
	}
	if _, err := s.SaveSettingsCheckingPools(ctx, "acme", st, 0); !errors.As(err, &missing) && !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale and missing: %v", err)
	}
	st.Owners = st.Owners[:2]
	if _, err := s.SaveSettingsCheckingPools(ctx, "acme", st, 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a stale version: %v", err)
	}
	if after := storetest.Snapshot(t, s); !reflect.DeepEqual(before, after) {
		t.Fatal("a refused save changed the table")
	}
}
