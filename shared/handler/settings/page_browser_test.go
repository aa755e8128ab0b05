package settings_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sellchat/sellchat/infra/browsertest"
	"github.com/sellchat/sellchat/infra/localstack"
	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// stackAPI calls the running stack's JSON routes as the admin.
type stackAPI struct {
	t     *testing.T
	url   string
	token string
}

// send makes one call and returns its status and body.
func (a stackAPI) send(method, path, body string, header map[string]string) (int, []byte) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.url+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

func (a stackAPI) get(path string, out any) {
	a.t.Helper()
	status, body := a.send("GET", path, "", nil)
	if status != 200 {
		a.t.Fatalf("GET %s: %d %s", path, status, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		a.t.Fatalf("GET %s: %v", path, err)
	}
}

func (a stackAPI) patch(path, ifMatch, body string) {
	a.t.Helper()
	if status, out := a.send("PATCH", path, body, map[string]string{"If-Match": ifMatch}); status != 200 {
		a.t.Fatalf("PATCH %s: %d %s", path, status, out)
	}
}

// integration is what GET /integration says of the install and the elements.
type integration struct {
	Installed     bool                              `json:"installed"`
	SellConnected bool                              `json:"sellConnected"`
	Elements      map[string]struct{ Enabled bool } `json:"elements"`
}

func (a stackAPI) integration() integration {
	a.t.Helper()
	var in integration
	a.get("/integration", &in)
	return in
}

// settingsPage is the settings page open in headless Chromium against a whole local
// stack (gateway, DynamoDB Local, Sell sandbox), signed in as one admin.
type settingsPage struct {
	t     *testing.T
	stack *localstack.Stack
	api   stackAPI
	ctx   context.Context
	token string
}

// openSettingsPage starts a stack and a browser and signs id's token; the page is
// not loaded yet.
func openSettingsPage(t *testing.T, id auth.Identity) *settingsPage {
	t.Helper()
	stack, err := localstack.Start(context.Background(), localstack.Options{Dir: t.TempDir(), InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stack.Stop)
	tok := apptest.SignWith(t, stack.Signer, id)
	return &settingsPage{t: t, stack: stack, api: stackAPI{t: t, url: stack.URL, token: tok}, ctx: browsertest.New(t), token: tok}
}

// do runs one step's actions; a failed step leaves a screenshot of the page.
func (p *settingsPage) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	stepCtx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(stepCtx, actions...); err != nil {
		p.t.Errorf("%s: %v", step, err)
		browsertest.Screenshot(p.t, p.ctx, "settings-failed")
		p.t.FailNow()
	}
}

// until waits for a DOM condition (a JavaScript predicate), never for a time.
func until(predicate string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](predicate, chromedp.WithPollingTimeout(20*time.Second))(ctx, tg)
		return chromedp.Void{}, err
	}
}

func (p *settingsPage) text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// evalAs evaluates the JavaScript expression expr in the page as a T, failing the
// test if it throws or is not a T. (A method cannot take a type parameter, so the
// typed readers below are spelled through this one.)
func evalAs[T any](p *settingsPage, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func (p *settingsPage) evalBool(expr string) bool {
	p.t.Helper()
	return evalAs[bool](p, expr)
}

func (p *settingsPage) evalString(expr string) string {
	p.t.Helper()
	return evalAs[string](p, expr)
}

// switchesDisabled reports, per element, whether its switch is disabled.
func (p *settingsPage) switchesDisabled() map[string]bool {
	p.t.Helper()
	return evalAs[map[string]bool](p,
		`Object.fromEntries(Array.from(document.querySelectorAll('input[data-element]')).map(e => [e.dataset.element, e.disabled]))`)
}

// load opens the page with the token in the fragment, as the apps framework passes
// it, and checks that it leaves the URL.
func (p *settingsPage) load() {
	p.t.Helper()
	p.do("load the page",
		chromedp.Navigate(p.stack.URL+"/settings/#token="+p.token),
		chromedp.WaitVisible(chromedp.CSS("#app")),
		chromedp.WaitVisible(chromedp.CSS("#connect-sell")),
	)
	if hash := p.evalString("location.hash"); hash != "" {
		p.t.Fatalf("the token stayed in the URL: %q", hash)
	}
}

// chatOwner's Chat facts pass the install checks: phase 4, Professional, the
// installer the Chat account owner.
var chatOwner = auth.ChatFacts{Phase: 4, Plan: "professional", Role: "owner", SupportRole: "admin"}

// TestTheSettingsPageInARealBrowser drives the page in headless Chromium against the
// whole local stack (gateway, DynamoDB Local, Sell sandbox) and checks, after each
// step, that the JSON state behind it changed as the admin meant.
func TestTheSettingsPageInARealBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser and a whole stack")
	}
	t.Parallel()
	p := openSettingsPage(t, auth.Identity{Account: "acme", UserID: "1", Email: "ada@example.com", Name: "Ada Admin", Role: auth.RoleAdmin, Chat: chatOwner})
	api, ctx, do, text := p.api, p.ctx, p.do, p.text

	p.load()
	if got := text("#conn-text"); !strings.Contains(got, "not connected") {
		t.Fatalf("connection before connecting: %q", got)
	}
	if dis, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('lead-status-select').disabled`)); !dis {
		t.Error("Sell-backed controls must wait for Sell")
	}
	// Nothing can be switched on before the install, and the page says why.
	if got := text("#install-text"); !strings.Contains(got, "Connect Sell first") {
		t.Errorf("install state before connecting: %q", got)
	}
	if p.evalBool(`!document.getElementById('run-install').hidden`) {
		t.Error("the install checks are offered before Sell is connected")
	}
	if dis := p.switchesDisabled(); !dis["chat_app_in_sell"] || !dis["sell_app_in_chat"] || !dis["chat_history_in_sell"] {
		t.Errorf("switches before the install: disabled %v", dis)
	}
	if got := text("#elements-note"); !strings.Contains(got, "Install the integration first") {
		t.Errorf("the elements card does not say to install first: %q", got)
	}
	// Agent Workspace notifications are made through the Zendesk connection, which
	// this session (a local token) has not made: the page only says how to get it.
	if !p.evalBool(`!document.getElementById('aw').checkVisibility() && document.getElementById('aw-hint').checkVisibility()`) {
		t.Error("without Zendesk connected the Agent Workspace line shows, or the hint to sign in does not")
	}
	browsertest.Screenshot(t, ctx, "settings-0-not-connected")

	// Connect Sell through the real OAuth round trip: the oauth function, the
	// sandbox's authorize page (which approves at once), the callback, back here;
	// the page then runs the install checks by itself, and they pass.
	do("connect Sell",
		chromedp.Click(chromedp.CSS("#connect-sell")),
		chromedp.WaitVisible(chromedp.CSS("#conn-dot.on")),
		chromedp.WaitVisible(chromedp.CSS("#install-dot.on")),
		chromedp.WaitVisible(chromedp.CSS("#install-status.saved")),
		until(`document.querySelector('#owner-users input') !== null`),
	)
	if got := text("#banner"); got != "Sell is connected." {
		t.Errorf("banner after connecting: %q", got)
	}
	if u := p.evalString("location.pathname + location.search + location.hash"); u != "/settings/" {
		t.Errorf("the page's URL after connecting: %q", u)
	}
	if got := text("#conn-text"); !strings.Contains(got, "Sell is connected") {
		t.Fatalf("connection: %q", got)
	}
	if got := text("#install-text"); got != "Installed." {
		t.Errorf("install state: %q", got)
	}
	if p.evalBool(`!document.getElementById('run-install').hidden || !document.getElementById('install-failures').hidden`) {
		t.Error("the install checks are still offered, or failures shown, after they passed")
	}
	in := api.integration()
	if !in.Installed || !in.Elements["chat_app_in_sell"].Enabled || !in.Elements["sell_app_in_chat"].Enabled || in.Elements["chat_history_in_sell"].Enabled {
		t.Fatalf("after the install: %+v", in)
	}
	// The page shows what the install switched on, and every switch works now.
	do("show the elements the install switched on",
		chromedp.WaitVisible(chromedp.CSS("#dot-chat_app_in_sell.on")),
		chromedp.WaitVisible(chromedp.CSS("#dot-sell_app_in_chat.on")),
		chromedp.WaitNotVisible(chromedp.CSS("#elements-note")),
	)
	if dis := p.switchesDisabled(); dis["chat_app_in_sell"] || dis["sell_app_in_chat"] || dis["chat_history_in_sell"] {
		t.Errorf("switches after the install: disabled %v", dis)
	}
	if p.evalBool(`document.getElementById('el-signInOnLoad').disabled`) {
		t.Error("sign-in on load is disabled although the Chat app in Sell is on")
	}
	browsertest.Screenshot(t, ctx, "settings-1-connection")

	// Elements: a plain toggle off and on, then history through its confirmation dialog.
	do("switch the Sell app in Chat off",
		chromedp.Click(chromedp.CSS("#el-sell_app_in_chat")),
		chromedp.WaitVisible(chromedp.CSS("#status-sell_app_in_chat.saved")),
		chromedp.WaitNotPresent(chromedp.CSS("#dot-sell_app_in_chat.on")),
	)
	if in = api.integration(); in.Elements["sell_app_in_chat"].Enabled {
		t.Fatalf("after switching off: %+v", in.Elements)
	}
	do("switch the Sell app in Chat on",
		chromedp.Click(chromedp.CSS("#el-sell_app_in_chat")),
		until(`document.getElementById('status-sell_app_in_chat').textContent === 'Saved: on'`),
		chromedp.WaitVisible(chromedp.CSS("#dot-sell_app_in_chat.on")),
	)
	if in = api.integration(); !in.Elements["sell_app_in_chat"].Enabled || in.Elements["chat_history_in_sell"].Enabled {
		t.Fatalf("after the toggle: %+v", in.Elements)
	}
	do("ask to show chat history",
		chromedp.Click(chromedp.CSS("#el-chat_history_in_sell")),
		chromedp.WaitVisible(chromedp.CSS("#history-dialog[open]")),
	)
	if got := text("#history-desc"); !strings.Contains(got, "every Chat agent who has access to Sell will see past chats") {
		t.Fatalf("the dialog does not explain the consequence: %q", got)
	}
	if focused, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.activeElement.id")); focused != "history-cancel" {
		t.Errorf("focus in the dialog is on %q, want the safe choice", focused)
	}
	browsertest.Screenshot(t, ctx, "settings-2-history-dialog")
	if in = api.integration(); in.Elements["chat_history_in_sell"].Enabled {
		t.Fatal("history was enabled before the admin confirmed")
	}
	if p.evalBool(`document.getElementById('chat-progress').checkVisibility()`) {
		t.Error("past chats' progress shows while history is off")
	}
	// Past chats are offered from 30 days back (the admin's local day, so give or
	// take one); the admin picks 45 days back instead.
	offered, err := time.Parse(time.DateOnly, p.evalString(`document.getElementById('history-from').value`))
	if back := time.Since(offered); err != nil || back < 29*24*time.Hour || back > 31*24*time.Hour {
		t.Errorf("past chats offered from %s (%v), want 30 days back", offered, err)
	}
	picked := time.Now().UTC().AddDate(0, 0, -45).Truncate(24 * time.Hour)
	do("confirm from 45 days back",
		chromedp.SetValue(chromedp.CSS("#history-from"), picked.Format(time.DateOnly)),
		chromedp.Click(chromedp.CSS("#history-confirm")),
		chromedp.WaitVisible(chromedp.CSS("#status-chat_history_in_sell.saved")),
		chromedp.WaitVisible(chromedp.CSS("#dot-chat_history_in_sell.on")),
	)
	if in = api.integration(); !in.Elements["chat_history_in_sell"].Enabled {
		t.Fatal("history is not enabled after confirming")
	}
	p.checkPastChats(picked)
	browsertest.Screenshot(t, ctx, "settings-3-elements")

	// Lead status from Sell's list.
	do("choose the status Working",
		chromedp.SetValue(chromedp.CSS("#lead-status-select"), "Working"), // fires change, as a person's choice does
		chromedp.WaitVisible(chromedp.CSS("#lead-status-status.saved")),
	)
	var st settingsBody
	api.get("/settings", &st)
	if st.LeadStatus != "Working" || st.Version != 1 {
		t.Fatalf("lead status: %+v", st)
	}

	// Lead source: typing a new name offers to create it.
	do("type a new source",
		chromedp.Click(chromedp.CSS("#source-input")),
		chromedp.SendKeys(chromedp.CSS("#source-input"), "Zendesk Chat"),
		chromedp.WaitVisible(chromedp.CSS("#source-list li.create")),
	)
	if got := text("#source-list li.create"); got != "Create \u201cZendesk Chat\u201d" {
		t.Fatalf("create option: %q", got)
	}
	browsertest.Screenshot(t, ctx, "settings-4-lead-source")
	do("create it with the keyboard",
		chromedp.SendKeys(chromedp.CSS("#source-input"), kb.ArrowDown), // to the only option
		until(`document.getElementById('source-input').getAttribute('aria-activedescendant') === 'source-opt-0'`),
		chromedp.SendKeys(chromedp.CSS("#source-input"), kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#lead-source-status.saved")),
	)
	var sources struct {
		LeadSources []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"leadSources"`
	}
	api.get("/sell/lead-sources", &sources)
	var chatSource int64
	for _, s := range sources.LeadSources {
		if s.Name == "Zendesk Chat" {
			chatSource = s.ID
		}
	}
	api.get("/settings", &st)
	if chatSource == 0 || st.LeadSourceID == nil || *st.LeadSourceID != chatSource {
		t.Fatalf("source %d created, settings point at %v", chatSource, st.LeadSourceID)
	}

	// Pools, then a pool and a user as owners.
	do("mark the demo pool",
		chromedp.SetValue(chromedp.CSS("#pool-user"), "1004"),
		chromedp.SendKeys(chromedp.CSS("#pool-name"), "Inbound"),
		chromedp.Click(chromedp.CSS("#pool-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#pool-rows tr")),
		chromedp.WaitVisible(chromedp.CSS(`#owner-pools input[data-id="1004"]`)),
	)
	var pools struct {
		Pools []struct {
			SellUserID int64  `json:"sellUserId"`
			Name       string `json:"name"`
		} `json:"pools"`
	}
	api.get("/pools", &pools)
	if len(pools.Pools) != 1 || pools.Pools[0].SellUserID != 1004 || pools.Pools[0].Name != "Inbound" {
		t.Fatalf("pools: %+v", pools)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#owner-users input[data-id="1004"]').length`)); n != 0 {
		t.Fatal("a pool is still offered as a user owner")
	}
	browsertest.Screenshot(t, ctx, "settings-5-pools")
	do("choose owners",
		chromedp.Click(chromedp.CSS(`#owner-pools input[data-id="1004"]`)),
		chromedp.WaitVisible(chromedp.CSS("#owners-status.saved")),
		until(`document.getElementById('owners-explain').textContent.includes('1 owner')`),
		chromedp.Click(chromedp.CSS(`#owner-users input[data-id="1003"]`)),
		until(`document.getElementById('owners-explain').textContent.includes('2 owner')`),
	)
	api.get("/settings", &st)
	if len(st.Owners) != 2 || st.Owners[0].Type != "pool" || st.Owners[0].ID != 1004 || st.Owners[1].ID != 1003 {
		t.Fatalf("owners: %+v", st.Owners)
	}
	if dis, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('#pool-rows button').disabled`)); !dis {
		t.Error("a pool that is an owner can be unmarked on the page")
	}
	// A full load renders every card at once; the pool in use must stay locked.
	do("reload the page",
		chromedp.Navigate(p.stack.URL+"/settings/"),
		chromedp.WaitVisible(chromedp.CSS(`#owner-pools input[data-id="1004"]`)),
		chromedp.WaitVisible(chromedp.CSS("#pool-rows tr")),
	)
	if dis, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('#pool-rows button').disabled`)); !dis {
		t.Error("after a reload, a pool that is an owner can be unmarked on the page")
	}
	if got := text("#banner"); strings.Contains(got, "Someone else") {
		t.Fatalf("a conflict was reported although nobody else changed anything: %q", got)
	}
	browsertest.Screenshot(t, ctx, "settings-6-owners")

	// Field display of leads: search and add, reorder by keyboard and by drag, remove.
	draft := func() []string {
		var w struct {
			Draft     []string `json:"draft"`
			Published []string `json:"published"`
		}
		api.get("/widgets/lead", &w)
		return w.Draft
	}
	do("find and add Newsletter",
		chromedp.SendKeys(chromedp.CSS("#field-search"), "news"),
		until(`document.querySelectorAll('#available li[data-key]').length === 1`),
		chromedp.Click(chromedp.CSS(`#available li[data-key="custom:Newsletter"] .name`)),
		chromedp.WaitVisible(chromedp.CSS(`#chosen li[data-key="custom:Newsletter"]`)),
	)
	want := append(slices.Clone([]string{"name", "email", "phone", "status", "owner", "source", "organization"}), "custom:Newsletter")
	if got := draft(); !slices.Equal(got, want) {
		t.Fatalf("after adding: %v", got)
	}
	do("add Budget with its + button",
		until(`(() => { document.getElementById('field-search').value = ''; return true; })()`),
		chromedp.SendKeys(chromedp.CSS("#field-search"), "bud"),
		until(`document.querySelectorAll('#available li[data-key]').length === 1`),
		chromedp.Click(chromedp.CSS(`#available button[data-key="custom:Budget"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#chosen li[data-key="custom:Budget"]`)),
	)
	do("move Budget up with the keyboard",
		chromedp.Focus(chromedp.CSS(`#chosen button[data-action="up"][data-key="custom:Budget"]`)),
		chromedp.SendKeys(chromedp.CSS(`#chosen button[data-action="up"][data-key="custom:Budget"]`), kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#chosen li:nth-last-child(2)[data-key="custom:Budget"]`)),
	)
	if focused, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.getAttribute('aria-label')`)); focused != "Move Budget up" {
		t.Errorf("after moving, focus is on %q", focused)
	}
	want = []string{"name", "email", "phone", "status", "owner", "source", "organization", "custom:Budget", "custom:Newsletter"}
	if got := draft(); !slices.Equal(got, want) {
		t.Fatalf("after moving up: %v", got)
	}
	do("drag Budget to the top",
		chromedp.DragAndDrop(chromedp.CSS(`#chosen li[data-key="custom:Budget"] .name`), chromedp.CSS(`#chosen li[data-key="name"] .name`)),
		chromedp.WaitVisible(chromedp.CSS(`#chosen li:first-child[data-key="custom:Budget"]`)),
	)
	want = []string{"custom:Budget", "name", "email", "phone", "status", "owner", "source", "organization", "custom:Newsletter"}
	if got := draft(); !slices.Equal(got, want) {
		t.Fatalf("after dragging: %v", got)
	}
	do("remove the organisation",
		chromedp.Click(chromedp.CSS(`#chosen button[data-action="remove"][data-key="organization"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#chosen li[data-key="organization"]`)),
	)
	want = []string{"custom:Budget", "name", "email", "phone", "status", "owner", "source", "custom:Newsletter"}
	if got := draft(); !slices.Equal(got, want) {
		t.Fatalf("after removing: %v", got)
	}
	do("review",
		chromedp.Click(chromedp.CSS("#review")),
		chromedp.WaitVisible(chromedp.CSS("#preview")),
	)
	labels, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#preview-list dt')).map(e => e.textContent)`))
	values, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#preview-list dd')).map(e => e.textContent)`))
	if len(labels) != len(want) || labels[0] != "Budget" || values[0] != "1,234.5" || values[len(values)-1] != "Yes" {
		t.Fatalf("preview %v %v", labels, values)
	}
	browsertest.Screenshot(t, ctx, "settings-7-field-display")
	var before struct {
		Published []string `json:"published"`
	}
	api.get("/widgets/lead", &before)
	if slices.Equal(before.Published, want) {
		t.Fatal("the draft was published before Publish")
	}
	do("publish",
		chromedp.Click(chromedp.CSS("#publish")),
		until(`document.getElementById('widget-status').textContent.startsWith('Published')`),
		until(`!document.getElementById('widget-dates').textContent.includes('Published: never')`),
	)
	var after struct {
		Published   []string `json:"published"`
		PublishedAt *string  `json:"publishedAt"`
	}
	api.get("/widgets/lead", &after)
	if !slices.Equal(after.Published, want) || after.PublishedAt == nil {
		t.Fatalf("published: %+v", after)
	}

	// The person widget is its own tab, reached with the arrow keys.
	do("open the person widget",
		chromedp.Focus(chromedp.CSS("#tab-lead")),
		chromedp.SendKeys(chromedp.CSS("#tab-lead"), kb.ArrowRight),
		chromedp.WaitVisible(chromedp.CSS(`#tab-person[aria-selected="true"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#chosen li[data-key="company"]`)),
	)

	// Someone else changes the settings: the page's next change is refused, it
	// reloads and says so.
	api.get("/settings", &st)
	api.patch("/settings", jsonInt(st.Version), `{"access":"all_agents"}`)
	do("change access on a stale page",
		chromedp.Click(chromedp.CSS("#access-all_agents")),
		chromedp.WaitVisible(chromedp.CSS("#banner")),
		chromedp.WaitVisible(chromedp.CSS("#access-status.failed")),
	)
	if got := text("#banner"); !strings.Contains(got, "Someone else changed the settings") {
		t.Fatalf("banner: %q", got)
	}
	browsertest.Screenshot(t, ctx, "settings-8-conflict")

	// Someone uninstalls meanwhile: the page still shows the switches it loaded;
	// switching one on is refused with the backend's reason, and the page then shows
	// the account as it is.
	do("switch the Sell app in Chat off again",
		chromedp.Click(chromedp.CSS("#el-sell_app_in_chat")),
		until(`document.getElementById('status-sell_app_in_chat').textContent === 'Saved: off'`),
	)
	if status, body := api.send("DELETE", "/integration", "", nil); status != 200 {
		t.Fatalf("DELETE /integration: %d %s", status, body)
	}
	do("switch it on on a stale page",
		chromedp.Click(chromedp.CSS("#el-sell_app_in_chat")),
		chromedp.WaitVisible(chromedp.CSS("#status-sell_app_in_chat.failed")),
		chromedp.WaitVisible(chromedp.CSS("#elements-note")),
	)
	if got := text("#status-sell_app_in_chat"); !strings.Contains(got, "Install the integration first") {
		t.Errorf("the refusal does not say why: %q", got)
	}
	if in = api.integration(); in.Installed || in.Elements["sell_app_in_chat"].Enabled {
		t.Fatalf("after the refused switch: %+v", in)
	}
	if p.evalBool(`document.getElementById('el-sell_app_in_chat').checked`) {
		t.Error("the refused switch shows as on")
	}
	if dis := p.switchesDisabled(); !dis["chat_app_in_sell"] || !dis["sell_app_in_chat"] || !dis["chat_history_in_sell"] {
		t.Errorf("switches after the uninstall: disabled %v", dis)
	}
	if got := text("#install-text"); !strings.Contains(got, "Not installed") {
		t.Errorf("install state after the uninstall: %q", got)
	}
	browsertest.Screenshot(t, ctx, "settings-9-uninstalled")
}

// TestTheSettingsPageListsFailedInstallChecks: an admin whose Chat account is on a
// plan below Team, and who is not its owner, connects Sell. The checks the page runs
// on the way back fail; it lists each one with what to do, keeps every switch off and
// disabled, and offers a retry.
func TestTheSettingsPageListsFailedInstallChecks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser and a whole stack")
	}
	t.Parallel()
	lowPlan := auth.ChatFacts{Phase: 4, Plan: "lite", Role: "admin", SupportRole: "admin"}
	p := openSettingsPage(t, auth.Identity{Account: "acme", UserID: "2", Email: "ada@example.com", Name: "Ada Admin", Role: auth.RoleAdmin, Chat: lowPlan})
	p.load()
	p.do("connect Sell",
		chromedp.Click(chromedp.CSS("#connect-sell")),
		chromedp.WaitVisible(chromedp.CSS("#conn-dot.on")),
		chromedp.WaitVisible(chromedp.CSS("#install-status.failed")),
		chromedp.WaitVisible(chromedp.CSS("#install-checks li")),
	)

	// The page lists exactly what the backend found, in its order, each readable.
	status, body := p.api.send("POST", "/integration/install", "", nil)
	var answer struct {
		Error struct {
			Code    string `json:"code"`
			Details []struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || status != 422 || answer.Error.Code != "prerequisites_failed" {
		t.Fatalf("POST /integration/install: %d %s", status, body)
	}
	var codes []string
	for _, d := range answer.Error.Details {
		codes = append(codes, d.Code)
	}
	if want := []string{"chat_plan_too_low", "not_account_owner"}; !slices.Equal(codes, want) {
		t.Fatalf("the backend's failed checks: %v, want %v", codes, want)
	}
	listed := func() []string {
		t.Helper()
		v, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll('#install-checks li')).map(li => li.dataset.code + ': ' + li.textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var want []string
	for _, d := range answer.Error.Details {
		want = append(want, d.Code+": "+d.Message)
	}
	if got := listed(); !slices.Equal(got, want) {
		t.Fatalf("the page lists\n%q\nwant\n%q", got, want)
	}
	if !p.evalBool(`Array.from(document.querySelectorAll('#install-checks li')).every(li => li.checkVisibility() && li.getBoundingClientRect().height > 0)`) {
		t.Error("a failed check is listed but not visible")
	}
	if got := p.text("#install-failures-h"); !strings.HasPrefix(got, "2 install checks failed") {
		t.Errorf("the list's heading: %q", got)
	}
	if got := p.text("#install-text"); !strings.HasPrefix(got, "Not installed yet") {
		t.Errorf("install state: %q", got)
	}
	if p.evalBool(`document.getElementById('install-dot').classList.contains('on')`) {
		t.Error("the install shows green although the checks failed")
	}
	if !p.evalBool(`(b => !b.hidden && !b.disabled && b.getAttribute('aria-describedby') === 'install-failures')(document.getElementById('run-install'))`) {
		t.Error("no retry button described by the failures")
	}
	if dis := p.switchesDisabled(); !dis["chat_app_in_sell"] || !dis["sell_app_in_chat"] || !dis["chat_history_in_sell"] {
		t.Errorf("switches after failed checks: disabled %v", dis)
	}
	if !p.evalBool(`!document.getElementById('elements-note').hidden && document.getElementById('el-signInOnLoad').disabled`) {
		t.Error("the elements card does not say to install first, or sign-in on load is open")
	}
	in := p.api.integration()
	if in.Installed || !in.SellConnected || in.Elements["chat_app_in_sell"].Enabled || in.Elements["sell_app_in_chat"].Enabled || in.Elements["chat_history_in_sell"].Enabled {
		t.Fatalf("after failed checks: %+v", in)
	}
	browsertest.Screenshot(t, p.ctx, "settings-install-failed")

	// Retry from the keyboard: the same checks fail again, listed once, and focus
	// stays on the button to try again. The test blanks the status first, so that
	// "Not installed" again can only be the retry's answer.
	p.do("retry the checks",
		until(`(() => { document.getElementById('install-status').textContent = ''; return true; })()`),
		chromedp.Focus(chromedp.CSS("#run-install")),
		chromedp.SendKeys(chromedp.CSS("#run-install"), kb.Enter),
		until(`document.getElementById('install-status').textContent.startsWith('Not installed:')`),
	)
	if got := listed(); !slices.Equal(got, want) {
		t.Errorf("after the retry the page lists %q", got)
	}
	if focused := p.evalString("document.activeElement.id"); focused != "run-install" {
		t.Errorf("after the retry focus is on %q", focused)
	}
	if in = p.api.integration(); in.Installed || in.Elements["chat_app_in_sell"].Enabled || in.Elements["sell_app_in_chat"].Enabled {
		t.Fatalf("after the retry: %+v", in)
	}

	// An element switched on before installs were checked (an account from before
	// the check existed) can still be switched off, and then not on again.
	if _, err := p.stack.Deps.Store.UpdateIntegration(context.Background(), "acme", func(in *settings.Integration) error {
		if in.Elements == nil {
			in.Elements = map[settings.Element]settings.ElementState{}
		}
		in.Elements[settings.SellAppInChat] = settings.ElementState{Enabled: true}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p.do("reload the page (the token is kept for the tab)",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS("#dot-sell_app_in_chat.on")),
	)
	if dis := p.switchesDisabled(); dis["sell_app_in_chat"] || !dis["chat_app_in_sell"] {
		t.Fatalf("with the Sell app in Chat on before the install: disabled %v", dis)
	}
	p.do("switch it off",
		chromedp.Click(chromedp.CSS("#el-sell_app_in_chat")),
		until(`document.getElementById('status-sell_app_in_chat').textContent === 'Saved: off'`),
		until(`document.getElementById('el-sell_app_in_chat').disabled`),
	)
	if in = p.api.integration(); in.Elements["sell_app_in_chat"].Enabled {
		t.Fatalf("after switching off: %+v", in)
	}

	// The Chat account owner then signs in with the local stack's sign-in (as on
	// make run, its defaults) and connects Sell again: the checks pass this time.
	p.do("sign in locally as the account owner",
		until(`(() => { sessionStorage.clear(); return true; })()`),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS("#signin-form")),
		chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#app")),
		chromedp.WaitVisible(chromedp.CSS("#run-install")),
	)
	p.do("connect Sell as the owner",
		chromedp.Click(chromedp.CSS("#connect-sell")),
		chromedp.WaitVisible(chromedp.CSS("#install-dot.on")),
		chromedp.WaitVisible(chromedp.CSS("#dot-sell_app_in_chat.on")),
		chromedp.WaitNotVisible(chromedp.CSS("#install-failures")),
	)
	if in = p.api.integration(); !in.Installed || !in.Elements["chat_app_in_sell"].Enabled || !in.Elements["sell_app_in_chat"].Enabled {
		t.Fatalf("after the owner's install: %+v", in)
	}
	browsertest.Screenshot(t, p.ctx, "settings-install-owner")
}

func jsonInt(v int64) string { b, _ := json.Marshal(v); return string(b) }

// checkPastChats follows past chats picked from the day from on the page: the day
// reached GET /integration, and the page shows the poll's progress from it as the
// poll's cursor moves (written here: Chat is not connected, so no poll runs).
func (p *settingsPage) checkPastChats(from time.Time) {
	p.t.Helper()
	var in struct {
		Chat struct{ Poll *struct{ From time.Time } }
	}
	p.api.get("/integration", &in)
	if in.Chat.Poll == nil || !in.Chat.Poll.From.Equal(from) {
		p.t.Fatalf("GET /integration's chat.poll %+v, want past chats from %s", in.Chat.Poll, from)
	}
	shown := p.evalString(`new Date('` + from.Format(time.RFC3339) + `').toLocaleDateString(undefined, {day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC'})`)
	progress := func(want string) chromedp.Action[chromedp.Void] {
		return until(`document.getElementById('chat-progress-text').textContent.startsWith(` + strconv.Quote("Past chats from "+shown+": "+want) + `)`)
	}
	p.do("show past chats from the day picked, nothing read yet",
		chromedp.WaitVisible(chromedp.CSS("#chat-progress")),
		progress("0% read"),
	)
	// Halfway, and a little more, so the page's later clock still floors to 50%.
	save := func(c store.ChatPollCursor) {
		p.t.Helper()
		if err := p.stack.Deps.Store.SaveChatPollCursor(context.Background(), "acme", c); err != nil {
			p.t.Fatal(err)
		}
	}
	half := from.Add(time.Since(from) * 505 / 1000)
	save(store.ChatPollCursor{From: from, StartTime: half, LastRunAt: time.Now(), Stored: 12})
	p.do("show the poll halfway", chromedp.Reload(), progress("50% read, up to "))
	if v := p.evalString(`String(document.getElementById('chat-progress-bar').value)`); !strings.HasPrefix(v, "0.5") {
		p.t.Errorf("the progress bar is at %s, want 0.5", v)
	}
	browsertest.Screenshot(p.t, p.ctx, "settings-3-past-chats")
	// Held back for Sell, with one chat waiting that a drain took at a chat a
	// second: about as many left as read, all in Sell within a minute.
	save(store.ChatPollCursor{From: from, StartTime: half, LastRunAt: time.Now(), Stored: 12, StoredFromStart: 12, HeldBack: true})
	ctx, s, now := context.Background(), p.stack.Deps.Store, time.Now()
	if _, err := s.Enqueue(ctx, "acme", []string{"c-waiting"}, now); err != nil {
		p.t.Fatal(err)
	}
	if _, err := s.LeaseBacklog(ctx, "acme", "drain-1", now.Add(time.Hour), now); err != nil {
		p.t.Fatal(err)
	}
	if err := s.ReleaseBacklog(ctx, "acme", "drain-1", 1, now); err != nil {
		p.t.Fatal(err)
	}
	p.do("show the poll held back for Sell", chromedp.Reload(),
		progress("50% read, up to "),
		until(`document.getElementById('chat-progress-text').textContent.endsWith(", about 12 more to read. The rest is read as Sell takes the chats on their way. All in Sell in less than a minute.")`))
	save(store.ChatPollCursor{From: from, StartTime: half, CaughtUp: true, LastRunAt: time.Now(), Stored: 30})
	p.do("show the poll caught up", chromedp.Reload(), progress("caught up"))
}

// TestAnAdminSignsInWithZendeskFromTheSettingsPage starts with no session at all, as
// an admin who opens the settings page outside Zendesk does: "Sign in with Zendesk"
// runs the real round trip (the oauth function, the Zendesk sandbox's authorize page,
// which approves as Ada, the callback) and lands back on the page, signed in, with
// Zendesk connected and the sandbox's installed app found.
func TestAnAdminSignsInWithZendeskFromTheSettingsPage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser and a whole stack")
	}
	t.Parallel()
	p := openSettingsPage(t, auth.Identity{Account: "acme", UserID: "1", Email: "ada@example.com", Name: "Ada Admin", Role: auth.RoleAdmin})
	p.do("open the page without a session",
		chromedp.Navigate(p.stack.URL+"/settings/"),
		chromedp.WaitVisible(chromedp.CSS("#zendesk-form")),
	)
	if !p.evalBool(`document.getElementById('app').hidden`) {
		t.Fatal("the settings show without a session")
	}
	p.do("sign in with Zendesk",
		chromedp.SendKeys(chromedp.CSS("#zd-account"), "acme"),
		chromedp.Click(chromedp.CSS("#zendesk-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#app")),
		chromedp.WaitVisible(chromedp.CSS("#zd-dot.on")),
	)
	if got := p.text("#banner"); got != "Zendesk is connected." {
		t.Errorf("banner after signing in: %q", got)
	}
	if u := p.evalString("location.pathname + location.search + location.hash"); u != "/settings/" {
		t.Errorf("the page's URL after signing in: %q (the session must not stay in it)", u)
	}
	if got := p.text("#whoami"); !strings.Contains(got, "Ada Admin") {
		t.Errorf("signed in as %q", got)
	}
	if got := p.text("#zd-text"); !strings.Contains(got, "1 installed sellchat app found") {
		t.Errorf("zendesk connection: %q", got)
	}
	var in struct {
		Zendesk struct {
			Connected bool
			Apps      []struct{ AppID, InstallationID int64 }
		}
	}
	p.api.get("/integration", &in)
	if !in.Zendesk.Connected || len(in.Zendesk.Apps) != 1 {
		t.Errorf("GET /integration's zendesk after signing in: %+v", in.Zendesk)
	}
	browsertest.Screenshot(t, p.ctx, "settings-zendesk-signed-in")

	// Chat next, with the session Zendesk's sign-in gave: the Chat OAuth round trip
	// through the sandbox, back to the page, which says Chat is connected.
	if got := p.text("#chat-text"); !strings.Contains(got, "not connected") {
		t.Errorf("chat before connecting: %q", got)
	}
	p.do("connect Chat",
		chromedp.Click(chromedp.CSS("#connect-chat")),
		chromedp.WaitVisible(chromedp.CSS("#chat-dot.on")),
	)
	if got := p.text("#banner"); got != "Chat is connected." {
		t.Errorf("banner after connecting Chat: %q", got)
	}
	var after struct{ Chat struct{ Connected bool } }
	p.api.get("/integration", &after)
	if !after.Chat.Connected {
		t.Error("GET /integration does not show Chat connected")
	}

	p.checkAgentWorkspace()
	p.checkStatedPhase()
}

// notificationsState is GET /integration's zendesk.notifications.
type notificationsState struct {
	Enabled            bool
	WebhookID          string
	TriggerID          int64
	MessagingTriggerID int64
}

func (p *settingsPage) notifications() notificationsState {
	p.t.Helper()
	var in struct {
		Zendesk struct{ Notifications notificationsState }
	}
	p.api.get("/integration", &in)
	return in.Zendesk.Notifications
}

// checkAgentWorkspace, with Zendesk connected: the Agent Workspace line is offered;
// a refused set-up shows the backend's own message and makes nothing in Zendesk; Set
// up makes the webhook and trigger in the Zendesk sandbox and turns the line on (its
// button now repairs); Remove, from the keyboard, deletes both and turns it off.
func (p *settingsPage) checkAgentWorkspace() {
	t := p.t
	t.Helper()
	p.do("show the Agent Workspace line", chromedp.WaitVisible(chromedp.CSS("#aw")))
	if p.evalBool(`document.getElementById('aw-hint').checkVisibility()`) {
		t.Error("the hint to sign in with Zendesk shows although Zendesk is connected")
	}
	if got := p.text("#aw-help"); !strings.Contains(got, "in seconds instead of minutes") {
		t.Errorf("the line does not say what it is for: %q", got)
	}
	if got := p.text("#aw-text"); !strings.HasPrefix(got, "is off") || p.text("#aw-setup") != "Set up" ||
		p.evalBool(`!document.getElementById('aw-remove').hidden`) {
		t.Errorf("before the set-up: %q, button %q", got, p.text("#aw-setup"))
	}

	// Another request holds the set-up's lease: the backend refuses, the page says why.
	lease := func(since time.Time) {
		t.Helper()
		if _, err := p.stack.Deps.Store.UpdateIntegration(context.Background(), "acme", func(in *settings.Integration) error {
			in.Zendesk.Notifications.PendingSince = since
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	lease(time.Now().UTC())
	status, body := p.api.send("POST", "/integration/zendesk/notifications", "", nil)
	var refusal struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(body, &refusal); err != nil || status != http.StatusConflict || refusal.Error.Code != "setup_in_progress" {
		t.Fatalf("POST while another set-up runs: %d %s", status, body)
	}
	p.do("set up while another set-up runs",
		chromedp.Click(chromedp.CSS("#aw-setup")),
		chromedp.WaitVisible(chromedp.CSS("#aw-status.failed")),
	)
	if got := p.text("#aw-status"); got != refusal.Error.Message {
		t.Errorf("the refusal shows %q, want the backend's %q", got, refusal.Error.Message)
	}
	if p.evalBool(`document.getElementById('aw-dot').classList.contains('on')`) || len(p.stack.Zendesk.Webhooks()) != 0 || p.notifications().Enabled {
		t.Fatal("a refused set-up turned the notifications on")
	}
	browsertest.Screenshot(t, p.ctx, "settings-aw-refused")
	lease(time.Time{})

	// Every messaging channel is ticked until the admin chooses: keep two.
	if !p.evalBool(`document.querySelectorAll('#aw-channel-list input:checked').length === 16`) {
		t.Errorf("not every messaging channel is ticked before the set-up")
	}
	p.evalBool(`document.querySelectorAll('#aw-channel-list input').forEach(b => { b.checked = false; }), true`)
	p.do("keep WhatsApp and Instagram only",
		chromedp.Click(chromedp.CSS("#aw-ch-whatsapp")),
		chromedp.Click(chromedp.CSS("#aw-ch-instagram_dm")),
	)
	p.do("set up",
		chromedp.Click(chromedp.CSS("#aw-setup")),
		chromedp.WaitVisible(chromedp.CSS("#aw-status.saved")),
		chromedp.WaitVisible(chromedp.CSS("#aw-dot.on")),
		chromedp.WaitVisible(chromedp.CSS("#aw-remove")),
		until(`document.getElementById('aw-text').textContent.includes('set up ')`),
	)
	n := p.notifications()
	hooks, triggers := p.stack.Zendesk.Webhooks(), p.stack.Zendesk.Triggers()
	// Two triggers call the one webhook: a chat ticket's and a messaging ticket's.
	if !n.Enabled || len(hooks) != 1 || hooks[0].ID != n.WebhookID || len(triggers) != 2 || triggers[0].ID != n.TriggerID || triggers[1].ID != n.MessagingTriggerID {
		t.Fatalf("after Set up: %+v; in Zendesk %+v %+v", n, hooks, triggers)
	}
	if any := triggers[1].Conditions.Any; len(any) != 2 || any[0].Value != "74" || any[1].Value != "86" {
		t.Errorf("the messaging trigger names %+v, want WhatsApp (74) and Instagram (86)", any)
	}
	if got := p.text("#aw-text"); !strings.Contains(got, "messaging conversation of 2 channels") {
		t.Errorf("once on, the line reads %q", got)
	}
	// Internal notes stay out of messaging transcripts until the admin ticks the box.
	if p.evalBool(`document.getElementById('aw-internal').checked`) {
		t.Error("internal notes are ticked before the admin chose")
	}
	p.do("bring internal notes in",
		chromedp.Click(chromedp.CSS("#aw-internal")),
		chromedp.WaitVisible(chromedp.CSS("#aw-status.saved")),
	)
	var withNotes struct{ MessagingInternalNotes bool }
	p.api.get("/settings", &withNotes)
	if !withNotes.MessagingInternalNotes {
		t.Error("ticking the box did not save messagingInternalNotes")
	}
	if got := p.text("#aw-setup"); got != "Repair" {
		t.Errorf("once on, the set-up button reads %q", got)
	}
	browsertest.Screenshot(t, p.ctx, "settings-aw-on")

	p.do("remove, from the keyboard",
		chromedp.Focus(chromedp.CSS("#aw-remove")),
		chromedp.SendKeys(chromedp.CSS("#aw-remove"), kb.Enter),
		until(`document.getElementById('aw-status').textContent === 'Removed.'`),
		chromedp.WaitNotPresent(chromedp.CSS("#aw-dot.on")),
		chromedp.WaitNotVisible(chromedp.CSS("#aw-remove")),
	)
	if n := p.notifications(); n.Enabled || n.WebhookID != "" || len(p.stack.Zendesk.Webhooks()) != 0 || len(p.stack.Zendesk.Triggers()) != 0 {
		t.Fatalf("after Remove: %+v", n)
	}
	if got := p.text("#aw-setup"); got != "Set up" {
		t.Errorf("once off, the set-up button reads %q", got)
	}
	if focused := p.evalString("document.activeElement.id"); focused != "aw-setup" {
		t.Errorf("after Remove focus is on %q, want Set up", focused)
	}
}

// checkStatedPhase, for the session Zendesk's sign-in gave (which carries no Chat
// facts): connecting Sell runs the install checks, which need the Chat phase stated;
// a verdict resting on the phase stated is marked so next to the check, and the page
// says the phase was the admin's word, before and after the install passes.
func (p *settingsPage) checkStatedPhase() {
	t := p.t
	t.Helper()
	p.do("connect Sell",
		chromedp.Click(chromedp.CSS("#connect-sell")),
		chromedp.WaitVisible(chromedp.CSS("#conn-dot.on")),
		chromedp.WaitVisible(chromedp.CSS(`#install-checks li[data-code="chat_phase_not_stated"]`)),
	)
	if p.evalBool(`document.getElementById('install-stated').checkVisibility()`) {
		t.Errorf("a stated phase is shown although none was stated: %q", p.text("#install-stated"))
	}

	// Ada is a Chat admin but no longer its owner: on phase 4 that fails, and only
	// because of the phase she states.
	p.stack.Zendesk.SetOwner(zendesktest.DemoRexID)
	session := stackAPI{t: t, url: p.stack.URL, token: p.evalString(`sessionStorage.getItem('sellchat.token')`)}
	status, body := session.send("POST", "/integration/install", `{"chatPhase":4}`, nil)
	var answer struct {
		Error struct {
			Details []struct{ Code, Source string } `json:"details"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || status != http.StatusUnprocessableEntity ||
		len(answer.Error.Details) != 1 || answer.Error.Details[0].Code != "not_account_owner" || answer.Error.Details[0].Source != "stated" {
		t.Fatalf("install on phase 4 as a Chat admin: %d %s", status, body)
	}
	const stated = "Chat phase 4 \u2014 stated by you, Zendesk's API does not expose it."
	p.do("run the checks on phase 4",
		chromedp.SetValue(chromedp.CSS("#chat-phase"), "4"),
		chromedp.Click(chromedp.CSS("#run-install")),
		chromedp.WaitVisible(chromedp.CSS(`#install-checks li[data-code="not_account_owner"][data-source="stated"]`)),
		chromedp.WaitVisible(chromedp.CSS("#install-stated")),
	)
	if got := p.text(`#install-checks li[data-code="not_account_owner"] .source`); !strings.Contains(got, "Chat phase you stated") {
		t.Errorf("the check does not say it rests on the stated phase: %q", got)
	}
	if got := p.text("#install-stated"); !strings.HasPrefix(got, stated) || !strings.Contains(got, "choose the right phase") {
		t.Errorf("the stated phase after failed checks: %q", got)
	}
	browsertest.Screenshot(t, p.ctx, "settings-install-stated-failed")

	p.stack.Zendesk.SetOwner(zendesktest.DemoAdaID)
	p.do("run the checks again as the owner",
		chromedp.Click(chromedp.CSS("#run-install")),
		chromedp.WaitVisible(chromedp.CSS("#install-dot.on")),
		chromedp.WaitNotVisible(chromedp.CSS("#install-failures")),
	)
	if got := p.text("#install-stated"); got != stated {
		t.Errorf("the stated phase after the install: %q, want %q", got, stated)
	}
	if in := p.api.integration(); !in.Installed {
		t.Fatalf("not installed: %+v", in)
	}
	browsertest.Screenshot(t, p.ctx, "settings-install-stated")
}

// TestThePrivacySectionInARealBrowser drives the Privacy section against the whole
// local stack: redaction rules edited, refused at the pattern that is wrong, saved
// and tried; the audit trail showing the saves; retention saved and described; and
// a visitor's data shown, offered as JSON and erased, with the erasure's report.
func TestThePrivacySectionInARealBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser and a whole stack")
	}
	t.Parallel()
	p := openSettingsPage(t, auth.Identity{Account: "acme", UserID: "1", Email: "ada@example.com", Name: "Ada Admin", Role: auth.RoleAdmin, Chat: chatOwner})
	// A chat of Vera's, mirrored to lead 2001 as a Sell note: what the erasure erases.
	p.storeVerasChat()
	p.load()
	p.checkRedaction()
	p.checkAuditTrail()
	p.checkRetention()
	p.checkErasure()
}

// storeVerasChat connects Sell behind the page's back, switches chat history on and
// posts a chat of vera@example.com to the signed webhook, as Zendesk would; it waits
// until the stream has mirrored it to Sell.
func (p *settingsPage) storeVerasChat() {
	t := p.t
	t.Helper()
	ctx := context.Background()
	admin, _ := p.stack.Sell.User(selltest.DemoAdminEmail)
	if err := p.stack.Deps.Vault.Save(ctx, "acme", tokens.Admin(), p.stack.Sell.TokenFor(selltest.DemoAdminEmail), tokens.SellUser{ID: admin.ID, Name: admin.Name, Email: admin.Email}); err != nil {
		t.Fatal(err)
	}
	const secret = "local-signing-secret"
	if _, err := p.stack.Deps.Store.UpdateIntegration(ctx, "acme", func(in *settings.Integration) error {
		in.SellConnected = true
		in.WebhookSecret = p.stack.Deps.Box.Seal([]byte(secret), secrets.AAD("acme", "webhook_secret"))
		in.Elements = map[settings.Element]settings.ElementState{settings.ChatHistoryInSell: {Enabled: true}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	body := `{"id":"vera-1","type":"chat","timestamp":"2026-11-20T14:02:11Z","end_timestamp":"2026-11-20T14:09:40Z","duration":449,` +
		`"visitor":{"name":"Vera Visitor","email":"vera@example.com"},"agent_names":["Ana Agent"],` +
		`"history":[{"type":"chat.msg","name":"Vera Visitor","nick":"visitor","msg":"My card is 4111 1111 1111 1111","timestamp":"2026-11-20T14:02:15Z"}]}`
	ts := time.Now().UTC().Format(time.RFC3339)
	req, _ := http.NewRequest("POST", p.stack.URL+"/webhooks/chat/acme", strings.NewReader(body))
	req.Header.Set(chatwebhook.HeaderTimestamp, ts)
	req.Header.Set(chatwebhook.HeaderSignature, chatwebhook.Sign([]byte(secret), ts, []byte(body)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook: %d", res.StatusCode)
	}
	eventually(t, "the chat's note in Sell", func() bool { return len(p.verasNotes()) == 1 })
}

// verasNotes are the Sell notes sellchat mirrored for Vera's chat.
func (p *settingsPage) verasNotes() []sell.Note {
	var out []sell.Note
	for _, n := range p.stack.Sell.Notes() {
		if strings.Contains(n.Content, "[sellchat chat vera-1]") {
			out = append(out, n)
		}
	}
	return out
}

// clearInput empties an input as deleting its text does (SetValue refuses "").
func clearInput(sel string) chromedp.Action[chromedp.Void] {
	return until(`(() => { const e = document.querySelector(` + strconv.Quote(sel) + `); e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`)
}

// eventually waits for work the stack does on its own (the stream), never for a time.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type redactionState struct {
	Redaction struct {
		CardNumbers bool `json:"cardNumbers"`
		Patterns    []struct {
			Name    string `json:"name"`
			Pattern string `json:"pattern"`
		} `json:"patterns"`
	} `json:"redaction"`
	Retention struct {
		Days            int  `json:"days"`
		DeleteSellNotes bool `json:"deleteSellNotes"`
	} `json:"retention"`
	Version int64 `json:"version"`
}

// checkRedaction: two patterns added from the keyboard, the second one wrong; the
// save is refused with the backend's message at that pattern, which gets the focus;
// fixed, the rules save. The try-it box redacts with the rules as edited, saved or
// not.
func (p *settingsPage) checkRedaction() {
	t := p.t
	t.Helper()
	row := func(n int, field string) string {
		return `#red-patterns li:nth-child(` + strconv.Itoa(n) + `) .p-` + field
	}
	p.do("add two patterns",
		chromedp.Click(chromedp.CSS("#red-add")),
		until(`document.activeElement.classList.contains('p-name')`),
		chromedp.SendKeys(chromedp.CSS(row(1, "name")), "acct"),
		chromedp.SendKeys(chromedp.CSS(row(1, "pattern")), `ACCT-\d{8}`),
		chromedp.Click(chromedp.CSS("#red-add")),
		chromedp.SendKeys(chromedp.CSS(row(2, "name")), "order"),
		chromedp.SendKeys(chromedp.CSS(row(2, "pattern")), `ORD-(\d{6}`),
		chromedp.Click(chromedp.CSS("#red-save")),
		chromedp.WaitVisible(chromedp.CSS("#redaction-status.failed")),
		chromedp.WaitVisible(chromedp.CSS(row(2, "pattern")+`[aria-invalid="true"]`)),
	)
	var st redactionState
	p.api.get("/settings", &st)
	if st.Version != 0 || len(st.Redaction.Patterns) != 0 {
		t.Fatalf("a refused save changed the settings: %+v", st)
	}
	// The message is the backend's, at the pattern it names.
	status, body := p.api.send("PATCH", "/settings", `{"redaction":{"patterns":[{"name":"acct","pattern":"ACCT-\\d{8}"},{"name":"order","pattern":"ORD-(\\d{6}"}]}}`, map[string]string{"If-Match": "0"})
	var refusal struct {
		Error struct{ Code, Field, Message string }
	}
	if err := json.Unmarshal(body, &refusal); err != nil || status != 422 || refusal.Error.Field != "redaction.patterns[1].pattern" || refusal.Error.Code != "invalid_pattern" {
		t.Fatalf("PATCH with a bad pattern: %d %s", status, body)
	}
	errID := p.evalString(`document.querySelector('` + row(2, "pattern") + `').getAttribute('aria-describedby')`)
	if got := p.text("#" + errID); got != refusal.Error.Message {
		t.Errorf("the pattern's error reads %q, want the backend's %q", got, refusal.Error.Message)
	}
	if p.evalBool(`document.querySelector('` + row(1, "pattern") + `').hasAttribute('aria-invalid')`) {
		t.Error("the good pattern is marked wrong too")
	}
	if !p.evalBool(`document.activeElement === document.querySelector('` + row(2, "pattern") + `')`) {
		t.Errorf("after the refusal focus is on %q, want the wrong pattern", p.evalString("document.activeElement.outerHTML"))
	}
	browsertest.Screenshot(t, p.ctx, "privacy-1-bad-pattern")

	p.do("fix the pattern and save",
		chromedp.SetValue(chromedp.CSS(row(2, "pattern")), `ORD-\d{6}`),
		until(`!document.querySelector('`+row(2, "pattern")+`').hasAttribute('aria-invalid')`),
		chromedp.Click(chromedp.CSS("#red-save")),
		chromedp.WaitVisible(chromedp.CSS("#redaction-status.saved")),
		chromedp.WaitNotVisible(chromedp.CSS("#red-reset")),
	)
	p.api.get("/settings", &st)
	if st.Version != 1 || !st.Redaction.CardNumbers || len(st.Redaction.Patterns) != 2 ||
		st.Redaction.Patterns[0].Name != "acct" || st.Redaction.Patterns[0].Pattern != `ACCT-\d{8}` ||
		st.Redaction.Patterns[1].Name != "order" || st.Redaction.Patterns[1].Pattern != `ORD-\d{6}` {
		t.Fatalf("saved rules: %+v", st)
	}

	// Try it: the card keeps its last four digits, the pattern masks the account.
	p.do("try the saved rules",
		chromedp.SendKeys(chromedp.CSS("#try-text"), "card 4111 1111 1111 1111, acct ACCT-12345678"),
		until(`document.getElementById('try-result').textContent === 'card •••• 1111, acct ••••'`),
		until(`document.querySelector('#try-counts li[data-rule="card_number"]') !== null`),
	)
	if got := p.text(`#try-counts li[data-rule="card_number"]`); got != "Card numbers: 1 masked" {
		t.Errorf("card count: %q", got)
	}
	if got := p.text(`#try-counts li[data-rule="acct"]`); got != "acct: 1 masked" {
		t.Errorf("acct count: %q", got)
	}
	browsertest.Screenshot(t, p.ctx, "privacy-2-try-it")
	// Unsaved edits are what the box tries: cards unmasked, then undone.
	p.do("try with card numbers off, unsaved",
		chromedp.Click(chromedp.CSS("#red-cards")),
		until(`document.getElementById('try-result').textContent === 'card 4111 1111 1111 1111, acct ••••'`),
		chromedp.WaitVisible(chromedp.CSS("#red-reset")),
	)
	p.api.get("/settings", &st)
	if !st.Redaction.CardNumbers || st.Version != 1 {
		t.Fatalf("trying saved the rules: %+v", st)
	}
	p.do("undo the edit",
		chromedp.Click(chromedp.CSS("#red-reset")),
		until(`document.getElementById('red-cards').checked`),
		until(`document.getElementById('try-result').textContent === 'card •••• 1111, acct ••••'`),
	)
	// A pattern that does not compile yet is marked while typing, without a save.
	p.do("type a broken pattern",
		chromedp.SetValue(chromedp.CSS(row(1, "pattern")), `ACCT-[`),
		chromedp.WaitVisible(chromedp.CSS(row(1, "pattern")+`[aria-invalid="true"]`)),
		until(`document.getElementById('try-status').textContent.startsWith('Fix the rule marked above')`),
		chromedp.Click(chromedp.CSS("#red-reset")),
		until(`!document.querySelector('`+row(1, "pattern")+`').hasAttribute('aria-invalid')`),
	)
	// Remove by keyboard: focus goes to the row that takes its place.
	p.do("remove the first pattern from the keyboard",
		chromedp.Focus(chromedp.CSS(`#red-patterns li:first-child button`)),
		chromedp.SendKeys(chromedp.CSS(`#red-patterns li:first-child button`), kb.Enter),
		until(`document.querySelectorAll('#red-patterns li').length === 1`),
	)
	if !p.evalBool(`document.activeElement === document.querySelector('` + row(1, "name") + `') && document.activeElement.value === 'order'`) {
		t.Errorf("after removing, focus is on %q", p.evalString("document.activeElement.outerHTML"))
	}
	if got := p.evalString(`document.querySelector('#red-patterns li button').getAttribute('aria-label')`); got != "Remove pattern 1 (order)" {
		t.Errorf("the remaining row's button is labelled %q", got)
	}
	p.do("undo the removal", chromedp.Click(chromedp.CSS("#red-reset")), until(`document.querySelectorAll('#red-patterns li').length === 2`))
}

// auditItem is one entry of GET /audit.
type auditItem struct {
	ID      string `json:"id"`
	Action  string `json:"action"`
	Target  string `json:"target"`
	Changes map[string]struct {
		From json.RawMessage `json:"from"`
		To   json.RawMessage `json:"to"`
	} `json:"changes"`
}

func (p *settingsPage) audit() []auditItem {
	p.t.Helper()
	var page struct{ Items []auditItem }
	p.api.get("/audit", &page)
	return page.Items
}

// checkAuditTrail: the save just made is the trail's first entry on the page, in
// words; Load more pages on and puts the keyboard on the first entry it added.
func (p *settingsPage) checkAuditTrail() {
	t := p.t
	t.Helper()
	items := p.audit()
	if len(items) == 0 || items[0].Action != "redaction.update" {
		t.Fatalf("GET /audit after the save: %+v", items)
	}
	p.do("show the save in the trail",
		until(`document.querySelector('#audit-list li[data-id="`+items[0].ID+`"]') === document.querySelector('#audit-list li')`),
	)
	got := p.text(`#audit-list li[data-id="` + items[0].ID + `"]`)
	for _, want := range []string{"Changed the redaction rules", "by ada@example.com (admin)",
		`Redaction: card numbers masked; no patterns → card numbers masked; patterns acct (ACCT-\d{8}), order (ORD-\d{6})`} {
		if !strings.Contains(got, want) {
			t.Errorf("the trail's entry does not say %q:\n%s", want, got)
		}
	}
	browsertest.Screenshot(t, p.ctx, "privacy-3-audit")
	// More entries than a page holds: Load more shows the rest, in order.
	for i := range 21 {
		var st redactionState
		p.api.get("/settings", &st)
		p.api.patch("/settings", jsonInt(st.Version), `{"allowAgentsAssignAnyOwner":`+strconv.FormatBool(i%2 == 0)+`}`)
	}
	p.do("refresh and load more",
		chromedp.Click(chromedp.CSS("#audit-refresh")),
		until(`document.querySelectorAll('#audit-list > li').length === 20`),
		chromedp.WaitVisible(chromedp.CSS("#audit-more")),
		chromedp.Focus(chromedp.CSS("#audit-more")),
		chromedp.SendKeys(chromedp.CSS("#audit-more"), kb.Enter),
		until(`document.querySelectorAll('#audit-list > li').length === 22`),
		chromedp.WaitNotVisible(chromedp.CSS("#audit-more")),
	)
	all := p.audit()
	ids, _ := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#audit-list > li')).map(e => e.dataset.id)`))
	if len(ids) != 22 || len(all) != 22 {
		t.Fatalf("the page lists %d entries, GET /audit %d", len(ids), len(all))
	}
	for i := range ids {
		if ids[i] != all[i].ID {
			t.Fatalf("entry %d is %s on the page, %s in the trail", i, ids[i], all[i].ID)
		}
	}
	if got := p.evalString(`document.activeElement.dataset.id || ''`); got != all[20].ID {
		t.Errorf("after Load more focus is on %q, want the first entry it added (%s)", got, all[20].ID)
	}
	if got := p.text(`#audit-list li[data-id="` + all[0].ID + `"] li[data-field="allowAgentsAssignAnyOwner"]`); got != "Agents may assign any owner: no → yes" {
		t.Errorf("a settings change reads %q", got)
	}
}

// checkRetention: a days value out of range is refused at the field; a valid one
// saves, and the page says what it will do before and after the save.
func (p *settingsPage) checkRetention() {
	t := p.t
	t.Helper()
	if got := p.text("#ret-explain"); got != "Keep forever: chats and their feed entries are never deleted for their age." {
		t.Errorf("retention before any change: %q", got)
	}
	if !p.evalBool(`document.getElementById('ret-days').disabled && document.getElementById('ret-forever').checked`) {
		t.Error("keep forever is not what the page shows first")
	}
	p.do("choose 30 days with the notes",
		chromedp.Click(chromedp.CSS("#ret-limited")),
		chromedp.SetValue(chromedp.CSS("#ret-days"), "30"),
		chromedp.Click(chromedp.CSS("#ret-notes")),
	)
	const thirty = "Chats and their feed entries are deleted 30 days after they arrive; the Sell notes sellchat created for them are deleted from Sell too."
	if got := p.text("#ret-explain"); got != "Not saved yet. Once saved: "+thirty {
		t.Errorf("the edited retention reads %q", got)
	}
	if got := p.text("#ret-effect"); got != "It applies to the chats already stored too: those that arrived more than 30 days ago are deleted once it is saved." {
		t.Errorf("the effect on stored chats reads %q", got)
	}
	var before redactionState
	p.api.get("/settings", &before)
	p.do("save 0 days",
		chromedp.SetValue(chromedp.CSS("#ret-days"), "0"),
		chromedp.Click(chromedp.CSS("#ret-save")),
		chromedp.WaitVisible(chromedp.CSS(`#ret-days[aria-invalid="true"]`)),
		chromedp.WaitVisible(chromedp.CSS("#ret-days-error")),
	)
	if p.evalString("document.activeElement.id") != "ret-days" {
		t.Errorf("after a refused value focus is on %q", p.evalString("document.activeElement.id"))
	}
	var st redactionState
	if p.api.get("/settings", &st); st.Version != before.Version {
		t.Fatal("a refused retention was saved")
	}
	if got := p.text("#ret-days-error"); got != "Enter a whole number of days from 1 to 3650." {
		t.Errorf("the days' error reads %q", got)
	}
	// The trail's check changed the settings behind the page's back: the save meets
	// a conflict, the page reloads the settings and keeps the edits, and the second
	// save goes through.
	p.do("save 30 days on a stale page",
		chromedp.SetValue(chromedp.CSS("#ret-days"), "30"),
		until(`!document.getElementById('ret-days').hasAttribute('aria-invalid')`),
		chromedp.Click(chromedp.CSS("#ret-save")),
		until(`document.getElementById('retention-status').textContent.includes('Your edits are still here')`),
	)
	if got := p.text("#ret-explain"); got != "Not saved yet. Once saved: "+thirty || p.evalString(`document.getElementById('ret-days').value`) != "30" {
		t.Errorf("after the conflict the edits read %q", got)
	}
	if got := p.text("#banner"); !strings.Contains(got, "Someone else changed the settings") {
		t.Errorf("banner after the conflict: %q", got)
	}
	p.do("save again",
		chromedp.Click(chromedp.CSS("#ret-save")),
		chromedp.WaitVisible(chromedp.CSS("#retention-status.saved")),
	)
	if p.api.get("/settings", &st); st.Retention.Days != 30 || !st.Retention.DeleteSellNotes || st.Version != before.Version+1 {
		t.Fatalf("retention saved: %+v", st.Retention)
	}
	if got := p.text("#ret-explain"); got != thirty {
		t.Errorf("the saved retention reads %q", got)
	}
	p.do("show the retention change in the trail",
		until(`document.querySelector('#audit-list li li[data-field="retention"]') !== null`),
	)
	if got := p.text(`#audit-list li li[data-field="retention"]`); got != "Retention: forever → 30 days, Sell notes deleted" {
		t.Errorf("the trail says %q", got)
	}
	p.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#app")), until(`document.getElementById('ret-limited').checked`))
	if got := p.text("#ret-explain"); got != thirty || p.evalString(`document.getElementById('ret-days').value`) != "30" {
		t.Errorf("after a reload the retention reads %q", got)
	}
	browsertest.Screenshot(t, p.ctx, "privacy-4-retention")
	// Back to keep forever: the page warns that what expired stays gone.
	p.do("choose keep forever", chromedp.Click(chromedp.CSS("#ret-forever")))
	if got := p.text("#ret-effect"); got != "Chats deleted under the current setting do not come back." {
		t.Errorf("going back to forever, the effect reads %q", got)
	}
	if !p.evalBool(`document.getElementById('ret-days').disabled && document.getElementById('ret-notes').disabled`) {
		t.Error("days and notes can be edited while keeping forever")
	}
	p.do("save keep forever", chromedp.Click(chromedp.CSS("#ret-save")), chromedp.WaitVisible(chromedp.CSS("#retention-status.saved")))
	if p.api.get("/settings", &st); st.Retention.Days != 0 {
		t.Fatalf("retention after keep forever: %+v", st.Retention)
	}
	if got := p.text("#ret-effect"); got != "" {
		t.Errorf("once saved, the effect still reads %q", got)
	}
}

// checkErasure: Vera's data shown and offered as JSON; the erasure asks first,
// names what goes and what stays, and its report follows the backend's.
func (p *settingsPage) checkErasure() {
	t := p.t
	t.Helper()
	p.do("show what we hold about Vera",
		chromedp.SendKeys(chromedp.CSS("#v-email"), "Vera@Example.com"),
		chromedp.Click(chromedp.CSS("#v-show")),
		chromedp.WaitVisible(chromedp.CSS("#v-result")),
		chromedp.WaitVisible(chromedp.CSS(`#v-chats li[data-chat="vera-1"]`)),
	)
	if got := p.text(`#v-counts li[data-count="chats"]`); got != "1 stored chat" {
		t.Errorf("chats: %q", got)
	}
	if got := p.text(`#v-counts li[data-count="notes"]`); got != "1 Sell note sellchat created for them" {
		t.Errorf("notes: %q", got)
	}
	// The download is the JSON the API gave, the chat as stored (already redacted),
	// saved as a file the way a person's click saves it.
	dir := t.TempDir()
	p.do("download the JSON",
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir})
			return err
		}),
		chromedp.Click(chromedp.CSS("#v-download")),
	)
	file := filepath.Join(dir, "sellchat-visitor-vera@example.com.json")
	var download []byte
	eventually(t, "the downloaded file", func() bool {
		var err error
		download, err = os.ReadFile(file)
		return err == nil && json.Valid(download)
	})
	var held struct {
		Visitor map[string]string
		Chats   []struct {
			ID   string
			Chat json.RawMessage
		}
		Notes []struct{ ID int64 }
	}
	if err := json.Unmarshal(download, &held); err != nil || held.Visitor["email"] != "vera@example.com" || len(held.Chats) != 1 ||
		held.Chats[0].ID != "vera-1" || len(held.Notes) != 1 || !strings.Contains(string(held.Chats[0].Chat), "•••• 1111") {
		t.Fatalf("the download: %v %.300s", err, download)
	}
	browsertest.Screenshot(t, p.ctx, "privacy-5-visitor")

	// Both identifiers at once is refused at the form, before asking anything.
	p.do("ask to erase with both identifiers",
		chromedp.SendKeys(chromedp.CSS("#v-phone"), "+1 415 555 0100"),
		chromedp.Click(chromedp.CSS("#v-erase")),
		chromedp.WaitVisible(chromedp.CSS("#v-phone-error")),
	)
	if p.evalBool(`document.getElementById('erase-dialog').open`) {
		t.Fatal("the confirmation opened for two identifiers")
	}
	p.do("ask to erase, then cancel",
		clearInput("#v-phone"),
		chromedp.Click(chromedp.CSS("#v-erase")),
		chromedp.WaitVisible(chromedp.CSS("#erase-dialog[open]")),
	)
	if got := p.evalString("document.activeElement.id"); got != "erase-cancel" {
		t.Errorf("in the confirmation focus is on %q, want Cancel", got)
	}
	desc := p.text("#erase-desc")
	for _, want := range []string{"Vera@Example.com", "the Sell notes sellchat created for them, deleted from Sell too", "Sell leads and contacts are not deleted", "Found 1 chat"} {
		if !strings.Contains(desc, want) {
			t.Errorf("the confirmation does not say %q:\n%s", want, desc)
		}
	}
	browsertest.Screenshot(t, p.ctx, "privacy-6-erase-confirm")
	p.do("cancel", chromedp.Click(chromedp.CSS("#erase-cancel")), chromedp.WaitNotPresent(chromedp.CSS("#erase-dialog[open]")))
	if got := p.evalString("document.activeElement.id"); got != "v-erase" {
		t.Errorf("after Cancel focus is on %q", got)
	}
	for _, e := range p.audit() {
		if e.Action == "erasure.start" {
			t.Fatal("Cancel started an erasure")
		}
	}

	p.do("erase",
		chromedp.Click(chromedp.CSS("#v-erase")),
		chromedp.WaitVisible(chromedp.CSS("#erase-dialog[open]")),
		chromedp.Click(chromedp.CSS("#erase-confirm")),
		chromedp.WaitVisible(chromedp.CSS("#erasure")),
		chromedp.WaitVisible(chromedp.CSS(`#erasure-state[data-state="done"]`)),
		chromedp.WaitVisible(chromedp.CSS("#erasure-kept-box")),
	)
	if got := p.evalString("document.activeElement.id"); got != "erasure-h" {
		t.Errorf("after confirming focus is on %q, want the erasure's heading", got)
	}
	if !p.evalBool(`document.getElementById('v-result').hidden`) {
		t.Error("the erased data still shows")
	}
	id := p.evalString(`document.getElementById('erasure').dataset.id`)
	var job struct {
		State  string
		Report struct {
			ChatsDeleted, EntriesDeleted, NotesDeleted, IdempotencyRecordsCleared int
			SellRecords                                                           []struct {
				Kind string
				ID   int64
			}
		}
	}
	p.api.get("/privacy/erasures/"+id, &job)
	r := job.Report
	if job.State != "done" || r.ChatsDeleted != 1 || r.EntriesDeleted < 1 || r.NotesDeleted != 1 {
		t.Fatalf("GET /privacy/erasures/%s: %+v", id, job)
	}
	shown := func(key string) int {
		v, _ := strconv.Atoi(p.evalString(`document.querySelector('#erasure-report li[data-count="` + key + `"]').dataset.value`))
		return v
	}
	if shown("chatsDeleted") != r.ChatsDeleted || shown("entriesDeleted") != r.EntriesDeleted || shown("notesDeleted") != r.NotesDeleted ||
		shown("idempotencyRecordsCleared") != r.IdempotencyRecordsCleared {
		t.Errorf("the report shows %q, the erasure says %+v", p.text("#erasure-report"), r)
	}
	if got := p.text(`#erasure-report li[data-count="chatsDeleted"]`); got != "1 chat deleted" {
		t.Errorf("chats deleted reads %q", got)
	}
	kept, _ := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#erasure-kept li[data-record]')).map(e => e.dataset.record)`))
	var want []string
	for _, s := range r.SellRecords {
		want = append(want, s.Kind+":"+strconv.FormatInt(s.ID, 10))
	}
	if !slices.Equal(kept, want) {
		t.Errorf("kept in Sell: the page lists %v, the erasure %v", kept, want)
	}
	if len(p.verasNotes()) != 0 {
		t.Error("the chat's note is still in Sell")
	}
	browsertest.Screenshot(t, p.ctx, "privacy-7-erasure-report")

	// The trail has the erasure, and its report opens from there.
	p.do("open the report from the trail",
		until(`document.querySelector('#audit-list li[data-action="erasure.start"] button') !== null`),
		until(`(() => { document.getElementById('erasure').hidden = true; return true; })()`),
		chromedp.Click(chromedp.CSS(`#audit-list li[data-action="erasure.start"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#erasure-state[data-state="done"]`)),
	)
	if got := p.text("#erasure-h"); got != "Erasure "+id+" (by email)" {
		t.Errorf("the report opened from the trail is headed %q", got)
	}
}
