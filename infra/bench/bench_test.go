package bench_test

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/sellchat/sellchat/infra/bench"
)

// output is real `go test -bench` output (custom metrics are printed sorted by unit),
// with the lines around results that Parse must skip.
const output = `goos: linux
goarch: amd64
pkg: github.com/sellchat/sellchat/shared/handler/panel
cpu: AMD EPYC
BenchmarkLookup/lead-2   	      20	  46593571 ns/op	        46.21 p50-ms	         1.121 p50/roundtrip	        41.22 sell-roundtrip-ms	         2.000 sell-calls/op	  120035 B/op	    1411 allocs/op
BenchmarkLookup/person-with-deals
    bench_test.go:82: Sell calls by route over 1 lookups: map[GET /v2/deals:1]
BenchmarkLookup/person-with-deals-2         	      20	  88000000 ns/op	        88.00 p50-ms	         2.100 p50/roundtrip	        41.90 sell-roundtrip-ms	         3.000 sell-calls/op
BenchmarkAckWithSlowSell/sell-latency-2s-2         	     300	   2974156 ns/op	         2.572 p50-ms	        10.62 p99-ms	      2000 sell-latency-ms
--- FAIL: BenchmarkBroken-2
BenchmarkLoop-2 	 1000 	 12 ns/op 	 not-a-number p50-ms
PASS
ok  	github.com/sellchat/sellchat/shared/handler/panel	48.621s
`

func TestParseReadsResultLinesAndTheirCustomMetrics(t *testing.T) {
	lines := map[string]bench.Line{}
	var echo bytes.Buffer
	if err := bench.Parse(strings.NewReader(output), 2, &echo, lines); err != nil {
		t.Fatal(err)
	}
	if echo.String() != output {
		t.Errorf("the output was not echoed as it came:\n%s", echo.String())
	}
	want := map[string]bench.Line{
		"BenchmarkLookup/lead": {Name: "BenchmarkLookup/lead", Iterations: 20, Metrics: map[string]float64{
			"ns/op": 46593571, "p50-ms": 46.21, "p50/roundtrip": 1.121, "sell-roundtrip-ms": 41.22, "sell-calls/op": 2, "B/op": 120035, "allocs/op": 1411}},
		"BenchmarkLookup/person-with-deals": {Name: "BenchmarkLookup/person-with-deals", Iterations: 20, Metrics: map[string]float64{
			"ns/op": 88000000, "p50-ms": 88, "p50/roundtrip": 2.1, "sell-roundtrip-ms": 41.9, "sell-calls/op": 3}},
		// Only the -GOMAXPROCS suffix goes: "-2s" is part of the name.
		"BenchmarkAckWithSlowSell/sell-latency-2s": {Name: "BenchmarkAckWithSlowSell/sell-latency-2s", Iterations: 300, Metrics: map[string]float64{
			"ns/op": 2974156, "p50-ms": 2.572, "p99-ms": 10.62, "sell-latency-ms": 2000}},
	}
	if !reflect.DeepEqual(lines, want) {
		t.Fatalf("parsed\n%+v\nwant\n%+v", lines, want)
	}
}

func TestParseLineKeepsNamesWhenGOMAXPROCSIsOne(t *testing.T) {
	l, ok := bench.ParseLine("BenchmarkColdStart/panel-2 	 15 	 100 ns/op 	 9.5 cold-start-ms", 1)
	if !ok || l.Name != "BenchmarkColdStart/panel-2" || l.Metrics["cold-start-ms"] != 9.5 {
		t.Fatalf("%+v %v", l, ok)
	}
	for _, s := range []string{"", "BenchmarkX", "BenchmarkX-2 \t 10", "BenchmarkX-2 ten 5 ns/op", "ok  \tpkg\t1.2s", "BenchmarkX-2 10 5 ns/op 7"} {
		if l, ok := bench.ParseLine(s, 2); ok {
			t.Errorf("%q parsed as %+v", s, l)
		}
	}
}

func TestTargets(t *testing.T) {
	cases := []struct {
		target *bench.Target
		v      float64
		met    bool
	}{
		{bench.AtMost(1.15), 1.15, true},
		{bench.AtMost(1.15), 1.1501, false},
		{bench.AtMost(2), 0, true},
		{bench.AtLeast(0.5), 0.5, true},
		{bench.AtLeast(0.5), 0.49, false},
		{bench.AtLeast(0.5), math.NaN(), false},
		{bench.AtMost(64), math.NaN(), false},
		{&bench.Target{Op: "=="}, 0, false},
	}
	for _, c := range cases {
		if got := c.target.Met(c.v); got != c.met {
			t.Errorf("%s met by %v: %v, want %v", c.target, c.v, got, c.met)
		}
	}
	if s := bench.AtMost(1.15).String(); s != "<= 1.15" {
		t.Errorf("%q", s)
	}
}

func TestCollectPicksScalesAndJudgesEachFigure(t *testing.T) {
	lines := map[string]bench.Line{
		"BenchmarkLookup/lead": {Metrics: map[string]float64{"p50/roundtrip": 1.2, "sell-calls/op": 2}},
		"BenchmarkIngest":      {Metrics: map[string]float64{"ratio": 0.8, "ns/op": 2500000}},
	}
	figs := []bench.Figure{
		{Name: "p50 ratio", Bench: "BenchmarkLookup/lead", Metric: "p50/roundtrip", Unit: "×", Target: bench.AtMost(1.15)},
		{Name: "calls", Bench: "BenchmarkLookup/lead", Metric: "sell-calls/op", Unit: "calls", Target: bench.AtMost(2)},
		{Name: "ingest", Bench: "BenchmarkIngest", Metric: "ratio", Unit: "×", Target: bench.AtLeast(0.5), Note: "ours"},
		{Name: "ack mean", Bench: "BenchmarkIngest", Metric: "ns/op", Unit: "ms", Scale: 1e-6},
		{Name: "lost metric", Bench: "BenchmarkLookup/lead", Metric: "p99-ms", Unit: "ms", Target: bench.AtMost(100)},
		{Name: "lost bench", Bench: "BenchmarkGone", Metric: "x", Unit: "x"},
	}
	rs := bench.Collect(figs, lines)
	raw, err := json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"name":"p50 ratio","value":1.2,"unit":"×","target":"\u003c= 1.15","met":false},` +
		`{"name":"calls","value":2,"unit":"calls","target":"\u003c= 2","met":true},` +
		`{"name":"ingest","value":0.8,"unit":"×","target":"\u003e= 0.5","met":true,"note":"ours"},` +
		`{"name":"ack mean","value":2.5,"unit":"ms","target":null,"met":null},` +
		`{"name":"lost metric","value":null,"unit":"ms","target":"\u003c= 100","met":false},` +
		`{"name":"lost bench","value":null,"unit":"x","target":null,"met":null}]`
	if string(raw) != want {
		t.Fatalf("got\n%s\nwant\n%s", raw, want)
	}
	if got := bench.Missing(rs); !reflect.DeepEqual(got, []string{"lost metric", "lost bench"}) {
		t.Errorf("missing %v", got)
	}

	var table bytes.Buffer
	if err := bench.WriteTable(&table, rs); err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{`p50 ratio +1\.20 +× +<= 1\.15 +NO`, `ingest +0\.80 +× +>= 0\.5 \(ours\) +yes`, `ack mean +2\.50 +ms`, `lost metric +— +ms +<= 100 +NO`} {
		if !regexp.MustCompile(`(?m)^` + row).MatchString(table.String()) {
			t.Errorf("no row %q in\n%s", row, table.String())
		}
	}
}

func TestWriteJSONWritesAListAFileReaderCanLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "results.json")
	v := 3.0
	rs := bench.Collect([]bench.Figure{{Name: "a", Bench: "B", Metric: "ms", Unit: "ms", Target: bench.AtMost(4)}},
		map[string]bench.Line{"B": {Metrics: map[string]float64{"ms": v}}})
	if err := bench.WriteJSON(path, rs); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0]["name"] != "a" || got[0]["value"] != 3.0 || got[0]["target"] != "<= 4" || got[0]["met"] != true {
		t.Fatalf("%s", raw)
	}
	if !bytes.Contains(raw, []byte(`"<= 4"`)) {
		t.Errorf("the target is escaped: %s", raw)
	}
	for _, k := range []string{"name", "value", "unit", "target", "met"} {
		if _, ok := got[0][k]; !ok {
			t.Errorf("no %q in %s", k, raw)
		}
	}
}

func TestPeakRSSReadsVmHWM(t *testing.T) {
	status := "Name:\tbootstrap\nVmPeak:\t 1261560 kB\nVmHWM:\t   18236 kB\nVmRSS:\t   17900 kB\n"
	if n, err := bench.PeakRSS(status); err != nil || n != 18236*1024 {
		t.Fatalf("%d %v", n, err)
	}
	for _, bad := range []string{"Name:\tx\n", "VmHWM:\t 12 MB\n", "VmHWM:\t x kB\n"} {
		if n, err := bench.PeakRSS(bad); err == nil {
			t.Errorf("%q read as %d", bad, n)
		}
	}
}

// The benchmarks build bootstraps themselves; they must use the flags we ship with.
func TestLambdaFlagsAreTheMakefiles(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^GOFLAGS_LAMBDA\s*:=\s*(.*)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("no GOFLAGS_LAMBDA in the Makefile")
	}
	// The Makefile's words as the shell splits them: only single quotes are used there.
	var words []string
	for _, w := range regexp.MustCompile(`(?:[^\s']|'[^']*')+`).FindAllString(strings.TrimSpace(string(m[1])), -1) {
		words = append(words, strings.ReplaceAll(w, "'", ""))
	}
	if !reflect.DeepEqual(words, bench.LambdaFlags) {
		t.Fatalf("Makefile GOFLAGS_LAMBDA %q, bench.LambdaFlags %q", words, bench.LambdaFlags)
	}
}
