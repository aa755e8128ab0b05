package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/domain/widgets"
)

func TestReadConfig(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()

	t.Run("an account that never saved anything reads as the defaults", func(t *testing.T) {
		cfg, err := s.ReadConfig(ctx, "fresh", widgets.Names)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Settings.Access != settings.Defaults().Access || cfg.Settings.Owners == nil || cfg.Integration.Installed {
			t.Fatalf("settings %+v, integration %+v: want the defaults", cfg.Settings, cfg.Integration)
		}
		for _, w := range widgets.Names {
			if !slices.Equal(cfg.Widgets[w].Published, widgets.Defaults(w)) {
				t.Fatalf("%s published %v, want the defaults %v", w, cfg.Widgets[w].Published, widgets.Defaults(w))
			}
		}
	})

	t.Run("what was saved is read with the items asked for besides", func(t *testing.T) {
		st := settings.Defaults()
		st.Access = settings.AccessAllAgents
		if _, err := s.SaveSettings(ctx, "acme", st, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateIntegration(ctx, "acme", func(in *settings.Integration) error { in.Installed = true; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveDraft(ctx, "acme", widgets.Lead, []string{}, "u1", time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Publish(ctx, "acme", widgets.Lead, "u1", time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, store.Key{Account: "acme", SK: "NOTE"}, note{Text: "also"}); err != nil {
			t.Fatal(err)
		}
		var n note
		also := &store.Wanted{Key: store.Key{Account: "acme", SK: "NOTE"}, Out: &n}
		missing := &store.Wanted{Key: store.Key{Account: "acme", SK: "NONE"}, Out: &note{}}
		cfg, err := s.ReadConfig(ctx, "acme", []widgets.Name{widgets.Lead}, also, missing)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Settings.Access != settings.AccessAllAgents || !cfg.Integration.Installed {
			t.Fatalf("settings %+v, integration %+v: want what was saved", cfg.Settings, cfg.Integration)
		}
		if got := cfg.Widgets[widgets.Lead].Published; got == nil || len(got) != 0 {
			t.Fatalf("a cleared widget reads %#v, want an empty list", got)
		}
		if len(cfg.Widgets) != 1 {
			t.Fatalf("widgets %v: want only the one asked for", cfg.Widgets)
		}
		if !also.Found || n.Text != "also" || missing.Found {
			t.Fatalf("also found %v (%+v), missing found %v", also.Found, n, missing.Found)
		}
	})
}
