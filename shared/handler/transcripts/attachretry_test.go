package transcripts_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
)

// A lead created from a chat may carry another email than the visitor's, so only
// the chat's own records remember that the chat belongs in its feed. When the note
// cannot be made at once, the chat must wait where make replay looks, and replay
// must bring the note to that lead.
func TestANoteThatFailedWhenALeadWasCreatedFromTheChatComesWithReplay(t *testing.T) {
	t.Parallel()
	env, p := newHistoryEnv(t)
	ctx := context.Background()
	id := storeAndProcess(t, env, p, "acme", chatJSON("c-attach", "nobody@nowhere.example", "", start))
	lead := env.Sell.AddLead(sell.Lead{LastName: "Other", Email: "someone.else@example.com", OwnerID: selltest.DemoAdminID})

	env.Sell.SetFaults(selltest.Faults{ErrorRate: 1, ErrorStatus: 503})
	if err := p.Attach(ctx, "acme", id, sell.ResourceLead, lead.ID); err == nil {
		t.Fatal("Attach succeeded with Sell down")
	}
	env.Sell.SetFaults(selltest.Faults{})
	cs := chatstore.New(env.Deps.Store)
	it, _ := cs.Chat(ctx, "acme", id)
	key := "lead:" + strconv.FormatInt(lead.ID, 10)
	if it.Status != chats.StatusFailed || it.Reason == "" || len(it.Records) != 1 || it.Records[0] != key {
		t.Fatalf("after a failed attach: status %q reason %q records %v", it.Status, it.Reason, it.Records)
	}
	if len(entries(t, env, "acme")[key]) != 1 {
		t.Fatal("the entry is not in the lead's feed")
	}

	sum, err := p.Replay(ctx, nil)
	if err != nil || sum.StillFailing != 0 {
		t.Fatalf("replay: %+v %v", sum, err)
	}
	if n := notesFor(env.Sell, id)[key]; n != 1 {
		t.Fatalf("%d notes on the lead after replay, want 1", n)
	}
	it, _ = cs.Chat(ctx, "acme", id)
	if it.Status != chats.StatusMatched {
		t.Fatalf("status %q after replay", it.Status)
	}
}

// Attaching a chat whose own records still wait for notes must not take it out of
// replay's list.
func TestAttachingAFailedChatLeavesItFailed(t *testing.T) {
	t.Parallel()
	env, p := newHistoryEnv(t)
	ctx := context.Background()
	id := storeChat(t, env, "acme", chatJSON("c-failed", "paul@acme.example", "", start))
	env.Sell.SetFaults(selltest.Faults{ErrorRate: 1, ErrorStatus: 503})
	if err := p.Process(ctx, "acme", id); err == nil {
		t.Fatal("processing succeeded with Sell down")
	}
	env.Sell.SetFaults(selltest.Faults{})
	lead := env.Sell.AddLead(sell.Lead{LastName: "Person", Email: "paul@acme.example", OwnerID: selltest.DemoAdminID})
	if err := transcripts.Attach(ctx, env.TranscriptsDeps(), "acme", id, sell.ResourceLead, lead.ID); err != nil {
		t.Fatal(err)
	}
	it, _ := chatstore.New(env.Deps.Store).Chat(ctx, "acme", id)
	if it.Status != chats.StatusFailed {
		t.Fatalf("status %q: the contact's and deals' notes would never come", it.Status)
	}
	if _, err := p.Replay(ctx, nil); err != nil {
		t.Fatal(err)
	}
	notes := notesFor(env.Sell, id)
	want := []string{"lead:" + strconv.FormatInt(lead.ID, 10), "contact:" + strconv.FormatInt(selltest.DemoPaulContactID, 10), "deal:" + strconv.FormatInt(selltest.DemoAnnualDealID, 10)}
	for _, r := range want {
		if notes[r] != 1 {
			t.Errorf("%s has %d notes after replay, want 1 (all: %v)", r, notes[r], notes)
		}
	}
}

// A record deleted in Sell after the chat joined its feed has nowhere to take a
// note: the chat is not failed for it forever.
func TestARecordDeletedInSellDoesNotFailTheChat(t *testing.T) {
	t.Parallel()
	env, p := newEnv(t)
	ctx := context.Background()
	id := storeChat(t, env, "acme", chatJSON("c-gone", "nobody@nowhere.example", "", start))
	lead := env.Sell.AddLead(sell.Lead{LastName: "Gone", Email: "gone@example.com", OwnerID: selltest.DemoAdminID})
	if err := p.Attach(ctx, "acme", id, sell.ResourceLead, lead.ID); err != nil { // history off: no note yet
		t.Fatal(err)
	}
	env.Sell.DeleteLead(lead.ID)
	env.SetHistory(t, "acme", true)
	if err := p.Process(ctx, "acme", id); err != nil {
		t.Fatalf("processing failed for a deleted record: %v", err)
	}
}
