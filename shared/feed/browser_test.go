package feed_test

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sellchat/sellchat/infra/browsertest"
	"github.com/sellchat/sellchat/shared/app/apptest"
	"github.com/sellchat/sellchat/shared/auth"
	"github.com/sellchat/sellchat/shared/feed"
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
	setHistory(t, env, "acme", true)
	srv := httptest.NewServer(feed.New(env.Deps))
	t.Cleanup(srv.Close)
	tok, err := env.Signer.Sign(auth.Identity{Account: "acme", UserID: "7", Name: "Rex Rep", Role: auth.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
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
		apptest.Do(t, feed.New(env.Deps), apptest.Request{Method: "GET", Path: "/feed?" + q, Token: tok}).JSON(t, &p)
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
		setHistory(t, env, "acme", false)
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
