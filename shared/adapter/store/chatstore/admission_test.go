package chatstore_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/chats"
)

// An account's burst goes down the stream; what comes faster than its Sell pace is
// stored straight into its backlog, and another account's burst is its own.
func TestChatsBeyondAnAccountsPaceAreStoredIntoItsBacklog(t *testing.T) {
	t.Parallel()
	s, ctx := storetest.New(t), context.Background()
	cs := chatstore.New(s).Admit(0.001, 2) // a burst of two, then next to nothing
	for _, id := range []string{"a1", "a2", "a3", "a4"} {
		if _, err := cs.Ingest(ctx, "acme", chatWith(id, "hello"), now); err != nil {
			t.Fatalf("ingest %s: %v", id, err)
		}
	}
	if _, err := cs.Ingest(ctx, "globex", chatWith("g1", "hello"), now); err != nil {
		t.Fatal(err)
	}
	if ids, err := s.QueuedChats(ctx, "acme", 10); err != nil || !slices.Equal(ids, []string{"a3", "a4"}) {
		t.Fatalf("acme's queue = %v, %v; want the two beyond its burst", ids, err)
	}
	if ids, _ := s.QueuedChats(ctx, "globex", 10); len(ids) != 0 {
		t.Fatalf("globex's first chat was queued: %v", ids)
	}
	// Each is stored as any chat is, and only once.
	for _, id := range []string{"a1", "a2", "a3", "a4"} {
		if text, _ := storedText(t, cs, "acme", id); text == "" {
			t.Fatalf("chat %s not stored", id)
		}
	}
	if _, err := cs.Ingest(ctx, "acme", chatWith("a3", "hello"), now); !errors.Is(err, chatstore.ErrExists) {
		t.Fatalf("a3 again: %v, want ErrExists", err)
	}
	if b, _, err := s.Backlog(ctx, "acme"); err != nil || b.Waiting() != 2 {
		t.Fatalf("acme's backlog = %+v, %v; want 2 waiting", b, err)
	}
}

// A page of chats is ingested as each would be alone: the burst (which a chat stored
// before spends too, as alone) down the stream, the rest into the backlog together,
// a chat stored before or malformed refused with Ingest's error, in the page's order.
func TestAPageOfChatsIsIngestedAsEachChatAlone(t *testing.T) {
	t.Parallel()
	s, ctx := storetest.New(t), context.Background()
	cs := chatstore.New(s).Admit(0.001, 2)
	if _, err := chatstore.New(s).Ingest(ctx, "acme", chatWith("p0", "hello"), now); err != nil {
		t.Fatal(err)
	}
	page := [][]byte{chatWith("p0", "again"), chatWith("p1", "hello"), []byte(`{"id":`), chatWith("p2", "hello"), chatWith("p3", "hello")}
	errs := cs.IngestAll(ctx, "acme", page, now, 3)
	if !errors.Is(errs[0], chatstore.ErrExists) || errs[1] != nil || !errors.Is(errs[2], chats.ErrMalformed) || errs[3] != nil || errs[4] != nil {
		t.Fatalf("errors = %v", errs)
	}
	if ids, err := s.QueuedChats(ctx, "acme", 10); err != nil || !slices.Equal(ids, []string{"p2", "p3"}) {
		t.Fatalf("queue = %v, %v; want the two beyond the burst", ids, err)
	}
	for _, id := range []string{"p1", "p2", "p3"} {
		if text, _ := storedText(t, cs, "acme", id); text == "" {
			t.Fatalf("chat %s not stored", id)
		}
	}
	if errs := cs.IngestAll(ctx, "acme", page[3:], now, 3); !errors.Is(errs[0], chatstore.ErrExists) || !errors.Is(errs[1], chatstore.ErrExists) {
		t.Fatalf("the queued chats again: %v", errs)
	}
	if b, _, err := s.Backlog(ctx, "acme"); err != nil || b.Waiting() != 2 {
		t.Fatalf("backlog = %+v, %v; want 2 waiting", b, err)
	}
}

// A page's visitors are checked against the erasures in one call: the erased
// visitor's chat is refused with ErrErased and nothing of it kept, the others are
// stored; when the check cannot answer, no chat of the page is stored.
func TestAPageChecksItsVisitorsErasuresTogether(t *testing.T) {
	t.Parallel()
	s, ctx := storetest.New(t), context.Background()
	calls, failing := 0, false
	erased := func(_ context.Context, _ string, vs []chats.Visitor) ([]bool, error) {
		calls++
		if failing {
			return nil, errors.New("table unavailable")
		}
		gone := make([]bool, len(vs))
		for i, v := range vs {
			gone[i] = v.Email == "gone@example.com"
		}
		return gone, nil
	}
	cs := chatstore.New(s).CheckErasures(erased).Admit(0.001, 1)
	gone := bytes.Replace(chatWith("e2", "hello"), []byte("vera@example.com"), []byte("gone@example.com"), 1)
	errs := cs.IngestAll(ctx, "acme", [][]byte{chatWith("e1", "hello"), gone, chatWith("e3", "hello")}, now, 2)
	if errs[0] != nil || !errors.Is(errs[1], chatstore.ErrErased) || errs[2] != nil || calls != 1 {
		t.Fatalf("errors %v after %d checks, want e2 erased in one check", errs, calls)
	}
	if _, err := cs.Chat(ctx, "acme", "e2"); !errors.Is(err, chatstore.ErrNotFound) {
		t.Fatalf("the erased visitor's chat: %v, want not stored", err)
	}
	failing = true
	errs = cs.IngestAll(ctx, "acme", [][]byte{chatWith("e4", "hello"), chatWith("e5", "hello")}, now, 2)
	for i, err := range errs {
		if err == nil || errors.Is(err, chatstore.ErrExists) {
			t.Fatalf("chat %d stored or refused as a duplicate while the erasures could not be read: %v", i, err)
		}
	}
	if _, err := cs.Chat(ctx, "acme", "e4"); !errors.Is(err, chatstore.ErrNotFound) {
		t.Fatalf("e4: %v, want not stored", err)
	}
}
