package settings_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// pollBody is GET /integration's chat.poll.
type pollBody struct {
	From         time.Time
	ReadUpTo     time.Time
	Progress     *float64
	CaughtUp     bool
	LastError    string
	Stored       int64
	HeldBack     bool
	LeftEstimate *int64
	ETA          *time.Time
}

// readPoll is chat.poll of GET /integration (nil when absent).
func readPoll(t *testing.T, h http.Handler, tok string) *pollBody {
	t.Helper()
	var in struct{ Chat struct{ Poll *pollBody } }
	getIntegration(t, h, tok, &in)
	return in.Chat.Poll
}

// TestTheIntegrationShowsHowFarTheChatPollHasRead: past chats reach Sell through the
// poll, so the admin sees how far it has read, how many it stored, and why it
// stopped if it did; nothing before its first run.
func TestTheIntegrationShowsHowFarTheChatPollHasRead(t *testing.T) {
	t.Parallel()
	env, h, tok := setup(t)
	if p := readPoll(t, h, tok); p != nil {
		t.Fatalf("before any poll: %+v", p)
	}
	upTo := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	if err := env.Deps.Store.SaveChatPollCursor(context.Background(), "acme", store.ChatPollCursor{
		StartTime: upTo, LastRunAt: upTo.Add(time.Hour), LastError: "Zendesk asked to wait (429)", Stored: 42}); err != nil {
		t.Fatal(err)
	}
	p := readPoll(t, h, tok)
	if p == nil || !p.ReadUpTo.Equal(upTo) || p.Stored != 42 || p.LastError == "" {
		t.Fatalf("after a poll: %+v", p)
	}
	// A cursor from before the start was kept: no start, so no progress either.
	if !p.From.IsZero() || p.Progress != nil || p.CaughtUp {
		t.Fatalf("a cursor that does not know its start: %+v", p)
	}
}

// TestThePickedDateAndTheProgressTowardsItShow: switching history on names where
// past chats start, at once (before the poll's first run); the progress follows the
// cursor, and a date picked anew shows as a new start with nothing read yet.
func TestThePickedDateAndTheProgressTowardsItShow(t *testing.T) {
	t.Parallel()
	env, h, tok := setup(t)
	env.Install(t, "acme")
	var answer struct{ Chat struct{ Poll *pollBody } }
	res := apptest.Do(t, h, apptest.Request{Method: "PUT", Path: "/integration/elements/chat_history_in_sell", Token: tok,
		Body: `{"enabled":true,"confirm":true,"pastChatsFrom":"2026-01-15"}`})
	if res.Status != 200 {
		t.Fatalf("PUT history: %d %s", res.Status, res.Body)
	}
	res.JSON(t, &answer)
	from := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	if p := answer.Chat.Poll; p == nil || !p.From.Equal(from) || !p.ReadUpTo.Equal(from) || p.Progress == nil || *p.Progress != 0 || p.CaughtUp {
		t.Fatalf("the PUT's answer shows the poll as %+v, want it from %s with nothing read", p, from)
	}

	// The poll ran and caught up, its last chat long ago.
	ctx := context.Background()
	if err := env.Deps.Store.SaveChatPollCursor(ctx, "acme", store.ChatPollCursor{From: from, StartTime: from.Add(24 * time.Hour),
		CaughtUp: true, LastRunAt: from.Add(48 * time.Hour), Stored: 3}); err != nil {
		t.Fatal(err)
	}
	if p := readPoll(t, h, tok); p == nil || !p.CaughtUp || p.Progress == nil || *p.Progress != 1 || p.Stored != 3 {
		t.Fatalf("caught up: %+v", p)
	}

	// An older date: shown as the new start at once, nothing of it read yet.
	res = apptest.Do(t, h, apptest.Request{Method: "PUT", Path: "/integration/elements/chat_history_in_sell", Token: tok,
		Body: `{"enabled":true,"confirm":true,"pastChatsFrom":"2025-06-01T00:00:00Z"}`})
	if res.Status != 200 {
		t.Fatalf("PUT history again: %d %s", res.Status, res.Body)
	}
	older := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	if p := readPoll(t, h, tok); p == nil || !p.From.Equal(older) || !p.ReadUpTo.Equal(older) || p.CaughtUp || *p.Progress != 0 || p.Stored != 3 {
		t.Fatalf("after picking an older date: %+v", p)
	}
}

// TestAnImportHeldBackForSellShowsWhatIsLeftAndWhenAllShouldBeInSell: the poll
// reads past chats no faster than Sell takes them, so the backlog's own ETA covers
// only what was read; the poll's estimates the rest from the chats stored over the
// time read, at the pace the last drain measured.
func TestAnImportHeldBackForSellShowsWhatIsLeftAndWhenAllShouldBeInSell(t *testing.T) {
	t.Parallel()
	env, h, tok := setup(t)
	env.Install(t, "acme")
	ctx := context.Background()
	s := env.Deps.Store
	// A quarter of the time from `from` to now read, 100 chats stored: about 300
	// more to read.
	now := time.Now().UTC()
	from := now.Add(-zendesk.ExportMinAge - 40*24*time.Hour)
	if err := s.SaveChatPollCursor(ctx, "acme", store.ChatPollCursor{From: from, StartTime: from.Add(10 * 24 * time.Hour),
		LastRunAt: now, Stored: 100, StoredFromStart: 100, HeldBack: true}); err != nil {
		t.Fatal(err)
	}
	p := readPoll(t, h, tok)
	if p == nil || !p.HeldBack || p.LeftEstimate == nil || *p.LeftEstimate < 295 || *p.LeftEstimate > 305 || p.ETA != nil {
		t.Fatalf("before a drain measured Sell's pace: %+v", p)
	}
	// 100 chats waiting, a drain measured 2 chats a second: about 400 / 2 = 200 s.
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%03d", i)
	}
	if _, err := s.Enqueue(ctx, "acme", ids, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LeaseBacklog(ctx, "acme", "drain-1", now.Add(time.Hour), now); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseBacklog(ctx, "acme", "drain-1", 2, now); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	p = readPoll(t, h, tok)
	if p == nil || p.ETA == nil || p.ETA.Before(before.Add(195*time.Second)) || p.ETA.After(time.Now().Add(205*time.Second)) {
		t.Fatalf("with 100 waiting at 2 a second: %+v (eta %v)", p, p.ETA)
	}
	// Caught up: nothing is left to guess.
	if err := s.SaveChatPollCursor(ctx, "acme", store.ChatPollCursor{From: from, StartTime: now.Add(-time.Hour), CaughtUp: true,
		LastRunAt: now, Stored: 400, StoredFromStart: 400}); err != nil {
		t.Fatal(err)
	}
	if p = readPoll(t, h, tok); p == nil || p.HeldBack || p.LeftEstimate != nil || p.ETA != nil {
		t.Fatalf("caught up: %+v", p)
	}
}
