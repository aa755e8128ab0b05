package privacystore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/privacystore"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/chats"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func newStore(t *testing.T) (*privacystore.Store, *store.Store) {
	t.Helper()
	t.Parallel()
	key, err := secrets.ParseKey(secrets.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	box, err := secrets.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	s := storetest.New(t)
	return privacystore.New(s, box), s
}

func email(t *testing.T, raw string) privacystore.Subject {
	t.Helper()
	sub, ok := privacystore.EmailSubject(raw)
	if !ok {
		t.Fatalf("%q is no email", raw)
	}
	return sub
}

func TestSubjectsAreNormalisedAsMatchingDoes(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "vera", "@example.com", "vera@", "ve ra@example.com", "a@b@c", strings.Repeat("a", 250) + "@example.com"} {
		if _, ok := privacystore.EmailSubject(bad); ok {
			t.Errorf("EmailSubject(%q) accepted", bad)
		}
	}
	sub := email(t, "  Vera@Example.COM ")
	if sub.Value != "vera@example.com" || !sub.Matches(chats.Visitor{Email: "VERA@example.com"}, nil) || sub.Matches(chats.Visitor{Email: "paul@example.com"}, nil) {
		t.Fatalf("email subject %+v", sub)
	}
	ph, ok := privacystore.PhoneSubject("(415) 555-0100", phone.E164)
	if !ok || ph.Value != "+14155550100" {
		t.Fatalf("phone subject %+v %v", ph, ok)
	}
	if !ph.Matches(chats.Visitor{Phone: "+1 415 555 0100"}, phone.E164) || ph.Matches(chats.Visitor{Phone: "415 555 0199"}, phone.E164) ||
		ph.Matches(chats.Visitor{Email: "vera@example.com"}, phone.E164) {
		t.Fatal("phone subject matches the wrong visitors")
	}
	if _, ok := privacystore.PhoneSubject("call me", phone.E164); ok {
		t.Error("a phone subject of no number")
	}
}

func TestAnErasureStartsOncePerIdentifier(t *testing.T) {
	ps, _ := newStore(t)
	ctx := context.Background()
	sub := email(t, "vera@example.com")

	job, created, err := ps.Start(ctx, "acme", "job-1", sub, "u-admin")
	if err != nil || !created || job.State != privacystore.StatePending || job.RequestedBy != "u-admin" || job.Kind != "email" {
		t.Fatalf("%+v %v %v", job, created, err)
	}
	if bytes.Contains(job.Sealed, []byte("vera")) || strings.Contains(job.Hash, "vera") || len(job.Hash) != 64 {
		t.Fatalf("the job holds the identifier in clear: %+v", job)
	}
	if got, err := ps.Identifier("acme", job); err != nil || got != sub {
		t.Fatalf("identifier %+v %v", got, err)
	}

	t.Run("the same identifier, spelt otherwise, gets the running job", func(t *testing.T) {
		again, created, err := ps.Start(ctx, "acme", "job-2", email(t, "VERA@example.com"), "u-other")
		if err != nil || created || again.ID != "job-1" {
			t.Fatalf("%+v %v %v", again, created, err)
		}
		if _, err := ps.Job(ctx, "acme", "job-2"); !errors.Is(err, privacystore.ErrNotFound) {
			t.Fatalf("job-2: %v, want never written", err)
		}
	})
	t.Run("another account's erasure of the same identifier is its own", func(t *testing.T) {
		other, created, err := ps.Start(ctx, "globex", "job-3", sub, "u-admin")
		if err != nil || !created || other.ID != "job-3" {
			t.Fatalf("%+v %v %v", other, created, err)
		}
		if _, err := ps.Job(ctx, "globex", "job-1"); !errors.Is(err, privacystore.ErrNotFound) {
			t.Fatalf("acme's job read through globex: %v", err)
		}
	})
	t.Run("a failed job asked for again is pending again", func(t *testing.T) {
		if _, err := ps.Begin(ctx, "acme", "job-1"); err != nil {
			t.Fatal(err)
		}
		if err := ps.Fail(ctx, "acme", "job-1", "Sell answered 503"); err != nil {
			t.Fatal(err)
		}
		if j, _ := ps.Job(ctx, "acme", "job-1"); j.State != privacystore.StateFailed || j.Error != "Sell answered 503" || j.Attempts != 1 {
			t.Fatalf("%+v", j)
		}
		again, created, err := ps.Start(ctx, "acme", "job-4", sub, "u-admin")
		if err != nil || created || again.ID != "job-1" || again.State != privacystore.StatePending {
			t.Fatalf("%+v %v %v", again, created, err)
		}
	})
	t.Run("once done, the job keeps no identifier and a new erasure may start", func(t *testing.T) {
		j, err := ps.Begin(ctx, "acme", "job-1")
		if err != nil || j.State != privacystore.StateRunning || j.Attempts != 2 || j.Error != "" {
			t.Fatalf("%+v %v", j, err)
		}
		if err := ps.Finish(ctx, "acme", j, []privacystore.SellRecord{{Kind: "lead", ID: 2001}}); err != nil {
			t.Fatal(err)
		}
		done, err := ps.Job(ctx, "acme", "job-1")
		if err != nil || done.State != privacystore.StateDone || len(done.Sealed) != 0 || done.FinishedAt.IsZero() ||
			!slices.Equal(done.SellRecords, []privacystore.SellRecord{{Kind: "lead", ID: 2001}}) {
			t.Fatalf("%+v %v", done, err)
		}
		if _, err := ps.Identifier("acme", done); err == nil {
			t.Fatal("a done job still opens an identifier")
		}
		if j, err := ps.Begin(ctx, "acme", "job-1"); err != nil || j.State != privacystore.StateDone || j.Attempts != 2 {
			t.Fatalf("begin of a done job: %+v %v", j, err)
		}
		next, created, err := ps.Start(ctx, "acme", "job-5", sub, "u-admin")
		if err != nil || !created || next.ID != "job-5" {
			t.Fatalf("%+v %v %v", next, created, err)
		}
	})
	t.Run("replay finds the jobs not done", func(t *testing.T) {
		refs, err := ps.Unfinished(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(refs)
		if !strings.Contains(got, "{acme job-5}") || !strings.Contains(got, "{globex job-3}") || strings.Contains(got, "job-1") {
			t.Fatalf("unfinished %v", refs)
		}
	})
}

func TestConcurrentStartsMakeOneJob(t *testing.T) {
	ps, _ := newStore(t)
	const n = 6
	ids := make([]string, n)
	created := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			j, c, err := ps.Start(context.Background(), "acme", fmt.Sprintf("job-%d", i), email(t, "vera@example.com"), "u-admin")
			if err != nil {
				t.Error(err)
			}
			ids[i], created[i] = j.ID, c
		})
	}
	wg.Wait()
	if n := len(slices.DeleteFunc(slices.Clone(created), func(c bool) bool { return !c })); n != 1 {
		t.Fatalf("created %v, want exactly one", created)
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("answers name jobs %v, want one", ids)
		}
	}
}

func TestDeletionsAreCountedOnce(t *testing.T) {
	ps, s := newStore(t)
	ctx := context.Background()
	job, _, err := ps.Start(ctx, "acme", "job-1", email(t, "vera@example.com"), "u-admin")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, store.ChatKey("acme", "c-1"), map[string]string{"chatId": "c-1"}); err != nil {
		t.Fatal(err)
	}
	entry := "FEED#lead#2001#2026-01-01T00:00:00Z#c-1"
	if err := s.Put(ctx, store.Key{Account: "acme", SK: entry}, map[string]string{"chatId": "c-1"}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second time, both are gone: nothing more is counted
		if _, err := ps.DeleteEntry(ctx, "acme", job.ID, entry, true); err != nil {
			t.Fatal(err)
		}
		if _, err := ps.DeleteChat(ctx, "acme", job.ID, "c-1", []string{"lead:2001"}); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := ps.Job(ctx, "acme", job.ID)
	if got.ChatsDeleted != 1 || got.EntriesDeleted != 1 || got.NotesDeleted != 1 || !slices.Equal(got.Records, []string{"lead:2001"}) ||
		!slices.Equal(got.ErasedChats, []string{"c-1"}) {
		t.Fatalf("%+v", got)
	}
	for _, k := range []store.Key{store.ChatKey("acme", "c-1"), {Account: "acme", SK: entry}} {
		if _, err := s.Get(ctx, k, &map[string]any{}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: %v, want deleted", k, err)
		}
	}
}

func TestTombstonesRefuseTheErasedVisitorOnly(t *testing.T) {
	ps, _ := newStore(t)
	ctx := context.Background()
	if _, _, err := ps.Start(ctx, "acme", "job-1", email(t, "Vera@Example.com"), "u-admin"); err != nil {
		t.Fatal(err)
	}
	ph, _ := privacystore.PhoneSubject("+1 415 555 0100", phone.E164)
	job, _, err := ps.Start(ctx, "acme", "job-2", ph, "u-admin")
	if err != nil {
		t.Fatal(err)
	}
	// The erased chat's visitor typed the number without its country code.
	if err := ps.TombstonePhone(ctx, "acme", job, "(415) 555-0100"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		account, email, phone string
		want                  bool
	}{
		{"acme", " VERA@example.com", "", true},
		{"acme", "", "+1-415-555-0100", true},
		{"acme", "", "415.555.0100", true},
		{"acme", "paul@example.com", "+1 415 555 0199", false},
		{"acme", "", "", false},
		{"globex", "vera@example.com", "+14155550100", false},
	} {
		got, err := ps.Erased(ctx, c.account, c.email, c.phone)
		if err != nil || got != c.want {
			t.Errorf("Erased(%s, %q, %q) = %v %v, want %v", c.account, c.email, c.phone, got, err, c.want)
		}
	}
	if _, err := privacystore.New(nil, nil).Erased(ctx, "acme", "vera@example.com", ""); !errors.Is(err, privacystore.ErrNoKey) {
		t.Fatalf("without a key: %v", err)
	}

	// A page's visitors are checked together, a batch read per 100 identifiers: the
	// same answers, the same visitor asked twice read once.
	var visitors []chats.Visitor
	for i := range 120 {
		visitors = append(visitors, chats.Visitor{Email: fmt.Sprintf("v%03d@example.com", i), Phone: fmt.Sprintf("+1 415 555 %04d", 1000+i)})
	}
	visitors[7].Email, visitors[90].Phone = "vera@example.com", "(415) 555-0100"
	visitors[119] = visitors[7]
	m := store.NewMeter()
	gone, err := ps.ErasedAll(store.WithMeter(ctx, m), "acme", visitors)
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range gone {
		if want := i == 7 || i == 90 || i == 119; g != want {
			t.Errorf("visitor %d (%+v): erased %v, want %v", i, visitors[i], g, want)
		}
	}
	if ops := m.Ops(); len(ops) != 1 || ops["BatchGetItem"].Calls != 3 {
		t.Fatalf("checking 238 identifiers took %+v, want 3 batch reads", ops)
	}
}

func TestScanChatsPagesThroughEveryChat(t *testing.T) {
	ps, s := newStore(t)
	ctx := context.Background()
	for i := range 7 {
		if err := s.Put(ctx, store.ChatKey("acme", fmt.Sprintf("c-%d", i)), map[string]string{"chatId": fmt.Sprintf("c-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, store.Key{Account: "acme", SK: "SETTINGS"}, map[string]string{}); err != nil {
		t.Fatal(err)
	}
	var seen []string
	cursor, pages := "", 0
	for {
		next, err := ps.ScanChats(ctx, "acme", cursor, 3, func(it store.Item) (bool, error) {
			var c struct {
				ChatID string `json:"chatId"`
			}
			if err := it.Decode(&c); err != nil {
				return false, err
			}
			seen = append(seen, c.ChatID)
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if next == "" || pages > 5 {
			break
		}
		cursor = next
	}
	if want := []string{"c-0", "c-1", "c-2", "c-3", "c-4", "c-5", "c-6"}; !slices.Equal(seen, want) {
		t.Fatalf("seen %v, want %v", seen, want)
	}
	for _, bad := range []string{"!!", "U0VUVElOR1M"} { // not base64; "SETTINGS"
		if _, err := ps.ScanChats(ctx, "acme", bad, 0, func(store.Item) (bool, error) { return true, nil }); !errors.Is(err, privacystore.ErrBadCursor) {
			t.Errorf("cursor %q: %v, want ErrBadCursor", bad, err)
		}
	}
	// A visitor that declines a chat stops before it: the next scan starts with it,
	// even when it is the very first.
	for _, decline := range []string{"c-0", "c-4"} {
		var got []string
		next, err := ps.ScanChats(ctx, "acme", "", 0, func(it store.Item) (bool, error) {
			if strings.HasSuffix(it.SK, decline) {
				return false, nil
			}
			got = append(got, it.SK)
			return true, nil
		})
		if err != nil || next == "" {
			t.Fatalf("declining %s: %v, cursor %q", decline, err, next)
		}
		var first string
		if _, err := ps.ScanChats(ctx, "acme", next, 1, func(it store.Item) (bool, error) { first = it.SK; return true, nil }); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(first, decline) {
			t.Fatalf("declining %s (after %v): the next scan starts with %s", decline, got, first)
		}
	}
}
