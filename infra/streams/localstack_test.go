package streams_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sellchat/sellchat/infra/browsertest"
	"github.com/sellchat/sellchat/infra/localstack"
	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// TestASignedChatPostedToTheLocalStackShowsInTheFeedPage is the README's walkthrough:
// on the local stack, a chat signed like Zendesk signs it is posted to the webhook,
// the stream poller runs the transcripts handler, and the lead's feed page in a real
// browser shows the chat (and Sell has the mirrored note).
func TestASignedChatPostedToTheLocalStackShowsInTheFeedPage(t *testing.T) {
	ctx := context.Background()
	s, err := localstack.Start(ctx, localstack.Options{Dir: t.TempDir(), InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	// Installed as the OAuth flow leaves it, history on, the webhook secret set.
	admin, _ := s.Sell.User(selltest.DemoAdminEmail)
	if err := s.Deps.Vault.Save(ctx, "acme", tokens.Admin(), s.Sell.TokenFor(selltest.DemoAdminEmail), tokens.SellUser{ID: admin.ID, Name: admin.Name, Email: admin.Email}); err != nil {
		t.Fatal(err)
	}
	const secret = "local-signing-secret"
	if _, err := s.Deps.Store.UpdateIntegration(ctx, "acme", func(in *settings.Integration) error {
		in.SellConnected = true
		in.WebhookSecret = s.Deps.Box.Seal([]byte(secret), secrets.AAD("acme", "webhook_secret"))
		in.Elements = map[settings.Element]settings.ElementState{settings.ChatHistoryInSell: {Enabled: true}, settings.ChatAppInSell: {Enabled: true}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	body := `{"id":"local-1","type":"chat","timestamp":"2026-11-20T14:02:11Z","end_timestamp":"2026-11-20T14:09:40Z","duration":449,` +
		`"visitor":{"name":"Vera Visitor","email":"vera@example.com","phone":"+1 415 555 0100"},"agent_names":["Ana Agent"],"department_name":"Sales","tags":["pricing"],"rating":"good","comment":"Very helpful",` +
		`"history":[{"type":"chat.msg","name":"Vera Visitor","nick":"visitor","msg":"Hi! <img src=x onerror=document.title='pwned'>","timestamp":"2026-11-20T14:02:15Z"},` +
		`{"type":"chat.msg","name":"Ana Agent","nick":"agent:361","msg":"Hello Vera, how can I help?","timestamp":"2026-11-20T14:03:02Z"}]}`
	if status := apptest.PostSignedChat(t, s.URL, "acme", secret, body); status != 202 {
		t.Fatalf("webhook: %d", status)
	}

	tok, err := s.Signer.Sign(auth.Identity{Account: "acme", UserID: "7", Name: "Rex Rep", Role: auth.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	b := browsertest.New(t)
	// The page loads the feed once; the poller's work is asynchronous, so wait
	// for the entry through the API before looking.
	waitForFeed(t, s.URL, tok)
	url := s.URL + "/apps/feed/?resourceType=lead&resourceId=2001#token=" + tok
	if err := chromedp.Do(b, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(".chat .messages li"))); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(".chat")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Vera Visitor", "Ana Agent", "Hello Vera, how can I help?", "<img src=x onerror=document.title='pwned'>", "Very helpful"} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not show %q:\n%s", want, text)
		}
	}
	title, err := chromedp.Run(b, chromedp.Evaluate[string]("document.title"))
	if err != nil || title != "Chat history" {
		t.Fatalf("title %q %v: chat text ran as HTML", title, err)
	}
	imgs, _ := chromedp.Run(b, chromedp.Evaluate[int]("document.querySelectorAll('.chat img').length"))
	if imgs != 0 {
		t.Fatal("chat text became an element")
	}
	formShown, _ := chromedp.Run(b, chromedp.Evaluate[bool]("getComputedStyle(document.getElementById('signin')).display !== 'none'"))
	if formShown {
		t.Fatal("the local sign-in form shows although a token was given")
	}
	stored, _ := chromedp.Run(b, chromedp.Evaluate[bool]("sessionStorage.getItem('sellchat.token') !== null && location.hash === ''"))
	if !stored {
		t.Fatal("the token was not moved from the fragment to sessionStorage")
	}
	browsertest.Screenshot(t, b, "feed-page-lead-2001")

	notes := 0
	for _, n := range s.Sell.Notes() {
		if n.ResourceType == "lead" && n.ResourceID == 2001 && strings.Contains(n.Content, "[sellchat chat local-1]") {
			notes++
		}
	}
	if notes != 1 {
		t.Fatalf("%d mirrored notes on lead 2001, want 1", notes)
	}

	t.Run("without a token the page offers the local sign-in", func(t *testing.T) {
		b := browsertest.New(t)
		if err := chromedp.Do(b, chromedp.Navigate(s.URL+"/apps/feed/?resourceType=lead&resourceId=2001"), chromedp.WaitVisible(chromedp.CSS("#signin"))); err != nil {
			t.Fatal(err)
		}
		browsertest.Screenshot(t, b, "feed-page-sign-in-form")
		if err := chromedp.Do(b, chromedp.Click(chromedp.CSS("#signin button")), chromedp.WaitVisible(chromedp.CSS(".chat")), chromedp.WaitNotVisible(chromedp.CSS("#signin"))); err != nil {
			t.Fatal(err)
		}
		browsertest.Screenshot(t, b, "feed-page-local-sign-in")
	})
}

func waitForFeed(t *testing.T, base, tok string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		req, _ := http.NewRequest("GET", base+"/feed?resourceType=lead&resourceId=2001", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var p struct{ Items []json.RawMessage }
		_ = json.NewDecoder(res.Body).Decode(&p)
		res.Body.Close()
		if len(p.Items) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the chat did not reach the feed in 30 s")
		}
	}
}
