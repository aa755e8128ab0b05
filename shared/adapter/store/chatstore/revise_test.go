package chatstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/chats"
)

// A conversation solved again replaces its stored chat in place: same key, start and
// receipt, a new revision and status received; the same version again changes
// nothing. The entry's note is then claimed for an update once per revision.
func TestARevisedChatIsReplacedInPlaceAndItsNotesUpdatedOncePerRevision(t *testing.T) {
	t.Parallel()
	cs, ctx := chatstore.New(storetest.New(t)), context.Background()
	if _, _, err := cs.ReviseChat(ctx, "acme", chatWith("m1", "hello"), now); !errors.Is(err, chatstore.ErrNotFound) {
		t.Fatalf("revising a chat never stored: %v, want ErrNotFound", err)
	}
	c, err := cs.Ingest(ctx, "acme", chatWith("m1", "hello"), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.SetOutcome(ctx, "acme", "m1", chatstore.Outcome{Status: chats.StatusMatched, Records: []string{"lead:1"}}, now); err != nil {
		t.Fatal(err)
	}
	if _, revised, err := cs.ReviseChat(ctx, "acme", chatWith("m1", "hello"), now.Add(time.Hour)); err != nil || revised {
		t.Fatalf("the same chat again: revised %v, %v", revised, err)
	}
	if _, revised, err := cs.ReviseChat(ctx, "acme", chatWith("m1", "hello again"), now.Add(time.Hour)); err != nil || !revised {
		t.Fatalf("a later version: revised %v, %v", revised, err)
	}
	text, it := storedText(t, cs, "acme", "m1")
	if !strings.Contains(text, "hello again") || it.Revision != 1 || it.Status != chats.StatusReceived {
		t.Fatalf("after the revision: revision %d, status %q, body %s", it.Revision, it.Status, text)
	}
	if !it.Start.Equal(c.Start) || !it.ReceivedAt.Equal(now) || len(it.Records) != 1 {
		t.Fatalf("the revision moved the chat: start %v (was %v), received %v, records %v", it.Start, c.Start, it.ReceivedAt, it.Records)
	}

	e := chatstore.NewEntry(chats.Record{Type: chats.ResourceLead, ID: 1}, c, it.Start, now)
	if err := cs.CreateEntry(ctx, "acme", e); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.ClaimNote(ctx, "acme", e.SK, "w1", now, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := cs.RecordNote(ctx, "acme", e.SK, "w1", 77, 0); err != nil {
		t.Fatal(err)
	}
	got, err := cs.ClaimNoteRevision(ctx, "acme", e.SK, "w2", 1, now, time.Minute)
	if err != nil || got.LeaseOwner != "w2" || got.NoteID != 77 {
		t.Fatalf("claim for revision 1 = %+v, %v", got, err)
	}
	if _, err := cs.ClaimNoteRevision(ctx, "acme", e.SK, "w3", 1, now, time.Minute); !errors.Is(err, chatstore.ErrLeased) {
		t.Fatalf("a second worker's claim while w2 holds it: %v, want ErrLeased", err)
	}
	if err := cs.RecordNoteRevision(ctx, "acme", e.SK, "w2", 1); err != nil {
		t.Fatal(err)
	}
	got, err = cs.ClaimNoteRevision(ctx, "acme", e.SK, "w3", 1, now, time.Minute)
	if err != nil || got.LeaseOwner != "" || got.NoteRevision != 1 {
		t.Fatalf("claim once the note shows revision 1 = %+v, %v; want nothing to do", got, err)
	}
}
