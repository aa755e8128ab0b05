// Package bench turns `go test -bench` output into the figures `make bench` reports:
// it parses benchmark lines and their custom metrics, picks the figures out of them,
// checks each against its target, and prints them as a table and as
// .bench/results.json. The benchmarks themselves live beside the code they measure;
// this package's own (bench_test.go) start the shipped bootstraps.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Line is one result line of `go test -bench`: the benchmark's name (without the
// -GOMAXPROCS suffix), its iterations and every value/unit pair on the line, the
// standard ns/op, B/op, allocs/op as well as b.ReportMetric's.
type Line struct {
	Name       string
	Iterations int64
	Metrics    map[string]float64
}

// ParseLine reads one line of benchmark output. procs is the -cpu value the run
// used: `go test` appends "-<procs>" to every name unless it is 1. ok is false for
// anything that is not a result line (logs, PASS, headers).
func ParseLine(s string, procs int) (Line, bool) {
	f := strings.Fields(s)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
		return Line{}, false
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return Line{}, false
	}
	name := f[0]
	if procs != 1 {
		name = strings.TrimSuffix(name, "-"+strconv.Itoa(procs))
	}
	l := Line{Name: name, Iterations: n, Metrics: map[string]float64{}}
	for i := 2; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return Line{}, false
		}
		l.Metrics[f[i+1]] = v
	}
	return l, true
}

// Parse reads every result line of r into lines (later lines of the same name win,
// as with -count > 1 the last run is as good as any), and copies r to echo as it goes
// so a long run shows progress.
func Parse(r io.Reader, procs int, echo io.Writer, lines map[string]Line) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if echo != nil {
			fmt.Fprintln(echo, sc.Text())
		}
		if l, ok := ParseLine(sc.Text(), procs); ok {
			lines[l.Name] = l
		}
	}
	return sc.Err()
}

// Target is a bound a figure must keep: Op is "<=" or ">=".
type Target struct {
	Op    string
	Value float64
}

// AtMost and AtLeast build targets.
func AtMost(v float64) *Target  { return &Target{"<=", v} }
func AtLeast(v float64) *Target { return &Target{">=", v} }

// Met reports whether v keeps the target. NaN never does.
func (t *Target) Met(v float64) bool {
	switch {
	case math.IsNaN(v):
		return false
	case t.Op == "<=":
		return v <= t.Value
	case t.Op == ">=":
		return v >= t.Value
	}
	return false
}

func (t *Target) String() string { return t.Op + " " + strconv.FormatFloat(t.Value, 'g', -1, 64) }

// Figure says where one reported figure comes from.
type Figure struct {
	Name   string  // as printed and in results.json
	Bench  string  // the benchmark, e.g. BenchmarkLookup/lead
	Metric string  // the unit it reports the value under, e.g. p50/roundtrip
	Unit   string  // the unit shown
	Scale  float64 // multiplies the value (0 means 1), e.g. ns/op → ms
	Target *Target // nil: shown for context, no target
	Note   string  // where the target comes from, when it is not the issue's
}

// Result is one row of results.json. Value is null when the benchmark did not report
// it; target and met are null for figures without a target. A target is written as
// "<= 1.15" in the figure's unit.
type Result struct {
	Name   string   `json:"name"`
	Value  *float64 `json:"value"`
	Unit   string   `json:"unit"`
	Target *string  `json:"target"`
	Met    *bool    `json:"met"`
	Note   string   `json:"note,omitempty"`
}

// Collect picks each figure out of lines. A figure with a target that was not
// measured is not met: a missing number must not read as a pass.
func Collect(figs []Figure, lines map[string]Line) []Result {
	out := make([]Result, 0, len(figs))
	for _, f := range figs {
		r := Result{Name: f.Name, Unit: f.Unit, Note: f.Note}
		if l, ok := lines[f.Bench]; ok {
			if v, ok := l.Metrics[f.Metric]; ok {
				if f.Scale != 0 {
					v *= f.Scale
				}
				r.Value = &v
			}
		}
		if f.Target != nil {
			s, met := f.Target.String(), r.Value != nil && f.Target.Met(*r.Value)
			r.Target, r.Met = &s, &met
		}
		out = append(out, r)
	}
	return out
}

// Missing lists the figures that were not measured.
func Missing(rs []Result) []string {
	var out []string
	for _, r := range rs {
		if r.Value == nil {
			out = append(out, r.Name)
		}
	}
	return out
}

// WriteTable prints the results as an aligned table.
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\tunit\ttarget\tmet\t")
	for _, r := range rs {
		v, t, m := "—", "", ""
		if r.Value != nil {
			v = format(*r.Value)
		}
		if r.Target != nil {
			t = *r.Target
			if r.Note != "" {
				t += " (" + r.Note + ")"
			}
		}
		if r.Met != nil {
			m = map[bool]string{true: "yes", false: "NO"}[*r.Met]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", r.Name, v, r.Unit, t, m)
	}
	return tw.Flush()
}

// format keeps three significant digits, enough for figures that move by a few per
// cent between runs, without exponents.
func format(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// WriteJSON writes the results to path as a JSON list, creating its folder.
func WriteJSON(path string, rs []Result) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // targets read "<= 1.15", not "\u003c= 1.15"
	enc.SetIndent("", "  ")
	if err := enc.Encode(rs); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// LambdaFlags are the Makefile's GOFLAGS_LAMBDA as go build arguments: the benchmarks
// must measure the binaries we ship (bench_test.go checks they still match).
var LambdaFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w -buildid="}

// Build builds each package (name → import path or ./relative path, resolved in
// dir) into out/<name>/bootstrap for linux/arch, as `make build` does.
func Build(ctx context.Context, dir, out, arch string, pkgs map[string]string) error {
	for name, pkg := range pkgs {
		args := append([]string{"build"}, LambdaFlags...)
		args = append(args, "-o", filepath.Join(out, name, "bootstrap"), pkg)
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return nil
}

// PeakRSS reads VmHWM, the process's peak resident set, from a /proc/<pid>/status
// document, in bytes.
func PeakRSS(status string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmHWM line %q", line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmHWM: %w", err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("no VmHWM in the status")
}
