package transcripts_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
	settingsapi "github.com/sellchat/sellchat/shared/handler/settings"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

var start = time.Date(2026, 11, 20, 14, 2, 11, 0, time.UTC)

func TestAChatLandsInTheFeedOfEveryMatchingRecordOnce(t *testing.T) {
	t.Parallel()
	env, p := newHistoryEnv(t)
	paul := storeChat(t, env, "acme", chatJSON("c-paul", "PAUL@acme.example", "", start))
	vera := storeChat(t, env, "acme", chatJSON("c-vera", "", "(415) 555-0100", start.Add(time.Hour)))
	resp := handle(t, p, streamed(t, env, 2))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures: %+v", resp.BatchItemFailures)
	}
	got := entries(t, env, "acme")
	for _, want := range []string{"contact:3002", "deal:4001", "deal:4002", "lead:2001"} {
		if len(got[want]) != 1 {
			t.Fatalf("%s has %d entries, want 1 (all: %v)", want, len(got[want]), got)
		}
		if got[want][0].NoteID == 0 {
			t.Fatalf("%s's entry has no note id", want)
		}
	}
	if len(got) != 4 {
		t.Fatalf("entries for %d records, want 4: %v", len(got), got)
	}
	if n := notesFor(env.Sell, paul); n["contact:3002"] != 1 || n["deal:4001"] != 1 || n["deal:4002"] != 1 || len(n) != 3 {
		t.Fatalf("Paul's chat notes %v", n)
	}
	if n := notesFor(env.Sell, vera); n["lead:2001"] != 1 || len(n) != 1 {
		t.Fatalf("Vera's chat notes %v", n)
	}
	it, _ := chatstore.New(env.Deps.Store).Chat(context.Background(), "acme", paul)
	if it.Status != chats.StatusMatched || len(it.Records) != 3 || it.Reason != "" {
		t.Fatalf("chat item %+v", it)
	}
}

func TestTheSameChatDeliveredFiveTimesAtOnceIsOneChatOneEntryOneNote(t *testing.T) {
	t.Parallel()
	env, p := newHistoryEnv(t)
	sealed := env.Deps.Box.Seal([]byte("the-signing-secret"), secrets.AAD("acme", "webhook_secret"))
	if _, err := env.Deps.Store.UpdateIntegration(context.Background(), "acme", func(in *settings.Integration) error { in.WebhookSecret = sealed; return nil }); err != nil {
		t.Fatal(err)
	}
	body := chatJSON("c-five", "paul@acme.example", "+1 646 555 0177", start)
	webhook := chatwebhook.New(env.IngestDeps())
	parallel(5, func(int) {
		ts := time.Now().UTC().Format(time.RFC3339)
		res := apptest.Do(t, webhook, apptest.Request{Method: "POST", Path: "/webhooks/chat/acme", Body: body, Header: map[string]string{
			chatwebhook.HeaderTimestamp: ts, chatwebhook.HeaderSignature: chatwebhook.Sign([]byte("the-signing-secret"), ts, []byte(body))}})
		if res.Status != 202 {
			t.Errorf("%d %s", res.Status, res.Body)
		}
	})
	recs := streamed(t, env, 1)
	if n := countInserts(recs); n != 1 {
		t.Fatalf("%d chat inserts in the stream, want 1", n)
	}
	// The stream delivers at least once: hand the record over five times at once.
	parallel(5, func(int) {
		if resp := handle(t, p, recs); len(resp.BatchItemFailures) != 0 {
			t.Errorf("failures %+v", resp.BatchItemFailures)
		}
	})
	got := entries(t, env, "acme")
	if len(got) != 3 || len(got["contact:3002"]) != 1 || len(got["deal:4001"]) != 1 || len(got["deal:4002"]) != 1 {
		t.Fatalf("entries %v", got)
	}
	n := notesFor(env.Sell, "c-five")
	if len(n) != 3 || n["contact:3002"] != 1 || n["deal:4001"] != 1 || n["deal:4002"] != 1 {
		t.Fatalf("notes %v, want one per entry", n)
	}
}

func TestAnUnmatchedChatIsKeptAndAttachedLater(t *testing.T) {
	t.Parallel()
	env, p := newHistoryEnv(t)
	id := storeAndProcess(t, env, p, "acme", chatJSON("c-nobody", "nobody@nowhere.example", "+1 202 555 0199", start))
	cs := chatstore.New(env.Deps.Store)
	it, _ := cs.Chat(context.Background(), "acme", id)
	if it.Status != chats.StatusUnmatched || len(entries(t, env, "acme")) != 0 {
		t.Fatalf("status %s, entries %v", it.Status, entries(t, env, "acme"))
	}
	lead := env.Sell.AddLead(sell.Lead{LastName: "Nobody", Email: "nobody@nowhere.example", OwnerID: selltest.DemoAdminID})
	for i := 0; i < 2; i++ { // the second call changes nothing
		if err := transcripts.Attach(context.Background(), env.TranscriptsDeps(), "acme", id, sell.ResourceLead, lead.ID); err != nil {
			t.Fatal(err)
		}
	}
	got := entries(t, env, "acme")
	key := "lead:" + strconv.FormatInt(lead.ID, 10)
	if len(got[key]) != 1 || got[key][0].NoteID == 0 || notesFor(env.Sell, id)[key] != 1 {
		t.Fatalf("entries %v notes %v", got, notesFor(env.Sell, id))
	}
	it, _ = cs.Chat(context.Background(), "acme", id)
	if it.Status != chats.StatusMatched {
		t.Fatalf("status %s", it.Status)
	}
	if err := transcripts.Attach(context.Background(), env.TranscriptsDeps(), "acme", "no-such-chat", sell.ResourceLead, lead.ID); !errors.Is(err, transcripts.ErrUnknownChat) {
		t.Fatalf("err = %v", err)
	}
}

func TestChatsArrivingWhileHistoryIsOffAreMatchedButNotMirroredUntilItIsOn(t *testing.T) {
	t.Parallel()
	env, p := newEnv(t)
	ids := []string{
		storeChat(t, env, "acme", chatJSON("c-h1", "paul@acme.example", "", start)),
		storeChat(t, env, "acme", chatJSON("c-h2", "vera@example.com", "", start.Add(time.Minute))),
	}
	handle(t, p, streamed(t, env, 2))
	if n := len(env.Sell.Notes()); n != 1 { // the demo seed's own note only
		t.Fatalf("%d notes in Sell while history is off", n)
	}
	if got := entries(t, env, "acme"); len(got) != 4 {
		t.Fatalf("entries %v", got)
	}
	cs := chatstore.New(env.Deps.Store)

	flip := func(on bool, wantRecords int) {
		t.Helper()
		env.SetHistory(t, "acme", on)
		// Every INTEGRATION record so far; the handler runs the job for flips only.
		resp := handle(t, p, integrationRecords(t, env, 1))
		if len(resp.BatchItemFailures) != 0 {
			t.Fatalf("failures %+v", resp.BatchItemFailures)
		}
		job, _ := cs.Job(context.Background(), "acme")
		if job.State != chatstore.JobDone || job.Mirror != on || job.Total != 4 || job.Done != 4 || job.Failed != 0 {
			t.Fatalf("job %+v", job)
		}
		total := 0
		for _, id := range ids {
			for _, n := range notesFor(env.Sell, id) {
				if n != 1 {
					t.Fatalf("a record has %d notes of %s", n, id)
				}
				total += n
			}
		}
		if total != wantRecords {
			t.Fatalf("%d mirrored notes, want %d", total, wantRecords)
		}
		// The admin sees the progress in GET /integration.
		res := apptest.Do(t, settingsapi.New(env.AdminDeps()), apptest.Request{Method: "GET", Path: "/integration", Token: env.Token(t, "acme", auth.RoleAdmin)})
		var v struct {
			History *chatstore.Job `json:"history"`
		}
		res.JSON(t, &v)
		if v.History == nil || v.History.State != chatstore.JobDone || v.History.Total != 4 || v.History.Done != 4 || v.History.Mirror != on {
			t.Fatalf("GET /integration: %s", res.Body)
		}
	}
	flip(true, 4)
	flip(false, 0)
	if got := entries(t, env, "acme"); len(got) != 4 {
		t.Fatalf("disabling lost entries: %v", got)
	}
	flip(true, 4)
}

func TestSellFailuresAreRetriedThenRecorded(t *testing.T) {
	t.Parallel()
	env, p := newHistoryEnv(t)
	id := storeChat(t, env, "acme", chatJSON("c-fail", "vera@example.com", "", start))
	recs := streamed(t, env, 1)
	env.Sell.FailNext(40, 503)
	resp := handle(t, p, recs)
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != recs[len(recs)-1].Change.SequenceNumber {
		t.Fatalf("failures %+v", resp.BatchItemFailures)
	}
	cs := chatstore.New(env.Deps.Store)
	it, _ := cs.Chat(context.Background(), "acme", id)
	if it.Status != chats.StatusFailed || it.Reason == "" {
		t.Fatalf("chat %+v", it)
	}
	env.Sell.FailNext(0, 0)
	sum, err := p.Replay(context.Background(), nil)
	if err != nil || sum.Replayed != 1 || sum.InFeed != 1 || sum.StillFailing != 0 {
		t.Fatalf("replay %+v %v", sum, err)
	}
	if n := notesFor(env.Sell, id); n["lead:2001"] != 1 {
		t.Fatalf("notes %v", n)
	}
	again, _ := p.Replay(context.Background(), nil)
	if again.Replayed != 0 {
		t.Fatalf("a second replay found %+v", again)
	}
}

func TestAnAccountWithoutSellFailsAtOnceWithAReason(t *testing.T) {
	t.Parallel()
	env := apptest.New(t) // not connected
	p := transcripts.New(env.TranscriptsDeps(), phone.E164)
	failsAtOnce(t, env, p, chatJSON("c-nosell", "vera@example.com", "", start), "not connected")
}

// A processor built without a phone reader (the leads function's, which only
// attaches) must not quietly match a phone-only visitor to nothing.
func TestAProcessorWithoutAPhoneReaderFailsPhoneChatsVisibly(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.Connect(t, "acme")
	p := transcripts.NewWith(env.TranscriptsDeps(), transcripts.Options{Backoff: func(int) time.Duration { return time.Millisecond }})
	failsAtOnce(t, env, p, chatJSON("c-nophone", "", "+1 415 555 0100", start), "ReadPhone")
}

// failsAtOnce stores chat, the only one in env's stream, and checks p fails it for
// good with a reason naming why: no retry can help, so the record is not sent back
// to the stream.
func failsAtOnce(t *testing.T, env *apptest.Env, p *transcripts.Processor, chat, why string) {
	t.Helper()
	id := storeChat(t, env, "acme", chat)
	resp := handle(t, p, streamed(t, env, 1))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatal("a chat no retry can help was sent back to the stream")
	}
	it, _ := chatstore.New(env.Deps.Store).Chat(context.Background(), "acme", id)
	if it.Status != chats.StatusFailed || !strings.Contains(it.Reason, why) {
		t.Fatalf("chat %+v, want failed with a reason naming %q", it, why)
	}
}

func TestANoteCreatedBeforeACrashIsFoundNotDuplicated(t *testing.T) {
	t.Parallel()
	env, _ := newHistoryEnv(t)
	now := time.Now()
	clock := func() time.Time { return now }
	p := transcripts.NewWith(env.TranscriptsDeps(), transcripts.Options{ReadPhone: phone.E164, Now: clock, Lease: time.Minute, Backoff: func(int) time.Duration { return time.Millisecond }})
	id := storeChat(t, env, "acme", chatJSON("c-crash", "vera@example.com", "", start))
	c, _ := chats.Parse([]byte(chatJSON("c-crash", "vera@example.com", "", start)))
	cs := chatstore.New(env.Deps.Store)
	it, _ := cs.Chat(context.Background(), "acme", id)
	e := chatstore.NewEntry(chats.Record{Type: "lead", ID: selltest.DemoVeraLeadID}, c, it.Start, now)
	if err := cs.CreateEntry(context.Background(), "acme", e); err != nil {
		t.Fatal(err)
	}
	// A worker claimed the entry, created the note in Sell, and died before
	// recording its id.
	if _, err := cs.ClaimNote(context.Background(), "acme", e.SK, "dead-worker", now.Add(-2*time.Minute), time.Minute); err != nil {
		t.Fatal(err)
	}
	client, _, err := env.Deps.Vault.Client(context.Background(), "acme", tokens.Admin())
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := client.CreateNote(context.Background(), sell.NewNote{ResourceType: "lead", ResourceID: selltest.DemoVeraLeadID, Content: chats.NoteContent(c)})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Process(context.Background(), "acme", id); err != nil {
		t.Fatal(err)
	}
	got, _ := cs.Entry(context.Background(), "acme", e.SK)
	if got.NoteID != orphan.ID || notesFor(env.Sell, id)["lead:2001"] != 1 {
		t.Fatalf("entry note %d (orphan %d), notes %v", got.NoteID, orphan.ID, notesFor(env.Sell, id))
	}
}
