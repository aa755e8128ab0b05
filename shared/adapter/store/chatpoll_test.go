package store_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/settings"
)

// polling makes an integration poll chats, or not.
func polling(on bool) func(*settings.Integration) error {
	return func(in *settings.Integration) error {
		in.Installed = true
		in.Elements = map[settings.Element]settings.ElementState{settings.ChatHistoryInSell: {Enabled: on}}
		in.Chat = settings.ChatLink{Connected: true}
		return nil
	}
}

func accountsToPoll(t *testing.T, s *store.Store) []string {
	t.Helper()
	accounts, err := s.ChatPollAccounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return accounts
}

func TestTheAccountsToPollFollowTheirIntegration(t *testing.T) {
	t.Parallel()
	s, ctx := storetest.New(t), context.Background()
	if got := accountsToPoll(t, s); len(got) != 0 {
		t.Fatalf("a fresh table lists %v", got)
	}
	for _, a := range []string{"globex", "acme"} {
		if _, err := s.UpdateIntegration(ctx, a, polling(true)); err != nil {
			t.Fatal(err)
		}
	}
	if got := accountsToPoll(t, s); !slices.Equal(got, []string{"acme", "globex"}) {
		t.Fatalf("listed %v, want [acme globex]", got)
	}
	t.Run("a write that keeps the account polling keeps it listed", func(t *testing.T) {
		if _, err := s.UpdateIntegration(ctx, "acme", func(in *settings.Integration) error { in.InstalledBy = "u-1"; return nil }); err != nil {
			t.Fatal(err)
		}
		if got := accountsToPoll(t, s); !slices.Equal(got, []string{"acme", "globex"}) {
			t.Fatalf("listed %v", got)
		}
	})
	t.Run("history off, Chat disconnected or uninstalled each take it off", func(t *testing.T) {
		for _, off := range []func(*settings.Integration){
			func(in *settings.Integration) { in.Elements[settings.ChatHistoryInSell] = settings.ElementState{} },
			func(in *settings.Integration) { in.Chat.Connected = false },
			func(in *settings.Integration) { in.Installed = false },
		} {
			if _, err := s.UpdateIntegration(ctx, "acme", polling(true)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.UpdateIntegration(ctx, "acme", func(in *settings.Integration) error { off(in); return nil }); err != nil {
				t.Fatal(err)
			}
			if got := accountsToPoll(t, s); !slices.Equal(got, []string{"globex"}) {
				t.Fatalf("listed %v, want [globex]", got)
			}
		}
	})
	t.Run("concurrent switches end with the list agreeing with the integration", func(t *testing.T) {
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				if _, err := s.UpdateIntegration(ctx, "acme", polling(i%2 == 0)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		in, err := s.Integration(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if listed := slices.Contains(accountsToPoll(t, s), "acme"); listed != in.PollsChat() {
			t.Fatalf("listed %v but the integration polls: %v", listed, in.PollsChat())
		}
	})
}

func TestAChatPollCursorIsZeroUntilSavedAndThenReadBackAsSaved(t *testing.T) {
	t.Parallel()
	s, ctx := storetest.New(t), context.Background()
	cur, err := s.ChatPollCursor(ctx, "acme")
	if err != nil || cur != (store.ChatPollCursor{}) {
		t.Fatalf("a never-polled cursor %+v %v", cur, err)
	}
	at := time.Date(2026, 11, 20, 14, 2, 11, 0, time.UTC)
	want := store.ChatPollCursor{StartTime: at, StartID: "2601.361.x", From: at.Add(-72 * time.Hour), CaughtUp: true,
		LastRunAt: at.Add(time.Minute), LastError: "rate limited by Zendesk", NotBefore: at.Add(2 * time.Minute), Stored: 7}
	if err := s.SaveChatPollCursor(ctx, "acme", want); err != nil {
		t.Fatal(err)
	}
	got, err := s.ChatPollCursor(ctx, "acme")
	if err != nil || !got.StartTime.Equal(want.StartTime) || !got.NotBefore.Equal(want.NotBefore) || !got.LastRunAt.Equal(want.LastRunAt) ||
		got.StartID != want.StartID || got.LastError != want.LastError || got.Stored != want.Stored ||
		!got.From.Equal(want.From) || got.CaughtUp != want.CaughtUp {
		t.Fatalf("read back %+v %v, want %+v", got, err, want)
	}
	if other, _ := s.ChatPollCursor(ctx, "globex"); other != (store.ChatPollCursor{}) {
		t.Fatalf("another account's cursor %+v", other)
	}
}

func TestACursorStartsOverOnlyAtANewDateAndKeepsWhatStillHolds(t *testing.T) {
	t.Parallel()
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	cur := store.ChatPollCursor{From: day(2), StartTime: day(10), StartID: "c-9", CaughtUp: true,
		LastRunAt: day(20), LastError: "boom", NotBefore: day(21), Stored: 40}
	if got := cur.StartingFrom(day(2)); got != cur {
		t.Fatalf("the same date started over: %+v", got)
	}
	if got := cur.StartingFrom(time.Time{}); got != cur {
		t.Fatalf("no date started over: %+v", got)
	}
	got := cur.StartingFrom(day(1))
	want := store.ChatPollCursor{From: day(1), StartTime: day(1), LastRunAt: day(20), LastError: "boom", NotBefore: day(21), Stored: 40}
	if got != want {
		t.Fatalf("started over as %+v, want %+v", got, want)
	}
	// A cursor from before the start was kept starts over at the first date picked.
	if got := (store.ChatPollCursor{StartTime: day(10)}).StartingFrom(day(5)); !got.StartTime.Equal(day(5)) || !got.From.Equal(day(5)) {
		t.Fatalf("an old cursor %+v", got)
	}
}

// cursorCase is a cursor and what one of its readings should give.
type cursorCase[T comparable] struct {
	name  string
	cur   store.ChatPollCursor
	want  T
	known bool
}

// checkCursors checks read(c.cur) against each case.
func checkCursors[T comparable](t *testing.T, what string, cases []cursorCase[T], read func(store.ChatPollCursor) (T, bool)) {
	t.Helper()
	for _, c := range cases {
		if got, known := read(c.cur); got != c.want || known != c.known {
			t.Errorf("%s: %s %v (%v), want %v (%v)", c.name, what, got, known, c.want, c.known)
		}
	}
}

// From and horizon of the cursors below: twenty days.
var (
	pollFrom    = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	pollHorizon = pollFrom.Add(20 * 24 * time.Hour)
)

func TestProgressIsHowFarTheCursorHasComeFromItsStartTowardsTheHorizon(t *testing.T) {
	t.Parallel()
	from, horizon := pollFrom, pollHorizon
	checkCursors(t, "progress", []cursorCase[float64]{
		{"nothing read yet", store.ChatPollCursor{From: from, StartTime: from}, 0, true},
		{"a quarter", store.ChatPollCursor{From: from, StartTime: from.Add(5 * 24 * time.Hour)}, 0.25, true},
		{"a hair short of the end stays below 1", store.ChatPollCursor{From: from, StartTime: horizon.Add(-time.Second)}, 0.999, true},
		{"read to the horizon", store.ChatPollCursor{From: from, StartTime: horizon}, 1, true},
		{"a start clamped past the horizon", store.ChatPollCursor{From: from, StartTime: horizon.Add(time.Hour)}, 1, true},
		{"caught up, the last chat long ago", store.ChatPollCursor{From: from, StartTime: from.Add(time.Hour), CaughtUp: true}, 1, true},
		{"a start at the horizon, nothing read", store.ChatPollCursor{From: horizon, StartTime: horizon}, 0, true},
		{"a cursor that does not know its start", store.ChatPollCursor{StartTime: from}, 0, false},
	}, func(c store.ChatPollCursor) (float64, bool) { return c.Progress(horizon) })
}

func TestLeftGuessesTheChatsStillToReadFromThoseStoredOverTheTimeRead(t *testing.T) {
	t.Parallel()
	from, horizon := pollFrom, pollHorizon
	checkCursors(t, "left", []cursorCase[int64]{
		{"a quarter read, 300 stored: 900 more", store.ChatPollCursor{From: from, StartTime: from.Add(5 * 24 * time.Hour), StoredFromStart: 300}, 900, true},
		{"half read, 300 stored: 300 more", store.ChatPollCursor{From: from, StartTime: from.Add(10 * 24 * time.Hour), StoredFromStart: 300, Stored: 5000}, 300, true},
		{"too little read to guess by", store.ChatPollCursor{From: from, StartTime: from.Add(12 * time.Hour), StoredFromStart: 300}, 0, false},
		{"nothing stored yet", store.ChatPollCursor{From: from, StartTime: from.Add(10 * 24 * time.Hour), Stored: 5000}, 0, false},
		{"caught up", store.ChatPollCursor{From: from, StartTime: from.Add(time.Hour), CaughtUp: true, StoredFromStart: 7}, 0, true},
		{"a cursor that does not know its start", store.ChatPollCursor{StartTime: from, StoredFromStart: 7}, 0, false},
	}, func(c store.ChatPollCursor) (int64, bool) { return c.Left(horizon) })
	// Starting over at another date forgets what the last read stored and that it
	// was held back.
	cur := store.ChatPollCursor{From: from, StartTime: horizon, StoredFromStart: 300, HeldBack: true}.StartingFrom(from.Add(-24 * time.Hour))
	if cur.StoredFromStart != 0 || cur.HeldBack {
		t.Fatalf("started over as %+v", cur)
	}
}
