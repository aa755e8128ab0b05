package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/widgets"
)

func TestWidgetsStartAtTheDefaultsAndPublishTheDraft(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))

	st, err := s.Widget(ctx, "acme", widgets.Lead)
	if err != nil || !slices.Equal(st.Draft, widgets.Defaults(widgets.Lead)) || !slices.Equal(st.Published, widgets.Defaults(widgets.Lead)) || !st.ModifiedAt.IsZero() {
		t.Fatalf("fresh widget %+v, %v", st, err)
	}

	st, err = s.SaveDraft(ctx, "acme", widgets.Lead, []string{"email", "name"}, "u1", at)
	if err != nil || !slices.Equal(st.Draft, []string{"email", "name"}) || !slices.Equal(st.Published, widgets.Defaults(widgets.Lead)) {
		t.Fatalf("after draft %+v, %v", st, err)
	}
	if !st.ModifiedAt.Equal(at) || st.ModifiedAt.Location() != time.UTC || st.ModifiedBy != "u1" || !st.Dirty() {
		t.Fatalf("draft stamp %+v", st)
	}
	got, err := s.Widget(ctx, "acme", widgets.Lead)
	if err != nil || !slices.Equal(got.Draft, []string{"email", "name"}) || !slices.Equal(got.Published, widgets.Defaults(widgets.Lead)) {
		t.Fatalf("the draft must be stored without touching what agents see: %+v %v", got, err)
	}

	st, err = s.Publish(ctx, "acme", widgets.Lead, "u2", at.Add(time.Hour))
	if err != nil || !slices.Equal(st.Published, []string{"email", "name"}) || st.PublishedBy != "u2" || st.Dirty() {
		t.Fatalf("after publish %+v, %v", st, err)
	}
	got, _ = s.Widget(ctx, "acme", widgets.Lead)
	if !slices.Equal(got.Published, []string{"email", "name"}) || !got.PublishedAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("stored after publish %+v", got)
	}

	// An emptied widget stays empty rather than falling back to the defaults.
	if _, err := s.SaveDraft(ctx, "acme", widgets.Lead, []string{}, "u1", at); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish(ctx, "acme", widgets.Lead, "u1", at); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.Widget(ctx, "acme", widgets.Lead); got.Draft == nil || len(got.Draft) != 0 || len(got.Published) != 0 {
		t.Fatalf("emptied widget %+v", got)
	}

	// Other widgets and accounts are untouched.
	if other, _ := s.Widget(ctx, "acme", widgets.Person); !slices.Equal(other.Published, widgets.Defaults(widgets.Person)) {
		t.Fatalf("person widget changed: %+v", other)
	}
	if other, _ := s.Widget(ctx, "globex", widgets.Lead); !slices.Equal(other.Published, widgets.Defaults(widgets.Lead)) {
		t.Fatalf("another account's widget changed: %+v", other)
	}
}

func TestPublishingANeverEditedWidgetPublishesTheDefaults(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	st, err := s.Publish(context.Background(), "acme", widgets.Company, "u1", time.Now())
	if err != nil || !slices.Equal(st.Published, widgets.Defaults(widgets.Company)) || st.Widget != widgets.Company {
		t.Fatalf("%+v %v", st, err)
	}
}
