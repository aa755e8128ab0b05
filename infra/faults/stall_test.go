package faults_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sellchat/sellchat/infra/dynamolocal"
	"github.com/sellchat/sellchat/infra/gateway"
	"github.com/sellchat/sellchat/infra/localstack"
	"github.com/sellchat/sellchat/infra/streams"
	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

const (
	account       = "acme"
	webhookSecret = "stall-signing-secret"
	// margin is added to every bound: the machine running the tests is busy.
	margin = 3 * time.Second
)

// TestAStalledTableIsA503WithinTheBudgetAndNothingIsHalfWritten is issue 12's hung
// DynamoDB: with the engine frozen, every route answers the JSON 503
// temporarily_unavailable with Retry-After within the request budget, the stream
// poller and the transcripts handler fail within their bounds (and the batch is
// retried), and once the engine runs again nothing is half-written and the same
// requests succeed.
func TestAStalledTableIsA503WithinTheBudgetAndNothingIsHalfWritten(t *testing.T) {
	ctx := context.Background()
	// An engine of our own: the shared one (DYNAMODB_ENDPOINT) serves other tests.
	engine, err := dynamolocal.Start(ctx, dynamolocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Stop()
	// make run's stack over it, with DynamoDB Local's timeouts.
	s, err := localstack.Start(ctx, localstack.Options{Dir: t.TempDir(), DynamoDB: engine.Endpoint, InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	// The same deployment with the timeouts deployed in AWS, and with DynamoDB calls
	// left unbounded (only the request budget can end those).
	deployed, deployedDeps := serve(t, s, store.DefaultTimeouts)
	unbounded, _ := serve(t, s, store.Timeouts{Attempt: time.Hour, Operation: time.Hour})
	// Pollers of their own over an empty table (the stack's poller may be busy in
	// the transcripts handler when the engine stops; these only read): one running
	// when the engine stops, one started while it is stopped.
	idle := store.New(s.Deps.Store.Client(), "idle")
	if err := idle.CreateTable(ctx); err != nil {
		t.Fatal(err)
	}
	running := &logWatch{}
	runningGot, stopRunning := startPoller(t, idle, running)
	defer stopRunning()

	install(t, s)
	admin := sign(t, s, auth.Identity{Account: account, UserID: "1", Email: selltest.DemoAdminEmail, Name: "Ada", Role: auth.RoleAdmin})
	agent := sign(t, s, auth.Identity{Account: account, UserID: "361", Email: "rex@example.com", Name: "Rex", Role: auth.RoleAgent})
	if res := call(t, s.URL, "PATCH", "/settings", admin, `{"access":"all_agents"}`, map[string]string{"If-Match": "0"}); res.status != 200 {
		t.Fatalf("PATCH /settings: %d %s", res.status, res.body)
	}
	before := readSettings(t, s.URL, admin)
	// A chat stored while the table is healthy: its stream record is what the
	// transcripts handler is given while the table stalls.
	if res := deliver(t, s.URL, chatBody("before-1")); res.status != 202 {
		t.Fatalf("webhook: %d %s", res.status, res.body)
	}
	waitForFeed(t, s.URL, agent, "before-1")
	recs := chatRecords(t, s)
	// Every route to be stalled answers while the table is healthy.
	for _, path := range []string{"/settings", "/panel?email=vera@example.com", "/feed?resourceType=lead&resourceId=2001"} {
		for _, base := range []string{s.URL, deployed, unbounded} {
			if res := call(t, base, "GET", path, tokenFor(path, admin, agent), "", nil); res.status != 200 {
				t.Fatalf("GET %s before the stall: %d %s", path, res.status, res.body)
			}
		}
	}

	const patch = `{"allowAgentsAssignAnyOwner":true,"leadStatus":"Working"}`
	requests := []struct {
		name, base, method, path, token, body string
		header                                map[string]string
		within                                time.Duration
	}{
		{"a read (GET /settings)", s.URL, "GET", "/settings", admin, "", nil, httpx.DefaultBudget},
		{"a write (PATCH /settings)", s.URL, "PATCH", "/settings", admin, patch, map[string]string{"If-Match": fmt.Sprint(before.Version)}, httpx.DefaultBudget},
		{"an agent's lookup (GET /panel)", s.URL, "GET", "/panel?email=vera@example.com", agent, "", nil, httpx.DefaultBudget},
		{"the feed (GET /feed)", s.URL, "GET", "/feed?resourceType=lead&resourceId=2001", agent, "", nil, httpx.DefaultBudget},
		{"the webhook (POST /webhooks/chat)", s.URL, "POST", "/webhooks/chat/" + account, "", chatBody("stalled-1"), nil, httpx.DefaultBudget},
		{"a read with the deployed timeouts", deployed, "GET", "/settings", admin, "", nil, store.DefaultTimeouts.Operation},
		{"the webhook with the deployed timeouts", deployed, "POST", "/webhooks/chat/" + account, "", chatBody("stalled-2"), nil, store.DefaultTimeouts.Operation},
		{"a read whose DynamoDB calls have no bound of their own", unbounded, "GET", "/settings", admin, "", nil, httpx.DefaultBudget},
	}

	if err := engine.Pause(); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	starting := &logWatch{}
	startingGot, stopStarting := startPoller(t, idle, starting)
	defer stopStarting()
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			if err := engine.Resume(); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer resume()

	var wg sync.WaitGroup
	for _, rq := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			header := map[string]string{}
			for k, v := range rq.header {
				header[k] = v
			}
			if rq.method == "POST" {
				signHeaders(header, rq.body)
			}
			began := time.Now()
			res := call(t, rq.base, rq.method, rq.path, rq.token, rq.body, header)
			took := time.Since(began)
			if res.status != http.StatusServiceUnavailable || res.code() != "temporarily_unavailable" || res.header.Get("Retry-After") == "" {
				t.Errorf("%s: %d %q (Retry-After %q), want 503 temporarily_unavailable with Retry-After", rq.name, res.status, res.body, res.header.Get("Retry-After"))
			}
			if took > rq.within+margin {
				t.Errorf("%s answered after %s, want within %s", rq.name, took, rq.within)
			}
		}()
	}
	// The transcripts function as deployed, given the stored chat's record as Lambda
	// gives it (with its function timeout), reports the record failed so that the
	// batch is sent again, long before that timeout: each of its tries at the chat
	// (3) and the marking of the chat as failed end within an operation's deadline.
	wg.Add(1)
	go func() {
		defer wg.Done()
		lambdaCtx, cancel := context.WithTimeout(ctx, streams.DefaultTimeout)
		defer cancel()
		began := time.Now()
		resp, err := transcripts.New(transcripts.Deps{Store: deployedDeps.Store, Vault: deployedDeps.Vault, Logger: deployedDeps.Logger}, phone.E164).Handle(lambdaCtx, events.DynamoDBEvent{Records: recs})
		took := time.Since(began)
		if err == nil && len(resp.BatchItemFailures) != len(recs) {
			t.Errorf("transcripts with the table stalled: %d of %d records reported failed, want all (to be retried)", len(resp.BatchItemFailures), len(recs))
		}
		if bound := 4*store.DefaultTimeouts.Operation + margin; took > bound {
			t.Errorf("transcripts with the table stalled took %s, want within %s", took, bound)
		}
	}()
	// The pollers' reads fail within the operation deadline, and they go on (the
	// stack's poller going on is seen below: the redelivered chats reach the feed).
	for _, w := range []struct {
		name string
		logs *logWatch
	}{{"the running poller", running}, {"the poller started during the stall", starting}} {
		select {
		case line := <-w.logs.timeouts():
			if took := time.Since(paused); took > store.LocalTimeouts.Operation+margin {
				t.Errorf("%s's read failed only after %s: %s", w.name, took, line)
			}
		case <-time.After(time.Until(paused.Add(store.LocalTimeouts.Operation + margin))):
			t.Errorf("%s's reads did not time out: it is hung on the stalled table", w.name)
		}
	}
	wg.Wait()
	resume()

	t.Run("the pollers go on once the table answers", func(t *testing.T) {
		if err := idle.Put(ctx, store.Key{Account: account, SK: "AFTER"}, map[string]string{"a": "b"}); err != nil {
			t.Fatal(err)
		}
		for name, got := range map[string]<-chan string{"the running poller": runningGot, "the poller started during the stall": startingGot} {
			select {
			case sk := <-got:
				if sk != "AFTER" {
					t.Errorf("%s delivered %s", name, sk)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("%s delivered nothing written after the stall", name)
			}
		}
	})
	t.Run("the PATCH was applied whole or not at all", func(t *testing.T) {
		after := readSettings(t, s.URL, admin)
		switch after.Version {
		case before.Version:
			if after.AllowAgentsAssignAnyOwner || after.LeadStatus != before.LeadStatus {
				t.Fatalf("version unchanged but fields changed: %+v", after)
			}
		case before.Version + 1:
			if !after.AllowAgentsAssignAnyOwner || after.LeadStatus != "Working" {
				t.Fatalf("version moved on but not every field was written: %+v", after)
			}
		default:
			t.Fatalf("version %d after %d", after.Version, before.Version)
		}
		// The client's retry after a 503: with the version it reads now.
		res := call(t, s.URL, "PATCH", "/settings", admin, patch, map[string]string{"If-Match": fmt.Sprint(after.Version)})
		if res.status != 200 {
			t.Fatalf("PATCH after the stall: %d %s", res.status, res.body)
		}
	})
	t.Run("the chats posted during the stall reach the feed once when redelivered", func(t *testing.T) {
		for _, id := range []string{"stalled-1", "stalled-2"} {
			if res := deliver(t, s.URL, chatBody(id)); res.status != 202 {
				t.Fatalf("redelivery of %s: %d %s", id, res.status, res.body)
			}
			waitForFeed(t, s.URL, agent, id)
		}
	})
	t.Run("the reads succeed again", func(t *testing.T) {
		for _, path := range []string{"/settings", "/panel?email=vera@example.com", "/feed?resourceType=lead&resourceId=2001"} {
			if res := call(t, s.URL, "GET", path, tokenFor(path, admin, agent), "", nil); res.status != 200 {
				t.Errorf("GET %s: %d %s", path, res.status, res.body)
			}
		}
		if res := call(t, deployed, "GET", "/settings", admin, "", nil); res.status != 200 {
			t.Errorf("GET /settings with the deployed timeouts: %d %s", res.status, res.body)
		}
	})
	t.Run("the transcripts batch succeeds when retried", func(t *testing.T) {
		resp, err := transcripts.New(transcripts.Deps{Store: s.Deps.Store, Vault: s.Deps.Vault, Logger: s.Deps.Logger}, phone.E164).Handle(ctx, events.DynamoDBEvent{Records: recs})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("retry: %v, failures %v", err, resp.BatchItemFailures)
		}
	})
}

// startPoller runs a stream poller over st's table that reports each record's sort
// key and logs to logs; stop ends it and checks it ended cleanly.
func startPoller(t *testing.T, st *store.Store, logs *logWatch) (got <-chan string, stop func()) {
	t.Helper()
	keys := make(chan string, 100)
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan error, 1)
	p := &streams.Poller{DB: st.Client(), Table: st.Table(), Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		Handler: func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			for _, r := range ev.Records {
				keys <- r.Change.Keys["sk"].String()
			}
			return events.DynamoDBEventResponse{}, nil
		}}
	go func() { ended <- p.Run(ctx) }()
	return keys, func() {
		cancel()
		if err := <-ended; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("poller: %v", err)
		}
	}
}

// tokenFor picks the admin's token for the admin's route, the agent's otherwise.
func tokenFor(path, admin, agent string) string {
	if path == "/settings" {
		return admin
	}
	return agent
}

// serve runs s's functions over dependencies built from s's configuration with
// other DynamoDB timeouts, and returns their URL and the dependencies.
func serve(t *testing.T, s *localstack.Stack, timeouts store.Timeouts) (string, *app.Deps) {
	t.Helper()
	cfg := s.Deps.Config
	cfg.DynamoDBTimeouts = timeouts
	d, err := app.Build(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.Logger = s.Deps.Logger
	h, err := gateway.New(d, s.Signer)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL, d
}

// install leaves the account as the OAuth flow does, with history on and the
// webhook secret set.
func install(t *testing.T, s *localstack.Stack) {
	t.Helper()
	ctx := context.Background()
	admin, _ := s.Sell.User(selltest.DemoAdminEmail)
	if err := s.Deps.Vault.Save(ctx, account, tokens.Admin(), s.Sell.TokenFor(selltest.DemoAdminEmail), tokens.SellUser{ID: admin.ID, Name: admin.Name, Email: admin.Email}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deps.Store.UpdateIntegration(ctx, account, func(in *settings.Integration) error {
		in.Installed, in.SellConnected = true, true
		in.SuperiorManager = &settings.SellUser{ID: admin.ID, Name: admin.Name}
		in.WebhookSecret = s.Deps.Box.Seal([]byte(webhookSecret), secrets.AAD(account, "webhook_secret"))
		in.Elements = map[settings.Element]settings.ElementState{
			settings.ChatHistoryInSell: {Enabled: true}, settings.ChatAppInSell: {Enabled: true}, settings.SellAppInChat: {Enabled: true}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func sign(t *testing.T, s *localstack.Stack, id auth.Identity) string {
	t.Helper()
	tok, err := s.Signer.Sign(id)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// chatBody is a finished chat with Vera, who is lead 2001 in the sandbox.
func chatBody(id string) string {
	return `{"id":"` + id + `","type":"chat","timestamp":"2026-11-20T14:02:11Z","end_timestamp":"2026-11-20T14:09:40Z","duration":449,` +
		`"visitor":{"name":"Vera Visitor","email":"vera@example.com"},"agent_names":["Ana Agent"],` +
		`"history":[{"type":"chat.msg","name":"Vera Visitor","nick":"visitor","msg":"Hello","timestamp":"2026-11-20T14:02:15Z"}]}`
}

func signHeaders(h map[string]string, body string) {
	ts := time.Now().UTC().Format(time.RFC3339)
	h[chatwebhook.HeaderTimestamp] = ts
	h[chatwebhook.HeaderSignature] = chatwebhook.Sign([]byte(webhookSecret), ts, []byte(body))
}

func deliver(t *testing.T, base, body string) response {
	t.Helper()
	h := map[string]string{}
	signHeaders(h, body)
	return call(t, base, "POST", "/webhooks/chat/"+account, "", body, h)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) code() string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

// client gives up long after any bound the test checks, so a hung route fails the
// test instead of hanging it.
var client = &http.Client{Timeout: time.Minute}

func call(t *testing.T, base, method, path, token, body string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return response{}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return response{}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

type settingsView struct {
	Version                   int64  `json:"version"`
	LeadStatus                string `json:"leadStatus"`
	AllowAgentsAssignAnyOwner bool   `json:"allowAgentsAssignAnyOwner"`
}

func readSettings(t *testing.T, base, token string) settingsView {
	t.Helper()
	res := call(t, base, "GET", "/settings", token, "", nil)
	var v settingsView
	if res.status != 200 || json.Unmarshal(res.body, &v) != nil {
		t.Fatalf("GET /settings: %d %s", res.status, res.body)
	}
	return v
}

// waitForFeed waits until lead 2001's feed shows chat id, and checks it shows it
// once. The stream's work is asynchronous, so this polls.
func waitForFeed(t *testing.T, base, token, id string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res := call(t, base, "GET", "/feed?resourceType=lead&resourceId=2001", token, "", nil)
		var page struct {
			Items []struct {
				ChatID string `json:"chatId"`
			} `json:"items"`
		}
		_ = json.Unmarshal(res.body, &page)
		n := 0
		for _, it := range page.Items {
			if it.ChatID == id {
				n++
			}
		}
		if n > 1 {
			t.Fatalf("chat %s is in the feed %d times", id, n)
		}
		if n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("chat %s did not reach the feed in 60 s (last answer %d %s)", id, res.status, res.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// chatRecords returns the stream records of the chats stored so far.
func chatRecords(t *testing.T, s *localstack.Stack) []events.DynamoDBEventRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var chats []events.DynamoDBEventRecord
	_, err := streams.ReadAll(ctx, s.Deps.Store.Client(), s.Deps.Store.Table(), func(all []events.DynamoDBEventRecord) bool {
		chats = chats[:0]
		for _, r := range all {
			if r.EventName == "INSERT" && strings.HasPrefix(r.Change.Keys["sk"].String(), "CHAT#") {
				chats = append(chats, r)
			}
		}
		return len(chats) > 0
	})
	if err != nil {
		t.Fatal(err)
	}
	return chats
}

// logWatch collects the stack's log and signals the stream poller's timeouts.
type logWatch struct {
	mu   sync.Mutex
	hits chan string
}

func (l *logWatch) timeouts() <-chan string { return l.ch() }

func (l *logWatch) ch() chan string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hits == nil {
		l.hits = make(chan string, 100)
	}
	return l.hits
}

func (l *logWatch) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(`"stream: `)) && bytes.Contains(p, []byte("deadline exceeded")) {
		select {
		case l.ch() <- string(p):
		default:
		}
	}
	return len(p), nil
}
