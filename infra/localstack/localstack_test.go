package localstack_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/infra/localstack"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
)

// TestRunPrintsReadyAndServesSettings is `make run` in miniature: the stack prints a
// line ending in "ready", mints a token at /dev/token and serves GET /settings with it.
func TestRunPrintsReadyAndServesSettings(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- localstack.Run(ctx, localstack.Options{Dir: dir, InMemory: true}, pw)
		pw.Close()
	}()
	var url string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "API" && f[1] == "gateway" {
			url = f[2]
		}
		if strings.HasSuffix(line, "ready") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if url == "" {
		t.Fatalf("no gateway URL before ready (err: %v)", sc.Err())
	}

	tok := devToken(t, url, `{"account":"acme","userId":"1","role":"admin"}`)
	res := get(t, url+"/settings", tok)
	if res.StatusCode != 200 {
		t.Fatalf("GET /settings: %d", res.StatusCode)
	}
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	if body["access"] != "sell_users" {
		t.Fatalf("settings: %v", body)
	}

	t.Run("dev tokens refuse a bad role", func(t *testing.T) {
		res, err := http.Post(url+"/dev/token", "application/json", strings.NewReader(`{"account":"acme","userId":"1","role":"root"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 422 {
			t.Fatalf("status %d", res.StatusCode)
		}
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the stack did not stop")
	}
}

// TestRestartKeepsState runs the stack twice over one state folder, as `make run`
// does on a developer's machine: settings saved before the restart are there after.
func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	s := startStack(t, localstack.Options{Dir: dir})
	tok := devToken(t, s.URL, `{"account":"acme","userId":"1","role":"owner"}`)
	// access needs no Sell, so the stack need not be connected for this.
	if res := do(t, "PATCH", s.URL+"/settings", tok, `{"access":"all_agents"}`, map[string]string{"If-Match": "0"}); res.StatusCode != 200 {
		t.Fatalf("PATCH: %d", res.StatusCode)
	}
	s.Stop()

	s = startStack(t, localstack.Options{Dir: dir})
	defer s.Stop()
	// The signing key is kept under the state folder too, so the old token still works.
	res := get(t, s.URL+"/settings", tok)
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != 200 || body["access"] != "all_agents" {
		t.Fatalf("after restart: %d %v", res.StatusCode, body)
	}
}

func devToken(t *testing.T, url, body string) string {
	t.Helper()
	res, err := http.Post(url+"/dev/token", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.Token == "" {
		t.Fatalf("/dev/token: %d %v", res.StatusCode, err)
	}
	return out.Token
}

func get(t *testing.T, url, tok string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// TestConnectSellHandsFree is issue 4's "done when": on the local stack, following
// /oauth/start with an admin's token goes through the sandbox's authorize page and
// back to /settings/, with no person involved, and the install checks then pass.
func TestConnectSellHandsFree(t *testing.T) {
	s, tok := installed(t, localstack.Options{})
	var in map[string]any
	_ = json.NewDecoder(get(t, s.URL+"/integration", tok).Body).Decode(&in)
	if in["sellConnected"] != true {
		t.Fatalf("integration: %v", in)
	}
}

// TestChatsEndingInTheZendeskSandboxReachTheFeed is the chat poll on the local stack:
// an admin connects Sell and Chat hands-free, switches history on, and a chat that
// ends in the Zendesk sandbox is polled, stored, matched by the stream and shown in
// its lead's feed, with nobody posting a webhook.
func TestChatsEndingInTheZendeskSandboxReachTheFeed(t *testing.T) {
	s, tok := installed(t, localstack.Options{ChatPollInterval: 50 * time.Millisecond, ZendeskMinAge: time.Millisecond})
	follow(t, s.URL, tok, "chat", zendesk.ChatAuthorizePath)
	if res := do(t, "PUT", s.URL+"/integration/elements/chat_history_in_sell", tok, `{"enabled":true,"confirm":true}`, nil); res.StatusCode != 200 {
		t.Fatalf("history on: %d", res.StatusCode)
	}
	s.Zendesk.AddChat(map[string]any{"id": "c-local", "visitor": map[string]any{"name": "Vera Visitor", "email": "vera@example.com"}})
	waitForFeed(t, s, tok, "c-local")
}

// waitForFeed waits up to a minute for chatID to show in lead 2001's feed (Vera's).
func waitForFeed(t *testing.T, s *localstack.Stack, tok, chatID string) {
	t.Helper()
	type item struct {
		ChatID string `json:"chatId"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var page struct{ Items []item }
		_ = json.NewDecoder(get(t, s.URL+"/feed?resourceType=lead&resourceId=2001", tok).Body).Decode(&page)
		if slices.Contains(page.Items, item{chatID}) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("chat %s never reached lead 2001's feed: %+v", chatID, page.Items)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestASolvedChatTicketReachesTheFeedThroughTheSupportWebhook is Agent Workspace on
// the local stack: the admin connects Zendesk and Chat hands-free and sets up the
// notifications, which create a webhook and trigger in the Zendesk sandbox; solving a
// chat ticket there calls the gateway, signed, and the ticket's chat reaches its
// lead's feed with the export poll held back for the whole test.
func TestASolvedChatTicketReachesTheFeedThroughTheSupportWebhook(t *testing.T) {
	s, tok := installed(t, localstack.Options{ChatPollInterval: time.Hour})
	follow(t, s.URL, tok, "chat", zendesk.ChatAuthorizePath)
	follow(t, s.URL, tok, "zendesk", zendesk.SupportAuthorizePath)
	if res := do(t, "PUT", s.URL+"/integration/elements/chat_history_in_sell", tok, `{"enabled":true,"confirm":true}`, nil); res.StatusCode != 200 {
		t.Fatalf("history on: %d", res.StatusCode)
	}
	if res := do(t, "POST", s.URL+"/integration/zendesk/notifications", tok, "", nil); res.StatusCode != 200 {
		t.Fatalf("notifications: %d", res.StatusCode)
	}
	s.Zendesk.AddChat(map[string]any{"id": "c-ticket", "zendesk_ticket_id": 83, "visitor": map[string]any{"name": "Vera Visitor", "email": "vera@example.com"}})
	ds := s.Zendesk.SolveTicket(context.Background(), 83)
	if len(ds) != 1 || ds[0].Status != http.StatusAccepted || ds[0].Endpoint != s.URL+"/webhooks/zendesk/acme" {
		t.Fatalf("deliveries: %+v", ds)
	}
	waitForFeed(t, s, tok, "c-ticket")
}

// TestAWhatsAppConversationSolvedInTheZendeskSandboxReachesTheFeedOnce is messaging
// on the local stack, as a person tries it after `make run`: with the notifications
// set up, POST /sandbox/messaging solves a WhatsApp conversation of Vera's in the
// Zendesk sandbox, whose trigger calls the gateway; the conversation shows once in
// her lead's feed with one Sell note, and solving it again after a reopen updates
// that note.
func TestAWhatsAppConversationSolvedInTheZendeskSandboxReachesTheFeedOnce(t *testing.T) {
	s, tok := installed(t, localstack.Options{ChatPollInterval: time.Hour})
	follow(t, s.URL, tok, "zendesk", zendesk.SupportAuthorizePath)
	if res := do(t, "PUT", s.URL+"/integration/elements/chat_history_in_sell", tok, `{"enabled":true,"confirm":true}`, nil); res.StatusCode != 200 {
		t.Fatalf("history on: %d", res.StatusCode)
	}
	if res := do(t, "POST", s.URL+"/integration/zendesk/notifications", tok, `{"messagingChannels":["whatsapp"]}`, nil); res.StatusCode != 200 {
		t.Fatalf("notifications: %d", res.StatusCode)
	}
	res := do(t, "POST", s.ZendeskURL+"/sandbox/messaging", "", `{"requester":{"name":"Vera Visitor","email":"vera@example.com","phone":"+14155550100"},`+
		`"channel":"whatsapp","messages":[{"author":"user","text":"Hi, a quote for 40 seats?"},{"author":"bot","text":"An agent is on the way."},{"author":"agent","text":"Sure, Vera."}]}`, nil)
	var solved struct {
		TicketID   int64
		Deliveries []struct{ Status int }
	}
	if err := json.NewDecoder(res.Body).Decode(&solved); err != nil || res.StatusCode != http.StatusCreated ||
		len(solved.Deliveries) != 1 || solved.Deliveries[0].Status != http.StatusAccepted {
		t.Fatalf("POST /sandbox/messaging: %d %v %+v", res.StatusCode, err, solved)
	}
	chatID := "zdmsg-" + strconv.FormatInt(solved.TicketID, 10)
	waitForFeed(t, s, tok, chatID)
	notes := func() []string {
		var out []string
		for _, n := range s.Sell.Notes() {
			if n.ResourceType == "lead" && n.ResourceID == 2001 && strings.Contains(n.Content, "[sellchat chat "+chatID+"]") {
				out = append(out, n.Content)
			}
		}
		return out
	}
	// The feed entry is written before its note: wait for the note too.
	deadline := time.Now().Add(30 * time.Second)
	for ns := notes(); len(ns) != 1 || !strings.HasPrefix(ns[0], "Zendesk messaging conversation (WhatsApp)"); ns = notes() {
		if len(ns) > 1 || time.Now().After(deadline) {
			t.Fatalf("notes on Vera's lead: %q", ns)
		}
		time.Sleep(100 * time.Millisecond)
	}

	ds := s.Zendesk.ReopenAndSolve(context.Background(), solved.TicketID, []zendesktest.Message{{Author: "user", Text: "Make it 50 seats."}, {Author: "agent", Text: "Done."}})
	if len(ds) != 1 || ds[0].Status != http.StatusAccepted {
		t.Fatalf("deliveries of the second solve: %+v", ds)
	}
	deadline = time.Now().Add(60 * time.Second)
	for ns := notes(); len(ns) != 1 || !strings.Contains(ns[0], "50 seats"); ns = notes() {
		if len(ns) > 1 || time.Now().After(deadline) {
			t.Fatalf("notes on Vera's lead after the second solve: %q", ns)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var page struct {
		Items []struct{ ChatID, Channel string }
	}
	_ = json.NewDecoder(get(t, s.URL+"/feed?resourceType=lead&resourceId=2001", tok).Body).Decode(&page)
	seen := 0
	for _, it := range page.Items {
		if it.ChatID == chatID {
			seen++
			if it.Channel != "whatsapp" {
				t.Errorf("the feed item's channel is %q", it.Channel)
			}
		}
	}
	if seen != 1 {
		t.Fatalf("the conversation is %d times in the feed", seen)
	}
}

// TestRestartKeepsSellConnection is the whole stack's state across a restart: DynamoDB
// Local on disk holds the sealed Sell token and the Sell sandbox its own state under
// the same folder, so after a restart the stored token still works against the
// sandbox and the lead created before it is still found.
func TestRestartKeepsSellConnection(t *testing.T) {
	dir := t.TempDir()
	s := startStack(t, localstack.Options{Dir: dir})
	stopped := false
	defer func() {
		if !stopped {
			s.Stop()
		}
	}()
	owner := devToken(t, s.URL, ownerClaims)
	agent := devToken(t, s.URL, `{"account":"acme","userId":"361","email":"rex@example.com","name":"Rex","role":"agent"}`)
	connectSell(t, s.URL, owner)
	if res := do(t, "POST", s.URL+"/integration/install", owner, "", nil); res.StatusCode != 201 {
		t.Fatalf("install: %d", res.StatusCode)
	}
	// all_agents: the agent's lookups and leads use the admin's stored Sell token,
	// the one the restart must keep working.
	if res := do(t, "PATCH", s.URL+"/settings", owner, `{"access":"all_agents"}`, map[string]string{"If-Match": "0"}); res.StatusCode != 200 {
		t.Fatalf("PATCH /settings: %d", res.StatusCode)
	}
	res := do(t, "POST", s.URL+"/leads", agent, `{"firstName":"Rhea","lastName":"Restart","email":"rhea.restart@example.com"}`,
		map[string]string{"Idempotency-Key": "restart-1"})
	var created struct{ Lead struct{ ID int64 } }
	if err := json.NewDecoder(res.Body).Decode(&created); err != nil || res.StatusCode != 201 || created.Lead.ID == 0 {
		t.Fatalf("POST /leads: %d %v %+v", res.StatusCode, err, created)
	}
	s.Stop()
	stopped = true

	s = startStack(t, localstack.Options{Dir: dir})
	defer s.Stop()
	t.Run("the stored Sell token still works", func(t *testing.T) {
		// A write, not GET /sell/users: Sell's metadata is cached process-wide, and
		// this test restarts the stack inside one process, so a read could be served
		// without asking the sandbox at all.
		if res := do(t, "POST", s.URL+"/sell/lead-sources", owner, `{"name":"After the restart"}`, nil); res.StatusCode != 201 {
			body, _ := io.ReadAll(res.Body)
			t.Fatalf("POST /sell/lead-sources: %d %s", res.StatusCode, body)
		}
		var in map[string]any
		_ = json.NewDecoder(get(t, s.URL+"/integration", owner).Body).Decode(&in)
		if in["sellConnected"] != true {
			t.Fatalf("integration: %v", in)
		}
	})
	t.Run("the sandbox still holds the lead created before the restart", func(t *testing.T) {
		if l, ok := s.Sell.Lead(created.Lead.ID); !ok || l.Email != "rhea.restart@example.com" {
			t.Fatalf("lead %d: %v %+v", created.Lead.ID, ok, l)
		}
	})
	t.Run("the panel finds it", func(t *testing.T) {
		res := get(t, s.URL+"/panel?email=rhea.restart@example.com", agent)
		var p struct {
			Matches []struct {
				Type string
				ID   int64
			}
		}
		if err := json.NewDecoder(res.Body).Decode(&p); err != nil || res.StatusCode != 200 {
			t.Fatalf("GET /panel: %d %v", res.StatusCode, err)
		}
		if len(p.Matches) != 1 || p.Matches[0].Type != "lead" || p.Matches[0].ID != created.Lead.ID {
			t.Fatalf("matches %+v, want lead %d", p.Matches, created.Lead.ID)
		}
	})
}

// startStack starts a stack with o or fails the test; stopping it is the caller's,
// since the restart tests stop it and start another over the same folder.
func startStack(t *testing.T, o localstack.Options) *localstack.Stack {
	t.Helper()
	s, err := localstack.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// installed starts a stack with o (in memory, in a folder of the test's) and has the
// owner connect Sell and install, hands-free; it returns the stack, stopped when the
// test ends, and the owner's token.
func installed(t *testing.T, o localstack.Options) (*localstack.Stack, string) {
	t.Helper()
	o.Dir, o.InMemory = t.TempDir(), true
	s := startStack(t, o)
	t.Cleanup(s.Stop)
	tok := devToken(t, s.URL, ownerClaims)
	connectSell(t, s.URL, tok)
	if res := do(t, "POST", s.URL+"/integration/install", tok, "", nil); res.StatusCode != 201 {
		t.Fatalf("install: %d", res.StatusCode)
	}
	return s, tok
}

const ownerClaims = `{"account":"acme","userId":"1","email":"ada@example.com","name":"Ada","role":"owner"}`

// connectSell follows /oauth/start?purpose=install with an admin's token as a browser
// would: the sandbox's authorize page approves at once and the callback ends on
// /settings/.
func connectSell(t *testing.T, url, tok string) {
	t.Helper()
	follow(t, url, tok, "install", "/oauth2/authorize")
}

// follow follows /oauth/start?purpose=purpose with an admin's token as a browser
// would, through a sandbox's authorize page at authorizePath (which approves at once)
// and the callback, to /settings/.
func follow(t *testing.T, url, tok, purpose, authorizePath string) {
	t.Helper()
	var visited []string
	client := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		visited = append(visited, req.URL.Path)
		if req.URL.Path == "/settings/" {
			return http.ErrUseLastResponse // the page itself is the settings function's business
		}
		return nil
	}}
	req, _ := http.NewRequest("GET", url+"/oauth/start?account=acme&purpose="+purpose, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if strings.Join(visited, " ") != authorizePath+" /oauth/callback /settings/" {
		t.Fatalf("redirect chain %v (last status %d)", visited, res.StatusCode)
	}
}

// do sends a request with a bearer token, a body and extra headers; the response
// body is closed when the test ends.
func do(t *testing.T, method, url, tok, body string, header map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}
