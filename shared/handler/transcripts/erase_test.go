package transcripts_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/privacystore"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/leads"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// visitorOnThreeRecords adds to Sell a visitor who matches a lead and a contact,
// the contact with a deal: each of their chats lands in three feeds.
func visitorOnThreeRecords(sb *selltest.Server, email string) (lead, contact, deal int64) {
	lead = sb.AddLead(sell.Lead{FirstName: "Nina", LastName: "Erased", Email: email, OwnerID: selltest.DemoAdminID}).ID
	contact = sb.AddContact(sell.Contact{Name: "Nina Erased", FirstName: "Nina", LastName: "Erased", Email: email, OwnerID: selltest.DemoAdminID}).ID
	deal = sb.AddDeal(sell.Deal{Name: "Nina's deal", ContactID: contact, OwnerID: selltest.DemoAdminID}).ID
	return lead, contact, deal
}

// erasureRecords reads the stream until it holds the insert of job id and returns
// that job's records.
func erasureRecords(t testing.TB, env *apptest.Env, id string) []events.DynamoDBEventRecord {
	t.Helper()
	return recordsOf(t, env, 1, func(r events.DynamoDBEventRecord) bool {
		sk, ok := r.Change.Keys["sk"]
		return ok && sk.String() == "ERASURE#"+id && r.EventName == "INSERT"
	})
}

// storedChats lists the ids of the account's stored chats.
func storedChats(t testing.TB, env *apptest.Env, account string) []string {
	t.Helper()
	items, err := env.Deps.Store.QueryPrefix(context.Background(), account, "CHAT#", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range items {
		ids = append(ids, strings.TrimPrefix(it.SK, "CHAT#"))
	}
	return ids
}

func startErasure(t testing.TB, env *apptest.Env, account, id, email string) privacystore.Job {
	t.Helper()
	sub, ok := privacystore.EmailSubject(email)
	if !ok {
		t.Fatalf("%q is no email", email)
	}
	job, created, err := privacystore.New(env.Deps.Store, env.Deps.Box).Start(context.Background(), account, id, sub, "u-admin")
	if err != nil || !created {
		t.Fatalf("start erasure: %+v %v %v", job, created, err)
	}
	return job
}

func erasure(t testing.TB, env *apptest.Env, account, id string) privacystore.Job {
	t.Helper()
	j, err := privacystore.New(env.Deps.Store, env.Deps.Box).Job(context.Background(), account, id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// The "done when": a visitor with chats on three records is erased through
// the stream; their chats, entries and notes go (from Sell too), the lead and contact
// stay and are reported, another visitor's chat is untouched.
func TestAnErasureRemovesTheVisitorsChatsEntriesAndNotesAndReportsWhatItKept(t *testing.T) {
	t.Parallel()
	env, p := newHistoryEnv(t)
	ctx := context.Background()
	lead, contact, deal := visitorOnThreeRecords(env.Sell, "nina@erase.example")
	for _, body := range []string{
		chatJSON("nina-1", "nina@erase.example", "", start),
		chatJSON("nina-2", "Nina@Erase.Example", "", start.Add(time.Hour)),
		chatJSON("vera-1", "vera@example.com", "", start.Add(2*time.Hour)),
	} {
		storeChat(t, env, "acme", body)
	}
	if resp := handle(t, p, streamed(t, env, 3)); len(resp.BatchItemFailures) > 0 {
		t.Fatalf("processing failed: %+v", resp)
	}
	records := []string{fmt.Sprintf("lead:%d", lead), fmt.Sprintf("contact:%d", contact), fmt.Sprintf("deal:%d", deal)}
	for _, id := range []string{"nina-1", "nina-2"} {
		notes := notesFor(env.Sell, id)
		for _, r := range records {
			if notes[r] != 1 {
				t.Fatalf("before: chat %s has notes %v, want one on each of %v", id, notes, records)
			}
		}
	}

	startErasure(t, env, "acme", "job-1", " NINA@erase.example")
	if resp := handle(t, p, erasureRecords(t, env, "job-1")); len(resp.BatchItemFailures) > 0 {
		t.Fatalf("the erasure failed: %+v", resp)
	}

	job := erasure(t, env, "acme", "job-1")
	if job.State != privacystore.StateDone || job.ChatsDeleted != 2 || job.EntriesDeleted != 6 || job.NotesDeleted != 6 || job.Attempts != 1 {
		t.Fatalf("job %+v, want done with 2 chats, 6 entries, 6 notes", job)
	}
	slices.Sort(records)
	if got := slices.Sorted(slices.Values(job.Records)); !slices.Equal(got, records) {
		t.Errorf("records %v, want %v", got, records)
	}
	want := []privacystore.SellRecord{{Kind: "lead", ID: lead}, {Kind: "contact", ID: contact}}
	if !slices.Equal(job.SellRecords, want) {
		t.Errorf("reported %+v, want the lead and the contact it kept: %+v", job.SellRecords, want)
	}
	if len(job.Sealed) != 0 || len(job.ErasedChats) != 0 {
		t.Errorf("the done job keeps the identifier or chat ids: %+v", job)
	}
	if got := storedChats(t, env, "acme"); !slices.Equal(got, []string{"vera-1"}) {
		t.Errorf("stored chats %v, want only vera's", got)
	}
	for rec, es := range entries(t, env, "acme") {
		for _, e := range es {
			if strings.HasPrefix(e.ChatID, "nina") {
				t.Errorf("entry of %s left in %s", e.ChatID, rec)
			}
		}
	}
	for _, id := range []string{"nina-1", "nina-2"} {
		if n := notesFor(env.Sell, id); len(n) > 0 {
			t.Errorf("Sell still has notes of %s: %v", id, n)
		}
	}
	if n := notesFor(env.Sell, "vera-1"); n[fmt.Sprintf("lead:%d", selltest.DemoVeraLeadID)] != 1 {
		t.Errorf("vera's note: %v, want kept", n)
	}
	if _, ok := env.Sell.Lead(lead); !ok {
		t.Error("the visitor's lead was deleted from Sell; it is the company's record")
	}
	// The lock is gone with the job: the same visitor may be erased again.
	startErasure(t, env, "acme", "job-2", "nina@erase.example")
	if erased, err := privacystore.New(env.Deps.Store, env.Deps.Box).Erased(ctx, "acme", "nina@ERASE.example", ""); err != nil || !erased {
		t.Errorf("tombstone: %v %v, want the visitor refused", erased, err)
	}
}

// sellOutage counts note deletions reaching the sandbox and, after the first one
// went through, makes the sandbox answer every call 503 until healed.
type sellOutage struct {
	sb      *selltest.Server
	deletes atomic.Int32
	base    http.RoundTripper
}

func (o *sellOutage) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := o.base.RoundTrip(r)
	if err == nil && r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/v2/notes/") && res.StatusCode < 300 && o.deletes.Add(1) == 1 {
		o.sb.SetFaults(selltest.Faults{ErrorRate: 1, ErrorStatus: 503})
	}
	return res, err
}

func (o *sellOutage) heal() { o.sb.SetFaults(selltest.Faults{}) }

// A Sell outage halfway leaves the job failed with its reason and the stream record
// reported for a retry; the retry, with Sell back, finishes with the right totals.
func TestASellOutageHalfwayFailsTheErasureAndARetryFinishesIt(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.SetHistory(t, "acme", true)
	// A Sell of its own, without the rate limit: the outage's failed calls would
	// spend the token's quota, and a 429 is a fault of another kind.
	sb := selltest.NewServer(selltest.Options{RateLimit: -1})
	t.Cleanup(sb.Close)
	outage := &sellOutage{sb: sb, base: http.DefaultTransport}
	tok := sb.TokenFor(selltest.DemoAdminEmail)
	lims := sell.NewLimiters(0, 0)
	p := transcripts.NewWith(env.TranscriptsDeps(), transcripts.Options{ReadPhone: phone.E164, Backoff: func(int) time.Duration { return time.Millisecond },
		Sell: func(ctx context.Context, account string) (*sell.Client, error) {
			return sell.New(sell.Options{BaseURL: sb.URL, TokenSource: oauth2.StaticTokenSource(tok), Key: account, Limiters: lims,
				Cache: sell.NewCache(time.Minute, nil), HTTPClient: &http.Client{Transport: outage}, MaxAttempts: 1})
		}})
	lead := sb.AddLead(sell.Lead{LastName: "Olga", Email: "olga@erase.example", OwnerID: selltest.DemoAdminID}).ID
	for i := range 3 {
		storeChat(t, env, "acme", chatJSON(fmt.Sprintf("olga-%d", i), "olga@erase.example", "", start.Add(time.Duration(i)*time.Hour)))
	}
	if resp := handle(t, p, streamed(t, env, 3)); len(resp.BatchItemFailures) > 0 {
		t.Fatalf("processing failed: %+v", resp)
	}

	startErasure(t, env, "acme", "job-1", "olga@erase.example")
	recs := erasureRecords(t, env, "job-1")
	resp := handle(t, p, recs)
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != recs[0].Change.SequenceNumber {
		t.Fatalf("failures %+v, want the job's record reported for a retry", resp.BatchItemFailures)
	}
	job := erasure(t, env, "acme", "job-1")
	if job.State != privacystore.StateFailed || !strings.Contains(job.Error, "503") || job.ChatsDeleted != 1 || job.NotesDeleted != 1 || job.EntriesDeleted != 1 {
		t.Fatalf("after the outage: %+v, want failed with 503 after one chat", job)
	}
	if len(job.Sealed) == 0 {
		t.Fatal("a failed job lost its identifier: no retry could finish it")
	}
	if got := storedChats(t, env, "acme"); len(got) != 2 {
		t.Fatalf("chats left %v, want the two not reached", got)
	}

	outage.heal()
	if resp := handle(t, p, recs); len(resp.BatchItemFailures) > 0 { // Lambda's retry of the same record
		t.Fatalf("the retry failed: %+v; job %+v", resp, erasure(t, env, "acme", "job-1"))
	}
	job = erasure(t, env, "acme", "job-1")
	if job.State != privacystore.StateDone || job.ChatsDeleted != 3 || job.NotesDeleted != 3 || job.EntriesDeleted != 3 || job.Attempts != 2 || job.Error != "" {
		t.Fatalf("after the retry: %+v, want done with 3 chats, 3 entries, 3 notes", job)
	}
	if !slices.Equal(job.SellRecords, []privacystore.SellRecord{{Kind: "lead", ID: lead}}) {
		t.Errorf("reported %+v, want lead %d", job.SellRecords, lead)
	}
	if got := storedChats(t, env, "acme"); len(got) != 0 {
		t.Errorf("chats left %v", got)
	}
	for i := range 3 {
		if n := notesFor(sb, fmt.Sprintf("olga-%d", i)); len(n) > 0 {
			t.Errorf("notes left of olga-%d: %v", i, n)
		}
	}
	// Delivered once more (a replay): a done job is left as it is.
	if resp := handle(t, p, recs); len(resp.BatchItemFailures) > 0 {
		t.Fatal(resp)
	}
	if again := erasure(t, env, "acme", "job-1"); again.Attempts != 2 || again.ChatsDeleted != 3 {
		t.Fatalf("a done job ran again: %+v", again)
	}
}

// A job that failed is found by replay (make replay), across accounts, and run to
// its end; a missing Sell connection is reported, not retried in a loop.
func TestReplayFinishesUnfinishedErasures(t *testing.T) {
	t.Parallel()
	env, p := newEnv(t)
	storeChat(t, env, "acme", chatJSON("pia-1", "pia@erase.example", "", start))
	storeChat(t, env, "globex", chatJSON("pia-2", "pia@erase.example", "", start))
	startErasure(t, env, "acme", "job-a", "pia@erase.example")
	startErasure(t, env, "globex", "job-g", "pia@erase.example") // globex never connected Sell

	sum, err := p.ReplayErasures(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Run != 2 || sum.Failing != 1 {
		t.Fatalf("summary %+v, want 2 run, globex's failing", sum)
	}
	if j := erasure(t, env, "acme", "job-a"); j.State != privacystore.StateDone || j.ChatsDeleted != 1 {
		t.Fatalf("acme: %+v", j)
	}
	g := erasure(t, env, "globex", "job-g")
	if g.State != privacystore.StateFailed || !strings.Contains(g.Error, "Sell is not connected") {
		t.Fatalf("globex: %+v, want failed for want of Sell", g)
	}
	// Its chat had no note to delete in Sell, so it is erased all the same.
	if got := storedChats(t, env, "globex"); len(got) != 0 {
		t.Fatalf("globex chats %v", got)
	}
	if got := storedChats(t, env, "acme"); len(got) != 0 {
		t.Fatalf("acme chats %v", got)
	}
}

// What the leads function kept about the visitor's lead (the answer replayed for
// its Idempotency-Key, the claim on the email) is cleared; another visitor's stays.
func TestAnErasureClearsTheLeadFunctionsRecordsOfTheVisitor(t *testing.T) {
	t.Parallel()
	env, p := newEnv(t)
	env.SetSettings(t, "acme", func(s *settings.Settings) { s.Access = settings.AccessAllAgents })
	d := env.Deps
	h := leads.New(leads.Deps{Store: d.Store, Gate: d.Gate(), Verifier: d.Verifier, Logger: d.Logger}, nil)
	tok := env.AgentToken(t, "acme", "361", "rex@example.com")
	for key, body := range map[string]string{
		"key-olga": `{"firstName":"Ola","lastName":"Erased","email":"ola@erase.example"}`,
		"key-mia":  `{"firstName":"Mia","lastName":"Kept","email":"mia@erase.example"}`,
	} {
		res := apptest.Do(t, h, apptest.Request{Method: "POST", Path: "/leads", Token: tok, Body: body, Header: map[string]string{"Idempotency-Key": key}})
		if res.Status != 201 {
			t.Fatalf("%s: %d %s", key, res.Status, res.Body)
		}
	}
	before := idempotencyItems(t, env)
	if len(before) != 4 {
		t.Fatalf("the leads function kept %v; want two answers and two email claims (its layout changed?)", before)
	}
	startErasure(t, env, "acme", "job-1", "ola@erase.example")
	if err := p.Erase(context.Background(), "acme", "job-1"); err != nil {
		t.Fatal(err)
	}
	if j := erasure(t, env, "acme", "job-1"); j.LeadRecords != 2 || len(j.SellRecords) != 1 || j.SellRecords[0].Kind != "lead" {
		t.Fatalf("job %+v, want both records of ola's lead cleared and the lead reported", j)
	}
	after := idempotencyItems(t, env)
	if len(after) != 2 {
		t.Fatalf("left %v, want mia's two", after)
	}
	// Mia's lead is still replayed for its key.
	res := apptest.Do(t, h, apptest.Request{Method: "POST", Path: "/leads", Token: tok, Body: `{"firstName":"Mia","lastName":"Kept","email":"mia@erase.example"}`,
		Header: map[string]string{"Idempotency-Key": "key-mia"}})
	if res.Status != 201 || res.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("mia's replay: %d %v", res.Status, res.Header)
	}
}

// idempotencyItems lists the sort keys of what the leads function keeps.
func idempotencyItems(t testing.TB, env *apptest.Env) []string {
	t.Helper()
	var out []string
	for _, prefix := range []string{"IDEMP#", "LEADEMAIL#"} {
		items, err := env.Deps.Store.QueryPrefix(context.Background(), "acme", prefix, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			out = append(out, it.SK)
		}
	}
	return out
}

// A worker that died between creating a note and recording its id left the entry
// claimed without a note id: the erasure finds the note by its marker and deletes it.
func TestAnErasureFindsANoteWhoseIdWasLost(t *testing.T) {
	t.Parallel()
	env, p := newHistoryEnv(t)
	ctx := context.Background()
	storeAndProcess(t, env, p, "acme", chatJSON("lost-1", "vera@example.com", "", start))
	es := entries(t, env, "acme")["lead:2001"]
	if len(es) != 1 || es[0].NoteID == 0 {
		t.Fatalf("entries %+v", es)
	}
	// As if the note's id had never been recorded: claimed, no id.
	lost := expression.Remove(expression.Name("noteId"))
	if err := env.Deps.Store.UpdateIf(ctx, store.Key{Account: "acme", SK: es[0].SK}, lost, store.Exists(), nil); err != nil {
		t.Fatal(err)
	}
	startErasure(t, env, "acme", "job-1", "vera@example.com")
	if err := p.Erase(ctx, "acme", "job-1"); err != nil {
		t.Fatal(err)
	}
	if j := erasure(t, env, "acme", "job-1"); j.NotesDeleted != 1 || j.EntriesDeleted != 1 || j.ChatsDeleted != 1 {
		t.Fatalf("job %+v", j)
	}
	if n := notesFor(env.Sell, "lost-1"); len(n) > 0 {
		t.Fatalf("the lost note is still in Sell: %v", n)
	}
}
