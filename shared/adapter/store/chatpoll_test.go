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
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.UpdateIntegration(ctx, "acme", polling(i%2 == 0)); err != nil {
					t.Error(err)
				}
			}()
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
	want := store.ChatPollCursor{StartTime: at, StartID: "2601.361.x", LastRunAt: at.Add(time.Minute), LastError: "rate limited by Zendesk",
		NotBefore: at.Add(2 * time.Minute), Stored: 7}
	if err := s.SaveChatPollCursor(ctx, "acme", want); err != nil {
		t.Fatal(err)
	}
	got, err := s.ChatPollCursor(ctx, "acme")
	if err != nil || !got.StartTime.Equal(want.StartTime) || !got.NotBefore.Equal(want.NotBefore) || !got.LastRunAt.Equal(want.LastRunAt) ||
		got.StartID != want.StartID || got.LastError != want.LastError || got.Stored != want.Stored {
		t.Fatalf("read back %+v %v, want %+v", got, err, want)
	}
	if other, _ := s.ChatPollCursor(ctx, "globex"); other != (store.ChatPollCursor{}) {
		t.Fatalf("another account's cursor %+v", other)
	}
}
