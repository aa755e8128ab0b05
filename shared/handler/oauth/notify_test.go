package oauth_test

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

const notificationsPath = "/integration/zendesk/notifications"

type notificationsAnswer struct {
	Enabled            bool
	WebhookID          string
	TriggerID          int64
	MessagingTriggerID int64
	Endpoint           string
}

func notifications(t *testing.T, env *apptest.Env, h http.Handler, method string) (apptest.Response, notificationsAnswer) {
	t.Helper()
	res := apptest.Do(t, h, apptest.Request{Method: method, Path: notificationsPath, Token: env.Token(t, "acme", auth.RoleAdmin)})
	var a notificationsAnswer
	if res.Status == http.StatusOK {
		res.JSON(t, &a)
	}
	return res, a
}

func TestNotificationsNeedAZendeskConnectionAndAnAdmin(t *testing.T) {
	t.Parallel()
	env, h := newOAuth(t)
	if res, _ := notifications(t, env, h, "POST"); res.Status != http.StatusConflict || res.ErrorCode() != "zendesk_not_connected" {
		t.Errorf("without Zendesk: %d %s", res.Status, res.Body)
	}
	res := apptest.Do(t, h, apptest.Request{Method: "POST", Path: notificationsPath, Token: env.Token(t, "acme", auth.RoleAgent)})
	if res.Status != http.StatusForbidden {
		t.Errorf("an agent: %d %s", res.Status, res.Body)
	}
	if res := apptest.Do(t, h, apptest.Request{Method: "POST", Path: notificationsPath}); res.Status != http.StatusUnauthorized {
		t.Errorf("no token: %d %s", res.Status, res.Body)
	}
}

func TestNotificationsAreCreatedOnceKeptAndRepaired(t *testing.T) {
	t.Parallel()
	env, h := connected(t)
	ctx := context.Background()
	zd := env.Zendesk

	res, a := notifications(t, env, h, "POST")
	if res.Status != http.StatusOK || !a.Enabled || a.Endpoint != "https://sellchat.test/webhooks/zendesk/acme" {
		t.Fatalf("set up: %d %s", res.Status, res.Body)
	}
	// One webhook, called by two triggers: a chat ticket's, and a messaging ticket's
	// (every messaging channel's via id, as none was chosen).
	hooks, triggers := zd.Webhooks(), zd.Triggers()
	if len(hooks) != 1 || hooks[0].ID != a.WebhookID || hooks[0].Endpoint != a.Endpoint || len(triggers) != 2 ||
		triggers[0].ID != a.TriggerID || triggers[1].ID != a.MessagingTriggerID {
		t.Fatalf("in Zendesk: %+v %+v", hooks, triggers)
	}
	if got := triggers[1].Conditions.Any; len(got) != len(zendesk.DefaultMessagingChannels) {
		t.Fatalf("the messaging trigger's channels: %+v", got)
	}
	in, err := env.Deps.Store.Integration(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	secret, err := env.Deps.Box.Open(in.Zendesk.Notifications.Secret, secrets.AAD("acme", settings.NotificationsSecretKind))
	if err != nil || string(secret) != zd.WebhookSecret(a.WebhookID) {
		t.Fatalf("the stored secret is not the webhook's: %v", err)
	}
	if res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/integration", Token: env.Token(t, "acme", auth.RoleAdmin)}); len(res.Body) > 0 &&
		bytes.Contains(res.Body, secret) {
		t.Error("a route shows the signing secret")
	}

	t.Run("again, nothing new is made", func(t *testing.T) {
		res, again := notifications(t, env, h, "POST")
		if res.Status != http.StatusOK || again != a || len(zd.Webhooks()) != 1 || len(zd.Triggers()) != 2 {
			t.Fatalf("%d %+v, %d webhooks, %d triggers", res.Status, again, len(zd.Webhooks()), len(zd.Triggers()))
		}
	})
	t.Run("a trigger deleted in Zendesk is made again for the same webhook", func(t *testing.T) {
		full := zd.SupportToken(zendesktest.DemoAdaID, zendesk.SupportScopes...)
		c, _ := zendesk.New(zendesk.Options{BaseURL: zd.URL, TokenSource: oauth2.StaticTokenSource(full), HTTPClient: zd.Client()})
		if err := c.DeleteTrigger(ctx, a.TriggerID); err != nil {
			t.Fatal(err)
		}
		res, fixed := notifications(t, env, h, "POST")
		if res.Status != http.StatusOK || fixed.WebhookID != a.WebhookID || fixed.TriggerID == a.TriggerID ||
			fixed.MessagingTriggerID != a.MessagingTriggerID || len(zd.Triggers()) != 2 {
			t.Fatalf("%d %+v", res.Status, fixed)
		}
		a = fixed
	})
	t.Run("choosing messaging channels replaces the messaging trigger, and unknown ones are refused", func(t *testing.T) {
		post := func(body string) apptest.Response {
			return apptest.Do(t, h, apptest.Request{Method: "POST", Path: notificationsPath, Token: env.Token(t, "acme", auth.RoleAdmin), Body: body})
		}
		if res := post(`{"messagingChannels":["whatsapp","email"]}`); res.Status != http.StatusUnprocessableEntity || res.ErrorCode() != "invalid_value" {
			t.Fatalf("an unknown channel: %d %s", res.Status, res.Body)
		}
		if res := post(`{"messagingChannels":[]}`); res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("no channel: %d %s", res.Status, res.Body)
		}
		before := zd.Triggers()
		for _, bad := range []string{`{"messagingChannels":["whatsapp"]} {}`, `{"messagingChannel":["whatsapp"]}`, `{"messagingChannels":"whatsapp"}`, `[`} {
			if res := post(bad); res.Status < 400 || res.Status >= 500 {
				t.Fatalf("%s: %d %s", bad, res.Status, res.Body)
			}
		}
		if after := zd.Triggers(); len(after) != len(before) || after[1].ID != before[1].ID {
			t.Fatalf("refused bodies changed the triggers: %+v", after)
		}
		res := post(`{"messagingChannels":["whatsapp","instagram_dm","whatsapp"]}`)
		var got notificationsAnswer
		res.JSON(t, &got)
		if res.Status != http.StatusOK || got.TriggerID != a.TriggerID || got.MessagingTriggerID == a.MessagingTriggerID || len(zd.Triggers()) != 2 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		var messaging zendesk.Trigger
		for _, tr := range zd.Triggers() {
			if tr.ID == got.MessagingTriggerID {
				messaging = tr
			}
		}
		if any := messaging.Conditions.Any; len(any) != 2 || any[0].Value != "74" || any[1].Value != "86" {
			t.Fatalf("the messaging trigger's channels: %+v", any)
		}
		// Set up again without a body: the choice is kept.
		if res, again := notifications(t, env, h, "POST"); res.Status != http.StatusOK || again.MessagingTriggerID != got.MessagingTriggerID {
			t.Fatalf("again: %d %s", res.Status, res.Body)
		}
		a = got
	})
	t.Run("Zendesk failing leaves nothing half done and the lease free", func(t *testing.T) {
		zd.FailNext(1, http.StatusInternalServerError)
		if res, _ := notifications(t, env, h, "POST"); res.Status != http.StatusBadGateway || res.ErrorCode() != "zendesk_unavailable" {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if res, again := notifications(t, env, h, "POST"); res.Status != http.StatusOK || again != a {
			t.Fatalf("after the failure: %d %s", res.Status, res.Body)
		}
	})
	t.Run("deleted, they are gone from Zendesk and from sellchat", func(t *testing.T) {
		res, off := notifications(t, env, h, "DELETE")
		if res.Status != http.StatusOK || off.Enabled || len(zd.Webhooks()) != 0 || len(zd.Triggers()) != 0 {
			t.Fatalf("%d %s; %d webhooks, %d triggers", res.Status, res.Body, len(zd.Webhooks()), len(zd.Triggers()))
		}
		if res, _ := notifications(t, env, h, "DELETE"); res.Status != http.StatusOK {
			t.Fatalf("twice: %d %s", res.Status, res.Body)
		}
	})
}

func TestNotificationsSetUpTwiceAtOnceMakeOneWebhook(t *testing.T) {
	t.Parallel()
	env, h := connected(t)
	var wg sync.WaitGroup
	statuses := make([]int, 4)
	for i := range statuses {
		wg.Go(func() {
			res, _ := notifications(t, env, h, "POST")
			statuses[i] = res.Status
			if res.Status != http.StatusOK && res.ErrorCode() != "setup_in_progress" {
				t.Errorf("%d %s", res.Status, res.Body)
			}
		})
	}
	wg.Wait()
	if n := len(env.Zendesk.Webhooks()); n != 1 {
		t.Fatalf("%d webhooks after %v", n, statuses)
	}
	if n := len(env.Zendesk.Triggers()); n != 2 {
		t.Fatalf("%d triggers after %v, want a chat's and a messaging's", n, statuses)
	}
}
