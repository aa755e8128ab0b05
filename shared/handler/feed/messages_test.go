package feed_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/handler/feed"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

type messagesPage struct {
	HistoryVisible bool           `json:"historyVisible"`
	ChatID         string         `json:"chatId"`
	MessageCount   int            `json:"messageCount"`
	Offset         int            `json:"offset"`
	Messages       []feed.Message `json:"messages"`
	NextCursor     string         `json:"nextCursor"`
}

// feedItem is chat id's item on r's first feed page.
func feedItem(t *testing.T, h http.Handler, tok string, r chats.Record, id string) feed.Item {
	t.Helper()
	var p feedPage
	res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: fmt.Sprintf("/feed?resourceType=%s&resourceId=%d", r.Type, r.ID), Token: tok})
	res.JSON(t, &p)
	for _, it := range p.Items {
		if it.ChatID == id {
			return it
		}
	}
	t.Fatalf("%s is not on the first page of %s's feed: %s", id, r, res.Body)
	return feed.Item{}
}

func messagesPath(r chats.Record, chatID, cursor string) string {
	p := fmt.Sprintf("/feed/chats/%s/messages?resourceType=%s&resourceId=%d", url.PathEscape(chatID), r.Type, r.ID)
	if cursor != "" {
		p += "&cursor=" + url.QueryEscape(cursor)
	}
	return p
}

// readRest follows cursor through GET /feed/chats/{chatId}/messages to the end,
// calling check on every page.
func readRest(t *testing.T, h http.Handler, tok string, r chats.Record, chatID, cursor string, check func(body []byte, p messagesPage)) []feed.Message {
	t.Helper()
	var out []feed.Message
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("the transcript never ends")
		}
		res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: messagesPath(r, chatID, cursor), Token: tok})
		if res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		var p messagesPage
		res.JSON(t, &p)
		check(res.Body, p)
		out = append(out, p.Messages...)
		if cursor = p.NextCursor; cursor == "" {
			return out
		}
	}
}

func TestTheRestOfALongTranscriptComesCompleteAndInOrder(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		lim      feed.Limits
		messages int
	}{
		{"in small pages", feed.Limits{PageItems: 20, PageBytes: 8_000, ItemBytes: 3_000, PreviewMessages: 10, MessagesPage: 50}, 1_234},
		{"at the real limits", feed.DefaultLimits, 2_345},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := apptest.New(t)
			env.SetHistory(t, "acme", true)
			all := texts(c.messages, func(i int) string { return fmt.Sprintf("message %05d, said plainly", i) })
			storeChat(t, env, "acme", vera, "long", base, all)
			h := feed.NewWithLimits(env.FeedDeps(), c.lim)
			tok := env.Token(t, "acme", auth.RoleAgent)

			it := feedItem(t, h, tok, vera, "long")
			if !it.Truncated || it.MessageCount != c.messages || len(it.Messages) == 0 || len(it.Messages) > c.lim.PreviewMessages || it.MessagesCursor == "" {
				t.Fatalf("the feed shows %d of %d messages, truncated=%v, cursor %q", len(it.Messages), it.MessageCount, it.Truncated, it.MessagesCursor)
			}
			next := len(it.Messages)
			rest := readRest(t, h, tok, vera, "long", it.MessagesCursor, func(body []byte, p messagesPage) {
				if n := feed.LambdaBytes(body); n > c.lim.PageBytes {
					t.Errorf("a page of %d messages takes %d bytes, over its budget of %d", len(p.Messages), n, c.lim.PageBytes)
				}
				if p.Offset != next || p.MessageCount != c.messages || len(p.Messages) == 0 || len(p.Messages) > c.lim.MessagesPage || !p.HistoryVisible || p.ChatID != "long" {
					t.Fatalf("page at %d: offset %d, %d messages of %d", next, p.Offset, len(p.Messages), p.MessageCount)
				}
				next += len(p.Messages)
			})
			got := append(it.Messages, rest...)
			if len(got) != c.messages {
				t.Fatalf("preview and rest hold %d messages, want %d", len(got), c.messages)
			}
			for i, m := range got {
				from := "Vera Visitor"
				if i%2 == 1 {
					from = "Ana Agent"
				}
				if m.Text != all[i] || m.From != from || !m.At.Equal(base.Add(time.Duration(i)*time.Second)) || m.TextTruncated {
					t.Fatalf("message %d is %+v, want %q from %s", i, m, all[i], from)
				}
			}
			// Without a cursor the route reads the transcript from its start.
			var first messagesPage
			apptest.Do(t, h, apptest.Request{Method: "GET", Path: messagesPath(vera, "long", ""), Token: tok}).JSON(t, &first)
			if first.Offset != 0 || len(first.Messages) == 0 || first.Messages[0].Text != all[0] {
				t.Fatalf("from the start: offset %d, %d messages", first.Offset, len(first.Messages))
			}
		})
	}
}

func TestAMessageLongerThanAPageIsCutAndStillComes(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.SetHistory(t, "acme", true)
	huge := strings.Repeat("é<", feed.MaxMessageText) // three bytes a pair, seven to nine once escaped
	storeChat(t, env, "acme", vera, "huge", base, []string{"before", huge, "after"})
	// A page budget far below even the cut message: each page still moves on.
	h := feed.NewWithLimits(env.FeedDeps(), feed.Limits{PageItems: 20, PageBytes: 6_000, ItemBytes: 3_000, PreviewMessages: 10, MessagesPage: 50})
	tok := env.Token(t, "acme", auth.RoleAgent)
	it := feedItem(t, h, tok, vera, "huge")
	if len(it.Messages) != 1 || !it.Truncated || it.MessageCount != 3 {
		t.Fatalf("the feed shows %+v of %d, truncated=%v", it.Messages, it.MessageCount, it.Truncated)
	}
	got := append(it.Messages, readRest(t, h, tok, vera, "huge", it.MessagesCursor, func([]byte, messagesPage) {})...)
	if len(got) != 3 || got[0].Text != "before" || got[2].Text != "after" || got[0].TextTruncated || got[2].TextTruncated {
		t.Fatalf("got %d messages", len(got))
	}
	cut := got[1]
	if !cut.TextTruncated || len(cut.Text) > feed.MaxMessageText || !utf8.ValidString(cut.Text) ||
		!strings.HasSuffix(cut.Text, "…") || !strings.HasPrefix(huge, strings.TrimSuffix(cut.Text, "…")) {
		t.Fatalf("the long message: %d bytes, truncated=%v, ends %q", len(cut.Text), cut.TextTruncated, cut.Text[len(cut.Text)-8:])
	}
}

// forge re-encodes a cursor after change edits its fields.
func forge(t *testing.T, cursor string, change func(m map[string]any)) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	b, _ := json.Marshal(m)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestTheMessagesOfAChatAreOnlyForItsRecordsFeed(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.SetHistory(t, "acme", true)
	env.SetHistory(t, "globex", true)
	many := texts(feed.PreviewMessages+50, func(i int) string { return fmt.Sprintf("line %d", i) })
	storeChat(t, env, "acme", vera, "long", base, many)
	storeChat(t, env, "acme", vera, "second", base.Add(time.Hour), many)
	other := chats.Record{Type: chats.ResourceLead, ID: 2002}
	storeChat(t, env, "acme", other, "elsewhere", base.Add(2*time.Hour), many)
	// A chat stored but in no feed (unmatched): its id must open nothing.
	storeUnmatched(t, env, "acme", "loose")
	h := feed.New(env.FeedDeps())
	tok := env.Token(t, "acme", auth.RoleAgent)
	globex := env.Token(t, "globex", auth.RoleAgent)

	cur := feedItem(t, h, tok, vera, "long").MessagesCursor
	addChats(t, env, "acme", vera, feed.PageSize) // so that the feed has a next page
	fp := veraFeed(t, h, tok)
	if cur == "" || fp.NextCursor == "" {
		t.Fatal("setup: no cursors")
	}
	cases := []refusal{
		{"no token", "GET", messagesPath(vera, "long", ""), "", 401, "unauthenticated", ""},
		{"an expired token", "GET", messagesPath(vera, "long", ""), env.ExpiredToken(t, "acme", auth.RoleAgent), 401, "invalid_token", ""},
		{"a token from an unknown key", "GET", messagesPath(vera, "long", ""), env.RogueToken(t, "acme", auth.RoleAgent), 401, "invalid_token", ""},
		{"an unknown resource type", "GET", "/feed/chats/long/messages?resourceType=person&resourceId=2001", tok, 422, "invalid_value", "resourceType"},
		{"no resource id", "GET", "/feed/chats/long/messages?resourceType=lead", tok, 422, "invalid_value", "resourceId"},
		{"a chat of another record", "GET", messagesPath(vera, "elsewhere", ""), tok, 404, "chat_not_found", ""},
		{"the chat under another record", "GET", messagesPath(other, "long", ""), tok, 404, "chat_not_found", ""},
		{"the chat under another resource type", "GET", messagesPath(chats.Record{Type: chats.ResourceDeal, ID: 2001}, "long", ""), tok, 404, "chat_not_found", ""},
		{"a chat in no feed", "GET", messagesPath(vera, "loose", ""), tok, 404, "chat_not_found", ""},
		{"an unknown chat", "GET", messagesPath(vera, "nobody", ""), tok, 404, "chat_not_found", ""},
		{"an over-long chat id", "GET", messagesPath(vera, strings.Repeat("x", chats.MaxIDLength+1), ""), tok, 404, "chat_not_found", ""},
		{"another account's agent", "GET", messagesPath(vera, "long", ""), globex, 404, "chat_not_found", ""},
		{"a cursor used by another account", "GET", messagesPath(vera, "long", cur), globex, 400, "invalid_cursor", ""},
		{"a cursor of another chat", "GET", messagesPath(vera, "second", cur), tok, 400, "invalid_cursor", ""},
		{"a cursor of another record", "GET", messagesPath(other, "long", cur), tok, 400, "invalid_cursor", ""},
		{"a cursor rewritten for another account", "GET", messagesPath(vera, "long", forge(t, cur, func(m map[string]any) { m["a"] = "globex" })), tok, 400, "invalid_cursor", ""},
		{"a cursor past the end", "GET", messagesPath(vera, "long", forge(t, cur, func(m map[string]any) { m["i"] = len(many) + 1 })), tok, 400, "invalid_cursor", ""},
		{"a negative cursor", "GET", messagesPath(vera, "long", forge(t, cur, func(m map[string]any) { m["i"] = -1 })), tok, 400, "invalid_cursor", ""},
		{"a feed cursor", "GET", messagesPath(vera, "long", fp.NextCursor), tok, 400, "invalid_cursor", ""},
		{"a messages cursor on the feed", "GET", "/feed?resourceType=lead&resourceId=2001&cursor=" + url.QueryEscape(cur), tok, 400, "invalid_cursor", ""},
		{"a cursor that is not base64", "GET", messagesPath(vera, "long", "***"), tok, 400, "invalid_cursor", ""},
		{"a POST", "POST", messagesPath(vera, "long", ""), tok, 405, "method_not_allowed", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.refusedAndUnchanged(t, env, h) })
	}
	t.Run("the record's own chat opens, from the cursor on", func(t *testing.T) {
		var p messagesPage
		apptest.Do(t, h, apptest.Request{Method: "GET", Path: messagesPath(vera, "long", cur), Token: tok}).JSON(t, &p)
		if !p.HistoryVisible || p.Offset != feed.PreviewMessages || len(p.Messages) != 50 || p.Messages[0].Text != many[feed.PreviewMessages] {
			t.Fatalf("%+v", p)
		}
	})
	t.Run("with history off it shows nothing and touches nothing", func(t *testing.T) {
		env.SetHistory(t, "acme", false)
		before := storetest.Snapshot(t, env.Deps.Store)
		res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: messagesPath(vera, "long", ""), Token: tok})
		if res.Status != 200 || strings.TrimSpace(string(res.Body)) != `{"historyVisible":false,"chatId":"long","messageCount":0,"offset":0,"messages":[]}` {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if after := storetest.Snapshot(t, env.Deps.Store); !reflect.DeepEqual(before, after) {
			t.Fatal("the table changed")
		}
	})
}
