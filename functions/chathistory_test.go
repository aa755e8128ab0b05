package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// webhookSecret is acme's chat webhook signing secret in the bootstrap tests.
const webhookSecret = "bootstrap-signing-secret"

// signWebhookEvent fills a webhook event's {{WEBHOOK_TIMESTAMP}} with the current time
// and {{WEBHOOK_SIGNATURE}} with Zendesk's signature of it and the event's body, and
// makes sure acme has the signing secret. Other events pass through unchanged.
func signWebhookEvent(t *testing.T, env *apptest.Env, raw []byte) []byte {
	t.Helper()
	if !bytes.Contains(raw, []byte("{{WEBHOOK_TIMESTAMP}}")) {
		return raw
	}
	sealed := env.Deps.Box.Seal([]byte(webhookSecret), secrets.AAD("acme", "webhook_secret"))
	if _, err := env.Deps.Store.UpdateIntegration(context.Background(), "acme", func(in *settings.Integration) error {
		in.WebhookSecret = sealed
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ts := time.Now().UTC().Format(time.RFC3339)
	raw = bytes.ReplaceAll(raw, []byte("{{WEBHOOK_TIMESTAMP}}"), []byte(ts))
	var ev struct {
		Body string `json:"body"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(raw, []byte("{{WEBHOOK_SIGNATURE}}"), []byte(chatwebhook.Sign([]byte(webhookSecret), ts, []byte(ev.Body))))
}
