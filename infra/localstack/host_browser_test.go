package localstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sellchat/sellchat/infra/browsertest"
	"github.com/sellchat/sellchat/infra/localstack"
	"github.com/sellchat/sellchat/infra/zafsdk"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// The apps inside the Zendesk sandbox's host page, in Chromium, on the whole local
// stack: the host posts the signed app token to the page's entry URL, the entry
// answers with a session, the page loads the real ZAF SDK (the pinned copy the
// gateway serves), the SDK's handshake and get requests are answered by the host,
// and the page does its work with what Zendesk told it. Nothing is put in the app's
// URL but what Zendesk puts there (origin, app_guid).

// hostStage is a running stack where acme's admin signed in with Zendesk (so the
// sandbox app's key is recorded), Sell is connected and installed with the elements
// on, and Rex (Zendesk user 361) has signed in to Sell.
type hostStage struct {
	stack   *localstack.Stack
	browser context.Context
}

func newHostStage(t *testing.T) *hostStage {
	t.Helper()
	ctx := context.Background()
	// Fetched before the browser asks, so a missing npm fails here and clearly.
	if _, err := zafsdk.Fetch(ctx); err != nil {
		t.Fatal(err)
	}
	s := startStack(t, localstack.Options{Dir: t.TempDir(), InMemory: true})
	t.Cleanup(s.Stop)
	signInWithZendesk(t, s)
	apptest.ConnectSandbox(t, s.Sell, s.Deps, "acme")
	apptest.SignInSandboxAgent(t, s.Sell, s.Deps, "acme", fmt.Sprint(zendesktest.DemoRexID), selltest.DemoRexEmail)
	return &hostStage{stack: s, browser: browsertest.New(t)}
}

// signInWithZendesk is the admin's "Sign in with Zendesk" as a browser does it: start,
// the sandbox's authorize page (which approves at once as Ada, the admin), and the
// callback, which records the sandbox's installed app with its public key.
func signInWithZendesk(t *testing.T, s *localstack.Stack) {
	t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", s.URL+"/oauth/start?account=acme&purpose=zendesk", nil)
	req.Header.Set("Accept", "application/json")
	res, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var start struct{ AuthorizeURL string }
	err = json.NewDecoder(res.Body).Decode(&start)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || start.AuthorizeURL == "" {
		t.Fatalf("start: %d %v", res.StatusCode, err)
	}
	callback := start.AuthorizeURL
	for _, want := range []int{http.StatusFound, http.StatusSeeOther} { // the sandbox's approval, then the callback
		status, next := apptest.Redirect(t, callback)
		if status != want {
			t.Fatalf("GET %s: %d, want %d", callback, status, want)
		}
		callback = next.String()
	}
	if !strings.Contains(callback, "/settings/?zendesk=connected#token=") {
		t.Fatalf("the sign-in landed on %s", callback)
	}
}

// open loads the host page around app (a path of the gateway) with the query q.
func (h *hostStage) open(t *testing.T, app string, q url.Values) {
	t.Helper()
	q.Set("app", h.stack.URL+app)
	if err := chromedp.Do(h.browser, chromedp.Navigate(h.stack.ZendeskURL+"/sandbox/host?"+q.Encode())); err != nil {
		t.Fatal(err)
	}
}

// inApp waits until expr, evaluated in the app's iframe, is truthy and returns it.
// The iframe is same-site (127.0.0.1, another port), so it runs in the page's process
// and chromedp reaches it through the iframe's node. A poll does not survive the
// iframe's navigations (the signed POST, then the 303), so it is asked again until
// the deadline.
func inApp[T any](t *testing.T, b context.Context, expr string) T {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		frames, err := chromedp.Run(b, chromedp.Nodes(chromedp.CSS("#app")))
		if err == nil && len(frames) == 1 {
			var v T
			if v, err = chromedp.Run(b, chromedp.Poll[T](expr, chromedp.WithPollingInFrame(frames[0]),
				chromedp.WithPollingTimeout(3*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))); err == nil {
				return v
			}
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	browsertest.Screenshot(t, b, "host-"+strings.ReplaceAll(t.Name(), "/", "-")+"-timeout")
	t.Fatalf("the app never showed %s: %v", expr, last)
	var zero T
	return zero
}

// hostLog is what the host page saw the app ask for.
func hostLog(t *testing.T, b context.Context) string {
	t.Helper()
	log, err := chromedp.Run(b, chromedp.Evaluate[string](`[...document.querySelectorAll("#log li")].map(li => li.textContent).join("\n")`))
	if err != nil {
		t.Fatal(err)
	}
	return log
}

// changeToPaul changes the host's visitor (or requester) to Paul Person and waits for
// the panel to show his Sell contact.
func changeToPaul(t *testing.T, b context.Context) {
	t.Helper()
	if err := chromedp.Do(b,
		chromedp.SetValue(chromedp.CSS("#visitor-email"), "paul@acme.example"),
		chromedp.SetValue(chromedp.CSS("#visitor-name"), "Paul Person"),
		chromedp.Click(chromedp.CSS("#visitor-change")),
	); err != nil {
		t.Fatal(err)
	}
	inApp[bool](t, b, fmt.Sprintf(`!!document.querySelector('.match-person[data-id="%d"]')`, selltest.DemoPaulContactID))
}

func TestTheAppsRunInsideTheSandboxHostWithTheRealSDK(t *testing.T) {
	h := newHostStage(t)
	b := h.browser
	rex := fmt.Sprint(zendesktest.DemoRexID)

	t.Run("the panel in chat_sidebar finds the chat's visitor", func(t *testing.T) {
		h.open(t, "/apps/panel/", url.Values{"product": {"chat"}, "location": {"chat_sidebar"}, "user": {rex},
			"email": {selltest.DemoVeraEmail}, "name": {"Vera Visitor"}, "chatId": {zendesktest.DemoVeraChatID}})
		lead := fmt.Sprintf(`.match-lead[data-id="%d"]`, selltest.DemoVeraLeadID)
		name := inApp[string](t, b, `document.querySelector('`+lead+` .match-name') && document.querySelector('`+lead+` .match-name').textContent`)
		if !strings.Contains(name, "Vera") {
			t.Errorf("lead %d shows as %q", selltest.DemoVeraLeadID, name)
		}
		// The visitor came from the SDK: the app's URL carried only origin and app_guid.
		if got := inApp[string](t, b, `document.getElementById("visitor").textContent`); got != "Vera Visitor · "+selltest.DemoVeraEmail {
			t.Errorf("the panel's header shows %q", got)
		}
		if got := inApp[string](t, b, `location.search`); !strings.HasPrefix(got, "?app_guid=") || !strings.Contains(got, "&origin=") || strings.Contains(got, "email") {
			t.Errorf("the app's URL is ?%s", got)
		}
		log := hostLog(t, b)
		for _, want := range []string{"handshake (SDK ", "get visitor, chat.id", "on visitor.email.changed"} {
			if !strings.Contains(log, want) {
				t.Errorf("the host saw no %q:\n%s", want, log)
			}
		}
		browsertest.Screenshot(t, b, "host-panel-chat-sidebar")

		// The agent edits the visitor in Chat: visitor.*.changed, and the panel looks again.
		changeToPaul(t, b)
		if log := hostLog(t, b); !strings.Contains(log, "fired visitor.email.changed") || !strings.Contains(log, "fired visitor.display_name.changed") {
			t.Errorf("the host fired no change:\n%s", log)
		}
	})

	t.Run("the panel in Support's ticket_sidebar finds the ticket's requester", func(t *testing.T) {
		h.open(t, "/apps/panel/", url.Values{"product": {"support"}, "location": {"ticket_sidebar"}, "user": {rex},
			"email": {selltest.DemoVeraEmail}, "name": {"Vera Visitor"}, "ticketId": {"83"}})
		inApp[bool](t, b, fmt.Sprintf(`!!document.querySelector('.match-lead[data-id="%d"]')`, selltest.DemoVeraLeadID))
		if log := hostLog(t, b); !strings.Contains(log, "ticket.requester") || !strings.Contains(log, "on ticket.requester.id.changed") {
			t.Errorf("the panel did not ask for the requester or follow it:\n%s", log)
		}
		browsertest.Screenshot(t, b, "host-panel-ticket-sidebar")
		changeToPaul(t, b)
	})

	t.Run("beside a messaging ticket the panel shows the requester Zendesk has, not the browser's", func(t *testing.T) {
		ticket := h.stack.Zendesk.AddMessagingTicket(zendesktest.Messaging{
			Requester: zendesktest.Requester{Name: "Vera Visitor", Email: selltest.DemoVeraEmail, Phone: "+14155550100"},
			Channel:   "whatsapp", Messages: []zendesktest.Message{{Author: "user", Text: "Hello from WhatsApp"}},
		})
		// The host's requester says Liam: what the page reads from the SDK is only a
		// first guess; the backend reads the ticket's requester from Zendesk.
		h.open(t, "/apps/panel/", url.Values{"product": {"support"}, "location": {"ticket_sidebar"}, "user": {rex},
			"email": {"liam@example.org"}, "name": {"Liam Lead"}, "ticketId": {fmt.Sprint(ticket)}})
		inApp[bool](t, b, fmt.Sprintf(`!!document.querySelector('.match-lead[data-id="%d"]')`, selltest.DemoVeraLeadID))
		if got := inApp[string](t, b, `document.getElementById("visitor").textContent`); !strings.HasPrefix(got, "Vera Visitor · "+selltest.DemoVeraEmail) {
			t.Errorf("the panel's header shows %q", got)
		}
		if log := hostLog(t, b); !strings.Contains(log, "ticket.id") || !strings.Contains(log, "on ticket.conversation.changed") {
			t.Errorf("the panel did not ask for the ticket or follow its conversation:\n%s", log)
		}
		browsertest.Screenshot(t, b, "host-panel-messaging-ticket")
	})

	t.Run("the feed on a lead card reads the record from the SDK", func(t *testing.T) {
		h.open(t, "/apps/feed/", url.Values{"product": {"sell"}, "location": {"lead_card"}, "user": {rex},
			"record": {fmt.Sprint(selltest.DemoVeraLeadID)}})
		if got := inApp[string](t, b, `document.getElementById("record").textContent`); got != fmt.Sprintf("Sell lead %d", selltest.DemoVeraLeadID) {
			t.Errorf("the feed shows record %q", got)
		}
		// Loaded: whatever the history holds, the status is no longer "Loading…" and
		// no sign-in was asked for (the session from the signed entry worked).
		status := inApp[string](t, b, `(s => s !== "Loading…" && s)(document.getElementById("status").textContent)`)
		if signIn := inApp[string](t, b, `String(document.getElementById("signin").hidden)`); signIn != "true" || strings.Contains(status, "Sign in") {
			t.Errorf("the feed asks for a sign-in: %q", status)
		}
		if !strings.Contains(hostLog(t, b), "get lead.id, contact.id, deal.id") {
			t.Errorf("the feed did not ask the host for the record:\n%s", hostLog(t, b))
		}
		browsertest.Screenshot(t, b, "host-feed-lead-card")
	})

	t.Run("a token Zendesk did not sign gets the JSON 401 and no data", func(t *testing.T) {
		forged := zendesktest.SignZAFToken(zendesktest.GenerateKey(), h.stack.Zendesk.ZAFClaims(zendesktest.DemoRexID, "chat", "chat_sidebar"))
		h.open(t, "/apps/panel/", url.Values{"user": {rex}, "email": {selltest.DemoVeraEmail}, "token": {forged}})
		body := inApp[string](t, b, `document.body && document.body.innerText.includes("invalid_token") && document.body.innerText`)
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		if err := json.Unmarshal([]byte(strings.TrimSpace(body)), &e); err != nil || e.Error.Code != "invalid_token" {
			t.Errorf("the frame shows %q", body)
		}
		if n := inApp[string](t, b, `String(document.querySelectorAll(".match, #main").length)`); n != "0" {
			t.Errorf("the frame shows %s parts of the panel", n)
		}
		if log := hostLog(t, b); strings.Contains(log, "handshake") {
			t.Errorf("the refused frame talked to the host:\n%s", log)
		}
	})
}
