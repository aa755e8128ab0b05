package localstack_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/infra/localstack"
)

// readmeTools are what the README's examples run; the README lists them as
// prerequisites, and CI machines have them.
var readmeTools = []string{"bash", "curl", "jq", "openssl"}

// TestReadmeExamples runs the shell examples of README.md, in order, against a local
// stack started in this test (free ports, DynamoDB in memory), the way a newcomer
// pastes them into a shell after `make run` on a fresh clone. The blocks are read from
// README.md itself, so the text and the test cannot drift apart.
//
// Which blocks run: a block fenced ```sh whose first line is a comment starting with
// "# Try it". Every other sh block (`make run`, `make deploy`) is not an example and is
// left alone; so that an example cannot slip out of the test by losing its marker, an
// unmarked block must not call curl.
//
// How a block runs: alone, in a new `bash` with `set -euo pipefail`, in the repository
// root, after localhost:8080 / 127.0.0.1:8080 (the gateway), :8081 (the Sell sandbox)
// and :8000 (DynamoDB Local) are rewritten to the test stack's addresses. A new shell
// per block holds the README to its promise that each block defines the variables it
// uses. The block must exit 0 (the README's curl commands use --fail-with-body, so a
// refused call fails its block). A curl wrapper first on PATH records the final status
// of every call: a call whose line ends in a comment starting with an HTTP status
// ("# 201: checks passed") must have got that status, any other call a 2xx or 3xx, so
// an error answer cannot pass unnoticed even without --fail-with-body.
func TestReadmeExamples(t *testing.T) {
	for _, tool := range readmeTools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's examples need %s on PATH; install it (the README lists it among the prerequisites)", tool)
		}
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range readmeTools {
		if !strings.Contains(string(readme), "**"+tool+"**") {
			t.Errorf("README.md does not list **%s** among the prerequisites, yet its examples use it", tool)
		}
	}
	var examples []shBlock
	for _, b := range shBlocks(string(readme)) {
		switch {
		case b.example():
			examples = append(examples, b)
		case curlCall.MatchString(b.text):
			t.Errorf("README.md line %d: this sh block calls curl but does not start with a \"# Try it\" comment, so no test runs it", b.line)
		}
	}
	if len(examples) == 0 {
		t.Fatal("README.md has no sh block starting with \"# Try it\": nothing to run")
	}

	s := startStack(t, localstack.Options{Dir: t.TempDir(), InMemory: true})
	defer s.Stop()
	addrs := map[string]string{
		"8080": strings.TrimPrefix(s.URL, "http://"),
		"8081": strings.TrimPrefix(s.SellURL, "http://"),
		"8082": strings.TrimPrefix(s.ZendeskURL, "http://"),
		"8000": strings.TrimPrefix(s.DynamoDB, "http://"),
	}
	bin := curlRecorder(t)

	for i, b := range examples {
		script := localAddr.ReplaceAllStringFunc(b.text, func(m string) string {
			return addrs[m[strings.LastIndexByte(m, ':')+1:]]
		})
		log := filepath.Join(t.TempDir(), "statuses")
		// The timeout only keeps a hung example from holding the run; it is no bound.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "-c", "set -euo pipefail\n"+script)
		cmd.Dir = root
		cmd.Env = append(os.Environ(),
			"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
			"README_CURL_LOG="+log,
			"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
		out, err := cmd.CombinedOutput()
		cancel()
		name := fmt.Sprintf("README.md block %d (line %d, %q)", i+1, b.line, b.title())
		if err != nil {
			t.Fatalf("%s failed: %v\n--- script\n%s\n--- output\n%s", name, err, script, out)
		}
		got := readLines(t, log)
		want := b.expectedStatuses()
		if len(got) != len(want) {
			t.Fatalf("%s made %d curl calls but its text has %d (keep one call per curl written, no loops, so statuses can be checked)\n%s",
				name, len(got), len(want), out)
		}
		for j, w := range want {
			switch {
			case w != "" && got[j] != w:
				t.Fatalf("%s: curl call %d answered %s, the README says %s\n--- output\n%s", name, j+1, got[j], w, out)
			case w == "" && (got[j] < "200" || got[j] >= "400"):
				t.Fatalf("%s: curl call %d answered %s; a call whose comment states no status must succeed\n--- output\n%s", name, j+1, got[j], out)
			}
		}
		t.Logf("%s: statuses %v", name, got)
	}
}

// TestMakeRunInstallsNoBrowser: only the browser tests need Chromium, so `make run`
// (and the setup it depends on) must not install it, and `make test` must.
func TestMakeRunInstallsNoBrowser(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is needed: the Makefile is the project's entry point")
	}
	dryRun := func(target string) string {
		cmd := exec.Command("make", "-n", target)
		cmd.Dir = filepath.Join("..", "..")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		return string(out)
	}
	if run := dryRun("run"); strings.Contains(run, "chromium") || !strings.Contains(run, "./infra/cmd/local") {
		t.Errorf("make run would run:\n%s\nwant the local stack and no Chromium install", run)
	}
	if test := dryRun("test"); !strings.Contains(test, "install-chromium") {
		t.Errorf("make test would not install Chromium for the browser tests:\n%s", test)
	}
}

// shBlock is one ```sh fenced block of a Markdown file.
type shBlock struct {
	line int // of the first line inside the fence, 1-based
	text string
}

func (b shBlock) example() bool { return strings.HasPrefix(b.text, "# Try it") }

func (b shBlock) title() string { first, _, _ := strings.Cut(b.text, "\n"); return first }

var (
	fence     = regexp.MustCompile("^```")
	curlCall  = regexp.MustCompile(`(^|[\s;|&(])curl\s`)
	localAddr = regexp.MustCompile(`\b(localhost|127\.0\.0\.1):(8080|8081|8082|8000)\b`)
	// A status at the start of a trailing comment, with no quote after it (so a '#'
	// inside a quoted argument is not taken for one).
	statusComment = regexp.MustCompile(`\s#\s*([1-5][0-9][0-9])\b[^'"]*$`)
)

// shBlocks returns the ```sh blocks of a Markdown text in order.
func shBlocks(md string) []shBlock {
	var blocks []shBlock
	var cur *strings.Builder
	start := 0
	sc := bufio.NewScanner(strings.NewReader(md))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```sh":
			cur, start = &strings.Builder{}, n+1
		case cur != nil && fence.MatchString(strings.TrimSpace(line)):
			blocks = append(blocks, shBlock{line: start, text: cur.String()})
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return blocks
}

// expectedStatuses has one entry per curl call written in the block, in order: the
// status its line's trailing comment states, or "" when it states none. A line
// continued with a backslash counts as one line, its comment being on its last one.
func (b shBlock) expectedStatuses() []string {
	var out []string
	logical := strings.ReplaceAll(b.text, "\\\n", " ")
	for _, line := range strings.Split(logical, "\n") {
		n := len(curlCall.FindAllStringIndex(line, -1))
		if n == 0 {
			continue
		}
		calls := make([]string, n)
		if m := statusComment.FindStringSubmatch(line); m != nil {
			calls[n-1] = m[1] // the comment is about the line's last call
		}
		out = append(out, calls...)
	}
	return out
}

// curlRecorder writes a `curl` that runs the real one and appends the final HTTP
// status of the call (after any redirects; 000 when none came) to $README_CURL_LOG.
// It returns the folder to put first on PATH.
func curlRecorder(t *testing.T) string {
	t.Helper()
	real, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := `#!/usr/bin/env bash
headers=$(mktemp)
rc=0
` + shellQuote(real) + ` -D "$headers" "$@" || rc=$?
awk '/^HTTP\//{s=$2} END{print (s=="" ? "000" : s)}' "$headers" >>"$README_CURL_LOG"
rm -f "$headers"
exit $rc
`
	if err := os.WriteFile(filepath.Join(dir, "curl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}
