package transcripts_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
	settingsapi "github.com/sellchat/sellchat/shared/handler/settings"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

const day = 24 * time.Hour

// ttlIdentity is who DynamoDB Streams names as the maker of a TTL deletion.
var ttlIdentity = &events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "dynamodb.amazonaws.com"}

func skIs(sk string) func(events.DynamoDBEventRecord) bool {
	return func(r events.DynamoDBEventRecord) bool { return r.Change.Keys["sk"].String() == sk }
}

// lastSettingsChange is the stream record of the nth write of the settings item.
func lastSettingsChange(t testing.TB, env *apptest.Env, nth int) []events.DynamoDBEventRecord {
	t.Helper()
	recs := recordsOf(t, env, nth, skIs("SETTINGS"))
	return recs[nth-1 : nth]
}

// ingest stores a chat as the webhook and the chat poll do, received at recv.
func ingest(t testing.TB, cs *chatstore.Store, id, email string, recv time.Time) {
	t.Helper()
	if _, err := cs.Ingest(context.Background(), "acme", []byte(chatJSON(id, email, "", start)), recv); err != nil {
		t.Fatal(err)
	}
}

// chatInserts are the stream's inserts of the chats named.
func chatInserts(t testing.TB, env *apptest.Env, ids ...string) []events.DynamoDBEventRecord {
	t.Helper()
	want := map[string]bool{}
	for _, id := range ids {
		want["CHAT#"+id] = true
	}
	return recordsOf(t, env, len(ids), func(r events.DynamoDBEventRecord) bool {
		return r.EventName == "INSERT" && want[r.Change.Keys["sk"].String()]
	})
}

// checkExpiries fails unless every stored chat expires days after it was received
// (never, with days 0) and every feed entry with its chat; it returns how many
// chats and entries it checked.
func checkExpiries(t testing.TB, env *apptest.Env, days int) (nChats, nEntries int) {
	t.Helper()
	ctx := context.Background()
	cs := chatstore.New(env.Deps.Store)
	want := map[string]time.Time{}
	for _, id := range storedChats(t, env, "acme") {
		it, err := cs.Chat(ctx, "acme", id)
		if err != nil {
			t.Fatal(err)
		}
		w := settings.Retention{Days: days}.Expiry(it.ReceivedAt)
		if !it.Expires.Equal(w) {
			t.Errorf("chat %s received %v expires %v, want %v", id, it.ReceivedAt, it.Expires, w)
		}
		want[id] = w
	}
	all, err := cs.AllEntries(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if w, ok := want[e.ChatID]; !ok || !e.Expires.Equal(w) {
			t.Errorf("entry %s expires %v, want its chat's %v", e.SK, e.Expires, w)
		}
	}
	return len(want), len(all)
}

func TestNewChatsAndTheirEntriesExpireRetentionDaysAfterTheyArrive(t *testing.T) {
	t.Parallel()
	env, p := newHistoryEnv(t)
	env.SetSettings(t, "acme", func(s *settings.Settings) { s.Retention = settings.Retention{Days: 30} })
	cs := chatstore.New(env.Deps.Store)
	recv := time.Now().UTC().Truncate(time.Second)
	ingest(t, cs, "r-paul", "paul@acme.example", recv)
	if resp := handle(t, p, chatInserts(t, env, "r-paul")); len(resp.BatchItemFailures) > 0 {
		t.Fatalf("failures %+v", resp)
	}
	if n, e := checkExpiries(t, env, 30); n != 1 || e != 3 {
		t.Fatalf("checked %d chats, %d entries; want 1 and paul's contact and two deals", n, e)
	}
	if it, _ := cs.Chat(context.Background(), "acme", "r-paul"); !it.Expires.Equal(recv.Add(30 * day)) {
		t.Fatalf("expires %v", it.Expires)
	}
	if notes := notesFor(env.Sell, "r-paul"); len(notes) != 3 {
		t.Fatalf("notes %v", notes)
	}

	// A chat ingested just after a change carries the setting Ingest read before
	// it; processing gives it, and its entries, the new one.
	env.SetSettings(t, "acme", func(s *settings.Settings) { s.Retention.Days = 7 })
	ingest(t, cs, "r-vera", "vera@example.com", recv.Add(time.Second))
	if it, _ := cs.Chat(context.Background(), "acme", "r-vera"); !it.Expires.Equal(recv.Add(time.Second + 30*day)) {
		t.Fatalf("ingested within RulesTTL: expires %v, want the cached 30 days", it.Expires)
	}
	if resp := handle(t, p, chatInserts(t, env, "r-vera")); len(resp.BatchItemFailures) > 0 {
		t.Fatalf("failures %+v", resp)
	}
	it, _ := cs.Chat(context.Background(), "acme", "r-vera")
	e, err := cs.Entry(context.Background(), "acme", chats.FeedKey(chats.Record{Type: chats.ResourceLead, ID: 2001}, chats.Chat{ID: "r-vera", Start: it.Start}))
	if want := recv.Add(time.Second + 7*day); err != nil || !it.Expires.Equal(want) || !e.Expires.Equal(want) {
		t.Fatalf("processed: chat expires %v, entry %v (%v); want %v", it.Expires, e.Expires, err, want)
	}
}

// patchSettings saves body as the admin's settings page does, at version v.
func patchSettings(t testing.TB, env *apptest.Env, body string, v int) apptest.Response {
	t.Helper()
	res := apptest.Do(t, settingsapi.New(env.AdminDeps()), apptest.Request{Method: "PATCH", Path: "/settings", Body: body,
		Token: env.Token(t, "acme", auth.RoleAdmin), Header: map[string]string{"If-Match": fmt.Sprint(v)}})
	if res.Status != http.StatusOK {
		t.Fatalf("PATCH /settings %s: %d %s", body, res.Status, res.Body)
	}
	return res
}

func TestChangingTheDaysRestampsWhatIsStoredAndZeroKeepsItForever(t *testing.T) {
	t.Parallel()
	env, p := newHistoryEnv(t)
	ctx := context.Background()
	cs := chatstore.New(env.Deps.Store)
	recv := time.Now().UTC().Truncate(time.Second)
	for i, c := range [][2]string{{"s-paul", "paul@acme.example"}, {"s-vera-1", "vera@example.com"}, {"s-vera-2", "vera@example.com"}, {"s-nobody", "nobody@nowhere.example"}} {
		ingest(t, cs, c[0], c[1], recv.Add(-time.Duration(i)*time.Hour))
	}
	if resp := handle(t, p, streamed(t, env, 4)); len(resp.BatchItemFailures) > 0 {
		t.Fatalf("failures %+v", resp)
	}
	// A chat past an earlier retention waits for DynamoDB's deletion: it stays gone.
	old, err := chatstore.NewChatItem(chats.Chat{ID: "s-expired", Raw: []byte(chatJSON("s-expired", "vera@example.com", "", start))}, recv.Add(-40*day))
	if err != nil {
		t.Fatal(err)
	}
	old.Expires = recv.Add(-10 * day)
	if err := cs.CreateChat(ctx, "acme", old); err != nil {
		t.Fatal(err)
	}
	checkExpiries(t, env, 0)

	res := patchSettings(t, env, `{"retention":{"days":7}}`, 0)
	if !strings.Contains(string(res.Body), `"retention":{"days":7,"deleteSellNotes":false}`) {
		t.Fatalf("PATCH answered %s", res.Body)
	}
	if resp := handle(t, p, lastSettingsChange(t, env, 1)); len(resp.BatchItemFailures) > 0 {
		t.Fatalf("failures %+v", resp)
	}
	if n, e := checkExpiries(t, env, 7); n != 4 || e != 5 {
		t.Fatalf("checked %d chats and %d entries, want 4 and 5", n, e)
	}
	job, err := cs.RetentionJob(ctx, "acme")
	if err != nil || job.State != chatstore.JobDone || job.Days != 7 || job.Chats != 4 || job.Entries != 5 || job.Changed != 9 || job.Error != "" {
		t.Fatalf("job %+v (%v)", job, err)
	}
	if _, err := cs.Chat(ctx, "acme", "s-expired"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the expired chat came back: %v", err)
	}

	// The change is in the audit trail, with what it was before.
	res = apptest.Do(t, settingsapi.New(env.AdminDeps()), apptest.Request{Method: "GET", Path: "/audit", Token: env.Token(t, "acme", auth.RoleAdmin)})
	var trail struct {
		Items []struct {
			Action  string
			Changes map[string]struct{ From, To map[string]any }
		}
	}
	res.JSON(t, &trail)
	if len(trail.Items) == 0 || trail.Items[0].Action != "settings.update" ||
		trail.Items[0].Changes["retention"].From["days"] != 0.0 || trail.Items[0].Changes["retention"].To["days"] != 7.0 {
		t.Fatalf("audit: %s", res.Body)
	}

	// The notes option alone moves no expiry: no job runs.
	patchSettings(t, env, `{"retention":{"deleteSellNotes":true}}`, 1)
	if resp := handle(t, p, lastSettingsChange(t, env, 2)); len(resp.BatchItemFailures) > 0 {
		t.Fatalf("failures %+v", resp)
	}
	if again, _ := cs.RetentionJob(ctx, "acme"); again != job {
		t.Fatalf("the notes option ran the job: %+v", again)
	}

	// Back to keeping forever: every expiry goes, the expired chat's included not.
	patchSettings(t, env, `{"retention":{"days":0}}`, 2)
	if resp := handle(t, p, lastSettingsChange(t, env, 3)); len(resp.BatchItemFailures) > 0 {
		t.Fatalf("failures %+v", resp)
	}
	if n, e := checkExpiries(t, env, 0); n != 4 || e != 5 {
		t.Fatalf("checked %d chats and %d entries, want 4 and 5", n, e)
	}
	if job, _ := cs.RetentionJob(ctx, "acme"); job.State != chatstore.JobDone || job.Days != 0 || job.Changed != 9 {
		t.Fatalf("job %+v", job)
	}
	if _, err := cs.Chat(ctx, "acme", "s-expired"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("keeping forever brought the expired chat back: %v", err)
	}
}

func TestATTLDeletionOfAnEntryDeletesItsNoteOnlyWhenTheAdminChoseSo(t *testing.T) {
	t.Parallel()
	env, p := newHistoryEnv(t)
	ctx := context.Background()
	ids := []string{"t-kept", "t-deleted", "t-erased"}
	for _, id := range ids {
		storeChat(t, env, "acme", chatJSON(id, "vera@example.com", "", start))
	}
	if resp := handle(t, p, streamed(t, env, 3)); len(resp.BatchItemFailures) > 0 {
		t.Fatalf("failures %+v", resp)
	}
	sks := map[string]string{}
	for _, e := range entries(t, env, "acme")["lead:2001"] {
		if e.NoteID == 0 {
			t.Fatalf("entry %s has no note", e.SK)
		}
		sks[e.ChatID] = e.SK
	}
	// removal deletes the entry of chatID (as the TTL would, or as sellchat does)
	// and returns the stream's record of it.
	removal := func(chatID string, byTTL bool) []events.DynamoDBEventRecord {
		t.Helper()
		if err := env.Deps.Store.Delete(ctx, store.Key{Account: "acme", SK: sks[chatID]}); err != nil {
			t.Fatal(err)
		}
		recs := recordsOf(t, env, 1, func(r events.DynamoDBEventRecord) bool {
			return r.EventName == "REMOVE" && skIs(sks[chatID])(r)
		})
		if byTTL { // DynamoDB Local deletes nothing by itself: the identity is AWS's
			recs[0].UserIdentity = ttlIdentity
		}
		return recs
	}
	notes := func(id string) int { return notesFor(env.Sell, id)["lead:2001"] }

	env.SetSettings(t, "acme", func(s *settings.Settings) { s.Retention = settings.Retention{Days: 30} })
	if resp := handle(t, p, removal("t-kept", true)); len(resp.BatchItemFailures) > 0 || notes("t-kept") != 1 {
		t.Fatalf("deleteSellNotes off: failures %+v, notes %d; want the note kept", resp, notes("t-kept"))
	}

	env.SetSettings(t, "acme", func(s *settings.Settings) { s.Retention.DeleteSellNotes = true })
	recs := removal("t-deleted", true)
	env.Sell.SetFaults(selltest.Faults{ErrorRate: 1, ErrorStatus: 503})
	resp := handle(t, p, recs)
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != recs[0].Change.SequenceNumber || notes("t-deleted") != 1 {
		t.Fatalf("Sell down: failures %+v, notes %d; want the record retried", resp, notes("t-deleted"))
	}
	env.Sell.SetFaults(selltest.Faults{})
	for range 2 { // the retry, then a redelivery: a note already gone is fine
		if resp := handle(t, p, recs); len(resp.BatchItemFailures) > 0 || notes("t-deleted") != 0 {
			t.Fatalf("failures %+v, notes %d; want the note gone", resp, notes("t-deleted"))
		}
	}

	// A removal sellchat made (an erasure, an uninstall) is not the TTL's.
	if resp := handle(t, p, removal("t-erased", false)); len(resp.BatchItemFailures) > 0 || notes("t-erased") != 1 {
		t.Fatalf("a plain removal: failures %+v, notes %d; want the note kept", resp, notes("t-erased"))
	}
	if notes("t-kept") != 1 {
		t.Fatal("the first note went after all")
	}
}

// dynamoFaults sits between a DynamoDB client and DynamoDB Local: it fails every
// UpdateItem after the first failAfter (when failAfter >= 0), like a connection
// that breaks, and counts the queries of the account's chats.
type dynamoFaults struct {
	failAfter   int32
	updates     atomic.Int32
	chatQueries atomic.Int32
}

func (f *dynamoFaults) RoundTrip(r *http.Request) (*http.Response, error) {
	switch target := r.Header.Get("X-Amz-Target"); {
	case strings.HasSuffix(target, ".UpdateItem"):
		if f.failAfter >= 0 && f.updates.Add(1) > f.failAfter {
			return nil, errors.New("injected fault: connection reset")
		}
	case strings.HasSuffix(target, ".Query"):
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte(`"CHAT#"`)) {
			f.chatQueries.Add(1)
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// processorThrough is a processor whose table calls go through f.
func processorThrough(env *apptest.Env, f *dynamoFaults) *transcripts.Processor {
	db := dynamodb.New(env.Deps.Store.Client().Options(), func(o *dynamodb.Options) {
		o.HTTPClient = &http.Client{Transport: f}
		o.Retryer = aws.NopRetryer{}
	})
	d := env.TranscriptsDeps()
	d.Store = store.New(db, env.Deps.Store.Table())
	return transcripts.NewWith(d, transcripts.Options{Backoff: func(int) time.Duration { return time.Millisecond }})
}

func TestARetentionJobStoppedByAFaultResumesAfterTheLastPageDone(t *testing.T) {
	t.Parallel()
	env, _ := newEnv(t)
	ctx := context.Background()
	cs := chatstore.New(env.Deps.Store)
	recv := time.Now().UTC().Truncate(time.Second)
	const n = 10 // four pages of three
	for i := range n {
		id := fmt.Sprintf("j-%02d", i)
		c, it, err := createChat(ctx, cs, "acme", chatJSON(id, "vera@example.com", "", start), recv.Add(-time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if err := cs.CreateEntry(ctx, "acme", chatstore.NewEntry(chats.Record{Type: chats.ResourceLead, ID: int64(100 + i)}, c, it.Start, recv)); err != nil {
			t.Fatal(err)
		}
	}
	env.SetSettings(t, "acme", func(s *settings.Settings) { s.Retention = settings.Retention{Days: 10} })

	// The table breaks in the second page of chats.
	err := processorThrough(env, &dynamoFaults{failAfter: 4}).ApplyRetention(ctx, "acme")
	if err == nil {
		t.Fatal("the job passed through a broken table")
	}
	job, _ := cs.RetentionJob(ctx, "acme")
	if job.State != chatstore.JobFailed || job.Error == "" || job.Phase != chatstore.PhaseChats || job.After != chatstore.ChatKey("j-02") || job.Chats != 3 {
		t.Fatalf("stopped job %+v", job)
	}
	if p := job.Progress(); p.State != chatstore.JobFailed || p.Error == "" {
		t.Fatalf("progress %+v", p)
	}

	// make replay finishes it from there: three pages of chats, not four.
	healthy := &dynamoFaults{failAfter: -1}
	sum, err := processorThrough(env, healthy).ReplayRetention(ctx, nil)
	if err != nil || sum.Run != 1 || sum.Failing != 0 {
		t.Fatalf("replay %+v %v", sum, err)
	}
	if q := healthy.chatQueries.Load(); q != 3 {
		t.Fatalf("the resumed job read %d pages of chats, want the 3 after the last page done", q)
	}
	job, _ = cs.RetentionJob(ctx, "acme")
	if job.State != chatstore.JobDone || job.Chats != n || job.Entries != n || job.Changed != 2*n || job.Error != "" || job.After != "" {
		t.Fatalf("finished job %+v", job)
	}
	if c, e := checkExpiries(t, env, 10); c != n || e != n {
		t.Fatalf("checked %d chats and %d entries", c, e)
	}
	// Nothing unfinished is left for the next replay.
	if sum, err := processorThrough(env, healthy).ReplayRetention(ctx, nil); err != nil || sum.Run != 0 {
		t.Fatalf("second replay %+v %v", sum, err)
	}
}
