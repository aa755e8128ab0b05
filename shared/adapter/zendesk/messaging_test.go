package zendesk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
)

// conversation is a WhatsApp conversation of n messages, taking turns between the
// requester, a bot and an agent.
func conversation(email, phone string, n int) zendesktest.Messaging {
	m := zendesktest.Messaging{Channel: "whatsapp",
		Requester: zendesktest.Requester{Name: "Wendy Whats", Email: email, Phone: phone}}
	authors := []string{zendesk.AuthorUser, zendesk.AuthorBot, zendesk.AuthorAgent}
	for i := range n {
		m.Messages = append(m.Messages, zendesktest.Message{Author: authors[i%3], Text: fmt.Sprintf("message %d", i)})
	}
	return m
}

func TestMessagingTicket(t *testing.T) {
	t.Parallel()
	ctx, srv, c := supportAs(t, zendesktest.Options{}, zendesktest.DemoRexID)
	id := srv.AddMessagingTicket(conversation("wendy@example.org", "+14155550123", 3))

	t.Run("a messaging ticket is read with its channel, status and requester", func(t *testing.T) {
		tk, err := c.Ticket(ctx, id)
		if err != nil || tk.ID != id || tk.Status != "solved" || tk.Via.Channel != "whatsapp" || tk.RequesterID == 0 || tk.CreatedAt.IsZero() {
			t.Fatalf("Ticket = %+v, %v", tk, err)
		}
		if !zendesk.IsMessaging(tk.Via.Channel, nil) {
			t.Fatalf("%s is not a messaging channel", tk.Via.Channel)
		}
		u, err := c.User(ctx, tk.RequesterID)
		if err != nil || u.Email != "wendy@example.org" || u.Role != zendesk.RoleEndUser {
			t.Fatalf("requester = %+v, %v", u, err)
		}
	})
	t.Run("the requester comes side-loaded with the ticket, in one request", func(t *testing.T) {
		before := len(srv.Calls())
		tk, u, found, err := c.TicketAndRequester(ctx, id)
		if err != nil || !found || tk.ID != id || u.ID != tk.RequesterID || u.Email != "wendy@example.org" {
			t.Fatalf("TicketAndRequester = %+v, %+v, %v, %v", tk, u, found, err)
		}
		if n := len(srv.Calls()) - before; n != 1 {
			t.Fatalf("%d requests, want 1", n)
		}
		if _, _, _, err := c.TicketAndRequester(ctx, 424242); !errors.Is(err, zendesk.ErrNotFound) {
			t.Fatalf("missing ticket: err = %v, want ErrNotFound", err)
		}
	})
	t.Run("a ticket that does not exist is ErrNotFound", func(t *testing.T) {
		if _, err := c.Ticket(ctx, 424242); !errors.Is(err, zendesk.ErrNotFound) || !strings.Contains(err.Error(), "read ticket 424242") {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
	t.Run("an end user may not read tickets", func(t *testing.T) {
		if _, err := srv.SupportAPI(zendesktest.DemoVeraID).Ticket(ctx, id); !errors.Is(err, zendesk.ErrForbidden) {
			t.Fatalf("err = %v, want ErrForbidden", err)
		}
	})
}

func TestIdentities(t *testing.T) {
	t.Parallel()
	ctx, srv, c := supportAs(t, zendesktest.Options{}, zendesktest.DemoRexID)

	t.Run("a requester has the email and phone the conversation gave", func(t *testing.T) {
		tk, _ := srv.Ticket(srv.AddMessagingTicket(conversation("ida@example.org", "+44 20 7946 0958", 1)))
		ids, err := c.Identities(ctx, tk.RequesterID)
		if err != nil || len(ids) != 2 {
			t.Fatalf("Identities = %+v, %v", ids, err)
		}
		for _, id := range ids {
			if id.UserID != tk.RequesterID || !id.Primary || id.ID == 0 {
				t.Errorf("identity %+v", id)
			}
		}
		if ids[0].Type != zendesk.IdentityEmail || ids[0].Value != "ida@example.org" || ids[1].Type != zendesk.IdentityPhone || ids[1].Value != "+44 20 7946 0958" {
			t.Fatalf("identities = %+v", ids)
		}
	})
	t.Run("more than a page of identities is read page after page", func(t *testing.T) {
		// One requester by email, a new phone each conversation: 1 email + 120 phones.
		var requester int64
		for i := range 120 {
			tk, _ := srv.Ticket(srv.AddMessagingTicket(conversation("many@example.org", fmt.Sprintf("+1415555%04d", i), 1)))
			requester = tk.RequesterID
		}
		srv.ResetCalls()
		ids, err := c.Identities(ctx, requester)
		if err != nil || len(ids) != 121 {
			t.Fatalf("Identities: %d, %v", len(ids), err)
		}
		wantPages(t, srv, 2, "/api/v2/users/%d/identities", requester)
		phones := 0
		for i, id := range ids {
			if i > 0 && id.ID <= ids[i-1].ID {
				t.Fatalf("identity %d out of order: %+v", i, ids)
			}
			if id.Type == zendesk.IdentityPhone {
				phones++
			}
		}
		if phones != 120 {
			t.Fatalf("%d phones", phones)
		}
	})
	t.Run("a user of the seed has the primary email identity", func(t *testing.T) {
		ids, err := c.Identities(ctx, zendesktest.DemoVeraID)
		if err != nil || len(ids) != 1 || ids[0].Value != zendesktest.DemoVeraEmail || !ids[0].Verified {
			t.Fatalf("Identities = %+v, %v", ids, err)
		}
	})
	t.Run("an unknown user is ErrNotFound", func(t *testing.T) {
		if _, err := c.Identities(ctx, 424242); !errors.Is(err, zendesk.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestConversationLog(t *testing.T) {
	t.Parallel()
	ctx, srv, c := supportAs(t, zendesktest.Options{ConversationLogPerMinute: -1}, zendesktest.DemoRexID)

	t.Run("a log of more than a hundred events is read whole, oldest first", func(t *testing.T) {
		id := srv.AddMessagingTicket(conversation("long@example.org", "", 150))
		srv.ResetCalls()
		events, err := c.ConversationLog(ctx, id)
		if err != nil || len(events) != 151 {
			t.Fatalf("ConversationLog: %d events, %v", len(events), err)
		}
		wantPages(t, srv, 2, "/api/v2/tickets/%d/conversation_log", id)
		var texts []string
		for i, e := range events {
			if i > 0 && e.CreatedAt.Before(events[i-1].CreatedAt) {
				t.Fatalf("event %d is older than the one before it", i)
			}
			if e.Type == zendesk.LogConversationMessage {
				texts = append(texts, e.Content.Text)
			}
		}
		if len(texts) != 150 || texts[0] != "message 0" || texts[149] != "message 149" {
			t.Fatalf("messages %d: %q … %q", len(texts), texts[0], texts[len(texts)-1])
		}
		note := events[1]
		if note.Type != zendesk.LogComment || note.Metadata.Public || note.Content.Type != "html" || !strings.Contains(note.Content.Body, "Conversation with Wendy Whats") {
			t.Fatalf("second event = %+v, want the internal note", note)
		}
	})
	t.Run("authors carry their type and Support id, and content keeps its raw JSON", func(t *testing.T) {
		tk, _ := srv.Ticket(srv.AddMessagingTicket(conversation("authors@example.org", "", 3)))
		events, err := c.ConversationLog(ctx, tk.ID)
		if err != nil || len(events) != 4 {
			t.Fatalf("ConversationLog = %+v, %v", events, err)
		}
		user, bot, agent := events[0].Author, events[2].Author, events[3].Author
		if user.Type != zendesk.AuthorUser || user.SupportUserID != tk.RequesterID || user.SuncoUserID == "" ||
			bot.Type != zendesk.AuthorBot || bot.SupportUserID != -1 ||
			agent.Type != zendesk.AuthorAgent || agent.SupportUserID != zendesktest.DemoRexID || agent.DisplayName != "Rex Rep" {
			t.Fatalf("authors = %+v / %+v / %+v", user, bot, agent)
		}
		raw := events[0].Content.Raw
		var v map[string]any
		if json.Unmarshal(raw, &v) != nil || v["type"] != "text" || v["text"] != "message 0" || events[0].ID == "" || events[0].Reference == "" {
			t.Fatalf("event = %+v, raw content %s", events[0], raw)
		}
	})
	t.Run("a ticket that does not exist is ErrNotFound", func(t *testing.T) {
		if _, err := c.ConversationLog(ctx, 424242); !errors.Is(err, zendesk.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a failing page fails the read", func(t *testing.T) {
		id := srv.AddMessagingTicket(conversation("fails@example.org", "", 1))
		srv.FailNext(1, http.StatusServiceUnavailable)
		if _, err := c.ConversationLog(ctx, id); !errors.Is(err, zendesk.ErrServer) {
			t.Fatalf("err = %v, want ErrServer", err)
		}
	})
}

func TestConversationLogRateLimit(t *testing.T) {
	t.Parallel()
	srv := newServer(t, zendesktest.Options{ConversationLogPerMinute: 2})
	ctx := context.Background()
	id := srv.AddMessagingTicket(conversation("limit@example.org", "", 1))
	for _, c := range []*zendesk.Client{srv.SupportAPI(zendesktest.DemoRexID), srv.SupportAPI(zendesktest.DemoRitaID)} {
		if _, err := c.ConversationLog(ctx, id); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("past the account's allowance a read is *RateLimited with Retry-After, not retried", func(t *testing.T) {
		srv.ResetCalls()
		_, err := srv.SupportAPI(zendesktest.DemoAdaID).ConversationLog(ctx, id)
		var rl *zendesk.RateLimited
		if !errors.As(err, &rl) || !errors.Is(err, zendesk.ErrRateLimited) || rl.RetryAfter < time.Second || rl.RetryAfter > time.Minute {
			t.Fatalf("err = %v, want *RateLimited with a wait of up to a minute", err)
		}
		if n := len(srv.Calls()); n != 1 {
			t.Errorf("%d calls, want 1", n)
		}
	})
	t.Run("other endpoints keep working", func(t *testing.T) {
		if _, err := srv.SupportAPI(zendesktest.DemoAdaID).Ticket(ctx, id); err != nil {
			t.Fatal(err)
		}
	})
}

func TestMessagingChannels(t *testing.T) {
	t.Parallel()
	t.Run("every default channel has a via id of its own", func(t *testing.T) {
		seen := map[string]string{}
		for _, ch := range zendesk.DefaultMessagingChannels {
			id, ok := zendesk.ViaID(ch)
			if !ok || id == zendesk.ViaChat || seen[id] != "" {
				t.Fatalf("ViaID(%s) = %q, %v (seen for %s)", ch, id, ok, seen[id])
			}
			seen[id] = ch
		}
		if id, _ := zendesk.ViaID("whatsapp"); id != "74" {
			t.Fatalf("whatsapp = %s", id)
		}
	})
	tests := []struct {
		name    string
		channel string
		allowed []string
		want    bool
	}{
		{"web messaging is messaging", "native_messaging", nil, true},
		{"chat is not messaging", "chat", nil, false},
		{"email is not messaging", "email", nil, false},
		{"an empty channel is not messaging", "", nil, false},
		{"a channel left out of the allowed list is not", "whatsapp", []string{"native_messaging"}, false},
		{"a channel in the allowed list is", "instagram_dm", []string{"instagram_dm"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := zendesk.IsMessaging(tt.channel, tt.allowed); got != tt.want {
				t.Fatalf("IsMessaging(%q, %v) = %v", tt.channel, tt.allowed, got)
			}
		})
	}
}

func TestMessagingNotificationTrigger(t *testing.T) {
	t.Parallel()
	t.Run("by default it fires for any messaging channel once solved", func(t *testing.T) {
		tr := zendesk.MessagingNotificationTrigger("01WH", nil)
		if len(tr.Conditions.All) != 1 || tr.Conditions.All[0] != (zendesk.Condition{Field: "status", Operator: zendesk.TriggerChangedToOperator, Value: "solved"}) {
			t.Fatalf("all = %+v", tr.Conditions.All)
		}
		if len(tr.Conditions.Any) != len(zendesk.DefaultMessagingChannels) {
			t.Fatalf("any = %+v", tr.Conditions.Any)
		}
		if !tr.Active || len(tr.Actions) != 1 || tr.Actions[0].Field != zendesk.TriggerWebhookAction ||
			!slices.Equal(tr.Actions[0].Value.([]string), []string{"01WH", zendesk.NotificationBody}) {
			t.Fatalf("trigger = %+v", tr)
		}
	})
	t.Run("chosen channels are its only via ids, unknown ones left out", func(t *testing.T) {
		tr := zendesk.MessagingNotificationTrigger("01WH", []string{"whatsapp", "carrier_pigeon", "whatsapp", "native_messaging"})
		want := []zendesk.Condition{{Field: "via_id", Operator: "is", Value: "74"}, {Field: "via_id", Operator: "is", Value: "75"}}
		if !slices.Equal(tr.Conditions.Any, want) {
			t.Fatalf("any = %+v", tr.Conditions.Any)
		}
	})
}

func TestLogContent(t *testing.T) {
	t.Parallel()
	const raw = `{"type":"text","text":"Hey!","actions":[{"reply":{"text":"Talk to a human","payload":"p"}}]}`
	t.Run("content keeps what sellchat does not read and is written back as it came", func(t *testing.T) {
		var c zendesk.LogContent
		if err := json.Unmarshal([]byte(raw), &c); err != nil || c.Type != "text" || c.Text != "Hey!" || string(c.Raw) != raw {
			t.Fatalf("content = %+v, %v", c, err)
		}
		if b, err := json.Marshal(c); err != nil || string(b) != raw {
			t.Fatalf("Marshal = %s, %v", b, err)
		}
	})
	t.Run("content made in code is written from its fields", func(t *testing.T) {
		b, err := json.Marshal(zendesk.LogContent{Type: "html", Body: "<p>x</p>"})
		if err != nil || string(b) != `{"type":"html","body":"\u003cp\u003ex\u003c/p\u003e"}` {
			t.Fatalf("Marshal = %s, %v", b, err)
		}
	})
	t.Run("null content is empty", func(t *testing.T) {
		var e zendesk.LogEvent
		if err := json.Unmarshal([]byte(`{"id":"x","content":null}`), &e); err != nil || e.Content.Type != "" || e.Content.Raw != nil {
			t.Fatalf("event = %+v, %v", e, err)
		}
	})
}
