package transcripts_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/redact"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
	"github.com/sellchat/sellchat/shared/handler/feed"
	settingsapi "github.com/sellchat/sellchat/shared/handler/settings"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// logBuffer keeps every log line of a deployment, for tests that read them all.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// pipeline is a deployment where acme's chats go webhook → table → stream → feed
// entries and Sell notes, every function logging (at debug) into logs.
type pipeline struct {
	env     *apptest.Env
	p       *transcripts.Processor
	logs    *logBuffer
	webhook func(body string) apptest.Response
}

func newPipeline(t *testing.T) *pipeline {
	t.Helper()
	env := apptest.New(t)
	logs := &logBuffer{}
	env.Deps.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env.Connect(t, "acme")
	env.SetHistory(t, "acme", true)
	sealed := env.Deps.Box.Seal([]byte("the-signing-secret"), secrets.AAD("acme", "webhook_secret"))
	if _, err := env.Deps.Store.UpdateIntegration(context.Background(), "acme", func(in *settings.Integration) error { in.WebhookSecret = sealed; return nil }); err != nil {
		t.Fatal(err)
	}
	p := transcripts.NewWith(env.TranscriptsDeps(), transcripts.Options{ReadPhone: phone.E164, Backoff: func(int) time.Duration { return time.Millisecond }})
	h := chatwebhook.New(env.IngestDeps())
	post := func(body string) apptest.Response {
		ts := time.Now().UTC().Format(time.RFC3339)
		return apptest.Do(t, h, apptest.Request{Method: "POST", Path: "/webhooks/chat/acme", Body: body, Header: map[string]string{
			chatwebhook.HeaderTimestamp: ts, chatwebhook.HeaderSignature: chatwebhook.Sign([]byte("the-signing-secret"), ts, []byte(body))}})
	}
	return &pipeline{env: env, p: p, logs: logs, webhook: post}
}

// deliver sends chats through the webhook and processes the stream until all of
// them are in the feed and in Sell.
func (pl *pipeline) deliver(t *testing.T, bodies ...string) {
	t.Helper()
	for _, body := range bodies {
		if res := pl.webhook(body); res.Status != 202 {
			t.Fatalf("webhook: %d %s", res.Status, res.Body)
		}
	}
	if resp := handle(t, pl.p, streamed(t, pl.env, len(bodies))); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures %+v", resp.BatchItemFailures)
	}
}

// veraFeed is lead 2001's feed as an agent reads it.
func (pl *pipeline) veraFeed(t *testing.T) string {
	t.Helper()
	res := apptest.Do(t, feed.New(pl.env.FeedDeps()), apptest.Request{Method: "GET", Path: "/feed?resourceType=lead&resourceId=2001", Token: pl.env.Token(t, "acme", auth.RoleAgent)})
	if res.Status != 200 {
		t.Fatalf("feed: %d %s", res.Status, res.Body)
	}
	return string(res.Body)
}

// notesOf returns the text of the Sell notes of chatID.
func (pl *pipeline) notesOf(chatID string) []string {
	var out []string
	for _, n := range pl.env.Sell.Notes() {
		if strings.Contains(n.Content, chats.Marker(chatID)) {
			out = append(out, n.Content)
		}
	}
	return out
}

// tableText returns every string and binary attribute of every item in the table,
// gzip-compressed ones (the stored chats) decompressed.
func tableText(t *testing.T, env *apptest.Env) string {
	t.Helper()
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			b.WriteString(v + "\n")
		case []byte:
			if zr, err := gzip.NewReader(bytes.NewReader(v)); err == nil {
				if plain, err := io.ReadAll(zr); err == nil {
					v = plain
				}
			}
			b.Write(v)
			b.WriteString("\n")
		case map[string]any:
			for k, x := range v {
				b.WriteString(k + "\n")
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		default:
			fmt.Fprintf(&b, "%v\n", v)
		}
	}
	for _, it := range storetest.Snapshot(t, env.Deps.Store) {
		walk(it)
	}
	return b.String()
}

// cardIn names the first form of 4111 1111 1111 1111 found in s ("" when none).
func cardIn(s string) string {
	for _, form := range []string{"4111 1111 1111 1111", "4111111111111111", "4111-1111-1111-1111"} {
		if strings.Contains(s, form) {
			return form
		}
	}
	return ""
}

func TestACardNumberInAChatReachesTheFeedAndSellMaskedAndIsKeptNowhere(t *testing.T) {
	t.Parallel()
	pl := newPipeline(t)
	body := strings.Replace(chatJSON("c-card", "vera@example.com", "", start), "Hello <script>alert(1)</script>",
		"Please charge my card 4111 1111 1111 1111, exp 12/27", 1)
	pl.deliver(t, body)

	if f := pl.veraFeed(t); !strings.Contains(f, "Please charge my card •••• 1111, exp 12/27") || cardIn(f) != "" {
		t.Fatalf("feed: %s", f)
	}
	notes := pl.notesOf("c-card")
	if len(notes) != 1 || !strings.Contains(notes[0], "Please charge my card •••• 1111, exp 12/27") {
		t.Fatalf("Sell notes of the chat: %q", notes)
	}
	for _, n := range pl.env.Sell.Notes() {
		if c := cardIn(n.Content); c != "" {
			t.Fatalf("a Sell note holds %q: %s", c, n.Content)
		}
	}
	table := tableText(t, pl.env)
	if !strings.Contains(table, "Please charge my card •••• 1111") {
		t.Fatalf("the scan does not see the stored chat:\n%s", table)
	}
	if c := cardIn(table); c != "" {
		t.Fatalf("the table holds %q", c)
	}
	if logs := pl.logs.String(); !strings.Contains(logs, "c-card") || cardIn(logs) != "" {
		t.Fatalf("logs (they should name the chat, never its card):\n%s", logs)
	}
	it, err := chatstore.New(pl.env.Deps.Store).Chat(context.Background(), "acme", "c-card")
	if err != nil || it.Redactions[redact.CardRule] != 1 || len(it.Redactions) != 1 {
		t.Fatalf("the chat counts %v (%v)", it.Redactions, err)
	}
}

func TestAnAdminsPatternIsMaskedFromTheFeedAndSell(t *testing.T) {
	t.Parallel()
	pl := newPipeline(t)
	admin := settingsapi.New(pl.env.AdminDeps())
	tok := pl.env.Token(t, "acme", auth.RoleAdmin)
	get := apptest.Do(t, admin, apptest.Request{Method: "GET", Path: "/settings", Token: tok})
	var cur struct {
		Redaction struct {
			CardNumbers bool             `json:"cardNumbers"`
			Patterns    []redact.Pattern `json:"patterns"`
		} `json:"redaction"`
	}
	get.JSON(t, &cur)
	if get.Status != 200 || !cur.Redaction.CardNumbers || cur.Redaction.Patterns == nil || len(cur.Redaction.Patterns) != 0 {
		t.Fatalf("GET /settings: %d %s", get.Status, get.Body)
	}
	patch := func(body string) apptest.Response {
		return apptest.Do(t, admin, apptest.Request{Method: "PATCH", Path: "/settings", Token: tok, Body: body,
			Header: map[string]string{"If-Match": get.Header.Get("ETag")}})
	}
	// A pattern that does not compile is refused, naming it; nothing is saved.
	bad := patch(`{"redaction":{"patterns":[{"name":"acct","pattern":"ACCT-\\d{8}"},{"name":"nid","pattern":"[0-9"}]}}`)
	var e struct {
		Error struct{ Code, Message, Field string } `json:"error"`
	}
	bad.JSON(t, &e)
	if bad.Status != 422 || e.Error.Code != "invalid_pattern" || !strings.Contains(string(bad.Body), "redaction.patterns[1].pattern") || !strings.Contains(e.Error.Message, `"nid"`) {
		t.Fatalf("a bad pattern: %d %s", bad.Status, bad.Body)
	}
	if res := patch(`{"redaction":{"patterns":[{"name":"acct","pattern":"ACCT-\\d{8}"}]}}`); res.Status != 200 ||
		!strings.Contains(string(res.Body), `"redaction":{"cardNumbers":true,"patterns":[{"name":"acct","pattern":"ACCT-\\d{8}"}]}`) {
		t.Fatalf("PATCH /settings: %d %s", res.Status, res.Body)
	}

	body := strings.Replace(chatJSON("c-acct", "vera@example.com", "", start), "Hello <script>alert(1)</script>",
		"my account is ACCT-12345678 and my card 4111-1111-1111-1111", 1)
	pl.deliver(t, body)
	want := "my account is •••• and my card •••• 1111"
	if f := pl.veraFeed(t); !strings.Contains(f, want) || strings.Contains(f, "12345678") || cardIn(f) != "" {
		t.Fatalf("feed: %s", f)
	}
	if notes := pl.notesOf("c-acct"); len(notes) != 1 || !strings.Contains(notes[0], want) {
		t.Fatalf("Sell notes of the chat: %q", notes)
	}
	if table := tableText(t, pl.env); strings.Contains(table, "ACCT-12345678") || cardIn(table) != "" || !strings.Contains(table, want) {
		t.Fatalf("the table holds the originals, or not the masked chat:\n%s", table)
	}
	if logs := pl.logs.String(); strings.Contains(logs, "12345678") || cardIn(logs) != "" {
		t.Fatalf("logs:\n%s", logs)
	}
	it, err := chatstore.New(pl.env.Deps.Store).Chat(context.Background(), "acme", "c-acct")
	if err != nil || it.Redactions["acct"] != 1 || it.Redactions[redact.CardRule] != 1 {
		t.Fatalf("the chat counts %v (%v)", it.Redactions, err)
	}
}
