package feed_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/feed"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/webpage"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var base = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// addChats stores n chats of account in r's feed, one an hour, the way the
// transcripts processor leaves them.
func addChats(t testing.TB, env *apptest.Env, account string, r chats.Record, n int) {
	t.Helper()
	prefix := account
	if r.Type != chats.ResourceLead {
		prefix += "-" + r.Type
	}
	for i := 0; i < n; i++ {
		start := base.Add(time.Duration(i) * time.Hour)
		typ := "chat"
		if i%10 == 3 {
			typ = "offline_msg"
		}
		body := fmt.Sprintf(`{"id":"%s-%02d","type":%q,"timestamp":%q,"end_timestamp":%q,"visitor":{"name":"Vera Visitor","email":"vera@example.com","phone":"+1 415 555 0100"},`+
			`"agent_names":["Ana Agent"],"department_name":"Sales","tags":["pricing"],"rating":"good","comment":"Thanks","message":"offline text",`+
			`"history":[{"type":"chat.msg","nick":"visitor","name":"Vera Visitor","msg":"<img src=x onerror=alert(1)> chat %d","timestamp":%q},{"type":"chat.msg","nick":"agent:1","name":"Ana Agent","msg":"Hello!","timestamp":%q}]}`,
			prefix, i, typ, start.Format(time.RFC3339), start.Add(5*time.Minute).Format(time.RFC3339), i, start.Add(time.Minute).Format(time.RFC3339), start.Add(2*time.Minute).Format(time.RFC3339))
		storeChatJSON(t, env, account, []byte(body), r)
	}
}

type feedPage struct {
	HistoryVisible bool        `json:"historyVisible"`
	Items          []feed.Item `json:"items"`
	NextCursor     string      `json:"nextCursor"`
}

var vera = chats.Record{Type: "lead", ID: 2001}

// veraFeed is the first page of vera's feed as tok reads it.
func veraFeed(t *testing.T, h http.Handler, tok string) feedPage {
	t.Helper()
	var p feedPage
	apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/feed?resourceType=lead&resourceId=2001", Token: tok}).JSON(t, &p)
	return p
}

func TestTheFeedIsHiddenWhileHistoryIsDisabledAndLosesNothing(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	addChats(t, env, "acme", vera, 3)
	h := feed.New(env.FeedDeps())
	before := storetest.Snapshot(t, env.Deps.Store)
	res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/feed?resourceType=lead&resourceId=2001", Token: env.Token(t, "acme", auth.RoleAgent)})
	if res.Status != 200 || strings.TrimSpace(string(res.Body)) != `{"historyVisible":false,"items":[]}` {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	if after := storetest.Snapshot(t, env.Deps.Store); !reflect.DeepEqual(before, after) {
		t.Fatal("reading a hidden feed changed the table")
	}
	env.SetHistory(t, "acme", true)
	if p := veraFeed(t, h, env.Token(t, "acme", auth.RoleAgent)); !p.HistoryVisible || len(p.Items) != 3 {
		t.Fatalf("after enabling: %+v", p)
	}
}

func TestTheFeedPagesNewestFirst(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.SetHistory(t, "acme", true)
	addChats(t, env, "acme", vera, 45)
	addChats(t, env, "acme", chats.Record{Type: "deal", ID: 4001}, 1)
	h := feed.New(env.FeedDeps())
	tok := env.Token(t, "acme", auth.RoleAgent)
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		path := "/feed?resourceType=lead&resourceId=2001"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: path, Token: tok})
		if res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		var p feedPage
		res.JSON(t, &p)
		for _, it := range p.Items {
			seen = append(seen, it.ChatID)
		}
		if want := []int{20, 20, 5}[page]; len(p.Items) != want {
			t.Fatalf("page %d has %d items, want %d", page, len(p.Items), want)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 45 || seen[0] != "acme-44" || seen[44] != "acme-00" {
		t.Fatalf("order %v", seen)
	}
	res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/feed?resourceType=lead&resourceId=2001", Token: tok})
	if !strings.Contains(string(res.Body), `\u003cimg src=x onerror=alert(1)\u003e chat 44`) {
		t.Fatalf("messages are not plain JSON text: %.400s", res.Body)
	}
	var p feedPage
	res.JSON(t, &p)
	it := p.Items[0]
	end := base.Add(44*time.Hour + 5*time.Minute)
	if it.Type != "chat" || !it.Start.Equal(base.Add(44*time.Hour)) || it.End == nil || !it.End.Equal(end) || it.DurationSeconds != 300 ||
		it.Visitor.Email != "vera@example.com" || it.Visitor.Phone != "+1 415 555 0100" || it.Department != "Sales" || it.Rating != "good" ||
		it.Comment != "Thanks" || len(it.Tags) != 1 || len(it.Agents) != 1 || len(it.Messages) != 2 || it.Messages[1].From != "Ana Agent" {
		t.Fatalf("item %+v", it)
	}
	for _, it := range p.Items {
		if it.ChatID == "acme-43" && it.Type != "offline_msg" {
			t.Fatalf("offline message shown as %s", it.Type)
		}
	}
}

func TestBadFeedRequestsAreRefused(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.SetHistory(t, "acme", true)
	env.SetHistory(t, "globex", true)
	addChats(t, env, "acme", vera, 25)
	h := feed.New(env.FeedDeps())
	tok := env.Token(t, "acme", auth.RoleAgent)
	p := veraFeed(t, h, tok)
	if p.NextCursor == "" {
		t.Fatal("no cursor")
	}
	raw, _ := base64.RawURLEncoding.DecodeString(p.NextCursor)
	forged := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), `"a":"acme"`, `"a":"globex"`, 1)))
	cases := []refusal{
		{"no token", "GET", "/feed?resourceType=lead&resourceId=2001", "", 401, "unauthenticated", ""},
		{"a token from an unknown key", "GET", "/feed?resourceType=lead&resourceId=2001", env.RogueToken(t, "acme", auth.RoleAgent), 401, "invalid_token", ""},
		{"an expired token", "GET", "/feed?resourceType=lead&resourceId=2001", env.ExpiredToken(t, "acme", auth.RoleAgent), 401, "invalid_token", ""},
		{"an unknown resource type", "GET", "/feed?resourceType=person&resourceId=2001", tok, 422, "invalid_value", "resourceType"},
		{"no resource id", "GET", "/feed?resourceType=lead", tok, 422, "invalid_value", "resourceId"},
		{"a negative resource id", "GET", "/feed?resourceType=lead&resourceId=-4", tok, 422, "invalid_value", "resourceId"},
		{"a cursor of another record", "GET", "/feed?resourceType=lead&resourceId=2002&cursor=" + p.NextCursor, tok, 400, "invalid_cursor", ""},
		{"a cursor of another type", "GET", "/feed?resourceType=deal&resourceId=2001&cursor=" + p.NextCursor, tok, 400, "invalid_cursor", ""},
		{"a cursor used by another account", "GET", "/feed?resourceType=lead&resourceId=2001&cursor=" + p.NextCursor, env.Token(t, "globex", auth.RoleAgent), 400, "invalid_cursor", ""},
		{"a cursor rewritten for another account", "GET", "/feed?resourceType=lead&resourceId=2001&cursor=" + forged, tok, 400, "invalid_cursor", ""},
		{"a cursor that is not base64", "GET", "/feed?resourceType=lead&resourceId=2001&cursor=***", tok, 400, "invalid_cursor", ""},
		{"an over-long cursor", "GET", "/feed?resourceType=lead&resourceId=2001&cursor=" + strings.Repeat("A", 5000), tok, 400, "invalid_cursor", ""},
		{"a POST", "POST", "/feed?resourceType=lead&resourceId=2001", tok, 405, "method_not_allowed", ""},
		{"config without a token", "GET", "/apps/config", "", 401, "unauthenticated", ""},
		{"an unknown asset", "GET", "/apps/feed/secrets.txt", "", 404, "not_found", ""},
		{"a path below the page", "GET", "/apps/feed/a/b", "", 404, "not_found", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.refusedAndUnchanged(t, env, h) })
	}
	t.Run("another account sees none of acme's chats", func(t *testing.T) {
		if p := veraFeed(t, h, env.Token(t, "globex", auth.RoleAdmin)); !p.HistoryVisible || len(p.Items) != 0 {
			t.Fatalf("%+v", p)
		}
	})
}

func TestAppsConfigTellsTheIframeWhatIsOn(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.Connect(t, "acme")
	if _, err := env.Deps.Store.UpdateIntegration(context.Background(), "acme", func(in *settings.Integration) error {
		in.Elements[settings.ChatAppInSell] = settings.ElementState{Enabled: true, SignInOnLoad: true}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	res := apptest.Do(t, feed.New(env.FeedDeps()), apptest.Request{Method: "GET", Path: "/apps/config", Token: env.Token(t, "acme", auth.RoleAgent)})
	want := `{"elements":{"chat_app_in_sell":{"enabled":true},"chat_history_in_sell":{"enabled":false},"sell_app_in_chat":{"enabled":true}},"signInOnLoad":true,"chatSubdomain":"acme","historyVisible":false}`
	if res.Status != 200 || strings.TrimSpace(string(res.Body)) != want {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
}

// TestThePageIsServedAtBothSpellings checks how the feed function mounts its page;
// shared/platform/webpage tests the serving itself (headers, ETags, caching, 404s).
func TestThePageIsServedAtBothSpellings(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	get := apptest.Getter(t, feed.New(env.FeedDeps()))
	page := get("/apps/feed/?resourceType=lead&resourceId=2001")
	if page.Status != http.StatusOK || page.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
		page.Header.Get("Content-Security-Policy") != webpage.CSP(webpage.DefaultFrameAncestors) {
		t.Fatalf("GET /apps/feed/: %d %v", page.Status, page.Header)
	}
	// API Gateway cannot route "/apps/feed/" on its own: "/apps/feed" is the same page.
	if bare := get("/apps/feed?resourceType=lead&resourceId=2001"); bare.Status != http.StatusOK || string(bare.Body) != string(page.Body) {
		t.Fatalf("GET /apps/feed: %d", bare.Status)
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(string(page.Body), -1)
	if len(refs) != 3 {
		t.Fatalf("the page references %d files, want feed.css, zaf.js (the apps framework loader) and feed.js", len(refs))
	}
	for _, m := range refs {
		if !strings.HasPrefix(m[1], "/apps/feed/feed.") && !strings.HasPrefix(m[1], "/apps/feed/zaf.js") {
			t.Errorf("%s is not an absolute URL of the page's files", m[1])
		}
		if a := get(m[1]); a.Status != http.StatusOK || a.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: %d", m[1], a.Status)
		}
	}
	for _, bad := range []string{"<script>", "onclick=", "onload=", "style=", "innerHTML"} {
		if strings.Contains(string(page.Body), bad) {
			t.Fatalf("the page contains %q", bad)
		}
	}
	js := get("/apps/feed/feed.js").Body
	if strings.Contains(string(js), "innerHTML") || strings.Contains(string(js), "insertAdjacentHTML") {
		t.Fatal("the script inserts HTML")
	}
}

// refusal is a request a route must refuse with an error, leaving the table as it was.
type refusal struct {
	name, method, path, token string
	status                    int
	code, field               string
}

func (c refusal) refusedAndUnchanged(t *testing.T, env *apptest.Env, h http.Handler) {
	t.Helper()
	before := storetest.Snapshot(t, env.Deps.Store)
	res := apptest.Do(t, h, apptest.Request{Method: c.method, Path: c.path, Token: c.token})
	if res.Status != c.status || res.ErrorCode() != c.code {
		t.Fatalf("%d %s, want %d %s", res.Status, res.Body, c.status, c.code)
	}
	var e struct {
		Error struct{ Message, Field string } `json:"error"`
	}
	res.JSON(t, &e)
	if e.Error.Message == "" || e.Error.Field != c.field {
		t.Fatalf("error %+v", e.Error)
	}
	if after := storetest.Snapshot(t, env.Deps.Store); !reflect.DeepEqual(before, after) {
		t.Fatal("the table changed")
	}
}
