package sell_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
)

// NotesSince reads past Notes' 1,000 when the record has more notes since the
// given time, and stops at the first page that reaches back before it.
func TestNotesSinceReadsBackToTheGivenTime(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	srv := newServer(t, selltest.Options{Now: clock.Now})
	c := clientFor(t, srv, selltest.DemoAdminEmail)
	ctx := context.Background()
	add := func(n int, content string) {
		for i := range n {
			if _, err := c.CreateNote(ctx, sell.NewNote{ResourceType: sell.ResourceContact, ResourceID: selltest.DemoPaulContactID, Content: fmt.Sprintf("%s %d", content, i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(250, "old")
	clock.Advance(10 * time.Minute)
	since := clock.Now()
	add(1, "wanted")
	clock.Advance(time.Minute)
	add(1050, "newer")

	all, err := c.Notes(ctx, sell.ResourceContact, selltest.DemoPaulContactID)
	if err != nil || len(all) != 1000 {
		t.Fatalf("Notes = %d notes, %v; want its cap of 1,000", len(all), err)
	}
	srv.ResetCalls()
	ns, err := c.NotesSince(ctx, sell.ResourceContact, selltest.DemoPaulContactID, since)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range ns {
		found = found || n.Content == "wanted 0"
	}
	// 1,051 notes since: eleven pages, the eleventh reaching back to the old ones.
	if !found || len(ns) != 1100 || srv.Calls("GET /v2/notes") != 11 {
		t.Fatalf("NotesSince = %d notes (the one wanted found: %v) in %d calls", len(ns), found, srv.Calls("GET /v2/notes"))
	}
}
