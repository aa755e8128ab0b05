package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sellchat/sellchat/infra/browsertest"
	"github.com/sellchat/sellchat/infra/localstack"
	"github.com/sellchat/sellchat/shared/auth"
)

// stackAPI calls the running stack's JSON routes as the admin.
type stackAPI struct {
	t     *testing.T
	url   string
	token string
}

func (a stackAPI) get(path string, out any) {
	a.t.Helper()
	req, _ := http.NewRequest("GET", a.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+a.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		a.t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		a.t.Fatalf("GET %s: %v", path, err)
	}
}

func (a stackAPI) patch(path, ifMatch, body string) {
	a.t.Helper()
	req, _ := http.NewRequest("PATCH", a.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("If-Match", ifMatch)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		a.t.Fatalf("PATCH %s: %d", path, res.StatusCode)
	}
}

// TestTheSettingsPageInARealBrowser drives the page in headless Chromium against the
// whole local stack (gateway, DynamoDB Local, Sell sandbox) and checks, after each
// step, that the JSON state behind it changed as the admin meant.
func TestTheSettingsPageInARealBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser and a whole stack")
	}
	t.Parallel()
	stack, err := localstack.Start(context.Background(), localstack.Options{Dir: t.TempDir(), InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stack.Stop)
	const account = "acme"
	tok, err := stack.Signer.Sign(auth.Identity{Account: account, UserID: "1", Email: "ada@example.com", Name: "Ada Admin", Role: auth.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	api := stackAPI{t: t, url: stack.URL, token: tok}
	ctx := browsertest.New(t)
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		stepCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(stepCtx, actions...); err != nil {
			t.Errorf("%s: %v", step, err)
			browsertest.Screenshot(t, ctx, "settings-failed")
			t.FailNow()
		}
	}
	// until waits for a DOM condition (a JavaScript predicate), never for a time.
	until := func(predicate string) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Poll[bool](predicate, chromedp.WithPollingTimeout(20*time.Second))(ctx, tg)
			return chromedp.Void{}, err
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	// The token arrives in the fragment, as the apps framework passes it, and leaves it.
	do("load the page",
		chromedp.Navigate(stack.URL+"/settings/#token="+tok),
		chromedp.WaitVisible(chromedp.CSS("#app")),
		chromedp.WaitVisible(chromedp.CSS("#connect-sell")),
	)
	if hash, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("location.hash")); hash != "" {
		t.Fatalf("the token stayed in the URL: %q", hash)
	}
	if got := text("#conn-text"); !strings.Contains(got, "not connected") {
		t.Fatalf("connection before connecting: %q", got)
	}
	if dis, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('lead-status-select').disabled`)); !dis {
		t.Error("Sell-backed controls must wait for Sell")
	}
	browsertest.Screenshot(t, ctx, "settings-0-not-connected")

	// Connect Sell through the real OAuth round trip: the oauth function, the
	// sandbox's authorize page (which approves at once), the callback, back here.
	do("connect Sell",
		chromedp.Click(chromedp.CSS("#connect-sell")),
		chromedp.WaitVisible(chromedp.CSS("#conn-dot.on")),
		until(`document.querySelector('#owner-users input') !== null`),
	)
	if got := text("#banner"); got != "Sell is connected." {
		t.Errorf("banner after connecting: %q", got)
	}
	if u, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("location.pathname + location.search + location.hash")); u != "/settings/" {
		t.Errorf("the page's URL after connecting: %q", u)
	}
	if got := text("#conn-text"); !strings.Contains(got, "Sell is connected") {
		t.Fatalf("connection: %q", got)
	}
	browsertest.Screenshot(t, ctx, "settings-1-connection")

	// Elements: a plain toggle, then history through its confirmation dialog.
	do("switch the Sell app in Chat on",
		chromedp.Click(chromedp.CSS("#el-sell_app_in_chat")),
		chromedp.WaitVisible(chromedp.CSS("#status-sell_app_in_chat.saved")),
		chromedp.WaitVisible(chromedp.CSS("#dot-sell_app_in_chat.on")),
	)
	var in struct {
		Elements map[string]struct{ Enabled bool } `json:"elements"`
	}
	api.get("/integration", &in)
	if !in.Elements["sell_app_in_chat"].Enabled || in.Elements["chat_history_in_sell"].Enabled {
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
	api.get("/integration", &in)
	if in.Elements["chat_history_in_sell"].Enabled {
		t.Fatal("history was enabled before the admin confirmed")
	}
	do("confirm",
		chromedp.Click(chromedp.CSS("#history-confirm")),
		chromedp.WaitVisible(chromedp.CSS("#status-chat_history_in_sell.saved")),
		chromedp.WaitVisible(chromedp.CSS("#dot-chat_history_in_sell.on")),
	)
	api.get("/integration", &in)
	if !in.Elements["chat_history_in_sell"].Enabled {
		t.Fatal("history is not enabled after confirming")
	}
	browsertest.Screenshot(t, ctx, "settings-3-elements")

	// Lead status from Sell's list.
	do("choose the status Working",
		chromedp.SetValue(chromedp.CSS("#lead-status-select"), "Working"), // fires change, as a person's choice does
		chromedp.WaitVisible(chromedp.CSS("#lead-status-status.saved")),
	)
	var st struct {
		LeadStatus   string `json:"leadStatus"`
		LeadSourceID *int64 `json:"leadSourceId"`
		Owners       []struct {
			Type string `json:"type"`
			ID   int64  `json:"id"`
		} `json:"owners"`
		Version int64 `json:"version"`
	}
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
}

func jsonInt(v int64) string { b, _ := json.Marshal(v); return string(b) }
