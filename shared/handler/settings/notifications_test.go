package settings_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/oauth"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// notificationsBody is GET /integration's zendesk.notifications.
type notificationsBody struct {
	Enabled   bool
	WebhookID string
	TriggerID int64
	Endpoint  string
	SetUpAt   time.Time
}

// readNotifications is zendesk.notifications of GET /integration, with the whole
// answer's bytes.
func readNotifications(t *testing.T, h http.Handler, tok string) (notificationsBody, []byte) {
	t.Helper()
	var in struct {
		Zendesk struct {
			Notifications *notificationsBody
		}
	}
	res := getIntegration(t, h, tok, &in)
	if in.Zendesk.Notifications == nil {
		t.Fatalf("GET /integration has no zendesk.notifications: %s", res.Body)
	}
	return *in.Zendesk.Notifications, res.Body
}

// TestTheIntegrationShowsTheAgentWorkspaceNotificationsButNeverTheirSecret: once the
// oauth function set the notifications up, GET /integration shows them as on, with
// Zendesk's ids, where Zendesk calls and when; the webhook's signing secret appears
// in no form (plaintext, sealed, sealed as base64 or hex). Removing them shows off.
func TestTheIntegrationShowsTheAgentWorkspaceNotificationsButNeverTheirSecret(t *testing.T) {
	t.Parallel()
	env, h, tok := setup(t)
	oa := oauth.New(env.ConnectDeps())
	if n, _ := readNotifications(t, h, tok); n != (notificationsBody{}) {
		t.Fatalf("before any set-up: %+v", n)
	}

	if res := env.SignInWithZendesk(t, oa, "acme"); res.Status != http.StatusSeeOther {
		t.Fatalf("sign in with Zendesk: %d %s", res.Status, res.Body)
	}
	before := time.Now().Add(-time.Second)
	res := apptest.Do(t, oa, apptest.Request{Method: "POST", Path: oauth.NotificationsPath, Token: tok})
	if res.Status != http.StatusOK {
		t.Fatalf("set up: %d %s", res.Status, res.Body)
	}
	stored, err := env.Deps.Store.Integration(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	want := stored.Zendesk.Notifications
	plain, err := env.Deps.Box.Open(want.Secret, secrets.AAD("acme", settings.NotificationsSecretKind))
	if err != nil || len(plain) == 0 {
		t.Fatalf("no sealed secret was stored: %v", err)
	}

	n, body := readNotifications(t, h, tok)
	if !n.Enabled || n.WebhookID != want.WebhookID || n.TriggerID != want.TriggerID || n.Endpoint != want.Endpoint ||
		n.Endpoint != env.Deps.Config.PublicBaseURL+"/webhooks/zendesk/acme" || n.SetUpAt.Before(before) {
		t.Fatalf("after the set-up: %+v, stored %+v", n, want)
	}
	for form, b := range map[string][]byte{
		"plaintext":        plain,
		"sealed":           want.Secret,
		"sealed as base64": []byte(base64.StdEncoding.EncodeToString(want.Secret)),
		"sealed as hex":    []byte(hex.EncodeToString(want.Secret)),
	} {
		if bytes.Contains(body, b) {
			t.Errorf("GET /integration shows the webhook's secret (%s): %s", form, body)
		}
	}
	if bytes.Contains(bytes.ToLower(body), []byte(`"secret"`)) {
		t.Errorf("GET /integration has a secret field: %s", body)
	}

	if res := apptest.Do(t, oa, apptest.Request{Method: "DELETE", Path: oauth.NotificationsPath, Token: tok}); res.Status != http.StatusOK {
		t.Fatalf("remove: %d %s", res.Status, res.Body)
	}
	if n, _ := readNotifications(t, h, tok); n != (notificationsBody{}) {
		t.Fatalf("after removing: %+v", n)
	}
}

// TestNotificationsWithoutTheirSecretShowAsOff: a webhook and trigger whose secret
// was never read (a set-up that failed half way) do not call sellchat in a way it
// can verify, so they show as off, with what exists.
func TestNotificationsWithoutTheirSecretShowAsOff(t *testing.T) {
	t.Parallel()
	env, h, tok := setup(t)
	if _, err := env.Deps.Store.UpdateIntegration(context.Background(), "acme", func(in *settings.Integration) error {
		in.Zendesk.Connected = true
		in.Zendesk.Notifications = settings.ZendeskNotifications{WebhookID: "wh-1", TriggerID: 7, Endpoint: "https://sellchat.test/webhooks/zendesk/acme"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	n, _ := readNotifications(t, h, tok)
	if n.Enabled || n.WebhookID != "wh-1" || n.TriggerID != 7 || !n.SetUpAt.IsZero() {
		t.Fatalf("half set up: %+v", n)
	}
	// An agent sees none of it.
	if res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/integration", Token: env.Token(t, "acme", auth.RoleAgent)}); res.Status != http.StatusForbidden {
		t.Errorf("an agent reads the integration: %d", res.Status)
	}
}

// TestTheIntegrationCountsTheMessagingConversationsWaitingForZendesk: conversations
// Zendesk would not give yet show as a count, the oldest's time and Zendesk's hold,
// and nothing once the chat poll read them all.
func TestTheIntegrationCountsTheMessagingConversationsWaitingForZendesk(t *testing.T) {
	t.Parallel()
	env, h, tok := setup(t)
	ctx := context.Background()
	type waitingBody struct {
		Conversations int
		OldestSince   time.Time
		HeldUntil     time.Time
	}
	read := func() *waitingBody {
		t.Helper()
		var in struct {
			Zendesk struct{ MessagingWaiting *waitingBody }
		}
		getIntegration(t, h, tok, &in)
		return in.Zendesk.MessagingWaiting
	}
	if w := read(); w != nil {
		t.Fatalf("with nothing waiting: %+v", w)
	}
	oldest, hold := time.Now().UTC().Add(-3*time.Minute).Truncate(time.Second), time.Now().UTC().Add(time.Hour).Truncate(time.Second)
	for i, tk := range []int64{31, 32} {
		if err := env.Deps.Store.WaitForTicket(ctx, "acme", tk, "rate limited", hold, oldest.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if w := read(); w == nil || w.Conversations != 2 || !w.OldestSince.Equal(oldest) || !w.HeldUntil.Equal(hold) {
		t.Fatalf("with two waiting: %+v; want 2 since %v, held until %v", w, oldest, hold)
	}
	waits, err := env.Deps.Store.TicketWaits(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range waits.Tickets {
		if _, err := env.Deps.Store.TicketRead(ctx, "acme", w); err != nil {
			t.Fatal(err)
		}
	}
	if w := read(); w != nil {
		t.Fatalf("once read: %+v", w)
	}
}
