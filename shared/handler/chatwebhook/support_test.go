package chatwebhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

const supportSecret = "zendesk-webhook-secret-of-the-trigger"

// supportWorld is an account whose chats come from a Chat API (the Zendesk sandbox):
// installed, chat history on, Chat connected, and the Support webhook's secret stored
// as POST /integration/zendesk/notifications stores it.
func supportWorld(t *testing.T) (*apptest.Env, http.Handler) {
	t.Helper()
	t.Parallel()
	env := apptest.New(t)
	env.Connect(t, "acme")
	env.ConnectChat(t, "acme")
	env.SetHistory(t, "acme", true)
	SetSecret(t, env, "acme", secret) // the custom sender's: must not open this route
	sealed := env.Deps.Box.Seal([]byte(supportSecret), secrets.AAD("acme", settings.NotificationsSecretKind))
	if _, err := env.Deps.Store.UpdateIntegration(context.Background(), "acme", func(in *settings.Integration) error {
		in.Zendesk.Connected = true
		in.Zendesk.Notifications = settings.ZendeskNotifications{WebhookID: "01X", TriggerID: 7, Secret: sealed}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return env, chatwebhook.New(env.IngestDeps())
}

func TestASolvedChatTicketBringsItsChatFromTheChatAPI(t *testing.T) {
	env, h := supportWorld(t)
	ch := env.Zendesk.AddChat(map[string]any{"zendesk_ticket_id": 83, "visitor": map[string]any{"name": "Vera", "email": "vera@example.com"}})

	w, a := env.NotifySupport(t, h, "acme", supportSecret, `{"ticket_id":"83"}`)
	if w.Code != http.StatusAccepted || a.Status != "accepted" || a.TicketID != 83 || len(a.Chats) != 1 || a.Chats[0].ChatID != ch.ID || a.Chats[0].Duplicate {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	item, err := chatstore.New(env.Deps.Store).Chat(context.Background(), "acme", ch.ID)
	if err != nil || item.ChatID != ch.ID {
		t.Fatalf("stored: %+v %v", item, err)
	}
	t.Run("a redelivery stores nothing new", func(t *testing.T) {
		w, a := env.NotifySupport(t, h, "acme", supportSecret, `{"ticket_id":83}`)
		if w.Code != http.StatusAccepted || len(a.Chats) != 1 || !a.Chats[0].Duplicate {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	})
	t.Run("a ticket with no chat yet is pending, for the export to bring", func(t *testing.T) {
		w, a := env.NotifySupport(t, h, "acme", supportSecret, `{"ticket_id":"84"}`)
		if w.Code != http.StatusAccepted || a.Status != "pending" || len(a.Chats) != 0 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	})
	t.Run("a Chat API 429 asks Zendesk to retry", func(t *testing.T) {
		env.Zendesk.FailNext(1, http.StatusTooManyRequests)
		w, _ := env.NotifySupport(t, h, "acme", supportSecret, `{"ticket_id":"83"}`)
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "temporarily_unavailable") {
			t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
		}
	})
}

func TestTheSupportWebhookRefusesWhatItCannotVerify(t *testing.T) {
	env, h := supportWorld(t)
	env.Zendesk.AddChat(map[string]any{"zendesk_ticket_id": 90})
	for _, c := range []struct {
		name, account, secret, body, code string
		status                            int
	}{
		{"signed with another secret", "acme", "not-the-secret", `{"ticket_id":"90"}`, "invalid_signature", 401},
		{"signed with the custom sender's secret", "acme", secret, `{"ticket_id":"90"}`, "invalid_signature", 401},
		{"for an account with no webhook", "globex", supportSecret, `{"ticket_id":"90"}`, "invalid_signature", 401},
		{"an account name that is not one", "ACME!", supportSecret, `{"ticket_id":"90"}`, "invalid_signature", 401},
		{"not JSON", "acme", supportSecret, `ticket=90`, "malformed_json", 400},
		{"no ticket", "acme", supportSecret, `{"chat":{"id":"x"}}`, "invalid_value", 422},
		{"a ticket that is no number", "acme", supportSecret, `{"ticket_id":"83 OR 1=1"}`, "invalid_value", 422},
		{"a negative ticket", "acme", supportSecret, `{"ticket_id":-4}`, "invalid_value", 422},
		{"empty", "acme", supportSecret, ``, "invalid_value", 422},
	} {
		w, _ := env.NotifySupport(t, h, c.account, c.secret, c.body)
		if w.Code != c.status || !strings.Contains(w.Body.String(), `"code":"`+c.code+`"`) {
			t.Errorf("%s: %d %s", c.name, w.Code, w.Body)
		}
	}
	t.Run("a delivery replayed after the window is refused", func(t *testing.T) {
		req, _ := env.Zendesk.WebhookRequest(context.Background(), "https://sellchat.test/webhooks/zendesk/acme", supportSecret, []byte(`{"ticket_id":"90"}`))
		later := chatwebhook.NewWithClock(env.IngestDeps(), func() time.Time { return time.Now().Add(6 * time.Minute) })
		w := httptest.NewRecorder()
		later.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	})
	if _, err := chatstore.New(env.Deps.Store).Chat(context.Background(), "acme", env.Zendesk.Chats()[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused delivery stored the chat: %v", err)
	}
}

func TestTheSupportWebhookLeavesChatsAloneWhileHistoryIsOff(t *testing.T) {
	env, h := supportWorld(t)
	env.SetHistory(t, "acme", false)
	ch := env.Zendesk.AddChat(map[string]any{"zendesk_ticket_id": 91})
	w, a := env.NotifySupport(t, h, "acme", supportSecret, `{"ticket_id":"91"}`)
	if w.Code != http.StatusAccepted || a.Status != "ignored" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if _, err := chatstore.New(env.Deps.Store).Chat(context.Background(), "acme", ch.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stored while history is off: %v", err)
	}
}
