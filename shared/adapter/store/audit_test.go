package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/audit"
)

func TestTheAuditTrailPagesNewestFirstPerAccount(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := range 5 {
		if _, err := s.RecordAudit(ctx, "acme", audit.Entry{At: start.Add(time.Duration(i) * time.Minute), Action: audit.SettingsUpdate,
			Target: string(rune('a' + i)), Actor: audit.Actor{UserID: "1"}}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		es, next, err := s.AuditPage(ctx, "acme", cursor, 2)
		if err != nil || pages > 5 {
			t.Fatalf("page %d: %v", pages, err)
		}
		for _, e := range es {
			got = append(got, e.Target)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if want := "edcba"; joined(got) != want {
		t.Fatalf("order %q, want %q", joined(got), want)
	}
	if es, _, err := s.AuditPage(ctx, "globex", "", 10); err != nil || len(es) != 0 {
		t.Fatalf("another account sees %d entries (%v)", len(es), err)
	}
	for _, bad := range []string{"!!", "Q0hBVCNjLTE", "eyJ4IjoxfQ"} { // not base64; CHAT#c-1; {"x":1}
		if _, _, err := s.AuditPage(ctx, "acme", bad, 2); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("cursor %q: %v", bad, err)
		}
	}
}

func joined(ss []string) string {
	out := ""
	for _, s := range ss {
		out += s
	}
	return out
}
