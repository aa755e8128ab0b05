package zendesk_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
)

// receiver records the webhook calls it gets.
type receiver struct {
	mu    sync.Mutex
	calls []*http.Request
	body  []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.calls = append(rc.calls, r)
	rc.body = append(rc.body, string(b))
	rc.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func TestNotificationWebhookAndTrigger(t *testing.T) {
	t.Parallel()
	srv := newServer(t, zendesktest.Options{})
	ctx := context.Background()
	rc := &receiver{}
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	admin := clientWith(t, srv, srv.SupportToken(zendesktest.DemoAdaID, zendesk.SupportScopes...))

	wh, err := admin.CreateWebhook(ctx, zendesk.NotificationWebhook(hook.URL+"/webhooks/zendesk/acme"))
	if err != nil || wh.ID == "" || wh.Endpoint != hook.URL+"/webhooks/zendesk/acme" {
		t.Fatalf("CreateWebhook = %+v, %v", wh, err)
	}
	secret, err := admin.WebhookSigningSecret(ctx, wh.ID)
	if err != nil || secret == "" || secret != srv.WebhookSecret(wh.ID) {
		t.Fatalf("WebhookSigningSecret = %q, %v", secret, err)
	}
	tr, err := admin.CreateTrigger(ctx, zendesk.NotificationTrigger(wh.ID))
	if err != nil || tr.ID == 0 {
		t.Fatalf("CreateTrigger = %+v, %v", tr, err)
	}
	if got, err := admin.Trigger(ctx, tr.ID); err != nil || got.Title != tr.Title || len(got.Actions) != 1 {
		t.Fatalf("Trigger = %+v, %v", got, err)
	}

	t.Run("a token without the write scopes, or an agent's, may not create them", func(t *testing.T) {
		readOnly := clientWith(t, srv, srv.SupportToken(zendesktest.DemoAdaID))
		if _, err := readOnly.CreateWebhook(ctx, zendesk.NotificationWebhook(hook.URL)); !errors.Is(err, zendesk.ErrForbidden) {
			t.Fatalf("read-only CreateWebhook err = %v", err)
		}
		agent := clientWith(t, srv, srv.SupportToken(zendesktest.DemoRexID, zendesk.SupportScopes...))
		if _, err := agent.CreateTrigger(ctx, zendesk.NotificationTrigger(wh.ID)); !errors.Is(err, zendesk.ErrForbidden) {
			t.Fatalf("agent CreateTrigger err = %v", err)
		}
	})
	t.Run("a trigger must name a webhook that exists", func(t *testing.T) {
		if _, err := admin.CreateTrigger(ctx, zendesk.NotificationTrigger("01NOPE")); !errors.Is(err, zendesk.ErrBadRequest) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("solving a chat ticket calls the webhook, signed, with only the ticket id", func(t *testing.T) {
		srv.AddChat(map[string]any{"zendesk_ticket_id": 83, "visitor": map[string]any{"email": "v@example.com"}})
		ds := srv.SolveTicket(ctx, 83)
		if len(ds) != 1 || ds[0].Status != http.StatusAccepted || ds[0].WebhookID != wh.ID {
			t.Fatalf("deliveries = %+v", ds)
		}
		rc.mu.Lock()
		req, body := rc.calls[len(rc.calls)-1], rc.body[len(rc.body)-1]
		rc.mu.Unlock()
		if body != `{"ticket_id":"83"}` || req.URL.Path != "/webhooks/zendesk/acme" {
			t.Fatalf("call %s %q", req.URL.Path, body)
		}
		ts := req.Header.Get(zendesktest.WebhookTimestampHeader)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(ts + body))
		if req.Header.Get(zendesktest.WebhookSignatureHeader) != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			t.Fatal("the delivery is not signed with the webhook's secret")
		}
	})
	t.Run("a ticket no chat names is not a chat ticket: nothing is called", func(t *testing.T) {
		if ds := srv.SolveTicket(ctx, 99); len(ds) != 0 {
			t.Fatalf("deliveries = %+v", ds)
		}
	})
	t.Run("deleted, they are gone, and deleting again is fine", func(t *testing.T) {
		if err := admin.DeleteTrigger(ctx, tr.ID); err != nil {
			t.Fatal(err)
		}
		if err := admin.DeleteWebhook(ctx, wh.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Webhook(ctx, wh.ID); !errors.Is(err, zendesk.ErrNotFound) {
			t.Fatalf("Webhook after delete err = %v", err)
		}
		if _, err := admin.Trigger(ctx, tr.ID); !errors.Is(err, zendesk.ErrNotFound) {
			t.Fatalf("Trigger after delete err = %v", err)
		}
		if err := admin.DeleteTrigger(ctx, tr.ID); err != nil {
			t.Fatal(err)
		}
		if err := admin.DeleteWebhook(ctx, wh.ID); err != nil {
			t.Fatal(err)
		}
		if ds := srv.SolveTicket(ctx, 83); len(ds) != 0 {
			t.Fatalf("deliveries after delete = %+v", ds)
		}
	})
}

func TestTicketChats(t *testing.T) {
	t.Parallel()
	ctx, srv, chat := chatAs(t, zendesktest.Options{}, zendesktest.DemoAdaID)
	a := srv.AddChat(map[string]any{"zendesk_ticket_id": 501})
	srv.AddChat(map[string]any{"zendesk_ticket_id": 502})

	ids, err := chat.TicketChatIDs(ctx, 501)
	if err != nil || len(ids) != 1 || ids[0] != a.ID {
		t.Fatalf("TicketChatIDs = %v, %v", ids, err)
	}
	got, err := chat.Chat(ctx, a.ID)
	if err != nil || got.ID != a.ID || !got.Ended() {
		t.Fatalf("Chat = %+v, %v", got, err)
	}
	if ids, err := chat.TicketChatIDs(ctx, 777); err != nil || len(ids) != 0 {
		t.Fatalf("TicketChatIDs(777) = %v, %v", ids, err)
	}
	if _, err := chat.Chat(ctx, "nope"); !errors.Is(err, zendesk.ErrNotFound) {
		t.Fatalf("Chat(nope) err = %v", err)
	}
	if _, err := srv.SupportAPI(zendesktest.DemoAdaID).TicketChatIDs(ctx, 501); !errors.Is(err, zendesk.ErrUnauthorized) {
		t.Fatalf("a Support token on the Chat API: err = %v", err)
	}
}
