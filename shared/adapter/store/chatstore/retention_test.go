package chatstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
)

// The store's clock is the real one (an item past its TTL reads as absent), so
// these tests receive chats now rather than at the fixed test time.
func TestIngestStampsChatsWithTheRetentionAsOfAtMostRulesTTLBefore(t *testing.T) {
	t.Parallel()
	s, cs := newChatStore(t)
	ctx := context.Background()
	recv := time.Now().UTC().Truncate(time.Second)
	if _, err := cs.Ingest(ctx, "acme", chatWith("c-forever", "hi"), recv); err != nil {
		t.Fatal(err)
	}
	storetest.ChangeSettings(t, s, "acme", func(st *settings.Settings) { st.Retention = settings.Retention{Days: 30} })
	if _, err := cs.Ingest(ctx, "acme", chatWith("c-cached", "hi"), recv.Add(chatstore.RulesTTL-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Ingest(ctx, "acme", chatWith("c-30", "hi"), recv.Add(chatstore.RulesTTL)); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]time.Time{
		"c-forever": {},
		"c-cached":  {},
		"c-30":      recv.Add(chatstore.RulesTTL + 30*24*time.Hour),
	} {
		it, err := cs.Chat(ctx, "acme", id)
		if err != nil || !it.Expires.Equal(want) {
			t.Errorf("%s expires %v (%v), want %v", id, it.Expires, err, want)
		}
	}
}

func TestEntriesKeepTheExpiryTheyAreCreatedWith(t *testing.T) {
	t.Parallel()
	cs := chatstore.New(storetest.New(t))
	ctx := context.Background()
	exp := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
	c := chats.Chat{ID: "c-1", Start: time.Now().Add(-time.Hour)}
	r := chats.Record{Type: chats.ResourceLead, ID: 7}
	e := chatstore.NewEntry(r, c, c.Start, time.Now())
	e.Expires = exp
	if err := cs.CreateEntry(ctx, "acme", e); err != nil {
		t.Fatal(err)
	}
	kept := chatstore.NewEntry(chats.Record{Type: chats.ResourceLead, ID: 8}, c, c.Start, time.Now())
	if err := cs.CreateEntry(ctx, "acme", kept); err != nil {
		t.Fatal(err)
	}
	got, err := cs.Entry(ctx, "acme", e.SK)
	if err != nil || !got.Expires.Equal(exp) {
		t.Fatalf("entry expires %v (%v), want %v", got.Expires, err, exp)
	}
	page, _, err := cs.Entries(ctx, "acme", r, "", 10)
	if err != nil || len(page) != 1 || !page[0].Expires.Equal(exp) {
		t.Fatalf("feed page %+v (%v)", page, err)
	}
	all, err := cs.AllEntries(ctx, "acme")
	if err != nil || len(all) != 2 {
		t.Fatalf("all entries %+v (%v)", all, err)
	}
	for _, en := range all {
		if want := map[string]time.Time{e.SK: exp, kept.SK: {}}[en.SK]; !en.Expires.Equal(want) {
			t.Fatalf("%s expires %v, want %v", en.SK, en.Expires, want)
		}
	}
}

func TestStampsWalkChatsAndEntriesAndExpiriesMoveOnlyWhileLive(t *testing.T) {
	t.Parallel()
	cs := chatstore.New(storetest.New(t))
	ctx := context.Background()
	recv := time.Now().UTC().Truncate(time.Second)
	for i := range 5 {
		c, err := chats.Parse(chatWith(fmt.Sprintf("c-%d", i), "hi"))
		if err != nil {
			t.Fatal(err)
		}
		it, err := chatstore.NewChatItem(c, recv.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if i == 4 {
			it.Expires = recv.Add(-time.Hour) // expired, not yet deleted
		}
		if err := cs.CreateChat(ctx, "acme", it); err != nil {
			t.Fatal(err)
		}
		if err := cs.CreateEntry(ctx, "acme", chatstore.NewEntry(chats.Record{Type: chats.ResourceLead, ID: int64(i + 1)}, c, it.Start, recv)); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for after := ""; ; {
		page, next, err := cs.Stamps(ctx, "acme", chatstore.PhaseChats, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range page {
			if !st.ReceivedAt.Equal(recv.Add(time.Duration(len(ids))*time.Minute)) || st.SK != chatstore.ChatKey(st.ChatID) {
				t.Fatalf("stamp %+v", st)
			}
			ids = append(ids, st.ChatID)
		}
		if next == "" {
			break
		}
		after = next
	}
	if !slices.Equal(ids, []string{"c-0", "c-1", "c-2", "c-3"}) {
		t.Fatalf("chats walked: %v", ids)
	}
	entries, next, err := cs.Stamps(ctx, "acme", chatstore.PhaseEntries, "", 10)
	if err != nil || next != "" || len(entries) != 5 || entries[0].ChatID == "" || !entries[0].CreatedAt.Equal(recv) {
		t.Fatalf("entries %+v next %q (%v)", entries, next, err)
	}

	exp := recv.Add(24 * time.Hour)
	if err := cs.SetExpiry(ctx, "acme", chatstore.ChatKey("c-0"), exp); err != nil {
		t.Fatal(err)
	}
	if at, err := cs.ChatExpiry(ctx, "acme", "c-0"); err != nil || !at.Equal(exp) {
		t.Fatalf("c-0 expires %v (%v)", at, err)
	}
	// The expired chat's expiry is read (its entries follow it) but stays.
	if err := cs.SetExpiry(ctx, "acme", chatstore.ChatKey("c-4"), time.Time{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("keeping an expired chat forever: %v", err)
	}
	// DynamoDB Local, like DynamoDB, may delete the expired item at any moment: gone
	// is as right as still there with its old expiry.
	if at, err := cs.ChatExpiry(ctx, "acme", "c-4"); !errors.Is(err, store.ErrNotFound) && (err != nil || !at.Equal(recv.Add(-time.Hour))) {
		t.Fatalf("c-4 expires %v (%v)", at, err)
	}
	if _, err := cs.ChatExpiry(ctx, "acme", "c-none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expiry of no chat: %v", err)
	}
	if _, _, err := cs.Stamps(ctx, "acme", "notes", "", 10); err == nil {
		t.Fatal("an unknown phase was read")
	}
}

func TestUnfinishedRetentionJobsAreFoundAndDoneOnesAreNot(t *testing.T) {
	t.Parallel()
	cs := chatstore.New(storetest.New(t))
	ctx := context.Background()
	if j, err := cs.RetentionJob(ctx, "acme"); err != nil || j.State != "" {
		t.Fatalf("before any job: %+v %v", j, err)
	}
	at := time.Now().UTC().Truncate(time.Second)
	jobs := map[string]chatstore.RetentionJob{
		"acme":    {State: chatstore.JobFailed, Days: 30, Phase: chatstore.PhaseEntries, After: "FEED#lead#1", Chats: 3, StartedAt: at, UpdatedAt: at},
		"globex":  {State: chatstore.JobDone, Days: 0, Phase: chatstore.PhaseEntries, StartedAt: at, UpdatedAt: at},
		"initech": {State: chatstore.JobRunning, Days: 7, Phase: chatstore.PhaseChats, StartedAt: at, UpdatedAt: at},
	}
	for account, j := range jobs {
		if err := cs.SaveRetentionJob(ctx, account, j); err != nil {
			t.Fatal(err)
		}
	}
	got, err := cs.RetentionJob(ctx, "acme")
	if err != nil || got != jobs["acme"] {
		t.Fatalf("read back %+v (%v)", got, err)
	}
	if p := got.Progress(); p.Chats != 3 || p.Phase != chatstore.PhaseEntries || p.State != chatstore.JobFailed {
		t.Fatalf("progress %+v", p)
	}
	accounts, err := cs.UnfinishedRetention(ctx)
	slices.Sort(accounts)
	if err != nil || !slices.Equal(accounts, []string{"acme", "initech"}) {
		t.Fatalf("unfinished %v (%v)", accounts, err)
	}
}
