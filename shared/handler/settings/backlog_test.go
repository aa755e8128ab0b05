package settings_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/platform/auth"
)

// backlogBody is GET /integration's chat.backlog.
type backlogBody struct {
	Waiting       int64
	Total         int64
	Done          int64
	Since         time.Time
	RatePerSecond *float64
	ETA           *time.Time
}

// readBacklog is chat.backlog of GET /integration (nil when absent).
func readBacklog(t *testing.T, h http.Handler, tok string) *backlogBody {
	t.Helper()
	var in struct {
		Chat struct{ Backlog *backlogBody }
	}
	getIntegration(t, h, tok, &in)
	return in.Chat.Backlog
}

// TestTheIntegrationShowsTheBacklogWhileChatsWaitForSell: an import of past chats
// queues them for the account's Sell budget, so the admin sees how many are done of
// how many, and once a drain has measured the pace, how fast and until when; the
// backlog is the account's own, and leaves the answer once it closes.
func TestTheIntegrationShowsTheBacklogWhileChatsWaitForSell(t *testing.T) {
	t.Parallel()
	env, h, tok := setup(t)
	ctx, s := context.Background(), env.Deps.Store
	if b := readBacklog(t, h, tok); b != nil {
		t.Fatalf("before any chat was queued: %+v", b)
	}

	since := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	chats := []string{"c1", "c2", "c3", "c4"}
	if _, err := s.Enqueue(ctx, "acme", chats, since); err != nil {
		t.Fatal(err)
	}
	b := readBacklog(t, h, tok)
	if b == nil || b.Total != 4 || b.Done != 0 || b.Waiting != 4 || !b.Since.Equal(since) {
		t.Fatalf("with 4 chats queued: %+v", b)
	}
	if b.RatePerSecond != nil || b.ETA != nil {
		t.Fatalf("before a drain measured the pace: rate %v, eta %v", b.RatePerSecond, b.ETA)
	}
	if other := readBacklog(t, h, env.Token(t, "globex", auth.RoleAdmin)); other != nil {
		t.Fatalf("another account's admin sees acme's backlog: %+v", other)
	}

	// A drain takes one chat off at 0.5 chats a second: 3 left, so about 6 s to go.
	if _, err := s.LeaseBacklog(ctx, "acme", "drain-1", since.Add(time.Hour), since); err != nil {
		t.Fatal(err)
	}
	if err := s.Dequeue(ctx, "acme", chats[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseBacklog(ctx, "acme", "drain-1", 0.5, since.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Truncate(time.Second)
	b = readBacklog(t, h, tok)
	after := time.Now()
	if b == nil || b.Total != 4 || b.Done != 1 || b.Waiting != 3 || b.RatePerSecond == nil || *b.RatePerSecond != 0.5 {
		t.Fatalf("after a drain took one: %+v", b)
	}
	if b.ETA == nil || b.ETA.Before(before.Add(6*time.Second)) || b.ETA.After(after.Add(6*time.Second)) {
		t.Fatalf("eta %v, want 6 s after the answer (between %s and %s)", b.ETA, before.Add(6*time.Second), after.Add(6*time.Second))
	}

	// The next drain takes the rest and finds the queue empty: the backlog closes
	// and leaves the answer.
	lease, err := s.LeaseBacklog(ctx, "acme", "drain-2", since.Add(2*time.Hour), since.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Dequeue(ctx, "acme", chats[1:]); err != nil {
		t.Fatal(err)
	}
	if b = readBacklog(t, h, tok); b == nil || b.Done != 4 || b.Waiting != 0 {
		t.Fatalf("drained, not closed yet: %+v", b)
	}
	if err := s.CloseBacklog(ctx, "acme", "drain-2", lease.N); err != nil {
		t.Fatal(err)
	}
	if b = readBacklog(t, h, tok); b != nil {
		t.Fatalf("after the backlog closed: %+v", b)
	}
}

// TestTheBacklogNeverShowsMoreDoneThanQueued: a drain can take a chat off the queue
// before Enqueue has counted it in, so done is held at the total.
func TestTheBacklogNeverShowsMoreDoneThanQueued(t *testing.T) {
	t.Parallel()
	env, h, tok := setup(t)
	ctx, s := context.Background(), env.Deps.Store
	if _, err := s.Enqueue(ctx, "acme", []string{"c1"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Two chats counted drained against one counted in.
	if err := s.Dequeue(ctx, "acme", []string{"c1", "c2"}); err != nil {
		t.Fatal(err)
	}
	if b := readBacklog(t, h, tok); b == nil || b.Total != 1 || b.Done != 1 || b.Waiting != 0 {
		t.Fatalf("with more drained than queued: %+v", b)
	}
}
