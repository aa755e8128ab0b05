// Command bench is `make bench`: it runs the project's benchmarks, each of which
// measures a figure and its reference side by side in the same run (a lookup and one
// Sell round trip, the webhook and a bare PutItem, a function's cold start and a
// hello-world's), prints the figures against their targets and writes them to
// .bench/results.json as a list of {"name","value","unit","target","met"}.
//
//	go run ./infra/cmd/dynamolocal -- go run ./infra/cmd/bench [-out FILE] [-only REGEXP]
//
// Under dynamolocal every benchmark shares one DynamoDB Local; alone, each test
// binary starts its own. It exits 1 when a benchmark fails or a figure with a target
// was not measured, not when a target is missed: the table says so, and the figures
// are what the run is for.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/sellchat/sellchat/infra/bench"
)

// run is one `go test -bench` invocation. Each has its own -benchtime: the Sell
// benchmarks pace every operation at 0.5 s, the ingest ones need thousands.
type run struct {
	pkg, bench, benchtime string
}

var runs = []run{
	// 40 paced lookups per case: the p50 is steady at that, and p99 is the slowest.
	{"./shared/handler/panel", "^BenchmarkLookup$", "40x"},
	{"./shared/handler/leads", "^BenchmarkCreateLead$", "20x"},
	{"./shared/handler/oauth", "^BenchmarkSessionExchange$", "40x"},
	{"./shared/handler/chatwebhook", "^BenchmarkIngestVsPutItem$", "4000x"},
	{"./shared/handler/chatwebhook", "^BenchmarkAckWithSlowSell$", "400x"},
	// One pass of 100 chats through each path: the figures are counts, not timings.
	{"./shared/handler/transcripts", "^BenchmarkSellCallsPerChat$", "1x"},
	// Sell's pace (issue 16): one run each, of minutes; the figures are rates and
	// percentiles over thousands of chats, not over iterations.
	{"./shared/handler/transcripts", "^BenchmarkAccountThroughput$", "1x"},
	{"./shared/handler/transcripts", "^BenchmarkPastChatsDrain$", "1x"},
	{"./shared/handler/transcripts", "^BenchmarkFloodFairness$", "1x"},
	{"./shared/handler/chatpoll", "^BenchmarkConversationsPerMinute$", "1x"},
	// 25 starts of each bootstrap (and of hello beside each): cheap, and a shared
	// machine's noise needs the samples.
	{"./infra/bench", "^BenchmarkColdStart$", "25x"},
	{"./infra/bench", "^BenchmarkPeakRSS$", "1x"},
}

func main() {
	out := flag.String("out", filepath.Join(".bench", "results.json"), "where to write the results (relative to the module root)")
	only := flag.String("only", "", "run only the benchmarks whose package or name match this regexp")
	flag.Parse()
	os.Exit(mainErr(*out, *only))
}

func mainErr(out, only string) int {
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	var filter *regexp.Regexp
	if only != "" {
		if filter, err = regexp.Compile(only); err != nil {
			fmt.Fprintln(os.Stderr, "bench: -only:", err)
			return 1
		}
	}
	fns, err := functions(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	procs := runtime.GOMAXPROCS(0)
	fmt.Printf("bench: %s, %d CPUs (GOMAXPROCS %d), %s/%s, %s; DynamoDB Local %s\n",
		cpuModel(), runtime.NumCPU(), procs, runtime.GOOS, runtime.GOARCH, runtime.Version(), orDefault(os.Getenv("DYNAMODB_ENDPOINT"), "per test binary"))

	lines := map[string]bench.Line{}
	var failed []string
	for _, r := range runs {
		if filter != nil && !filter.MatchString(r.pkg+" "+r.bench) {
			continue
		}
		start := time.Now()
		fmt.Printf("\n== %s %s (-benchtime %s)\n", r.pkg, r.bench, r.benchtime)
		if err := goTest(root, r, procs, lines); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s %s: %v\n", r.pkg, r.bench, err)
			failed = append(failed, r.pkg+" "+r.bench)
		}
		fmt.Printf("== %s done in %s\n", r.pkg, time.Since(start).Round(time.Second))
	}

	results := bench.Collect(figures(fns), lines)
	if filter != nil {
		results = measuredOnly(results)
	}
	fmt.Println()
	if err := bench.WriteTable(os.Stdout, results); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out)
	}
	if err := bench.WriteJSON(out, results); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	fmt.Println("\nwrote", out)
	var missing []string
	for _, r := range results {
		if r.Value == nil && r.Target != nil {
			missing = append(missing, r.Name)
		}
	}
	if len(failed) > 0 || len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "bench: failed runs %v; figures with a target not measured %v\n", failed, missing)
		return 1
	}
	return 0
}

// goTest runs one benchmark and parses its lines as they come, echoing them.
func goTest(root string, r run, procs int, lines map[string]bench.Line) error {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", r.bench, "-benchtime", r.benchtime, "-benchmem",
		"-count", "1", "-cpu", fmt.Sprint(procs), "-timeout", "30m", r.pkg)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	perr := bench.Parse(stdout, procs, os.Stdout, lines)
	_, _ = io.Copy(io.Discard, stdout) // let go test finish writing if Parse stopped early
	if err := cmd.Wait(); err != nil {
		return err
	}
	return perr
}

// figures lists what make bench reports, and where each comes from. Targets are
// the unless Note says otherwise.
func figures(fns []string) []bench.Figure {
	var f []bench.Figure
	for _, c := range []string{"lead", "person-with-deals"} {
		b := "BenchmarkLookup/" + c
		f = append(f,
			bench.Figure{Name: "lookup p50 (" + c + ")", Bench: b, Metric: "p50-ms", Unit: "ms"},
			bench.Figure{Name: "lookup p99 (" + c + ")", Bench: b, Metric: "p99-ms", Unit: "ms"},
			bench.Figure{Name: "one Sell round trip (" + c + " run)", Bench: b, Metric: "sell-roundtrip-ms", Unit: "ms"},
			bench.Figure{Name: "lookup p50 / Sell round trip (" + c + ")", Bench: b, Metric: "p50/roundtrip", Unit: "×", Target: bench.AtMost(1.15)},
			bench.Figure{Name: "lookup p99 / Sell round trip (" + c + ")", Bench: b, Metric: "p99/roundtrip", Unit: "×"},
			bench.Figure{Name: "Sell calls per warm lookup (" + c + ")", Bench: b, Metric: "sell-calls/op", Unit: "calls", Target: bench.AtMost(2)},
		)
	}
	// The issue sets no lead-creation target. Ours allow the Sell round trips each
	// path must make one after the other, plus half of one for our own DynamoDB
	// work: create-anyway makes one (the write), new-email two (the duplicate check
	// the issue asks for, then the write, which depends on it).
	for _, c := range []struct {
		name   string
		target float64
		note   string
	}{
		{"new-email", 2.5, "ours: the duplicate check and the write are two Sell round trips in sequence, plus half of one"},
		{"create-anyway", 1.5, "ours: one Sell round trip, plus half of one"},
	} {
		b := "BenchmarkCreateLead/" + c.name
		f = append(f,
			bench.Figure{Name: "lead creation p50 (" + c.name + ")", Bench: b, Metric: "p50-ms", Unit: "ms"},
			bench.Figure{Name: "one Sell create-lead (" + c.name + " run)", Bench: b, Metric: "sell-write-ms", Unit: "ms"},
			bench.Figure{Name: "lead creation p50 / Sell write (" + c.name + ")", Bench: b, Metric: "p50/write", Unit: "×", Target: bench.AtMost(c.target), Note: c.note},
			bench.Figure{Name: "Sell calls per lead creation (" + c.name + ")", Bench: b, Metric: "sell-calls/op", Unit: "calls"},
		)
	}
	// The issue asks for the session exchange against one Zendesk round trip and sets
	// no bound. Ours: a cold process makes that one Zendesk call after two table reads
	// (run side by side) and signs the session, half a round trip at most.
	f = append(f,
		bench.Figure{Name: "session exchange p50 (first, cold process)", Bench: "BenchmarkSessionExchange/first", Metric: "p50-ms", Unit: "ms"},
		bench.Figure{Name: "one Zendesk round trip (session run)", Bench: "BenchmarkSessionExchange/first", Metric: "zendesk-roundtrip-ms", Unit: "ms"},
		bench.Figure{Name: "session exchange p50 / Zendesk round trip (first)", Bench: "BenchmarkSessionExchange/first", Metric: "p50/roundtrip", Unit: "×", Target: bench.AtMost(1.5), Note: "ours: one Zendesk call, two table reads side by side, a signature"},
		bench.Figure{Name: "Zendesk calls per session (first)", Bench: "BenchmarkSessionExchange/first", Metric: "zendesk-calls/op", Unit: "calls", Target: bench.AtMost(1)},
		bench.Figure{Name: "session exchange p50 (user cached)", Bench: "BenchmarkSessionExchange/cached", Metric: "p50-ms", Unit: "ms"},
	)
	f = append(f,
		bench.Figure{Name: "webhook acks per second", Bench: "BenchmarkIngestVsPutItem", Metric: "acks/s", Unit: "/s"},
		bench.Figure{Name: "raw PutItems per second", Bench: "BenchmarkIngestVsPutItem", Metric: "puts/s", Unit: "/s"},
		bench.Figure{Name: "webhook ingest rate / PutItem rate", Bench: "BenchmarkIngestVsPutItem", Metric: "ratio", Unit: "×", Target: bench.AtLeast(0.5)},
		bench.Figure{Name: "webhook ack p50, Sell at 0 s", Bench: "BenchmarkAckWithSlowSell/sell-latency-0s", Metric: "p50-ms", Unit: "ms"},
		bench.Figure{Name: "webhook ack p99, Sell at 0 s", Bench: "BenchmarkAckWithSlowSell/sell-latency-0s", Metric: "p99-ms", Unit: "ms"},
		bench.Figure{Name: "webhook ack p50, Sell at 2 s", Bench: "BenchmarkAckWithSlowSell/sell-latency-2s", Metric: "p50-ms", Unit: "ms"},
		// The issue asks that the ack not wait on Sell; a tenth of Sell's latency is
		// the bound we hold it to (an ack that waited once would take 2 s).
		bench.Figure{Name: "webhook ack p99, Sell at 2 s", Bench: "BenchmarkAckWithSlowSell/sell-latency-2s", Metric: "p99-ms", Unit: "ms", Target: bench.AtMost(200), Note: "ours: a tenth of Sell's 2 s"},
	)
	// Issue 16: Sell calls per processed chat <= notes per chat + 0.2 (a note per
	// record is the floor), i.e. at most 0.2 calls per chat besides the notes.
	f = append(f,
		bench.Figure{Name: "Sell calls per chat (per-chat matching)", Bench: "BenchmarkSellCallsPerChat", Metric: "per-chat-calls/chat", Unit: "calls"},
		bench.Figure{Name: "Sell calls per chat (batched matching)", Bench: "BenchmarkSellCallsPerChat", Metric: "batched-calls/chat", Unit: "calls"},
		bench.Figure{Name: "notes per chat", Bench: "BenchmarkSellCallsPerChat", Metric: "batched-notes/chat", Unit: "notes"},
		bench.Figure{Name: "Sell calls per chat besides notes (per-chat matching)", Bench: "BenchmarkSellCallsPerChat", Metric: "per-chat-calls-over-notes/chat", Unit: "calls"},
		bench.Figure{Name: "Sell calls per chat besides notes (batched matching)", Bench: "BenchmarkSellCallsPerChat", Metric: "batched-calls-over-notes/chat", Unit: "calls", Target: bench.AtMost(0.2)},
	)
	// Issue 16: one account's chats reach Sell at >= 0.8 × the bound its limit and
	// the note per record set (R / notes per chat), at Sell's own 10 requests/s and
	// for an import of 10,000 past chats drained at a scaled-up R (the ratio is what
	// counts; the benchmark says why 50).
	for _, c := range []struct{ bench, name string }{
		{"BenchmarkAccountThroughput", "one account, Sell at 10 req/s"},
		{"BenchmarkPastChatsDrain", "10,000 past chats, Sell at 50 req/s"},
	} {
		f = append(f,
			bench.Figure{Name: "chats per second (" + c.name + ")", Bench: c.bench, Metric: "chats/s", Unit: "/s"},
			bench.Figure{Name: "bound: R / notes per chat (" + c.name + ")", Bench: c.bench, Metric: "bound-chats/s", Unit: "/s"},
			bench.Figure{Name: "chats per second / bound (" + c.name + ")", Bench: c.bench, Metric: "chats/bound", Unit: "×", Target: bench.AtLeast(0.8)},
			bench.Figure{Name: "Sell calls per chat (" + c.name + ")", Bench: c.bench, Metric: "calls/chat", Unit: "calls"},
		)
	}
	// The issue asks that a flooded account not delay the others' chats. Ours: their
	// p99 within a quarter of the idle run's. By design a batch holding flood chats
	// takes at most one InlineWait (250 ms) longer, a quarter of a one-second idle
	// p99 (0.4–1.1 s measured here); a flood that costs the others more is a miss.
	f = append(f,
		bench.Figure{Name: "others' chat stored→processed p99, idle", Bench: "BenchmarkFloodFairness", Metric: "idle-p99-ms", Unit: "ms"},
		bench.Figure{Name: "others' chat stored→processed p99, one account flooded through the export", Bench: "BenchmarkFloodFairness", Metric: "flooded-p99-ms", Unit: "ms"},
		bench.Figure{Name: "others' p99 flooded / idle", Bench: "BenchmarkFloodFairness", Metric: "flooded/idle", Unit: "×", Target: bench.AtMost(1.25), Note: "ours: the same time, within a quarter"},
		// The chat poll reads the export no faster than Sell takes the chats: of the
		// 5,000, what it stored while the others sent theirs, and what was processed.
		bench.Figure{Name: "flooded account's chats read from the export, of 5,000", Bench: "BenchmarkFloodFairness", Metric: "flood-read", Unit: "chats"},
		bench.Figure{Name: "flooded account's chats processed meanwhile", Bench: "BenchmarkFloodFairness", Metric: "flood-processed", Unit: "chats"},
		// A custom sender pushing a flood to the chat webhook, one chat a request: no
		// target, since real Zendesk brings floods through the export.
		bench.Figure{Name: "others' p99 flooded through the chat webhook / idle", Bench: "BenchmarkFloodFairness", Metric: "pushed/idle", Unit: "×"},
	)
	// The issue asks for messaging conversations per minute per account against the
	// Conversation Log API's limit. The bound is what the account's limits allow with
	// the requests one conversation takes (the log's 100 a minute, and the Support
	// API's 200 a minute of the smallest plan, which the log's reads count toward too);
	// ours: at least four fifths of it, the share of the log the poll takes a run.
	b := "BenchmarkConversationsPerMinute"
	f = append(f,
		bench.Figure{Name: "messaging conversations per minute, one account", Bench: b, Metric: "conversations/min", Unit: "/min"},
		bench.Figure{Name: "bound: the account's Zendesk limits / requests per conversation", Bench: b, Metric: "bound-conversations/min", Unit: "/min"},
		bench.Figure{Name: "Zendesk requests per conversation", Bench: b, Metric: "zendesk-calls/conversation", Unit: "calls"},
		bench.Figure{Name: "conversations per minute / bound", Bench: b, Metric: "conversations/bound", Unit: "×", Target: bench.AtLeast(0.8)},
	)
	for _, fn := range fns {
		b := "BenchmarkColdStart/" + fn
		f = append(f,
			bench.Figure{Name: "cold start " + fn, Bench: b, Metric: "cold-start-ms", Unit: "ms"},
			bench.Figure{Name: "cold start hello (" + fn + " run)", Bench: b, Metric: "hello-ms", Unit: "ms"},
			bench.Figure{Name: "cold start " + fn + " / hello", Bench: b, Metric: "cold/hello", Unit: "×", Target: bench.AtMost(1.5)},
			bench.Figure{Name: "cold start " + fn + " to a DynamoDB answer", Bench: b, Metric: "first-answer-ms", Unit: "ms"},
		)
	}
	for _, fn := range append(fns, "hello") {
		b := "BenchmarkPeakRSS/" + fn
		size, rss := bench.Figure{Name: "bootstrap size " + fn, Bench: b, Metric: "bootstrap-MB", Unit: "MB"},
			bench.Figure{Name: "peak RSS " + fn + " (300 events)", Bench: b, Metric: "peak-rss-MB", Unit: "MB"}
		if fn != "hello" { // the baseline is shown, not judged
			size.Target, rss.Target = bench.AtMost(10), bench.AtMost(64)
		}
		f = append(f, size, rss)
	}
	return f
}

// measuredOnly drops the figures of benchmarks -only left out.
func measuredOnly(rs []bench.Result) []bench.Result {
	var out []bench.Result
	for _, r := range rs {
		if r.Value != nil {
			out = append(out, r)
		}
	}
	return out
}

func moduleRoot() (string, error) {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run from inside the sellchat module")
	}
	return filepath.Dir(mod), nil
}

// functions lists functions/<name>/main.go, as the Makefile's FUNCTIONS does.
func functions(root string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("no functions/*/main.go under %s", root)
	}
	var out []string
	for _, p := range paths {
		out = append(out, filepath.Base(filepath.Dir(p)))
	}
	sort.Strings(out)
	return out, nil
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range bytes.Split(b, []byte("\n")) {
		if k, v, ok := strings.Cut(string(line), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
