package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sellchat/sellchat/infra/bench"
	"github.com/sellchat/sellchat/infra/lambdaruntime"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

func TestMain(m *testing.M) { storetest.Main(m) }

const root = "../.."

// hello is the baseline bootstrap's name among the built ones.
const hello = "hello"

// coldEvent is the first event of every HTTP bootstrap (and of hello) in the
// cold-start benchmark: a route no function serves, which the router answers with a
// JSON 404 without calling DynamoDB or Sell. Every function then does the same work,
// so the figure is its process start, initialisation and first answer.
var coldEvent = []byte(`{"version":"2.0","routeKey":"$default","rawPath":"/bench/cold-start","rawQueryString":"",` +
	`"headers":{"host":"bench.example","x-forwarded-proto":"https"},"requestContext":{"accountId":"123456789012","apiId":"bench",` +
	`"domainName":"bench.example","http":{"method":"GET","path":"/bench/cold-start","protocol":"HTTP/1.1","sourceIp":"203.0.113.7",` +
	`"userAgent":"bench"},"requestId":"cold-start","routeKey":"$default","stage":"$default","timeEpoch":1795597200000},"isBase64Encoded":false}`)

// emptyBatch is the stream function's counterpart of coldEvent: nothing to process.
var emptyBatch = []byte(`{"Records":[]}`)

// scheduledTick is the chat poll's: EventBridge's minute tick. Every tick is real work
// (a Query of the accounts that poll, none in the bench's table), so chatpoll's cold
// start includes one DynamoDB answer.
var scheduledTick = []byte(`{"version":"0","id":"bench","detail-type":"Scheduled Event","source":"aws.events",` +
	`"account":"123456789012","time":"2026-11-20T14:05:00Z","region":"us-east-1","resources":[],"detail":{}}`)

// firstAnswer is, per function, an event from events/ that reads or writes the table
// (on an account that has not connected Sell, so no Sell call): the cold start to a
// first answer that needed DynamoDB, shown for context.
var firstAnswer = map[string]string{
	"settings":    "settings/get-settings",
	"oauth":       "oauth/start-install",
	"panel":       "panel/lookup-app-disabled",
	"leads":       "leads/create-app-disabled",
	"chatwebhook": "chatwebhook/post-chat",
	"feed":        "feed/get-apps-config",
	"transcripts": "transcripts/history-enabled",
	"privacy":     "privacy/get-erasure-unknown",
}

// loadEvents is how many events each bootstrap answers before its peak RSS is read.
const loadEvents = 300

// functions lists functions/<name>/main.go, as the Makefile's FUNCTIONS does.
func functions(b *testing.B) []string {
	paths, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil || len(paths) == 0 {
		b.Fatalf("no functions found: %v", err)
	}
	var out []string
	for _, p := range paths {
		out = append(out, filepath.Base(filepath.Dir(p)))
	}
	sort.Strings(out)
	return out
}

// buildAll builds every function and hello the way `make build` does, for this
// machine's architecture, and returns the folder holding <name>/bootstrap.
func buildAll(b *testing.B) string {
	b.Helper()
	if runtime.GOOS != "linux" {
		b.Skip("the bootstraps are linux binaries and peak RSS is read from /proc")
	}
	out := b.TempDir()
	pkgs := map[string]string{hello: "./infra/bench/hello"}
	for _, fn := range functions(b) {
		pkgs[fn] = "./functions/" + fn
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := bench.Build(ctx, root, out, runtime.GOARCH, pkgs); err != nil {
		b.Fatal(err)
	}
	return out
}

// fixture is the deployment a bootstrap runs against, and a source of its events.
type fixture struct {
	env    *apptest.Env
	tokens map[string]string
}

const webhookSecret = "bench-signing-secret"

var deliveries atomic.Int64

// newFixture builds a fresh table and Sell sandbox; acme has a webhook secret and,
// when connected, Sell connected with every element on and the panel open to all
// agents, so the events exercise the Sell-backed paths too.
func newFixture(b *testing.B, connected bool) *fixture {
	b.Helper()
	env := apptest.New(b)
	ctx := context.Background()
	env.SealWebhookSecret(b, "acme", webhookSecret)
	if connected {
		env.Connect(b, "acme")
		if _, err := env.Deps.Store.UpdateIntegration(ctx, "acme", func(in *settings.Integration) error {
			in.Elements[settings.ChatHistoryInSell] = settings.ElementState{Enabled: true}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		env.SetSettings(b, "acme", func(s *settings.Settings) { s.Access = settings.AccessAllAgents })
		// The stream events name these chats; transcripts_test.go stores them the same way.
		testdata := filepath.Join(root, "shared", "domain", "chats", "testdata")
		env.StoreChatFiles(b, "acme", filepath.Join(testdata, "chat.json"), filepath.Join(testdata, "offline.json"))
	}
	return &fixture{env: env, tokens: map[string]string{
		"{{ADMIN_TOKEN}}": env.Token(b, "acme", auth.RoleAdmin),
		"{{AGENT_TOKEN}}": env.Token(b, "acme", auth.RoleAgent),
	}}
}

// event returns a maker of the events/ file name ("panel/lookup-app-disabled"): each
// call fills in the tokens and, for a webhook delivery, a chat id of its own and a
// fresh signature, so every delivery stores a new chat as Zendesk's would.
func (f *fixture) event(b *testing.B, name string) func() []byte {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "events", name+".json"))
	if err != nil {
		b.Fatal(err)
	}
	for k, v := range f.tokens {
		raw = bytes.ReplaceAll(raw, []byte(k), []byte(v))
	}
	if !bytes.Contains(raw, []byte("{{WEBHOOK_TIMESTAMP}}")) {
		return func() []byte { return raw }
	}
	return func() []byte {
		var ev map[string]any
		if err := json.Unmarshal(raw, &ev); err != nil {
			b.Fatal(err)
		}
		body, _ := ev["body"].(string)
		var chat struct {
			ID string `json:"id"`
		}
		if json.Unmarshal([]byte(body), &chat) == nil && chat.ID != "" {
			body = strings.Replace(body, `"`+chat.ID+`"`, fmt.Sprintf(`"%s-%d"`, chat.ID, deliveries.Add(1)), 1)
			ev["body"] = body
		}
		ts := time.Now().UTC().Format(time.RFC3339)
		out, err := json.Marshal(ev)
		if err != nil {
			b.Fatal(err)
		}
		out = bytes.ReplaceAll(out, []byte("{{WEBHOOK_TIMESTAMP}}"), []byte(ts))
		return bytes.ReplaceAll(out, []byte("{{WEBHOOK_SIGNATURE}}"), []byte(chatwebhook.Sign([]byte(webhookSecret), ts, []byte(body))))
	}
}

// answer starts bootstrap against a Runtime API of its own (a process killed while it
// polls must not take the next one's invocation), hands it event and returns the time
// from process start to its answer, and the answer.
func answer(b *testing.B, bootstrap string, environ []string, event []byte) (time.Duration, []byte) {
	b.Helper()
	rt := lambdaruntime.NewServer()
	defer rt.Close()
	var logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	proc, err := rt.Start(bootstrap, environ, &logs)
	if err != nil {
		b.Fatal(err)
	}
	res, err := rt.Invoke(ctx, event)
	took := time.Since(start)
	if stopErr := proc.Stop(); stopErr != nil {
		b.Error(stopErr)
	}
	if err != nil || res.Error != nil {
		b.Fatalf("%s: %v %s\nlogs:\n%s", bootstrap, err, res.Error, logs.String())
	}
	return took, res.Payload
}

// status is the HTTP status of an API Gateway answer (0 for a stream function's).
func status(b *testing.B, fn string, payload []byte) int {
	b.Helper()
	if fn == "transcripts" || fn == "chatpoll" {
		return 0
	}
	var out events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &out); err != nil {
		b.Fatalf("%s: not an HTTP API response: %v: %s", fn, err, payload)
	}
	return out.StatusCode
}

// BenchmarkColdStart measures, for each function, process start → first answer of
// its bootstrap through a Lambda Runtime API, side by side with a hello-world
// aws-lambda-go bootstrap built the same way: each iteration starts hello, the
// function on coldEvent and the function on its firstAnswer event, in an order that
// rotates, and the medians are reported. Target: ≤ 1.5 × hello (make bench).
//
//	go test -run '^$' -bench ColdStart -benchtime 15x ./infra/bench/
func BenchmarkColdStart(b *testing.B) {
	bin := buildAll(b)
	for _, fn := range functions(b) {
		b.Run(fn, func(b *testing.B) {
			f := newFixture(b, false)
			environ := f.env.Environ()
			cold, wantCold := coldEvent, 404
			switch fn {
			case "transcripts":
				cold, wantCold = emptyBatch, 0
			case "chatpoll":
				cold, wantCold = scheduledTick, 0
			}
			var first func() []byte
			if name, ok := firstAnswer[fn]; ok {
				first = f.event(b, name)
			} else {
				b.Logf("no firstAnswer event for %s: only the cold start to a 404 is measured", fn)
			}
			var helloTook, coldTook, firstTook []time.Duration
			runs := []func(){
				func() {
					d, p := answer(b, filepath.Join(bin, hello, "bootstrap"), environ, coldEvent)
					if s := status(b, hello, p); s != 200 {
						b.Fatalf("hello answered %d", s)
					}
					helloTook = append(helloTook, d)
				},
				func() {
					d, p := answer(b, filepath.Join(bin, fn, "bootstrap"), environ, cold)
					if s := status(b, fn, p); s != wantCold {
						b.Fatalf("%s answered %d to the cold-start event, want %d: %s", fn, s, wantCold, p)
					}
					coldTook = append(coldTook, d)
				},
				func() {
					if first == nil {
						return
					}
					d, p := answer(b, filepath.Join(bin, fn, "bootstrap"), environ, first())
					if s := status(b, fn, p); s >= 500 {
						b.Fatalf("%s answered %d to %s: %s", fn, s, firstAnswer[fn], p)
					}
					firstTook = append(firstTook, d)
				},
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range runs {
					runs[(i+j)%len(runs)]()
				}
			}
			b.StopTimer()
			h, c := median(helloTook), median(coldTook)
			b.ReportMetric(ms(c), "cold-start-ms")
			b.ReportMetric(ms(h), "hello-ms")
			b.ReportMetric(float64(c)/float64(h), "cold/hello")
			if first != nil {
				b.ReportMetric(ms(median(firstTook)), "first-answer-ms")
			}
		})
	}
}

// BenchmarkPeakRSS drives each bootstrap (and hello) with loadEvents events through a
// Lambda Runtime API, one at a time as Lambda does, cycling through the function's
// events/ files on an account with Sell connected, then reads its peak resident set
// (VmHWM) from /proc. It also reports the bootstrap's size. Targets (make bench):
// ≤ 64 MB peak RSS, ≤ 10 MB bootstrap (MB = 2^20 bytes, as make build prints).
//
//	go test -run '^$' -bench PeakRSS -benchtime 1x ./infra/bench/
func BenchmarkPeakRSS(b *testing.B) {
	bin := buildAll(b)
	for _, fn := range append(functions(b), hello) {
		b.Run(fn, func(b *testing.B) {
			path := filepath.Join(bin, fn, "bootstrap")
			fi, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			f := newFixture(b, true)
			var makers []func() []byte
			if fn == hello {
				makers = append(makers, func() []byte { return coldEvent })
			} else {
				files, _ := filepath.Glob(filepath.Join(root, "events", fn, "*.json"))
				for _, file := range files {
					makers = append(makers, f.event(b, fn+"/"+strings.TrimSuffix(filepath.Base(file), ".json")))
				}
			}
			if len(makers) == 0 {
				b.Fatalf("no events for %s in events/%s", fn, fn)
			}
			var peak int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				peak = max(peak, underLoad(b, path, f.env.Environ(), makers))
			}
			b.StopTimer()
			b.ReportMetric(float64(peak)/(1<<20), "peak-rss-MB")
			b.ReportMetric(float64(fi.Size())/(1<<20), "bootstrap-MB")
		})
	}
}

// underLoad runs one bootstrap through loadEvents events and returns its VmHWM.
func underLoad(b *testing.B, path string, environ []string, makers []func() []byte) int64 {
	b.Helper()
	rt := lambdaruntime.NewServer()
	defer rt.Close()
	var logs bytes.Buffer
	proc, err := rt.Start(path, environ, &logs)
	if err != nil {
		b.Fatal(err)
	}
	var failure error
	statuses := map[int]int{} // what the load was made of, for -v
	for j := 0; j < loadEvents && failure == nil; j++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		res, err := rt.Invoke(ctx, makers[j%len(makers)]())
		cancel()
		switch {
		case err != nil:
			failure = fmt.Errorf("event %d: %w", j, err)
		case res.Error != nil:
			failure = fmt.Errorf("event %d: the function reported an error: %s", j, res.Error)
		default:
			var out events.APIGatewayV2HTTPResponse
			_ = json.Unmarshal(res.Payload, &out) // a stream function's answer counts as 0
			statuses[out.StatusCode]++
		}
	}
	if testing.Verbose() {
		b.Logf("%s: answers by status: %v", path, statuses)
	}
	var st []byte
	if failure == nil {
		st, failure = os.ReadFile(fmt.Sprintf("/proc/%d/status", proc.PID()))
	}
	// Stopped before the logs are read: the process writes them until it exits.
	if err := proc.Stop(); err != nil {
		b.Error(err)
	}
	if failure != nil {
		b.Fatalf("%s: %v\nlogs:\n%s", path, failure, logs.String())
	}
	peak, err := bench.PeakRSS(string(st))
	if err != nil {
		b.Fatal(err)
	}
	return peak
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
