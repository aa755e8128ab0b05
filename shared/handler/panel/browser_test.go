package panel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/sellchat/sellchat/infra/browsertest"
	"github.com/sellchat/sellchat/infra/localstack"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/access"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/panel"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// panelWidth is about the width of the Chat sidebar the page lives in.
const panelWidth, panelHeight = 360, 760

// stage is a running local stack with acme installed, and a browser tab sized like
// the Chat sidebar.
type stage struct {
	stack   *localstack.Stack
	browser context.Context
	console *consoleLog
}

// newStage starts the whole product as `make run` does (DynamoDB in memory) and puts
// acme in the installed state: the sandbox admin's Sell token stored, Sell connected
// with Ada as superior manager, and both apps enabled — what install leaves behind.
func newStage(t *testing.T) *stage {
	t.Helper()
	ctx := context.Background()
	s, err := localstack.Start(ctx, localstack.Options{Dir: t.TempDir(), InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	apptest.ConnectSandbox(t, s.Sell, s.Deps, "acme")
	st := &stage{stack: s, browser: browsertest.New(t)}
	if err := chromedp.Do(st.browser, chromedp.EmulateViewport(panelWidth, panelHeight)); err != nil {
		t.Fatal(err)
	}
	st.console = watchConsole(t, st.browser)
	return st
}

// signIn stores a Sell token for Zendesk user userID acting as the sandbox user with
// sellEmail, as the agent sign-in's callback does.
func (st *stage) signIn(t *testing.T, userID, sellEmail string) {
	t.Helper()
	apptest.SignInSandboxAgent(t, st.stack.Sell, st.stack.Deps, "acme", userID, sellEmail)
}

// jwt is what the apps framework would hand the iframe for agent userID.
func (st *stage) jwt(t *testing.T, userID, email, name string) string {
	t.Helper()
	return apptest.SignWith(t, st.stack.Signer, auth.Identity{Account: "acme", UserID: userID, Email: email, Name: name, Role: auth.RoleAgent})
}

// open loads the panel for a visitor, as the Chat sidebar would.
func (st *stage) open(t *testing.T, visitor url.Values, token string) {
	t.Helper()
	u := st.stack.URL + panel.PagePath + "?" + visitor.Encode()
	if token != "" {
		u += "#token=" + url.QueryEscape(token)
	}
	if err := chromedp.Do(st.browser, chromedp.Navigate(u)); err != nil {
		t.Fatal(err)
	}
}

// lookup asks the API directly, to compare the page with what it was given.
func (st *stage) lookup(t *testing.T, token string, visitor url.Values) panel.Lookup {
	t.Helper()
	req, _ := http.NewRequest("GET", st.stack.URL+"/panel?"+visitor.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out panel.Lookup
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&out) != nil {
		t.Fatalf("GET /panel: %d", res.StatusCode)
	}
	return out
}

// consoleLog keeps what the page wrote to the console: exceptions and CSP reports
// fail the test, because they mean something the agent sees is broken.
type consoleLog struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func watchConsole(t *testing.T, browser context.Context) *consoleLog {
	t.Helper()
	c := &consoleLog{}
	ctx, cancel := context.WithCancel(browser)
	msgs := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, m := range c.msgs {
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				t.Errorf("the page logged: %s", m)
			}
		}
	})
	return c
}

// rendered is one match as the page shows it.
type rendered struct {
	Type   string     `json:"type"`
	ID     string     `json:"id"`
	Name   string     `json:"name"`
	Fields [][]string `json:"fields"` // key, label, value
	Deals  []string   `json:"deals"`  // ids
}

const readMatches = `[...document.querySelectorAll("#groups .match")].map(li => ({
  type: li.dataset.type, id: li.dataset.id,
  name: li.querySelector(".match-name").textContent,
  fields: [...li.querySelectorAll(".field-row")].map(r => [r.dataset.key, r.querySelector("dt").textContent, r.querySelector("dd").textContent]),
  deals: [...li.querySelectorAll(".deal")].map(d => d.dataset.id),
}))`

// checkMatches compares the page with the API's own answer: every match, in order,
// with its fields in the published order and its deals.
func checkMatches(t *testing.T, browser context.Context, want panel.Lookup) {
	t.Helper()
	got, err := chromedp.Run(browser, chromedp.Evaluate[[]rendered](readMatches))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want.Matches) {
		t.Fatalf("the page shows %d matches, the API gave %d: %+v", len(got), len(want.Matches), got)
	}
	for i, m := range want.Matches {
		g := got[i]
		if g.Type != string(m.Type) || g.ID != fmt.Sprint(m.ID) || g.Name != m.Name {
			t.Errorf("match %d: page %s %s %q, API %s %d %q", i, g.Type, g.ID, g.Name, m.Type, m.ID, m.Name)
		}
		if len(g.Fields) != len(m.Fields) {
			t.Errorf("match %d shows %d fields, API %d", i, len(g.Fields), len(m.Fields))
			continue
		}
		for j, f := range m.Fields {
			value := f.Value
			if value == "" {
				value = "—"
			}
			if g.Fields[j][0] != f.Key || g.Fields[j][1] != f.Label || g.Fields[j][2] != value {
				t.Errorf("match %d field %d: page %q, API %s/%s/%q", i, j, g.Fields[j], f.Key, f.Label, value)
			}
		}
		if len(g.Deals) != len(m.Deals) {
			t.Errorf("match %d shows deals %v, API %d", i, g.Deals, len(m.Deals))
		}
	}
}

func text(t *testing.T, browser context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func eval[T any](t *testing.T, browser context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(browser, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func TestThePanelPageShowsTheVisitorInARealBrowser(t *testing.T) {
	st := newStage(t)
	b := st.browser
	st.signIn(t, "361", selltest.DemoRexEmail)
	rex := st.jwt(t, "361", selltest.DemoRexEmail, "Rex")

	t.Run("a known visitor shows as a lead with the published fields in order", func(t *testing.T) {
		visitor := url.Values{"email": {selltest.DemoVeraEmail}, "name": {"Vera Visitor"}, "chatId": {"chat-vera"}}
		st.open(t, visitor, rex)
		if err := chromedp.Do(b, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`.match-lead[data-id="%d"]`, selltest.DemoVeraLeadID)))); err != nil {
			t.Fatal(err)
		}
		want := st.lookup(t, rex, url.Values{"email": {selltest.DemoVeraEmail}, "name": {"Vera Visitor"}})
		checkMatches(t, b, want)
		if got := text(t, b, `.match-lead .field-row[data-key="email"] dd`); got != selltest.DemoVeraEmail {
			t.Errorf("the lead's email shows %q", got)
		}
		if got := text(t, b, "#visitor"); got != "Vera Visitor · vera@example.com" {
			t.Errorf("the header shows %q", got)
		}
		// The token leaves the address bar (history, copied links) but survives a reload.
		if h := eval[string](t, b, "location.hash"); h != "" {
			t.Errorf("the token is still in the URL: %q", h)
		}
		if eval[string](t, b, `sessionStorage.getItem("sellchat.panel.token")`) != rex {
			t.Error("the token was not kept for a reload")
		}
		// With matches, creating a lead is offered but folded away.
		if eval[bool](t, b, `document.querySelector("#create").hidden || document.querySelector("#create").open`) {
			t.Error("the create-lead form should be offered, closed")
		}
		browsertest.Screenshot(t, b, "panel-lead")
	})

	t.Run("a person shows with their deals", func(t *testing.T) {
		visitor := url.Values{"email": {"paul@acme.example"}, "name": {"Paul Person"}}
		st.open(t, visitor, rex)
		if err := chromedp.Do(b, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`.match-person[data-id="%d"] .deal`, selltest.DemoPaulContactID)))); err != nil {
			t.Fatal(err)
		}
		want := st.lookup(t, rex, url.Values{"email": {"paul@acme.example"}, "name": {"Paul Person"}})
		checkMatches(t, b, want)
		deals := eval[[]string](t, b, `[...document.querySelectorAll(".match-person .deal")].map(d => d.dataset.id)`)
		if len(deals) != 2 || deals[0] != fmt.Sprint(selltest.DemoAnnualDealID) || deals[1] != fmt.Sprint(selltest.DemoOnboardDealID) {
			t.Errorf("deals shown %v", deals)
		}
		if !strings.Contains(text(t, b, fmt.Sprintf(`.deal[data-id="%d"]`, selltest.DemoAnnualDealID)), "Hot") {
			t.Error("the hot deal is not marked hot")
		}
		browsertest.Screenshot(t, b, "panel-person")
	})

	t.Run("an unknown visitor gets the no-match sentence and a prefilled lead form", func(t *testing.T) {
		visitor := url.Values{"email": {"nora.nobody@example.org"}, "name": {"Nora van Nobody"}, "phone": {"+1 415 555 0199"}}
		st.open(t, visitor, rex)
		if err := chromedp.Do(b, chromedp.WaitVisible(chromedp.CSS("#no-match")), chromedp.WaitVisible(chromedp.CSS("#lead-form"))); err != nil {
			t.Fatal(err)
		}
		want := st.lookup(t, rex, visitor)
		if want.NoMatch == "" || text(t, b, "#no-match") != want.NoMatch {
			t.Errorf("no-match shows %q, API says %q", text(t, b, "#no-match"), want.NoMatch)
		}
		if n := eval[int](t, b, `document.querySelectorAll("#groups .match").length`); n != 0 {
			t.Errorf("%d matches shown for an unknown visitor", n)
		}
		form := eval[map[string]string](t, b, `Object.fromEntries(["firstName","lastName","email","phone"].map(f => [f, document.getElementById("lead-" + f).value]))`)
		wantForm := map[string]string{"firstName": "Nora", "lastName": "van Nobody", "email": "nora.nobody@example.org", "phone": "+1 415 555 0199"}
		for k, v := range wantForm {
			if form[k] != v {
				t.Errorf("form %s = %q, want %q", k, form[k], v)
			}
		}
		// Rex is signed in and the admin chose no owners: the lead will be his.
		if err := chromedp.Do(b, chromedp.WaitVisible(chromedp.CSS("#lead-owner-note"))); err != nil {
			t.Fatal(err)
		}
		if note := text(t, b, "#lead-owner-note"); !strings.Contains(note, "Rex Rep") {
			t.Errorf("owner note %q does not name Rex", note)
		}
		browsertest.Screenshot(t, b, "panel-no-match")
	})

	t.Run("an agent who never signed in to Sell is told why and offered to sign in", func(t *testing.T) {
		rita := st.jwt(t, "362", selltest.DemoRitaEmail, "Rita")
		visitor := url.Values{"email": {"liam@example.org"}, "name": {"Liam Lead"}}
		st.open(t, visitor, rita)
		if err := chromedp.Do(b, chromedp.WaitVisible(chromedp.CSS(`#problem[data-code="no_sell_access"]`)), chromedp.WaitVisible(chromedp.CSS("#sell-signin"))); err != nil {
			t.Fatal(err)
		}
		if got := text(t, b, "#problem-message"); got != access.NoSellAccessMessage {
			t.Errorf("guidance %q, want %q", got, access.NoSellAccessMessage)
		}
		if n := eval[int](t, b, `document.querySelectorAll("#groups .match").length + (document.querySelector("#results").hidden ? 0 : 1)`); n != 0 {
			t.Error("Sell data is shown to an agent without access")
		}
		browsertest.Screenshot(t, b, "panel-no-access")

		// Signing in with Sell opens the OAuth round trip in a new window (the
		// sandbox approves at once, as the agent's own Sell user); once it says
		// "Connected", trying again shows what Rita may see.
		if err := chromedp.Do(b, chromedp.Click(chromedp.CSS("#sell-signin"))); err != nil {
			t.Fatal(err)
		}
		// Attach only once the window has settled on one of sellchat's own pages:
		// attaching while it is still being opened and pointed at Sell races
		// chromedp's frame tracking, and the wait then never ends.
		id := settledWindow(t, b, " · sellchat")
		win, cancel := chromedp.NewContext(b, chromedp.WithTargetID(id))
		defer cancel()
		if err := chromedp.Do(win, chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
			t.Fatal(err)
		}
		if h := text(t, win, "h1"); h != "Connected to Sell" {
			t.Fatalf("the sign-in window says %q: %s", h, text(t, win, "main"))
		}
		if err := chromedp.Do(b, chromedp.Click(chromedp.CSS("#retry")),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`.match-lead[data-id="%d"]`, selltest.DemoLiamLeadID)))); err != nil {
			t.Fatal(err)
		}
		if !eval[bool](t, b, `document.querySelector("#problem").hidden`) {
			t.Error("the no-access message stayed after signing in")
		}
	})

	t.Run("a switched-off app says so instead of showing data", func(t *testing.T) {
		if _, err := st.stack.Deps.Store.UpdateIntegration(context.Background(), "acme", func(in *settings.Integration) error {
			in.Elements[settings.SellAppInChat] = settings.ElementState{Enabled: false}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_, _ = st.stack.Deps.Store.UpdateIntegration(context.Background(), "acme", func(in *settings.Integration) error {
				in.Elements[settings.SellAppInChat] = settings.ElementState{Enabled: true}
				return nil
			})
		}()
		st.open(t, url.Values{"email": {selltest.DemoVeraEmail}}, rex)
		if err := chromedp.Do(b, chromedp.WaitVisible(chromedp.CSS(`#problem[data-code="app_disabled"]`))); err != nil {
			t.Fatal(err)
		}
		if got := text(t, b, "#problem-message"); got != access.ErrAppDisabled.Message {
			t.Errorf("message %q", got)
		}
		browsertest.Screenshot(t, b, "panel-app-disabled")
	})

	t.Run("without a token the local stack offers its sign-in, which works", func(t *testing.T) {
		eval[bool](t, b, `sessionStorage.clear(), true`)
		st.open(t, url.Values{"email": {selltest.DemoVeraEmail}, "name": {"Vera Visitor"}}, "")
		if err := chromedp.Do(b, chromedp.WaitVisible(chromedp.CSS("#dev-signin"))); err != nil {
			t.Fatal(err)
		}
		browsertest.Screenshot(t, b, "panel-local-sign-in")
		// The form's defaults are Rex as Zendesk user 361, signed in to Sell above.
		if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`#dev-signin button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`.match-lead[data-id="%d"]`, selltest.DemoVeraLeadID)))); err != nil {
			t.Fatal(err)
		}
	})
}

// recordLeadKeys wraps the page's fetch so the test sees the Idempotency-Key of each
// POST /leads; the requests themselves still go to the stack unchanged.
const recordLeadKeys = `(() => {
  window.leadKeys = [];
  const send = window.fetch;
  window.fetch = function (url, opts) {
    if (String(url).startsWith("/leads")) { window.leadKeys.push(opts.headers["Idempotency-Key"]); }
    return send.apply(this, arguments);
  };
  return true;
})()`

func TestAnAgentCreatesALeadFromThePanel(t *testing.T) {
	st := newStage(t)
	b := st.browser
	st.signIn(t, "361", selltest.DemoRexEmail)
	rex := st.jwt(t, "361", selltest.DemoRexEmail, "Rex")

	// The lead function lives in shared/handler/leads; say so plainly if the stack lacks it.
	res, err := http.Post(st.stack.URL+"/leads", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		t.Fatal("POST /leads is not served by the local stack (infra/gateway must mount shared/handler/leads)")
	}

	// The admin set a status for new leads and two owners to choose from.
	storetest.ChangeSettings(t, st.stack.Deps.Store, "acme", func(set *settings.Settings) {
		set.LeadStatus = "Working"
		set.Owners = []settings.Owner{{Type: settings.OwnerUser, ID: selltest.DemoRitaID}, {Type: settings.OwnerUser, ID: selltest.DemoRexID}}
	})

	const email = "nina.new@example.com"
	st.open(t, url.Values{"email": {email}, "name": {"Nina New"}, "phone": {"+1 415 555 0123"}, "chatId": {"chat-nina"}}, rex)
	rexOption := fmt.Sprintf(`#lead-owner option[value="user:%d"]`, selltest.DemoRexID)
	if err := chromedp.Do(b, chromedp.WaitVisible(chromedp.CSS("#lead-form")), chromedp.WaitReady(chromedp.CSS(rexOption))); err != nil {
		t.Fatal(err)
	}
	if !eval[bool](t, b, `document.querySelector("#lead-owner").required`) {
		t.Error("the owner is not required although the admin set owners to choose from")
	}
	eval[bool](t, b, recordLeadKeys)
	if err := chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS("#lead-organizationName"), "Nina Co"),
		chromedp.SendKeys(chromedp.CSS("#lead-description"), "Asked about pricing."),
	); err != nil {
		t.Fatal(err)
	}

	t.Run("an owner outside the admin's list is refused next to the owner field", func(t *testing.T) {
		// Ivan is not offered; the page is made to send him anyway, as a stale page might.
		eval[bool](t, b, fmt.Sprintf(`(() => { const o = document.createElement("option"); o.value = "user:%d"; o.textContent = "Ivan"; document.querySelector("#lead-owner").append(o); document.querySelector("#lead-owner").value = o.value; return true; })()`, selltest.DemoInactiveID))
		if err := chromedp.Do(b, chromedp.Click(chromedp.CSS("#lead-submit")), chromedp.WaitVisible(chromedp.CSS("#lead-owner-error"))); err != nil {
			t.Fatal(err)
		}
		if got := text(t, b, "#lead-owner-error"); !strings.Contains(got, "owner") {
			t.Errorf("owner error %q", got)
		}
		if eval[string](t, b, `document.querySelector("#lead-owner").getAttribute("aria-invalid")`) != "true" {
			t.Error("the owner field is not marked invalid")
		}
	})

	var first int64
	t.Run("a failed attempt is retried with the same idempotency key and creates one lead", func(t *testing.T) {
		if err := chromedp.Do(b, chromedp.SetValue(chromedp.CSS("#lead-owner"), fmt.Sprintf("user:%d", selltest.DemoRexID))); err != nil {
			t.Fatal(err)
		}
		st.stack.Sell.FailNext(1, http.StatusBadRequest) // Sell refuses the next call: a 502 for the page
		if err := chromedp.Do(b, chromedp.Click(chromedp.CSS("#lead-submit")), chromedp.WaitVisible(chromedp.CSS("#lead-message.error"))); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(b, chromedp.Click(chromedp.CSS("#lead-submit")), chromedp.WaitVisible(chromedp.CSS("#created"))); err != nil {
			t.Fatal(err)
		}
		keys := eval[[]string](t, b, `window.leadKeys`)
		if len(keys) != 3 || keys[0] == keys[1] || keys[1] != keys[2] {
			t.Errorf("keys %q: want a new key for the changed owner, then the same key for the retry", keys)
		}
		var ninas []sell.Lead
		for _, l := range st.stack.Sell.Leads() {
			if l.Email == email {
				ninas = append(ninas, l)
			}
		}
		if len(ninas) != 1 {
			t.Fatalf("%d leads for %s in Sell, want 1", len(ninas), email)
		}
		l := ninas[0]
		first = l.ID
		if l.OwnerID != selltest.DemoRexID || l.Status != "Working" || l.FirstName != "Nina" || l.LastName != "New" || l.OrganizationName != "Nina Co" ||
			!strings.Contains(l.Description, "Asked about pricing.") || !strings.Contains(l.Description, "chat-nina") {
			t.Errorf("lead in Sell: %+v", l)
		}
		if msg := text(t, b, "#created-message"); !strings.Contains(msg, "Rex Rep") || !strings.Contains(msg, "Working") {
			t.Errorf("created message %q", msg)
		}
		// The lookup runs again, so the new lead shows at once.
		if err := chromedp.Do(b, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`.match-lead[data-id="%d"]`, l.ID)))); err != nil {
			t.Fatal(err)
		}
		browsertest.Screenshot(t, b, "panel-lead-created")
	})

	t.Run("a visitor already in Sell is flagged and can be created anyway with a new key", func(t *testing.T) {
		if first == 0 {
			t.Skip("needs the lead of the previous step")
		}
		if err := chromedp.Do(b, chromedp.Click(chromedp.CSS("#create > summary")),
			chromedp.SendKeys(chromedp.CSS("#lead-description"), "Second chat."),
			chromedp.Click(chromedp.CSS("#lead-submit")),
			chromedp.WaitVisible(chromedp.CSS("#lead-anyway"))); err != nil {
			t.Fatal(err)
		}
		if msg := text(t, b, "#lead-message"); !strings.Contains(msg, "Nina New") {
			t.Errorf("the duplicate warning does not name the existing lead: %q", msg)
		}
		browsertest.Screenshot(t, b, "panel-already-exists")
		if err := chromedp.Do(b, chromedp.Click(chromedp.CSS("#lead-anyway"))); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(b, chromedp.Poll[bool](fmt.Sprintf(`document.querySelector("#created").dataset.id !== "%d" && document.querySelectorAll("#groups .match-lead").length === 2`, first))); err != nil {
			t.Fatal(err)
		}
		keys := eval[[]string](t, b, `window.leadKeys`)
		if len(keys) != 5 || keys[4] == keys[3] || keys[3] == keys[2] {
			t.Errorf("keys %q: the duplicate check and create-anyway must each get a new key", keys)
		}
		n := 0
		for _, l := range st.stack.Sell.Leads() {
			if l.Email == email {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d leads for %s in Sell after create anyway, want 2", n, email)
		}
	})
}

// settledWindow waits, until b's deadline, for another page target of the browser
// whose title ends with suffix, and returns its id.
func settledWindow(t *testing.T, b context.Context, suffix string) target.ID {
	t.Helper()
	self := chromedp.FromContext(b).Target.TargetID
	for {
		infos, err := chromedp.Targets(b)
		if err != nil {
			t.Fatalf("list the browser's windows: %v", err)
		}
		for _, i := range infos {
			if i.Type == "page" && i.TargetID != self && strings.HasSuffix(i.Title, suffix) {
				return i.TargetID
			}
		}
		select {
		case <-b.Done():
			t.Fatalf("no window with a title ending %q before the browser's deadline", suffix)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
