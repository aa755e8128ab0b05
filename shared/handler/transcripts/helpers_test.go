package transcripts_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/infra/streams"
	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// fastSell returns clients for sb with the admin's token and no client-side rate
// limit or long backoff, so tests spend their time on behaviour, not waiting.
func fastSell(sb *selltest.Server) transcripts.SellFunc {
	tok := sb.TokenFor(selltest.DemoAdminEmail)
	lims := sell.NewLimiters(0, 0)
	return func(ctx context.Context, account string) (*sell.Client, error) {
		return sell.New(sell.Options{BaseURL: sb.URL, TokenSource: oauth2.StaticTokenSource(tok), Key: account,
			Limiters: lims, Cache: sell.NewCache(time.Minute, nil), Backoff: func(int) time.Duration { return time.Millisecond }})
	}
}

// newEnv is a connected account acme with a processor that uses the vault's token
// (the production path) and retries fast.
// patient is the InlineWait of processors whose tests are about matching and notes,
// not Sell's budget: their batches wait for Sell's pace as long as it takes, so every
// chat is processed in its batch (backlog_test.go tests the budget).
const patient = time.Minute

func newEnv(t *testing.T) (*apptest.Env, *transcripts.Processor) {
	t.Helper()
	env := apptest.New(t)
	env.Connect(t, "acme")
	p := transcripts.NewWith(env.TranscriptsDeps(), transcripts.Options{ReadPhone: phone.E164, Backoff: func(int) time.Duration { return time.Millisecond }, InlineWait: patient})
	return env, p
}

// historyAccount is a deployment whose account acme is connected with Chat history
// in Sell on: where the tests and benchmarks that build a processor of their own
// (another Sell, other options) start.
func historyAccount(tb testing.TB) *apptest.Env {
	tb.Helper()
	env := apptest.New(tb)
	env.Connect(tb, "acme")
	env.SetHistory(tb, "acme", true)
	return env
}

// newHistoryEnv is newEnv with Chat history in Sell switched on for acme.
func newHistoryEnv(t *testing.T) (*apptest.Env, *transcripts.Processor) {
	t.Helper()
	env, p := newEnv(t)
	env.SetHistory(t, "acme", true)
	return env, p
}

func chatJSON(id, email, phone string, start time.Time) string {
	return fmt.Sprintf(`{"id":%q,"type":"chat","timestamp":%q,"duration":60,"visitor":{"name":"V %s","email":%q,"phone":%q},"agent_names":["Ana Agent"],`+
		`"history":[{"type":"chat.msg","nick":"visitor","name":"V","msg":"Hello <script>alert(1)</script>","timestamp":%q}]}`,
		id, start.Format(time.RFC3339), id, email, phone, start.Add(time.Second).Format(time.RFC3339))
}

// createChat parses body and stores it for account as a new chat item received at
// recv, as the webhook does, so that it reaches the table's stream. It returns its
// errors rather than failing a test, for callers on goroutines of their own.
func createChat(ctx context.Context, cs *chatstore.Store, account, body string, recv time.Time) (chats.Chat, chatstore.ChatItem, error) {
	c, err := chats.Parse([]byte(body))
	if err != nil {
		return chats.Chat{}, chatstore.ChatItem{}, err
	}
	it, err := chatstore.NewChatItem(c, recv)
	if err != nil {
		return c, chatstore.ChatItem{}, err
	}
	if err := cs.CreateChat(ctx, account, it); err != nil {
		return c, it, fmt.Errorf("store chat %s of %s: %w", c.ID, account, err)
	}
	return c, it, nil
}

// storeChat stores a chat as the webhook does, received now.
func storeChat(t testing.TB, env *apptest.Env, account, body string) string {
	t.Helper()
	c, _, err := createChat(context.Background(), chatstore.New(env.Deps.Store), account, body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// storeAndProcess stores body for account as the webhook does and processes it at
// once with p, as the stream's handler would; processing must not fail. It returns
// the chat's id: the starting point of the tests of what happens to a chat after.
func storeAndProcess(t testing.TB, env *apptest.Env, p *transcripts.Processor, account, body string) string {
	t.Helper()
	id := storeChat(t, env, account, body)
	if err := p.Process(context.Background(), account, id); err != nil {
		t.Fatal(err)
	}
	return id
}

// streamed reads the table's stream until it holds want chat inserts and returns
// every record, as the Lambda would receive them.
func streamed(t testing.TB, env *apptest.Env, want int) []events.DynamoDBEventRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	recs, err := streams.ReadAll(ctx, env.Deps.Store.Client(), env.Deps.Store.Table(), func(rs []events.DynamoDBEventRecord) bool {
		return countInserts(rs) >= want
	})
	if err != nil {
		t.Fatalf("read stream (%d chat inserts of %d): %v", countInserts(recs), want, err)
	}
	return recs
}

func countInserts(rs []events.DynamoDBEventRecord) int {
	n := 0
	for _, r := range rs {
		if sk, ok := r.Change.Keys["sk"]; ok && strings.HasPrefix(sk.String(), "CHAT#") && r.EventName == "INSERT" {
			n++
		}
	}
	return n
}

// integrationRecords returns the stream records of the INTEGRATION item.
func integrationRecords(t testing.TB, env *apptest.Env, min int) []events.DynamoDBEventRecord {
	t.Helper()
	return recordsOf(t, env, min, skIs("INTEGRATION"))
}

// recordsOf reads the stream until it holds at least min records that match, and
// returns those.
func recordsOf(t testing.TB, env *apptest.Env, min int, match func(events.DynamoDBEventRecord) bool) []events.DynamoDBEventRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pick := func(rs []events.DynamoDBEventRecord) []events.DynamoDBEventRecord {
		var out []events.DynamoDBEventRecord
		for _, r := range rs {
			if match(r) {
				out = append(out, r)
			}
		}
		return out
	}
	recs, err := streams.ReadAll(ctx, env.Deps.Store.Client(), env.Deps.Store.Table(), func(rs []events.DynamoDBEventRecord) bool { return len(pick(rs)) >= min })
	if err != nil {
		t.Fatal(err)
	}
	return pick(recs)
}

// entries returns the account's feed entries per record.
func entries(t testing.TB, env *apptest.Env, account string) map[string][]chatstore.Entry {
	t.Helper()
	all, err := chatstore.New(env.Deps.Store).AllEntries(context.Background(), account)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]chatstore.Entry{}
	for _, e := range all {
		out[e.Record().String()] = append(out[e.Record().String()], e)
	}
	return out
}

// notesFor counts the sandbox's notes per record that carry chatID's marker.
func notesFor(sb *selltest.Server, chatID string) map[string]int {
	out := map[string]int{}
	for _, n := range sb.Notes() {
		if strings.Contains(n.Content, chats.Marker(chatID)) {
			out[fmt.Sprintf("%s:%d", n.ResourceType, n.ResourceID)]++
		}
	}
	return out
}

func handle(t testing.TB, p *transcripts.Processor, recs []events.DynamoDBEventRecord) events.DynamoDBEventResponse {
	t.Helper()
	resp, err := p.Handle(context.Background(), events.DynamoDBEvent{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); f(i) }()
	}
	wg.Wait()
}
