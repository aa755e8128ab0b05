package chatpoll_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sellchat/sellchat/infra/streams"
	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/chatpoll"
	"github.com/sellchat/sellchat/shared/handler/feed"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

func TestMain(m *testing.M) { storetest.Main(m) }

const exportCall = "GET " + zendesk.ExportPath

// world is a deployment whose account acme polls chats (installed, history in Sell
// on, Chat connected) from a Zendesk sandbox with a clock of its own, shared with the
// poller, so tests move time instead of waiting.
type world struct {
	env   *apptest.Env
	clock *zendesktest.Clock
	zd    *zendesktest.Server
	cs    *chatstore.Store
}

// newWorld starts the world with the sandbox's export refusing start times younger
// than minAge, and seed's chats (none when nil).
func newWorld(t *testing.T, minAge time.Duration, chats ...json.RawMessage) *world {
	t.Helper()
	t.Parallel()
	clock := zendesktest.NewClock(time.Now().UTC().Truncate(time.Second))
	seed := zendesktest.DemoSeed()
	seed.Chats = chats
	env := apptest.NewWith(t, apptest.Options{Zendesk: zendesktest.Options{Seed: seed, Now: clock.Now, MinAge: minAge}})
	env.Connect(t, "acme")
	env.ConnectChat(t, "acme")
	env.SetHistory(t, "acme", true)
	return &world{env: env, clock: clock, zd: env.Zendesk, cs: chatstore.New(env.Deps.Store)}
}

// poller polls with the world's clock, waiting minAge for a start time (and a chat).
func (w *world) poller(minAge time.Duration, change ...func(*chatpoll.Deps)) *chatpoll.Poller {
	d := w.env.PollDeps()
	d.Now, d.MinAge = w.clock.Now, minAge
	for _, c := range change {
		c(&d)
	}
	return chatpoll.New(d)
}

// run runs p once and fails the test on an error.
func run(t *testing.T, p *chatpoll.Poller) chatpoll.Report {
	t.Helper()
	rep, err := p.Run(context.Background())
	if err != nil {
		t.Fatalf("run: %v (%+v)", err, rep)
	}
	return rep
}

// addChat adds a finished chat of vera@example.com (a Sell lead of the demo) to the
// sandbox, ended now on its clock.
func (w *world) addChat(t *testing.T, id string) zendesk.ExportedChat {
	t.Helper()
	return w.zd.AddChat(map[string]any{"id": id, "visitor": map[string]any{"name": "Vera Visitor", "email": selltest.DemoVeraEmail},
		"history": []map[string]any{{"type": "chat.msg", "nick": "visitor", "name": "Vera Visitor", "msg": "Hello from " + id}}})
}

// addAgedChat adds a chat as addChat does and moves the clock two minutes on, past
// the one-minute minimum age most of these tests poll with, so that the next run
// may take it: the step that starts nearly every test of what a run stores.
func (w *world) addAgedChat(t *testing.T, id string) {
	t.Helper()
	w.addChat(t, id)
	w.clock.Advance(2 * time.Minute)
}

// addAgedChats adds n chats as addChat does, named prefix0 … prefix(n-1), and moves
// the clock on as addAgedChat does.
func (w *world) addAgedChats(t *testing.T, prefix string, n int) {
	t.Helper()
	for i := range n {
		w.addChat(t, fmt.Sprintf("%s%d", prefix, i))
	}
	w.clock.Advance(2 * time.Minute)
}

// queue puts chat ids in acme's backlog, as the stream handler queues a flood.
func (w *world) queue(t *testing.T, ids ...string) {
	t.Helper()
	if _, err := w.env.Deps.Store.Enqueue(context.Background(), "acme", ids, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
}

// updateChat changes a chat in the sandbox, which shows it again in the export.
func (w *world) updateChat(t *testing.T, id string, fields map[string]any) {
	t.Helper()
	if _, ok := w.zd.UpdateChat(id, fields); !ok {
		t.Fatalf("no chat %s in the sandbox", id)
	}
}

// stored reports whether chat id of account is in the table.
func (w *world) stored(t *testing.T, account, id string) bool {
	t.Helper()
	_, err := w.cs.Chat(context.Background(), account, id)
	if err != nil && !errors.Is(err, chatstore.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// exportsAnswered counts the export calls the sandbox answered with status.
func (w *world) exportsAnswered(status int) int {
	n := 0
	for _, c := range w.zd.Calls() {
		if c.String() == exportCall && c.Status == status {
			n++
		}
	}
	return n
}

func TestAFinishedChatIsStoredOnlyOnceItIsOlderThanTheExportsMinimumAge(t *testing.T) {
	w := newWorld(t, time.Minute)
	p := w.poller(time.Minute)
	w.addChat(t, "c-young")

	if rep := run(t, p); rep.Stored != 0 || w.stored(t, "acme", "c-young") {
		t.Fatalf("a chat that ended just now was taken: %+v", rep)
	}
	w.clock.Advance(30 * time.Second)
	if rep := run(t, p); rep.Stored != 0 || w.stored(t, "acme", "c-young") {
		t.Fatalf("a chat half a minimum age old was taken: %+v", rep)
	}
	w.clock.Advance(31 * time.Second)
	if rep := run(t, p); rep.Stored != 1 || !w.stored(t, "acme", "c-young") {
		t.Fatalf("the chat was not taken once old enough: %+v", rep)
	}
	if n := w.exportsAnswered(http.StatusUnprocessableEntity); n != 0 {
		t.Fatalf("the sandbox refused %d start times as too recent", n)
	}
}

func TestEndedChatsAndOfflineMessagesAreStoredAndChatsStillGoingOnWait(t *testing.T) {
	goingOn := json.RawMessage(`{"id":"c-going-on","type":"chat","timestamp":"{{t}}","update_timestamp":"{{t}}","visitor":{"name":"Ongoing","email":"on@example.com"}}`)
	seed := zendesktest.DemoSeed()
	w := newWorld(t, time.Minute, append(seed.Chats, goingOn)...)
	rep := run(t, w.poller(time.Minute))
	if rep.Stored != 3 || rep.NotEnded != 1 || rep.Accounts != 1 || rep.Polled != 1 {
		t.Fatalf("report %+v, want the demo's 2 chats and offline message stored, 1 chat going on", rep)
	}
	for _, id := range []string{zendesktest.DemoVeraChatID, zendesktest.DemoLiamChatID, zendesktest.DemoPaulChatID} {
		if !w.stored(t, "acme", id) {
			t.Errorf("%s was not stored", id)
		}
	}
	if w.stored(t, "acme", "c-going-on") {
		t.Fatal("a chat still going on was stored")
	}
	// It ends: the export shows it again, and it is taken once old enough.
	w.clock.Advance(2 * time.Minute)
	w.updateChat(t, "c-going-on", map[string]any{"end_timestamp": w.clock.Now().Format(time.RFC3339)})
	w.clock.Advance(2 * time.Minute)
	if rep := run(t, w.poller(time.Minute)); rep.Stored != 1 || !w.stored(t, "acme", "c-going-on") {
		t.Fatalf("the chat that ended was not taken: %+v", rep)
	}
}

func TestRunningTwiceStoresAChatOnceAndAnUpdatedChatIsADuplicate(t *testing.T) {
	w := newWorld(t, time.Minute)
	p := w.poller(time.Minute)
	w.addAgedChat(t, "c-once")
	if rep := run(t, p); rep.Stored != 1 || rep.Duplicates != 0 {
		t.Fatalf("first run %+v", rep)
	}
	if rep := run(t, p); rep.Stored != 0 || rep.Duplicates != 0 {
		t.Fatalf("second run %+v: the cursor should have moved past the chat", rep)
	}
	// Rated afterwards: the export shows the chat again, and the ingest, once per id,
	// acknowledges it as a duplicate.
	w.updateChat(t, "c-once", map[string]any{"rating": "good"})
	w.clock.Advance(2 * time.Minute)
	if rep := run(t, p); rep.Stored != 0 || rep.Duplicates != 1 {
		t.Fatalf("run after the update %+v, want one duplicate", rep)
	}
	items, err := w.env.Deps.Store.QueryPrefix(context.Background(), "acme", chatstore.ChatKey(""), 0, false)
	if err != nil || len(items) != 1 {
		t.Fatalf("%d chats stored (%v), want 1", len(items), err)
	}
}

func TestACursorSavedAfterEachPageLetsTheNextRunGoOnAndARepeatedPageIsDuplicates(t *testing.T) {
	w := newWorld(t, time.Minute)
	for i := range 5 {
		w.addChat(t, "c-page-"+string(rune('a'+i)))
	}
	w.clock.Advance(2 * time.Minute)
	small := func(d *chatpoll.Deps) { d.PageSize, d.MaxPages = 2, 1 }
	p := w.poller(time.Minute, small)
	if rep := run(t, p); rep.Stored != 2 || rep.Pages != 1 {
		t.Fatalf("first run %+v, want one page of 2", rep)
	}
	cur := w.cursor(t)
	if cur.StartID != "c-page-b" || cur.LastRunAt.IsZero() || cur.LastError != "" || cur.Stored != 2 {
		t.Fatalf("cursor %+v, want it after c-page-b", cur)
	}
	// A run that dies after its page was stored but before the cursor was saved
	// leaves the older cursor: the page is read again, and its chats are duplicates.
	if err := w.env.Deps.Store.SaveChatPollCursor(context.Background(), "acme", store.ChatPollCursor{StartTime: cur.StartTime.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if rep := run(t, p); rep.Stored != 0 || rep.Duplicates != 2 {
		t.Fatalf("the repeated page %+v, want 2 duplicates", rep)
	}
	for _, want := range []int{2, 1, 0} {
		if rep := run(t, p); rep.Stored != want {
			t.Fatalf("run stored %d, want %d (%+v)", rep.Stored, want, rep)
		}
	}
	for i := range 5 {
		if id := "c-page-" + string(rune('a'+i)); !w.stored(t, "acme", id) {
			t.Errorf("%s was not stored", id)
		}
	}
}

func TestARateLimitHoldsTheAccountBackUntilRetryAfter(t *testing.T) {
	w := newWorld(t, time.Minute)
	p := w.poller(time.Minute)
	w.addAgedChat(t, "c-limited")
	w.zd.FailNext(1, http.StatusTooManyRequests) // Retry-After: 1
	rep := run(t, p)
	if rep.RateLimited != 1 || rep.Stored != 0 || len(rep.Failed) != 0 {
		t.Fatalf("rate-limited run %+v: a 429 is a wait, not a failure", rep)
	}
	if cur := w.cursor(t); !cur.NotBefore.Equal(w.clock.Now().Add(time.Second)) {
		t.Fatalf("cursor %+v, want not before %s", cur, w.clock.Now().Add(time.Second))
	}
	calls := w.zd.CallCount(exportCall)
	if rep := run(t, p); rep.Skipped != 1 || rep.Polled != 0 || w.zd.CallCount(exportCall) != calls {
		t.Fatalf("run before Retry-After %+v: the account was not held back", rep)
	}
	w.clock.Advance(2 * time.Second)
	if rep := run(t, p); rep.Stored != 1 || !w.stored(t, "acme", "c-limited") {
		t.Fatalf("run after Retry-After %+v", rep)
	}
	if cur := w.cursor(t); !cur.NotBefore.IsZero() || cur.LastError != "" {
		t.Fatalf("cursor after the wait %+v", cur)
	}
}

func TestOnlyAccountsWithChatConnectedAndHistoryOnArePolled(t *testing.T) {
	w := newWorld(t, time.Minute)
	env, ctx := w.env, context.Background()
	// globex: installed, history on, Chat never connected.
	env.Connect(t, "globex")
	env.SetHistory(t, "globex", true)
	// initech: installed, Chat connected, history off.
	env.Connect(t, "initech")
	env.ConnectChat(t, "initech")
	w.addAgedChat(t, "c-acme")

	accounts, err := env.Deps.Store.ChatPollAccounts(ctx)
	if err != nil || !slices.Equal(accounts, []string{"acme"}) {
		t.Fatalf("accounts to poll %v %v, want [acme]", accounts, err)
	}
	if rep := run(t, w.poller(time.Minute)); rep.Accounts != 1 || rep.Stored != 1 {
		t.Fatalf("report %+v", rep)
	}
	if w.stored(t, "globex", "c-acme") || w.stored(t, "initech", "c-acme") {
		t.Fatal("an account that does not poll got the chat")
	}
	// acme switches history off: it is no longer polled at all, and its cursor waits.
	env.SetHistory(t, "acme", false)
	calls := w.zd.CallCount(exportCall)
	if rep := run(t, w.poller(time.Minute)); rep.Accounts != 0 || w.zd.CallCount(exportCall) != calls {
		t.Fatalf("report %+v after history went off", rep)
	}
}

func TestAnAccountsFailureDoesNotStopTheOthers(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.env.Connect(t, "globex")
	w.env.ConnectChat(t, "globex")
	w.env.SetHistory(t, "globex", true)
	w.addAgedChat(t, "c-both")
	// The first export call fails; the other account's goes through. One worker,
	// so the accounts take their turns in order.
	w.zd.FailNext(1, http.StatusInternalServerError)
	rep, err := w.poller(time.Minute, func(d *chatpoll.Deps) { d.Workers = 1 }).Run(context.Background())
	if err == nil || len(rep.Failed) != 1 || rep.Failed["acme"] == "" || !strings.Contains(err.Error(), "chat poll of acme") {
		t.Fatalf("err %v, report %+v: want acme's failure, named", err, rep)
	}
	if !w.stored(t, "globex", "c-both") || w.stored(t, "acme", "c-both") {
		t.Fatal("globex's poll did not go on after acme's failed")
	}
	if cur := w.cursor(t); cur.LastError == "" {
		t.Fatalf("acme's cursor does not say what failed: %+v", cur)
	}
	if rep := run(t, w.poller(time.Minute)); rep.Stored != 1 || !w.stored(t, "acme", "c-both") {
		t.Fatalf("the next run %+v", rep)
	}
}

// TestTheCursorNeverAsksForAStartTimeZendeskWouldRefuse runs the poll every minute
// for a quarter of an hour with Zendesk's own five minutes, chats ending all along:
// the sandbox, which refuses a younger start_time with the documented 422, never has
// to, and every chat arrives.
func TestTheCursorNeverAsksForAStartTimeZendeskWouldRefuse(t *testing.T) {
	w := newWorld(t, zendesk.ExportMinAge)
	p := w.poller(0) // the default: Zendesk's five minutes and a margin
	var added []string
	for minute := range 15 {
		if minute%2 == 0 {
			id := "c-minute-" + string(rune('a'+minute))
			w.addChat(t, id)
			added = append(added, id)
		}
		run(t, p)
		w.clock.Advance(time.Minute)
	}
	for range 7 { // the last chats age past the minimum
		run(t, p)
		w.clock.Advance(time.Minute)
	}
	if n := w.exportsAnswered(http.StatusUnprocessableEntity); n != 0 {
		t.Fatalf("the sandbox refused %d start times as too recent", n)
	}
	for _, id := range added {
		if !w.stored(t, "acme", id) {
			t.Errorf("%s never arrived", id)
		}
	}
}

// TestAPolledChatReachesTheLeadsFeed is the whole way: the poll stores the chat, the
// table's stream hands it to the transcripts function, which matches Vera's lead and
// writes the entry that GET /feed shows.
func TestAPolledChatReachesTheLeadsFeed(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.addAgedChat(t, "c-to-feed")
	if rep := run(t, w.poller(time.Minute)); rep.Stored != 1 {
		t.Fatalf("report %+v", rep)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	recs, err := streams.ReadAll(ctx, w.env.Deps.Store.Client(), w.env.Deps.Store.Table(), func(rs []events.DynamoDBEventRecord) bool {
		return slices.ContainsFunc(rs, func(r events.DynamoDBEventRecord) bool {
			c := store.DecodeStreamRecord(r)
			return c.Kind == store.ChangeChat && c.ChatID == "c-to-feed"
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := transcripts.New(w.env.TranscriptsDeps(), phone.E164).Handle(ctx, events.DynamoDBEvent{Records: recs})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("transcripts: %v %+v", err, resp.BatchItemFailures)
	}
	res := apptest.Do(t, feed.New(w.env.FeedDeps()), apptest.Request{Method: "GET", Path: "/feed?resourceType=lead&resourceId=2001",
		Token: w.env.Token(t, "acme", auth.RoleAgent)})
	var page struct {
		HistoryVisible bool `json:"historyVisible"`
		Items          []struct {
			ChatID string `json:"chatId"`
		} `json:"items"`
	}
	res.JSON(t, &page)
	if res.Status != 200 || !page.HistoryVisible || len(page.Items) != 1 || page.Items[0].ChatID != "c-to-feed" {
		t.Fatalf("lead 2001's feed: %d %s", res.Status, res.Body)
	}
}

// TestAStartTimeZendeskFindsTooRecentIsAskedAgainLater is a poller whose clock runs
// ahead of Zendesk's (here: it waits one minute where the sandbox wants five): the
// refusal is no failure, the cursor stays, and the same start is asked once Zendesk
// takes it.
func TestAStartTimeZendeskFindsTooRecentIsAskedAgainLater(t *testing.T) {
	w := newWorld(t, 5*time.Minute)
	p := w.poller(time.Minute)
	w.addAgedChat(t, "c-first")
	if rep := run(t, p); rep.Stored != 1 {
		t.Fatalf("first run %+v", rep)
	}
	before := w.cursor(t)
	w.addAgedChat(t, "c-second") // the cursor (c-first's end) is 4 minutes old
	if rep := run(t, p); rep.Stored != 0 || len(rep.Failed) != 0 || w.exportsAnswered(http.StatusUnprocessableEntity) != 1 {
		t.Fatalf("run with a start Zendesk refuses %+v", rep)
	}
	if after := w.cursor(t); !after.StartTime.Equal(before.StartTime) || after.StartID != before.StartID || after.LastError != "" {
		t.Fatalf("cursor %+v, want it unchanged (%+v) and no error", after, before)
	}
	w.clock.Advance(2 * time.Minute)
	if rep := run(t, p); rep.Stored != 1 || !w.stored(t, "acme", "c-second") {
		t.Fatalf("run once Zendesk takes the start %+v", rep)
	}
}

// BenchmarkAPageOfAThousandChats times a run that reads one full export page of new
// chats and stores them all (and the empty page after it), on a fresh account each
// time:
//
//	go run ./infra/cmd/dynamolocal -- go test -run '^$' -bench APage -benchtime 3x ./shared/handler/chatpoll
func BenchmarkAPageOfAThousandChats(b *testing.B) {
	clock := zendesktest.NewClock(time.Now().UTC().Truncate(time.Second))
	seed := zendesktest.DemoSeed()
	seed.Chats = nil
	env := apptest.NewWith(b, apptest.Options{Zendesk: zendesktest.Options{Seed: seed, Now: clock.Now, MinAge: time.Minute, ExportRateLimit: -1}})
	for i := range zendesk.ExportMaxLimit {
		env.Zendesk.AddChat(map[string]any{"id": fmt.Sprintf("c-bench-%04d", i), "visitor": map[string]any{"name": "Vera Visitor", "email": selltest.DemoVeraEmail},
			"history": []map[string]any{{"type": "chat.msg", "nick": "visitor", "name": "Vera Visitor", "msg": "Hello"}}})
	}
	clock.Advance(2 * time.Minute)
	d := env.PollDeps()
	d.Now, d.MinAge = clock.Now, time.Minute
	p := chatpoll.New(d)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		account := fmt.Sprintf("bench%d", i)
		env.Connect(b, account)
		env.ConnectChat(b, account)
		env.SetHistory(b, account, true)
		if i > 0 {
			env.SetHistory(b, fmt.Sprintf("bench%d", i-1), false)
		}
		b.StartTimer()
		rep, err := p.Run(context.Background())
		if err != nil || rep.Stored != zendesk.ExportMaxLimit {
			b.Fatalf("%v %+v", err, rep)
		}
	}
}

// pastChat is a chat of Vera's that ended, and was last updated, days before now.
func pastChat(id string, days int) json.RawMessage {
	at := time.Now().UTC().Add(-time.Duration(days) * 24 * time.Hour).Format(time.RFC3339)
	return json.RawMessage(fmt.Sprintf(`{"id":%q,"type":"chat","timestamp":%q,"end_timestamp":%q,"update_timestamp":%q,
"visitor":{"name":"Vera Visitor","email":%q},"history":[{"type":"chat.msg","nick":"visitor","name":"Vera Visitor","msg":"Hello","timestamp":%q}]}`,
		id, at, at, at, selltest.DemoVeraEmail, at))
}

// pickPastChats switches history on for account as the settings page does, with
// past chats from the given time, which the domain reads and stores.
func (w *world) pickPastChats(t *testing.T, account string, from time.Time) {
	t.Helper()
	yes, date := true, from.Format(time.RFC3339)
	if _, err := w.env.Deps.Store.UpdateIntegration(context.Background(), account, func(in *settings.Integration) error {
		return in.Change(settings.ChatHistoryInSell, settings.ElementChange{Enabled: &yes, Confirm: &yes, PastChatsFrom: &date}, "1", w.clock.Now())
	}); err != nil {
		t.Fatal(err)
	}
}

// cursor reads acme's poll cursor and fails the test if it cannot.
func (w *world) cursor(t *testing.T) store.ChatPollCursor {
	t.Helper()
	cur, err := w.env.Deps.Store.ChatPollCursor(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	return cur
}

// TestThePollStartsAtThePickedDateAndStartsOverOnlyAtANewOne: the admin picks how
// far back past chats go; the poll reads from there, goes on from its cursor while
// the date stays, and reads again from an older date once one is picked, the chats it
// had as duplicates.
func TestThePollStartsAtThePickedDateAndStartsOverOnlyAtANewOne(t *testing.T) {
	w := newWorld(t, time.Minute, pastChat("c-40d", 40), pastChat("c-20d", 20), pastChat("c-10d", 10))
	p := w.poller(time.Minute)
	from := w.clock.Now().Add(-15 * 24 * time.Hour)
	w.pickPastChats(t, "acme", from)
	if rep := run(t, p); rep.Stored != 1 || !w.stored(t, "acme", "c-10d") || w.stored(t, "acme", "c-20d") {
		t.Fatalf("the first run %+v: want the one chat after the picked date", rep)
	}
	if cur := w.cursor(t); !cur.From.Equal(from) || !cur.CaughtUp {
		t.Fatalf("cursor %+v, want it from %s and caught up", cur, from)
	}

	// The same date again (history switched on anew): the poll goes on where it was.
	w.addAgedChat(t, "c-new")
	w.pickPastChats(t, "acme", from)
	if rep := run(t, p); rep.Stored != 1 || rep.Duplicates != 0 || !w.stored(t, "acme", "c-new") {
		t.Fatalf("with the date unchanged %+v: want only the new chat, nothing read again", rep)
	}

	// An older date: the poll starts over there.
	older := w.clock.Now().Add(-30 * 24 * time.Hour)
	w.pickPastChats(t, "acme", older)
	rep := run(t, p)
	if rep.Stored != 1 || rep.Duplicates != 2 || !w.stored(t, "acme", "c-20d") || w.stored(t, "acme", "c-40d") {
		t.Fatalf("after picking an older date %+v: want c-20d stored and the two chats read again as duplicates", rep)
	}
	if cur := w.cursor(t); !cur.From.Equal(older) || cur.Stored != 3 || !cur.CaughtUp {
		t.Fatalf("cursor %+v, want it from %s, 3 chats stored in all, caught up", cur, older)
	}
}

// TestWithoutAPickedDateTheFirstRunReachesHistoryBack: an account that switched
// history on before the date could be picked keeps the poll's own 30 days, and its
// cursor now knows where it started.
func TestWithoutAPickedDateTheFirstRunReachesHistoryBack(t *testing.T) {
	w := newWorld(t, time.Minute, pastChat("c-40d", 40), pastChat("c-20d", 20))
	if rep := run(t, w.poller(time.Minute)); rep.Stored != 1 || !w.stored(t, "acme", "c-20d") {
		t.Fatalf("report %+v: want the chat of the last 30 days only", rep)
	}
	if cur := w.cursor(t); !cur.From.Equal(w.clock.Now().Add(-chatpoll.DefaultHistory)) {
		t.Fatalf("cursor %+v, want it from %s", cur, w.clock.Now().Add(-chatpoll.DefaultHistory))
	}
}

// TestACursorIsCaughtUpOnlyOnceABacklogIsRead: a run that stops with pages left is
// not caught up, and its cursor has come part of the way; the run that reads the
// last page is.
func TestACursorIsCaughtUpOnlyOnceABacklogIsRead(t *testing.T) {
	w := newWorld(t, time.Minute, pastChat("c-25d", 25), pastChat("c-15d", 15), pastChat("c-5d", 5))
	w.pickPastChats(t, "acme", w.clock.Now().Add(-30*24*time.Hour))
	p := w.poller(time.Minute, func(d *chatpoll.Deps) { d.PageSize, d.MaxPages = 1, 1 })
	horizon := func() time.Time { return w.clock.Now().Add(-zendesk.ExportMinAge) }
	var last float64
	for i := range 3 {
		run(t, p)
		cur := w.cursor(t)
		progress, _ := cur.Progress(horizon())
		if cur.CaughtUp || progress <= last || progress >= 1 {
			t.Fatalf("after page %d of a backlog: caught up %v, progress %v (was %v)", i+1, cur.CaughtUp, progress, last)
		}
		last = progress
	}
	run(t, p) // an empty page: the end
	if cur := w.cursor(t); !cur.CaughtUp || cur.Stored != 3 {
		t.Fatalf("cursor %+v, want it caught up with 3 chats", cur)
	}
}

// TestAStartPickedAsNowIsNotAskedBeforeItIsOldEnough: a date picked as today may lie
// inside the export's minimum age; the poll waits instead of asking Zendesk for it.
func TestAStartPickedAsNowIsNotAskedBeforeItIsOldEnough(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.pickPastChats(t, "acme", w.clock.Now())
	w.addChat(t, "c-today")
	p := w.poller(time.Minute)
	run(t, p)
	w.clock.Advance(2 * time.Minute)
	if rep := run(t, p); rep.Stored != 1 || !w.stored(t, "acme", "c-today") {
		t.Fatalf("report %+v: want today's chat once old enough", rep)
	}
	if n := w.exportsAnswered(http.StatusUnprocessableEntity); n != 0 {
		t.Fatalf("the sandbox refused %d start times as too recent", n)
	}
}

// TestTheExportIsReadNoFasterThanSellTakesTheChats: while the account's backlog
// holds what Sell takes in the next minutes (at least a page), the poll does not
// ask Zendesk for more; the export keeps the chats, and the poll reads on from
// where it was once the backlog has drained. Nothing is lost or read twice.
func TestTheExportIsReadNoFasterThanSellTakesTheChats(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.addAgedChats(t, "c-held-", 5)
	ctx := context.Background()
	s := w.env.Deps.Store
	// Three chats wait in the backlog (a flood that came by the webhook): more than
	// a page of two, and no drain has measured Sell's pace yet.
	waiting := []string{"c-queued-1", "c-queued-2", "c-queued-3"}
	w.queue(t, waiting...)
	p := w.poller(time.Minute, func(d *chatpoll.Deps) { d.PageSize, d.ReadAhead = 2, 10*time.Second })
	rep := run(t, p)
	if rep.HeldBack != 1 || rep.Pages != 0 || rep.Stored != 0 || w.exportsAnswered(http.StatusOK) != 0 {
		t.Fatalf("with a backlog of three: %+v, %d export calls", rep, w.exportsAnswered(http.StatusOK))
	}
	if cur := w.cursor(t); !cur.HeldBack || cur.CaughtUp || cur.LastError != "" {
		t.Fatalf("the cursor of a held back run: %+v", cur)
	}

	// A drain measured half a chat a second: ten seconds ahead is five chats, so
	// three waiting no longer hold the poll back, and it reads on from its start.
	if _, err := s.LeaseBacklog(ctx, "acme", "drain-1", w.clock.Now().Add(time.Hour), w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseBacklog(ctx, "acme", "drain-1", 0.5, w.clock.Now()); err != nil {
		t.Fatal(err)
	}
	rep = run(t, p)
	if rep.Stored != 5 || rep.Duplicates != 0 || rep.HeldBack != 0 {
		t.Fatalf("with a pace of 0.5 a second: %+v", rep)
	}
	if cur := w.cursor(t); cur.HeldBack || !cur.CaughtUp || cur.Stored != 5 {
		t.Fatalf("the cursor once all is read: %+v", cur)
	}

	// Five waiting hold it back again; once they are taken, a new chat is read.
	w.queue(t, "c-queued-4", "c-queued-5")
	w.addAgedChat(t, "c-held-5")
	if rep = run(t, p); rep.HeldBack != 1 || rep.Stored != 0 {
		t.Fatalf("with five waiting: %+v", rep)
	}
	if err := s.Dequeue(ctx, "acme", append(waiting, "c-queued-4", "c-queued-5")); err != nil {
		t.Fatal(err)
	}
	if rep = run(t, p); rep.HeldBack != 0 || rep.Stored != 1 {
		t.Fatalf("with the backlog drained: %+v", rep)
	}
	for i := range 6 {
		if id := fmt.Sprintf("c-held-%d", i); !w.stored(t, "acme", id) {
			t.Errorf("%s was not stored", id)
		}
	}
}

// TestAPageAsksOnlyForWhatTheBacklogLacks: with one chat waiting and room for a
// page of four (no pace measured yet), the export is asked for three chats a page,
// so six chats take three pages (the last one empty) instead of two.
func TestAPageAsksOnlyForWhatTheBacklogLacks(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.addAgedChats(t, "c-room-", 6)
	w.queue(t, "c-queued")
	p := w.poller(time.Minute, func(d *chatpoll.Deps) { d.PageSize = 4 })
	if rep := run(t, p); rep.Pages != 3 || rep.Stored != 6 || rep.HeldBack != 0 {
		t.Fatalf("%+v, want 6 chats in pages of 3", rep)
	}
}
