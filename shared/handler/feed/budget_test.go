package feed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/handler/feed"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// lambdaResponseLimit is Lambda's synchronous response payload quota, "6 MB"
// (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), read
// as the smaller, decimal figure.
const lambdaResponseLimit = 6_000_000

// storeChat stores chat id of account, started at start, whose messages are texts
// (visitor and agent by turns), in r's feed as the transcripts processor leaves it.
func storeChat(t testing.TB, env *apptest.Env, account string, r chats.Record, id string, start time.Time, texts []string) {
	t.Helper()
	hist := make([]map[string]any, len(texts))
	for i, text := range texts {
		nick, name := "visitor", "Vera Visitor"
		if i%2 == 1 {
			nick, name = "agent:1", "Ana Agent"
		}
		hist[i] = map[string]any{"type": "chat.msg", "nick": nick, "name": name, "msg": text,
			"timestamp": start.Add(time.Duration(i) * time.Second).Format(time.RFC3339)}
	}
	body, err := json.Marshal(map[string]any{"id": id, "type": "chat", "timestamp": start.Format(time.RFC3339),
		"visitor": map[string]string{"name": "Vera Visitor", "email": "vera@example.com"}, "history": hist})
	if err != nil {
		t.Fatal(err)
	}
	storeChatJSON(t, env, account, body, r)
}

// storeChatJSON stores the chat body of account as the transcripts processor leaves
// it: the chat, and an entry in the feed of each of records (none for an unmatched chat).
func storeChatJSON(t testing.TB, env *apptest.Env, account string, body []byte, records ...chats.Record) {
	t.Helper()
	c, err := chats.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	it, err := chatstore.NewChatItem(c, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cs := chatstore.New(env.Deps.Store)
	if err := cs.CreateChat(context.Background(), account, it); err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		if err := cs.CreateEntry(context.Background(), account, chatstore.NewEntry(r, c, it.Start, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
}

// texts is n message texts made by text(i).
func texts(n int, text func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = text(i)
	}
	return out
}

type rawPage struct {
	HistoryVisible bool              `json:"historyVisible"`
	Items          []json.RawMessage `json:"items"`
	NextCursor     string            `json:"nextCursor"`
}

// pageThrough reads every page of r's feed with get and returns the chat ids in
// order, calling check on each page's body.
func pageThrough(t *testing.T, r chats.Record, get func(path string) []byte, check func(body []byte, p rawPage)) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("the feed never ends")
		}
		path := fmt.Sprintf("/feed?resourceType=%s&resourceId=%d", r.Type, r.ID)
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		body := get(path)
		var p rawPage
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatalf("%s: %v: %.300s", path, err, body)
		}
		check(body, p)
		for _, raw := range p.Items {
			var it feed.Item
			if err := json.Unmarshal(raw, &it); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, it.ChatID)
		}
		if cursor = p.NextCursor; cursor == "" {
			return ids
		}
	}
}

func TestAFeedPageStopsBeforeItsByteBudgetAndLosesNothing(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.SetHistory(t, "acme", true)
	lim := feed.Limits{PageItems: 20, PageBytes: 12_000, ItemBytes: 3_000, PreviewMessages: 100, MessagesPage: 500}
	h := feed.NewWithLimits(env.FeedDeps(), lim)
	tok := env.Token(t, "acme", auth.RoleAgent)
	// 30 chats of 0 to 36 messages: small ones, and ones the item budget cuts.
	var want []string
	for i := 0; i < 30; i++ {
		id := fmt.Sprintf("sized-%02d", i)
		storeChat(t, env, "acme", vera, id, base.Add(time.Duration(i)*time.Hour), texts((i%7)*6, func(j int) string {
			return fmt.Sprintf("message %d of %s, with some words to make it longer", j, id)
		}))
		want = append([]string{id}, want...)
	}
	// A chat removed after its entry was written is skipped, at a page's edge or not.
	if err := env.Deps.Store.Delete(context.Background(), store.Key{Account: "acme", SK: chatstore.ChatKey("sized-17")}); err != nil {
		t.Fatal(err)
	}
	want = removeID(want, "sized-17")

	short := 0
	got := pageThrough(t, vera, func(path string) []byte {
		res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: path, Token: tok})
		if res.Status != 200 {
			t.Fatalf("%s: %d %s", path, res.Status, res.Body)
		}
		return res.Body
	}, func(body []byte, p rawPage) {
		if n := feed.LambdaBytes(body); n > lim.PageBytes {
			t.Errorf("a page of %d chats takes %d bytes in the Lambda response, over its budget of %d", len(p.Items), n, lim.PageBytes)
		}
		if len(p.Items) == 0 {
			t.Error("an empty page before the end")
		}
		if p.NextCursor != "" && len(p.Items) < lim.PageItems {
			short++
		}
		for _, raw := range p.Items {
			if n := feed.LambdaBytes(raw); n > lim.ItemBytes {
				t.Errorf("a chat takes %d bytes, over the item budget of %d", n, lim.ItemBytes)
			}
		}
	})
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("paging through gave\n%v\nwant every chat once, newest first:\n%v", got, want)
	}
	if short == 0 {
		t.Fatal("no page stopped early: the test proved nothing")
	}
}

func removeID(ids []string, id string) []string {
	out := ids[:0:0]
	for _, s := range ids {
		if s != id {
			out = append(out, s)
		}
	}
	return out
}

// TestAPageOfHugeChatsFitsLambdasResponse serves the feed through the adapter the
// function ships with (httpadapter, HTTP API v2) at the real budget, and measures
// the Lambda response document as the runtime sends it.
func TestAPageOfHugeChatsFitsLambdasResponse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		chats, msg int
		text       func(chat, i int) string
	}{
		// What the probe found: one page of these was 6.7 MB.
		{"twelve chats of 10,000 messages", 12, 10_000, func(chat, i int) string {
			return fmt.Sprintf("message %d of chat %d, a line of ordinary length", i, chat)
		}},
		// Quotes and angle brackets grow sevenfold on the way (\u003c, then \\u003c).
		{"twenty chats of quotes and angle brackets", 20, 300, func(chat, i int) string {
			return strings.Repeat(`<b>"quoted" & \escaped\</b> `, 30)
		}},
	}
	for n, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := apptest.New(t)
			env.SetHistory(t, "acme", true)
			rec := chats.Record{Type: chats.ResourceLead, ID: int64(3000 + n)}
			for i := 0; i < c.chats; i++ {
				storeChat(t, env, "acme", rec, fmt.Sprintf("huge-%d-%02d", n, i), base.Add(time.Duration(i)*time.Hour),
					texts(c.msg, func(j int) string { return c.text(i, j) }))
			}
			adapter := httpadapter.NewV2(feed.New(env.FeedDeps()))
			tok := env.Token(t, "acme", auth.RoleAgent)
			got := pageThrough(t, rec, func(path string) []byte {
				u, _ := url.Parse(path)
				res, err := adapter.ProxyWithContext(context.Background(), events.APIGatewayV2HTTPRequest{
					Version: "2.0", RouteKey: "GET /feed", RawPath: u.Path, RawQueryString: u.RawQuery,
					Headers: map[string]string{"authorization": "Bearer " + tok},
					RequestContext: events.APIGatewayV2HTTPRequestContext{DomainName: "abc123.execute-api.us-east-1.amazonaws.com",
						HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: u.Path}},
				})
				if err != nil || res.StatusCode != 200 || res.IsBase64Encoded {
					t.Fatalf("%s: %v %d base64=%v %.300s", path, err, res.StatusCode, res.IsBase64Encoded, res.Body)
				}
				// What the runtime posts back to Lambda (aws-lambda-go marshals the
				// handler's answer with encoding/json).
				payload, err := json.Marshal(res)
				if err != nil {
					t.Fatal(err)
				}
				if len(payload) > lambdaResponseLimit || len(payload) > feed.MaxPageBytes+16<<10 {
					t.Fatalf("the Lambda response is %d bytes: over Lambda's %d, or over our budget of %d", len(payload), lambdaResponseLimit, feed.MaxPageBytes)
				}
				t.Logf("a page of %d chats: %d bytes, %d in the Lambda response", strings.Count(res.Body, `"chatId"`), len(res.Body), len(payload))
				return []byte(res.Body)
			}, func(_ []byte, p rawPage) {
				for _, raw := range p.Items {
					var it feed.Item
					_ = json.Unmarshal(raw, &it)
					if it.MessageCount != c.msg || !it.Truncated || len(it.Messages) == 0 || it.MessagesCursor == "" {
						t.Fatalf("chat %s: %d of %d messages shown, truncated=%v", it.ChatID, len(it.Messages), it.MessageCount, it.Truncated)
					}
				}
			})
			if len(got) != c.chats || len(uniq(got)) != c.chats {
				t.Fatalf("paging through gave %v", got)
			}
		})
	}
}

func uniq(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// A cursor names the last chat id read; one made of characters JSON escapes
// (<, >, &, six bytes each with HTML escaping) must still be short enough to use.
func TestACursorAfterAChatIdOfEscapedCharactersWorks(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.SetHistory(t, "acme", true)
	h := feed.New(env.FeedDeps())
	tok := env.Token(t, "acme", auth.RoleAgent)
	odd := strings.Repeat("<", chats.MaxIDLength)
	var want []string
	for i := 0; i < feed.PageSize+1; i++ {
		id := fmt.Sprintf("plain-%02d", i)
		if i == 1 {
			id = odd // the last chat of the first page: the cursor names it
		}
		storeChat(t, env, "acme", vera, id, base.Add(time.Duration(i)*time.Hour), []string{"hi"})
		want = append([]string{id}, want...)
	}
	got := pageThrough(t, vera, func(path string) []byte {
		res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: path, Token: tok})
		if res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		return res.Body
	}, func([]byte, rawPage) {})
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %v", got)
	}
}

// storeUnmatched stores chat id of account in no feed, as an unmatched chat stays.
func storeUnmatched(t testing.TB, env *apptest.Env, account, id string) {
	t.Helper()
	storeChatJSON(t, env, account, []byte(`{"id":"`+id+`","timestamp":"2026-11-20T09:00:00Z","visitor":{"name":"Lou Loose"},"history":[{"type":"chat.msg","nick":"visitor","msg":"secret"}]}`))
}

// A sender can stuff any field of a chat, not only its messages: every field is
// bounded, so such a chat still fits in a page as one item.
func TestAChatStuffedInEveryFieldStillFitsInAPage(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.SetHistory(t, "acme", true)
	// What the webhook would take: a body under 1 MiB.
	stuffing := strings.Repeat(`<"&>\`, 4_000) // 20 kB that grow sevenfold
	many := make([]string, 100)
	for i := range many {
		many[i] = stuffing[:2_000]
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any{"id": "stuffed", "type": "chat", "timestamp": base.Format(time.RFC3339),
		"visitor":     map[string]string{"name": stuffing, "email": stuffing, "phone": stuffing},
		"agent_names": many, "tags": many, "department_name": stuffing, "rating": stuffing, "comment": stuffing,
		"history": []map[string]any{{"type": "chat.msg", "nick": "visitor", "msg": stuffing}}}); err != nil {
		t.Fatal(err)
	}
	body := buf.Bytes()
	if len(body) > 1<<20 {
		t.Fatalf("the body is %d bytes, more than the webhook takes", len(body))
	}
	storeChatJSON(t, env, "acme", body, vera)
	res := apptest.Do(t, feed.New(env.FeedDeps()), apptest.Request{Method: "GET", Path: "/feed?resourceType=lead&resourceId=2001", Token: env.Token(t, "acme", auth.RoleAgent)})
	var p rawPage
	res.JSON(t, &p)
	if res.Status != 200 || len(p.Items) != 1 {
		t.Fatalf("%d, %d items: %.300s", res.Status, len(p.Items), res.Body)
	}
	if n := feed.LambdaBytes(p.Items[0]); n > feed.MaxItemBytes {
		t.Fatalf("the stuffed chat takes %d bytes, over the item budget of %d", n, feed.MaxItemBytes)
	}
	var item feed.Item
	_ = json.Unmarshal(p.Items[0], &item)
	if len(item.Tags) > 20 || len(item.Agents) > 20 || len(item.Visitor.Name) > 256 || len(item.Comment) > 4096 ||
		!strings.HasSuffix(item.Visitor.Name, "…") || item.MessageCount != 1 {
		t.Fatalf("fields not bounded: %d tags, %d agents, name %d bytes, comment %d bytes, %d of %d messages",
			len(item.Tags), len(item.Agents), len(item.Visitor.Name), len(item.Comment), len(item.Messages), item.MessageCount)
	}
}
