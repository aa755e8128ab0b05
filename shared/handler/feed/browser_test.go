package feed_test

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sellchat/sellchat/infra/browsertest"
	"github.com/sellchat/sellchat/shared/handler/feed"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// shownChats is what the page shows: each chat's id, in page order.
const shownChats = `[...document.querySelectorAll("#chats .chat")].map(li => li.dataset.chatId)`

// TestThePageShowsTheFeedAsTheAPIGivesIt loads the feed page in headless Chromium,
// as Sell's iframe does, over the feed function alone: the first page of chats
// newest first, older chats on demand until there are none, and the history-off
// state. The signed webhook → stream → feed path in a browser is
// infra/streams' TestASignedChatPostedToTheLocalStackShowsInTheFeedPage.
func TestThePageShowsTheFeedAsTheAPIGivesIt(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	addChats(t, env, "acme", vera, feed.PageSize+5)
	env.SetHistory(t, "acme", true)
	srv := httptest.NewServer(feed.New(env.FeedDeps()))
	t.Cleanup(srv.Close)
	tok := env.AgentToken(t, "acme", "7", "")
	pageURL := srv.URL + "/apps/feed/?resourceType=lead&resourceId=2001#token=" + url.QueryEscape(tok)
	b := browsertest.New(t)

	// What the API says, page by page, is what the page must show, in that order.
	var want []string
	cursor := ""
	for {
		q := "resourceType=lead&resourceId=2001"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		var p feedPage
		apptest.Do(t, feed.New(env.FeedDeps()), apptest.Request{Method: "GET", Path: "/feed?" + q, Token: tok}).JSON(t, &p)
		for _, it := range p.Items {
			want = append(want, it.ChatID)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(want) != feed.PageSize+5 {
		t.Fatalf("the API gave %d chats, want %d", len(want), feed.PageSize+5)
	}

	if err := chromedp.Do(b, chromedp.Navigate(pageURL), chromedp.WaitVisible(chromedp.CSS("#more"))); err != nil {
		t.Fatal(err)
	}
	first, err := chromedp.Run(b, chromedp.Evaluate[[]string](shownChats))
	if err != nil {
		t.Fatal(err)
	}
	if !equal(first, want[:feed.PageSize]) {
		t.Fatalf("first page shows %v, want %v", first, want[:feed.PageSize])
	}
	browsertest.Screenshot(t, b, "feed-page-first-page")

	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS("#more")), chromedp.WaitNotVisible(chromedp.CSS("#more"))); err != nil {
		t.Fatal(err)
	}
	all, err := chromedp.Run(b, chromedp.Evaluate[[]string](shownChats))
	if err != nil {
		t.Fatal(err)
	}
	if !equal(all, want) {
		t.Fatalf("after 'Show older chats' the page shows %v, want %v", all, want)
	}
	offline, err := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelectorAll("#chats .badge.offline").length`))
	if err != nil || offline == 0 {
		t.Errorf("no chat is marked as an offline message (%d, %v)", offline, err)
	}
	imgs, err := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelectorAll("#chats img").length`))
	if err != nil || imgs != 0 {
		t.Fatalf("chat text became elements: %d images (%v)", imgs, err)
	}

	t.Run("with history off the page says so and shows nothing", func(t *testing.T) {
		env.SetHistory(t, "acme", false)
		b := browsertest.New(t)
		if err := chromedp.Do(b, chromedp.Navigate(pageURL), chromedp.WaitVisible(chromedp.CSS("#status"))); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(b, chromedp.Poll[bool](`document.getElementById("status").textContent.includes("turned off")`)); err != nil {
			t.Fatal(err)
		}
		shown, err := chromedp.Run(b, chromedp.Evaluate[[]string](shownChats))
		if err != nil || len(shown) != 0 {
			t.Fatalf("history is off but the page shows %v (%v)", shown, err)
		}
		browsertest.Screenshot(t, b, "feed-page-history-off")
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestThePageShowsTheRestOfALongTranscript: a chat longer than the feed's preview
// shows its first messages and a "Show the rest" control, which loads the rest page
// after page, in order, and then goes away. The limits are shrunk so that the rest
// takes several pages.
func TestThePageShowsTheRestOfALongTranscript(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.SetHistory(t, "acme", true)
	all := texts(37, func(i int) string { return fmt.Sprintf("line %02d <b>not bold</b>", i) })
	storeChat(t, env, "acme", vera, "long", base.Add(time.Hour), all)
	storeChat(t, env, "acme", vera, "short", base, all[:3])
	lim := feed.DefaultLimits
	lim.PreviewMessages, lim.MessagesPage = 5, 7
	srv := httptest.NewServer(feed.NewWithLimits(env.FeedDeps(), lim))
	t.Cleanup(srv.Close)
	tok := env.AgentToken(t, "acme", "7", "")
	b := browsertest.New(t)
	const long, short = `#chats .chat[data-chat-id="long"]`, `#chats .chat[data-chat-id="short"]`
	shown := func(chat string) []string {
		t.Helper()
		got, err := chromedp.Run(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('`+chat+` .messages .text')].map(s => s.textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if err := chromedp.Do(b, chromedp.Navigate(srv.URL+"/apps/feed/?resourceType=lead&resourceId=2001#token="+url.QueryEscape(tok)),
		chromedp.WaitVisible(chromedp.CSS(long+" .rest"))); err != nil {
		t.Fatal(err)
	}
	if got := shown(long); !equal(got, all[:5]) {
		t.Fatalf("the long chat shows %v, want its first 5 messages", got)
	}
	label, err := chromedp.Run(b, chromedp.Evaluate[string](`document.querySelector('`+long+` .rest').textContent`))
	if err != nil || !strings.Contains(label, "32 more messages") {
		t.Fatalf("the control says %q (%v)", label, err)
	}
	if restShown, err := chromedp.Run(b, chromedp.Evaluate[bool](`!document.querySelector('`+short+` .rest').hidden`)); err != nil || restShown {
		t.Fatalf("a whole chat offers the rest too (%v)", err)
	}
	browsertest.Screenshot(t, b, "feed-page-truncated-transcript")

	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(long+" .rest")), chromedp.WaitNotVisible(chromedp.CSS(long+" .rest"))); err != nil {
		t.Fatal(err)
	}
	if got := shown(long); !equal(got, all) {
		t.Fatalf("after 'Show the rest' the chat shows %v, want all %d messages in order", got, len(all))
	}
	if imgs, err := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelectorAll("#chats b").length`)); err != nil || imgs != 0 {
		t.Fatalf("chat text became elements: %d (%v)", imgs, err)
	}
	browsertest.Screenshot(t, b, "feed-page-whole-transcript")
}
