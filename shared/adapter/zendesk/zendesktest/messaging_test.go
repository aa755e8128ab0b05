package zendesktest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
)

// hookReceiver records the webhook calls it gets and checks their signatures with
// the secret it is given.
type hookReceiver struct {
	mu     sync.Mutex
	secret string
	bodies []string
	signed []bool
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	mac := hmac.New(sha256.New, []byte(h.secret))
	mac.Write([]byte(r.Header.Get(zendesktest.WebhookTimestampHeader)))
	mac.Write(b)
	h.bodies = append(h.bodies, string(b))
	h.signed = append(h.signed, hmac.Equal([]byte(r.Header.Get(zendesktest.WebhookSignatureHeader)), []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil)))))
	w.WriteHeader(http.StatusAccepted)
}

func (h *hookReceiver) calls() ([]string, []bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.bodies...), append([]bool(nil), h.signed...)
}

// apiClient is a zendesk client of srv holding tok.
func apiClient(t *testing.T, srv *zendesktest.Server, tok *oauth2.Token) *zendesk.Client {
	t.Helper()
	c, err := zendesk.New(zendesk.Options{BaseURL: srv.URL, TokenSource: oauth2.StaticTokenSource(tok), HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// messagingBody is a POST /sandbox/messaging body.
const messagingBody = `{"requester":{"name":"Wendy Whats","email":"wendy@example.org","phone":"+14155550123"},"channel":"whatsapp",
"messages":[{"author":"user","text":"Hi, I need a quote"},{"author":"bot","text":"An agent will be with you shortly."},{"author":"agent","text":"Happy to help."}]}`

// posted is the answer of POST /sandbox/messaging.
type posted struct {
	TicketID   int64                  `json:"ticketId"`
	Deliveries []zendesktest.Delivery `json:"deliveries"`
}

func TestPostedMessagingFiresTheTrigger(t *testing.T) {
	t.Parallel()
	srv, _ := newSandbox(t, zendesktest.Options{})
	ctx := context.Background()
	admin := apiClient(t, srv, srv.SupportToken(zendesktest.DemoAdaID, zendesk.SupportScopes...))
	rc := &hookReceiver{}
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	wh, err := admin.CreateWebhook(ctx, zendesk.NotificationWebhook(hook.URL+"/webhooks/zendesk/acme"))
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret = srv.WebhookSecret(wh.ID)
	rc.mu.Unlock()
	messaging, err := admin.CreateTrigger(ctx, zendesk.MessagingNotificationTrigger(wh.ID, nil))
	if err != nil {
		t.Fatal(err)
	}
	chat, err := admin.CreateTrigger(ctx, zendesk.NotificationTrigger(wh.ID))
	if err != nil {
		t.Fatal(err)
	}

	status, body := post(t, srv, "/sandbox/messaging", messagingBody)
	var p posted
	if err := json.Unmarshal(body, &p); err != nil || status != http.StatusCreated || p.TicketID == 0 {
		t.Fatalf("%d %s", status, body)
	}

	t.Run("the messaging trigger, not the chat one, calls the webhook, signed, with the ticket id", func(t *testing.T) {
		if len(p.Deliveries) != 1 || p.Deliveries[0].TriggerID != messaging.ID || p.Deliveries[0].Status != http.StatusAccepted {
			t.Fatalf("deliveries = %+v", p.Deliveries)
		}
		bodies, signed := rc.calls()
		if len(bodies) != 1 || bodies[0] != `{"ticket_id":"`+strconv.FormatInt(p.TicketID, 10)+`"}` || !signed[0] {
			t.Fatalf("calls %q, signed %v", bodies, signed)
		}
	})
	t.Run("the ticket is a solved WhatsApp ticket whose requester has both identities", func(t *testing.T) {
		agent := srv.SupportAPI(zendesktest.DemoRexID)
		tk, err := agent.Ticket(ctx, p.TicketID)
		if err != nil || tk.Status != "solved" || tk.Via.Channel != "whatsapp" {
			t.Fatalf("Ticket = %+v, %v", tk, err)
		}
		ids, err := agent.Identities(ctx, tk.RequesterID)
		if err != nil || len(ids) != 2 || ids[0].Value != "wendy@example.org" || ids[1].Type != zendesk.IdentityPhone || ids[1].Value != "+14155550123" {
			t.Fatalf("Identities = %+v, %v", ids, err)
		}
		events, err := agent.ConversationLog(ctx, p.TicketID)
		if err != nil || len(events) != 4 || events[3].Content.Text != "Happy to help." {
			t.Fatalf("ConversationLog = %+v, %v", events, err)
		}
	})
	t.Run("the same email reuses the requester", func(t *testing.T) {
		_, again := post(t, srv, "/sandbox/messaging", strings.Replace(messagingBody, "+14155550123", "+14155550999", 1))
		var q posted
		_ = json.Unmarshal(again, &q)
		first, _ := srv.Ticket(p.TicketID)
		second, _ := srv.Ticket(q.TicketID)
		if q.TicketID == p.TicketID || second.RequesterID != first.RequesterID {
			t.Fatalf("tickets %+v / %+v", first, second)
		}
	})
	t.Run("solving a chat ticket fires the chat trigger only", func(t *testing.T) {
		srv.AddChat(map[string]any{"zendesk_ticket_id": 83})
		ds := srv.SolveTicket(ctx, 83)
		if len(ds) != 1 || ds[0].TriggerID != chat.ID {
			t.Fatalf("deliveries = %+v", ds)
		}
	})
	t.Run("a re-solved conversation fires again, with its new messages in the log", func(t *testing.T) {
		before, _ := rc.calls()
		ds := srv.ReopenAndSolve(ctx, p.TicketID, []zendesktest.Message{{Author: "user", Text: "One more thing"}, {Author: "agent", Text: "Sure"}})
		after, _ := rc.calls()
		if len(ds) != 1 || ds[0].TriggerID != messaging.ID || len(after) != len(before)+1 {
			t.Fatalf("deliveries = %+v, calls %d → %d", ds, len(before), len(after))
		}
		events, err := srv.SupportAPI(zendesktest.DemoRexID).ConversationLog(ctx, p.TicketID)
		if err != nil || len(events) != 6 || events[4].Content.Text != "One more thing" || events[5].Content.Text != "Sure" ||
			!events[4].CreatedAt.After(events[3].CreatedAt) {
			t.Fatalf("ConversationLog = %+v, %v", events, err)
		}
		if tk, _ := srv.Ticket(p.TicketID); tk.Status != "solved" {
			t.Fatalf("ticket = %+v", tk)
		}
		if ds := srv.ReopenAndSolve(ctx, 424242, nil); ds != nil {
			t.Fatalf("an unknown ticket: %+v", ds)
		}
	})
}

func TestPostedMessagingIsValidated(t *testing.T) {
	t.Parallel()
	srv, _ := newSandbox(t, zendesktest.Options{})
	msgs := func(n int, author, text string) string {
		var out []string
		for range n {
			out = append(out, fmt.Sprintf(`{"author":%q,"text":%q}`, author, text))
		}
		return "[" + strings.Join(out, ",") + "]"
	}
	body := func(requester, channel, messages string) string {
		return `{"requester":` + requester + `,"channel":"` + channel + `","messages":` + messages + `}`
	}
	const wendy = `{"name":"Wendy","email":"wendy@example.org"}`
	tests := []struct{ name, body string }{
		{"a body that is not JSON", `{"requester":`},
		{"the chat channel", body(wendy, "chat", msgs(1, "user", "Hi"))},
		{"the email channel", body(wendy, "email", msgs(1, "user", "Hi"))},
		{"no messages", body(wendy, "whatsapp", "[]")},
		{"more than 200 messages", body(wendy, "whatsapp", msgs(201, "user", "Hi"))},
		{"an author that is not user, agent or bot", body(wendy, "whatsapp", msgs(1, "customer", "Hi"))},
		{"an empty text", body(wendy, "whatsapp", msgs(1, "user", "  "))},
		{"a text of more than 4096 characters", body(wendy, "whatsapp", msgs(1, "user", strings.Repeat("é", 4097)))},
		{"a requester with neither email nor phone", body(`{"name":"Nobody"}`, "whatsapp", msgs(1, "user", "Hi"))},
		{"a requester email that is not one", body(`{"email":"not an address"}`, "whatsapp", msgs(1, "user", "Hi"))},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused with 400", func(t *testing.T) {
			status, answer := post(t, srv, "/sandbox/messaging", tt.body)
			var e struct{ Error, Description string }
			if status != http.StatusBadRequest || json.Unmarshal(answer, &e) != nil || e.Error != "InvalidValue" || e.Description == "" {
				t.Fatalf("%d %s", status, answer)
			}
		})
	}
	t.Run("200 messages of 4096 characters and a phone alone are fine", func(t *testing.T) {
		status, answer := post(t, srv, "/sandbox/messaging", body(`{"phone":"+14155550123"}`, "native_messaging", msgs(200, "bot", strings.Repeat("é", 4096))))
		if status != http.StatusCreated {
			t.Fatalf("%d %s", status, answer)
		}
	})
}

// logPage is a conversation log page as Zendesk writes it.
type logPage struct {
	Events []map[string]any `json:"events"`
	Links  struct {
		Next, Prev *string
	} `json:"links"`
	Meta struct {
		AfterCursor  *string `json:"after_cursor"`
		BeforeCursor *string `json:"before_cursor"`
		HasMore      bool    `json:"has_more"`
	} `json:"meta"`
}

func logOf(t *testing.T, srv *zendesktest.Server, token string, ticket int64, query string) (int, logPage, []byte) {
	t.Helper()
	status, _, body := get(t, srv, token, fmt.Sprintf("/api/v2/tickets/%d/conversation_log?%s", ticket, query))
	var p logPage
	if status == http.StatusOK {
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
	}
	return status, p, body
}

func texts(p logPage) string {
	var out []string
	for _, e := range p.Events {
		if c, _ := e["content"].(map[string]any); c["type"] == "text" {
			out = append(out, c["text"].(string))
		} else {
			out = append(out, "note")
		}
	}
	return strings.Join(out, ",")
}

func TestConversationLogPages(t *testing.T) {
	t.Parallel()
	srv, _ := newSandbox(t, zendesktest.Options{ConversationLogPerMinute: -1})
	token := srv.SupportToken(zendesktest.DemoRexID).AccessToken
	m := zendesktest.Messaging{Channel: "native_messaging", Requester: zendesktest.Requester{Name: "Pia", Email: "pia@example.org"}}
	for i := range 4 {
		m.Messages = append(m.Messages, zendesktest.Message{Author: "user", Text: strconv.Itoa(i)})
	}
	id := srv.AddMessagingTicket(m) // events: 0, note, 1, 2, 3

	t.Run("events come in the documented shape", func(t *testing.T) {
		_, p, _ := logOf(t, srv, token, id, "")
		if len(p.Events) != 5 || p.Meta.HasMore || p.Links.Next == nil || p.Meta.AfterCursor == nil {
			t.Fatalf("page = %+v", p)
		}
		msg, note := p.Events[0], p.Events[1]
		for _, k := range []string{"id", "type", "reference", "created_at", "attachments", "author", "content", "metadata"} {
			if _, ok := msg[k]; !ok {
				t.Errorf("a message has no %q: %v", k, msg)
			}
		}
		author := msg["author"].(map[string]any)
		if msg["type"] != zendesk.LogConversationMessage || author["type"] != "user" || author["zen:support:user_id"] == nil ||
			!strings.HasPrefix(msg["reference"].(string), "zen:sunco:conversation_message:") || len(msg["id"].(string)) != 26 {
			t.Fatalf("message = %v", msg)
		}
		if _, err := time.Parse(time.RFC3339, msg["created_at"].(string)); err != nil {
			t.Fatal(err)
		}
		meta := note["metadata"].(map[string]any)
		if note["type"] != zendesk.LogComment || meta["public"] != false || !strings.HasPrefix(note["reference"].(string), "zen:ticket_event:") {
			t.Fatalf("note = %v", note)
		}
	})
	t.Run("page[size] and page[after] walk the log", func(t *testing.T) {
		_, p, _ := logOf(t, srv, token, id, "page[size]=2&sort=created_at")
		if texts(p) != "0,note" || !p.Meta.HasMore {
			t.Fatalf("first page %s, has_more %v", texts(p), p.Meta.HasMore)
		}
		_, p, _ = logOf(t, srv, token, id, "page[size]=2&sort=created_at&page[after]="+url.QueryEscape(*p.Meta.AfterCursor))
		if texts(p) != "1,2" || !p.Meta.HasMore {
			t.Fatalf("second page %s", texts(p))
		}
		next, _ := url.Parse(*p.Links.Next)
		_, p, _ = logOf(t, srv, token, id, next.RawQuery)
		if texts(p) != "3" || p.Meta.HasMore {
			t.Fatalf("last page (from links.next) %s, has_more %v", texts(p), p.Meta.HasMore)
		}
		_, p, _ = logOf(t, srv, token, id, "page[size]=2&page[before]="+url.QueryEscape(*p.Meta.BeforeCursor))
		if texts(p) != "1,2" || !p.Meta.HasMore {
			t.Fatalf("page before the last %s", texts(p))
		}
	})
	t.Run("sort=-created_at serves the newest first", func(t *testing.T) {
		if _, p, _ := logOf(t, srv, token, id, "sort=-created_at"); texts(p) != "3,2,1,note,0" {
			t.Fatalf("events %s", texts(p))
		}
	})
	for name, query := range map[string]string{
		"a page[size] above 100":      "page[size]=101",
		"a page[size] of 0":           "page[size]=0",
		"a cursor that is not one":    "page[after]=bm9wZQ==",
		"a cursor of the other order": "sort=-created_at&page[after]=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(`{"o":"created_at","v":"x"}`))),
		"an unknown sort":             "sort=name",
	} {
		t.Run(name+" is a 400", func(t *testing.T) {
			if status, _, body := logOf(t, srv, token, id, query); status != http.StatusBadRequest {
				t.Fatalf("%d %s", status, body)
			}
		})
	}
}

func TestMessagingAccess(t *testing.T) {
	t.Parallel()
	srv, _ := newSandbox(t, zendesktest.Options{ConversationLogPerMinute: -1})
	id := srv.AddMessagingTicket(zendesktest.Messaging{Channel: "instagram_dm",
		Requester: zendesktest.Requester{Email: zendesktest.DemoVeraEmail, Phone: "+1 415 555 0100"}, Messages: []zendesktest.Message{{Author: "user", Text: "Hi"}}})
	agent := srv.SupportToken(zendesktest.DemoRexID).AccessToken
	vera := srv.SupportToken(zendesktest.DemoVeraID).AccessToken
	ticket, log := fmt.Sprintf("/api/v2/tickets/%d", id), fmt.Sprintf("/api/v2/tickets/%d/conversation_log", id)
	tests := []struct {
		name, token, path string
		status            int
	}{
		{"an agent reads the ticket", agent, ticket, 200},
		{"an agent reads the ticket with .json", agent, ticket + ".json", 200},
		{"an agent reads the conversation log", agent, log, 200},
		{"a tickets:read token reads the conversation log", srv.SupportToken(zendesktest.DemoRexID, "tickets:read").AccessToken, log, 200},
		{"a users:read token may not read the ticket", srv.SupportToken(zendesktest.DemoRexID, "users:read").AccessToken, ticket, 403},
		{"a users:read token may not list identities, which need read", srv.SupportToken(zendesktest.DemoRexID, "users:read").AccessToken, "/api/v2/users/9001/identities", 403},
		{"the requester may not read her ticket", vera, ticket, 403},
		{"the requester may not read its conversation log", vera, log, 403},
		{"the requester may list her own identities", vera, "/api/v2/users/9001/identities", 200},
		{"the requester may not list another user's identities", vera, "/api/v2/users/361/identities", 403},
		{"a Chat token is no good", srv.ChatToken(zendesktest.DemoAdaID).AccessToken, log, 401},
		{"an unknown ticket is 404", agent, "/api/v2/tickets/424242", 404},
		{"an unknown ticket has no log", agent, "/api/v2/tickets/424242/conversation_log", 404},
		{"an unknown user has no identities", agent, "/api/v2/users/424242/identities.json", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, _, body := get(t, srv, tt.token, tt.path); status != tt.status {
				t.Fatalf("status %d, want %d (%s)", status, tt.status, body)
			}
		})
	}
	t.Run("a chat ticket is not a ticket of the Tickets API", func(t *testing.T) {
		srv.AddChat(map[string]any{"zendesk_ticket_id": 83})
		if status, _, _ := get(t, srv, agent, "/api/v2/tickets/83"); status != http.StatusNotFound {
			t.Fatalf("status %d", status)
		}
	})
	t.Run("faults reach the conversation log too", func(t *testing.T) {
		srv.FailNext(1, http.StatusBadGateway)
		if status, _, _ := get(t, srv, agent, log); status != http.StatusBadGateway {
			t.Fatalf("status %d", status)
		}
	})
	t.Run("identities come in cursor pages when asked", func(t *testing.T) {
		status, _, body := get(t, srv, agent, "/api/v2/users/9001/identities?page[size]=1")
		var p struct {
			Identities []map[string]any `json:"identities"`
			Meta       struct {
				HasMore     bool   `json:"has_more"`
				AfterCursor string `json:"after_cursor"`
			} `json:"meta"`
		}
		if status != http.StatusOK || json.Unmarshal(body, &p) != nil || len(p.Identities) != 1 || !p.Meta.HasMore || p.Identities[0]["url"] == nil {
			t.Fatalf("%d %s", status, body)
		}
	})
}

func TestConversationLogRateLimit(t *testing.T) {
	t.Parallel()
	srv, clk := newSandbox(t, zendesktest.Options{ConversationLogPerMinute: 3})
	id := srv.AddMessagingTicket(zendesktest.Messaging{Channel: "whatsapp",
		Requester: zendesktest.Requester{Phone: "+14155550123"}, Messages: []zendesktest.Message{{Author: "user", Text: "Hi"}}})
	path := fmt.Sprintf("/api/v2/tickets/%d/conversation_log", id)
	tokens := []string{srv.SupportToken(zendesktest.DemoRexID).AccessToken, srv.SupportToken(zendesktest.DemoRitaID).AccessToken}

	t.Run("every answer says what is left of the account's minute", func(t *testing.T) {
		_, h, _ := get(t, srv, tokens[0], path)
		if got := h.Get(zendesk.ConversationLogRateLimitHeader); got != "total=3; remaining=2; resets=20" {
			t.Fatalf("header %q", got)
		}
	})
	t.Run("the allowance is the account's: another token spends the same", func(t *testing.T) {
		for range 2 {
			if status, _, body := get(t, srv, tokens[1], path); status != http.StatusOK {
				t.Fatalf("%d %s", status, body)
			}
		}
		status, h, body := get(t, srv, tokens[0], path)
		if status != http.StatusTooManyRequests || h.Get("Retry-After") != "20" || string(body) != zendesk.RateLimitedText ||
			h.Get(zendesk.ConversationLogRateLimitHeader) != "total=3; remaining=0; resets=60" {
			t.Fatalf("%d, Retry-After %q, %q: %s", status, h.Get("Retry-After"), h.Get(zendesk.ConversationLogRateLimitHeader), body)
		}
	})
	t.Run("other endpoints are not limited by it", func(t *testing.T) {
		if status, _, _ := get(t, srv, tokens[0], fmt.Sprintf("/api/v2/tickets/%d", id)); status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
	})
	t.Run("after Retry-After it answers again", func(t *testing.T) {
		clk.Advance(20 * time.Second)
		if status, _, body := get(t, srv, tokens[0], path); status != http.StatusOK {
			t.Fatalf("%d %s", status, body)
		}
	})
}

func TestMessagingSurvivesRestart(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "zendesk-sandbox.json")
	clk := zendesktest.NewClock(start)
	opts := zendesktest.Options{StateFile: file, AppKey: appKey(), RateLimit: -1, ConversationLogPerMinute: -1, Now: clk.Now}
	first := zendesktest.NewServer(t, opts)
	id := first.AddMessagingTicket(zendesktest.Messaging{Channel: "telegram",
		Requester: zendesktest.Requester{Name: "Kept", Email: "kept@example.org", Phone: "+14155550100"},
		Messages:  []zendesktest.Message{{Author: "user", Text: "Still here?"}, {Author: "agent", Text: "Yes"}}})
	first.Close()

	second := zendesktest.NewServer(t, opts)
	c := second.SupportAPI(zendesktest.DemoRexID)
	ctx := context.Background()
	tk, err := c.Ticket(ctx, id)
	if err != nil || tk.Via.Channel != "telegram" {
		t.Fatalf("Ticket after the restart = %+v, %v", tk, err)
	}
	ids, err := c.Identities(ctx, tk.RequesterID)
	if err != nil || len(ids) != 2 {
		t.Fatalf("Identities after the restart = %+v, %v", ids, err)
	}
	events, err := c.ConversationLog(ctx, id)
	if err != nil || len(events) != 3 || events[2].Content.Text != "Yes" || events[2].Author.SupportUserID != zendesktest.DemoRexID {
		t.Fatalf("ConversationLog after the restart = %+v, %v", events, err)
	}
}
