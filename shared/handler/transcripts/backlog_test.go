package transcripts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// These tests are about Sell's budget: their processors keep the default
// InlineWait, so a chat that would wait longer for Sell is queued, not processed
// in its batch.

// budgetSell gives each account its own Sell sandbox (and so its own token
// and budget), with fastSell's clients.
func budgetSell(sbs map[string]*selltest.Server) transcripts.SellFunc {
	fns := map[string]transcripts.SellFunc{}
	for account, sb := range sbs {
		fns[account] = fastSell(sb)
	}
	return func(ctx context.Context, account string) (*sell.Client, error) {
		f, ok := fns[account]
		if !ok {
			return nil, fmt.Errorf("no Sell for %s", account)
		}
		return f(ctx, account)
	}
}

// budgetEnv connects each account, with chat history on and a Sell sandbox of
// its own holding a lead for every visitor the test sends.
func budgetEnv(t *testing.T, accounts ...string) (*apptest.Env, *transcripts.Processor, map[string]*selltest.Server) {
	t.Helper()
	env := apptest.New(t)
	sbs := map[string]*selltest.Server{}
	for _, a := range accounts {
		env.Connect(t, a)
		env.SetHistory(t, a, true)
		sb := selltest.NewServer(selltest.Options{RateLimit: -1})
		t.Cleanup(sb.Close)
		sbs[a] = sb
	}
	p := transcripts.NewWith(env.TranscriptsDeps(), transcripts.Options{
		Sell: budgetSell(sbs), ReadPhone: phone.E164, Backoff: func(int) time.Duration { return time.Millisecond },
	})
	return env, p, sbs
}

// budgetChats stores n chats of account, each from a visitor who is a lead in its
// Sell, and returns their ids.
func budgetChats(t *testing.T, env *apptest.Env, sb *selltest.Server, account, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		email := fmt.Sprintf("%s-%d@%s.example", prefix, i, account)
		sb.AddLead(sell.Lead{LastName: prefix, Email: email, OwnerID: selltest.DemoAdminID})
		ids[i] = storeChat(t, env, account, chatJSON(fmt.Sprintf("%s-%s-%03d", account, prefix, i), email, "", start.Add(time.Duration(i)*time.Minute)))
	}
	return ids
}

// queuedBudgetChats stores n chats of account as budgetChats does and queues them
// in the account's backlog, as the stream handler queues the chats it cannot
// process in their batch: where the tests of the drain start.
func queuedBudgetChats(t *testing.T, env *apptest.Env, sb *selltest.Server, account, prefix string, n int) []string {
	t.Helper()
	ids := budgetChats(t, env, sb, account, prefix, n)
	if _, err := env.Deps.Store.Enqueue(context.Background(), account, ids, time.Now()); err != nil {
		t.Fatal(err)
	}
	return ids
}

// budgetInserts picks the chat inserts of ids from the stream's records.
func budgetInserts(recs []events.DynamoDBEventRecord, ids []string) []events.DynamoDBEventRecord {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var out []events.DynamoDBEventRecord
	for _, r := range recs {
		if c := store.DecodeStreamRecord(r); c.Kind == store.ChangeChat && c.Inserted && want[c.ChatID] {
			out = append(out, r)
		}
	}
	return out
}

func budgetStatus(t *testing.T, env *apptest.Env, account, id string) string {
	t.Helper()
	it, err := chatstore.New(env.Deps.Store).Chat(context.Background(), account, id)
	if err != nil {
		t.Fatal(err)
	}
	return it.Status
}

// oneBudgetNoteEach fails unless each chat has exactly one note in sb.
func oneBudgetNoteEach(t *testing.T, sb *selltest.Server, ids []string) {
	t.Helper()
	for _, id := range ids {
		notes := notesFor(sb, id)
		if len(notes) != 1 {
			t.Errorf("chat %s has notes %v, want one on its lead", id, notes)
		}
		for rec, n := range notes {
			if n != 1 {
				t.Errorf("chat %s has %d notes on %s", id, n, rec)
			}
		}
	}
}

func budgetBacklog(t *testing.T, env *apptest.Env, account string) (store.Backlog, bool) {
	t.Helper()
	b, found, err := env.Deps.Store.Backlog(context.Background(), account)
	if err != nil {
		t.Fatal(err)
	}
	return b, found
}

func TestAnAccountAtSellsLimitWaitsInItsBacklogWhileAnotherInTheSameBatchGoesOn(t *testing.T) {
	t.Parallel()
	env, p, sbs := budgetEnv(t, "acme", "globex")
	ctx := context.Background()
	// acme's Sell answers every call with 429 and a Retry-After of a second: longer
	// than a batch waits for one account.
	sbs["acme"].SetFaults(selltest.Faults{ErrorRate: 1, ErrorStatus: http.StatusTooManyRequests})
	flooded := budgetChats(t, env, sbs["acme"], "acme", "first", 3)
	idle := budgetChats(t, env, sbs["globex"], "globex", "first", 3)
	recs := streamed(t, env, 6)

	if resp := handle(t, p, budgetInserts(recs, append(append([]string{}, flooded...), idle...))); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("a 429 was reported for the stream to retry: %+v", resp.BatchItemFailures)
	}
	for _, id := range idle {
		if st := budgetStatus(t, env, "globex", id); st != chats.StatusMatched {
			t.Errorf("globex's chat %s is %q after the batch, want matched", id, st)
		}
	}
	oneBudgetNoteEach(t, sbs["globex"], idle)
	for _, id := range flooded {
		if st := budgetStatus(t, env, "acme", id); st == chats.StatusFailed || st == chats.StatusMatched {
			t.Errorf("acme's throttled chat %s is %q, want it waiting", id, st)
		}
	}
	if b, found := budgetBacklog(t, env, "acme"); !found || b.Waiting() != 3 {
		t.Fatalf("acme's backlog = %+v (found %v), want 3 waiting", b, found)
	}
	if _, found := budgetBacklog(t, env, "globex"); found {
		t.Fatal("globex has a backlog though its Sell took every chat")
	}

	// Sell is back, but acme's next chat joins the backlog rather than overtake it:
	// the batch makes no Sell call for acme.
	sbs["acme"].Heal()
	sbs["acme"].ResetCalls()
	later := budgetChats(t, env, sbs["acme"], "acme", "later", 1)
	recs = streamed(t, env, 7)
	if resp := handle(t, p, budgetInserts(recs, later)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures: %+v", resp.BatchItemFailures)
	}
	if n := sbs["acme"].TotalCalls(); n != 0 {
		t.Fatalf("the batch made %d Sell calls for an account with a backlog", n)
	}
	if b, _ := budgetBacklog(t, env, "acme"); b.Waiting() != 4 {
		t.Fatalf("acme's backlog = %+v, want 4 waiting", b)
	}

	rep, err := p.Drain(ctx, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accounts != 1 || rep.Processed != 4 || rep.Failed != 0 || rep.Left != 0 {
		t.Fatalf("drain: %+v", rep)
	}
	all := append(append([]string{}, flooded...), later...)
	for _, id := range all {
		if st := budgetStatus(t, env, "acme", id); st != chats.StatusMatched {
			t.Errorf("acme's chat %s is %q after the drain", id, st)
		}
	}
	oneBudgetNoteEach(t, sbs["acme"], all)
	if _, found := budgetBacklog(t, env, "acme"); found {
		t.Fatal("the emptied backlog is still open")
	}
	if rep, err := p.Drain(ctx, time.Second); err != nil || rep != (transcripts.DrainReport{}) {
		t.Fatalf("a drain with nothing queued: %+v, %v", rep, err)
	}
}

// Once one chat of an account meets its spent budget, the batch's chats of that
// account not started yet are queued untried: each would otherwise take its turn
// at Sell's pace, holding the batch, and so the shard.
func TestAfterTheFirstThrottledChatTheRestOfTheAccountsBatchIsQueuedUntried(t *testing.T) {
	t.Parallel()
	env, p, sbs := budgetEnv(t, "acme")
	ids := budgetChats(t, env, sbs["acme"], "acme", "spent", 25)
	recs := budgetInserts(streamed(t, env, 25), ids)
	sbs["acme"].SetFaults(selltest.Faults{ErrorRate: 1, ErrorStatus: http.StatusTooManyRequests})
	sbs["acme"].ResetCalls()
	if resp := handle(t, p, recs); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures: %+v", resp.BatchItemFailures)
	}
	if b, _ := budgetBacklog(t, env, "acme"); b.Waiting() != 25 {
		t.Fatalf("backlog = %+v, want all 25 chats queued", b)
	}
	// The batch's searches, and the first call of the chats already running on the
	// batch's workers when the first 429 came back; not one call per chat.
	if n := sbs["acme"].TotalCalls(); n >= len(ids) {
		t.Fatalf("the batch made %d Sell calls for %d chats on a spent budget", n, len(ids))
	}
}

func TestA429LongerThanTheDrainsRunLeavesTheChatsQueuedNotFailed(t *testing.T) {
	t.Parallel()
	env, p, sbs := budgetEnv(t, "acme")
	ctx := context.Background()
	ids := queuedBudgetChats(t, env, sbs["acme"], "acme", "q", 2)
	sbs["acme"].SetFaults(selltest.Faults{ErrorRate: 1, ErrorStatus: http.StatusTooManyRequests})
	rep, err := p.Drain(ctx, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Processed != 0 || rep.Failed != 0 || rep.Left != 1 {
		t.Fatalf("drain against a Sell that only answers 429: %+v", rep)
	}
	for _, id := range ids {
		if st := budgetStatus(t, env, "acme", id); st == chats.StatusFailed {
			t.Fatalf("a 429 marked chat %s failed", id)
		}
	}
	if b, found := budgetBacklog(t, env, "acme"); !found || b.Waiting() != 2 || b.LeaseOwner != "" {
		t.Fatalf("backlog after the run: %+v (found %v), want 2 waiting and the lease released", b, found)
	}
	sbs["acme"].Heal()
	if rep, err := p.Drain(ctx, 20*time.Second); err != nil || rep.Processed != 2 || rep.Left != 0 {
		t.Fatalf("the next run: %+v, %v", rep, err)
	}
	oneBudgetNoteEach(t, sbs["acme"], ids)
}

func TestAQueuedChatThatFailsForGoodIsMarkedFailedForReplayAndTheBacklogCloses(t *testing.T) {
	t.Parallel()
	env, p, sbs := budgetEnv(t, "acme")
	ctx := context.Background()
	ids := queuedBudgetChats(t, env, sbs["acme"], "acme", "x", 2)
	sbs["acme"].SetFaults(selltest.Faults{ErrorRate: 1, ErrorStatus: http.StatusServiceUnavailable})
	rep, err := p.Drain(ctx, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Processed != 2 || rep.Failed != 2 || rep.Left != 0 {
		t.Fatalf("drain against a Sell that is down: %+v", rep)
	}
	for _, id := range ids {
		if st := budgetStatus(t, env, "acme", id); st != chats.StatusFailed {
			t.Errorf("chat %s is %q, want failed (make replay takes it)", id, st)
		}
	}
	if _, found := budgetBacklog(t, env, "acme"); found {
		t.Fatal("the backlog stayed open over chats that were marked failed")
	}
}

func TestDrainsRunningAtOnceProcessEachQueuedChatOnce(t *testing.T) {
	t.Parallel()
	env, p, sbs := budgetEnv(t, "acme", "globex")
	ctx := context.Background()
	queued := map[string][]string{}
	for _, a := range []string{"acme", "globex"} {
		queued[a] = queuedBudgetChats(t, env, sbs[a], a, "many", 30)
	}
	var (
		mu    sync.Mutex
		total transcripts.DrainReport
	)
	// Three drains at once, again until no backlog is left: how many rounds that
	// takes depends on the machine's speed (each run's window is 20 s), not on
	// what is checked, that each chat was processed once.
	for round := 0; round < 10; round++ {
		left := false
		parallel(3, func(int) {
			rep, err := p.Drain(ctx, 20*time.Second)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			total.Processed += rep.Processed
			total.Failed += rep.Failed
			left = left || rep.Left > 0
		})
		if !left {
			break
		}
	}
	if total.Processed != 60 || total.Failed != 0 {
		t.Fatalf("three drains at once processed %+v, want 60 chats once each", total)
	}
	for a, ids := range queued {
		oneBudgetNoteEach(t, sbs[a], ids)
		if _, found := budgetBacklog(t, env, a); found {
			t.Errorf("%s's backlog is still open", a)
		}
	}
}

func TestTheScheduleDrainsAndAStreamBatchIsHandledThroughOneEntryPoint(t *testing.T) {
	t.Parallel()
	env, p, sbs := budgetEnv(t, "acme")
	ctx := context.Background()
	queued := queuedBudgetChats(t, env, sbs["acme"], "acme", "sched", 2)
	// EventBridge's scheduled event, as the template's DrainBacklogs schedule sends it.
	scheduled := `{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events",` +
		`"account":"123456789012","time":"2026-12-03T09:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/drain"],"detail":{}}`
	out, err := p.Invoke(ctx, json.RawMessage(scheduled))
	if err != nil {
		t.Fatal(err)
	}
	if rep, ok := out.(transcripts.DrainReport); !ok || rep.Processed != 2 {
		t.Fatalf("the scheduled event answered %#v", out)
	}
	oneBudgetNoteEach(t, sbs["acme"], queued)

	fresh := budgetChats(t, env, sbs["acme"], "acme", "stream", 1)
	batch, err := json.Marshal(events.DynamoDBEvent{Records: budgetInserts(streamed(t, env, 3), fresh)})
	if err != nil {
		t.Fatal(err)
	}
	out, err = p.Invoke(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if resp, ok := out.(events.DynamoDBEventResponse); !ok || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("the stream batch answered %#v", out)
	}
	if st := budgetStatus(t, env, "acme", fresh[0]); st != chats.StatusMatched {
		t.Fatalf("the streamed chat is %q", st)
	}
	if _, err := p.Invoke(ctx, json.RawMessage(`{"Records": [`)); err == nil {
		t.Fatal("a truncated event was taken")
	}
}

// The chats an account sends beyond its Sell pace are stored straight into its
// backlog: the template's stream filter drops their inserts (so they never stand in
// the shard before other accounts' chats), the handler ignores them even unfiltered,
// and the drain processes them, each once.
func TestChatsBeyondAnAccountsPaceSkipTheStreamAndTheDrainTakesThem(t *testing.T) {
	t.Parallel()
	env, p, sbs := budgetEnv(t, "acme")
	ctx := context.Background()
	cs := chatstore.New(env.Deps.Store).Admit(0.001, 2) // a burst of two, then next to nothing
	ids := make([]string, 5)
	for i := range ids {
		email := fmt.Sprintf("paced-%d@acme.example", i)
		sbs["acme"].AddLead(sell.Lead{LastName: "Paced", Email: email, OwnerID: selltest.DemoAdminID})
		ids[i] = fmt.Sprintf("acme-paced-%d", i)
		if _, err := cs.Ingest(ctx, "acme", []byte(chatJSON(ids[i], email, "", start.Add(time.Duration(i)*time.Minute))), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	recs := budgetInserts(streamed(t, env, 5), ids)
	kept, err := apptest.TranscriptsStreamFilters(t).Keep(recs)
	if err != nil {
		t.Fatal(err)
	}
	var passed []string
	for _, r := range kept {
		passed = append(passed, store.DecodeStreamRecord(r).ChatID)
	}
	if !slices.Equal(passed, ids[:2]) {
		t.Fatalf("the stream filter passed %v, want the burst %v", passed, ids[:2])
	}
	// The drain takes the queued chats; then the burst's batch is processed in the
	// stream, and the queued chats' inserts, handed to the handler as a stack
	// without the filter would, cost nothing.
	if rep, err := p.Drain(ctx, 20*time.Second); err != nil || rep.Processed != 3 || rep.Left != 0 {
		t.Fatalf("the drain: %+v, %v; want the 3 queued chats", rep, err)
	}
	if resp := handle(t, p, kept); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures: %+v", resp.BatchItemFailures)
	}
	sbs["acme"].ResetCalls()
	if resp := handle(t, p, recs[2:]); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures: %+v", resp.BatchItemFailures)
	}
	if n := sbs["acme"].TotalCalls(); n != 0 {
		t.Fatalf("the queued chats' inserts made %d Sell calls", n)
	}
	if _, found := budgetBacklog(t, env, "acme"); found {
		t.Fatal("the queued chats' inserts reopened the backlog")
	}
	for _, id := range ids {
		if st := budgetStatus(t, env, "acme", id); st != chats.StatusMatched {
			t.Fatalf("chat %s is %q", id, st)
		}
	}
	oneBudgetNoteEach(t, sbs["acme"], ids)
}
