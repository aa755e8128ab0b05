// Package functions_test runs the Lambda artifacts we ship: each function's bootstrap,
// built by `make build` for this machine's architecture, polls an in-test Lambda
// Runtime API and answers the API Gateway HTTP API v2 events in events/.
package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sellchat/sellchat/infra/lambdaruntime"
	"github.com/sellchat/sellchat/shared/app/apptest"
	"github.com/sellchat/sellchat/shared/auth"
	"github.com/sellchat/sellchat/shared/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// expectation is what one event must produce. Cases run in order: later ones see
// what earlier ones stored.
type expectation struct {
	event  string
	status int
	code   string // error.code, for error answers
}

var cases = map[string][]expectation{
	"settings": {
		{"get-settings", 200, ""},
		{"patch-settings", 200, ""},
		{"patch-settings-stale", 409, "version_conflict"},
		{"patch-settings-no-if-match", 428, "if_match_required"},
		{"patch-settings-malformed", 400, "malformed_json"},
		{"patch-settings-invalid", 422, "invalid_value"},
		{"get-settings-as-agent", 403, "forbidden"},
		{"get-settings-no-token", 401, "unauthenticated"},
		{"get-integration", 200, ""},
		{"put-element", 200, ""},
		{"put-element-history-unconfirmed", 422, "confirmation_required"},
		{"put-element-unknown", 404, "unknown_element"},
		{"put-webhook", 200, ""},
		{"unknown-route", 404, "not_found"},
		// Sell metadata, pools and field display. The account here never connected
		// Sell: Sell-backed routes say so, the rest work on the standard fields.
		{"patch-settings-not-connected", 409, "sell_not_connected"},
		{"get-sell-users-not-connected", 409, "sell_not_connected"},
		{"post-lead-source-not-connected", 409, "sell_not_connected"},
		{"get-lead-statuses-as-agent", 403, "forbidden"},
		{"get-sell-fields-bad-widget", 422, "invalid_value"},
		{"get-pools", 200, ""},
		{"put-pool-not-connected", 409, "sell_not_connected"},
		{"put-pool-blank-name", 422, "required"},
		{"delete-pool-unknown", 404, "unknown_pool"},
		{"get-widget", 200, ""},
		{"get-widget-unknown", 404, "unknown_widget"},
		{"put-widget-draft", 200, ""},
		{"put-widget-draft-unknown-field", 422, "unknown_field"},
		{"get-widget-preview", 200, ""},
		{"post-widget-publish", 200, ""},
		{"post-widget-publish-no-token", 401, "unauthenticated"},
		{"get-settings-page", 200, ""},
		{"get-settings-page-missing-file", 404, "not_found"},
	},
	"oauth": {
		{"start-install", 302, ""},
		{"start-install-as-agent", 403, "forbidden"},
		{"start-no-token", 401, "unauthenticated"},
		{"callback-unknown-state", 400, "invalid_state"},
		{"install-not-connected", 409, "sell_not_connected"},
		{"uninstall", 200, ""},
	},
	// The panel and leads events run against an account that is not installed: the
	// bootstraps must answer with the contract's errors, which needs no Sell.
	"panel": {
		{"lookup-app-disabled", 403, "app_disabled"},
		{"lookup-no-visitor", 422, "visitor_unidentified"},
		{"lookup-no-token", 401, "unauthenticated"},
		{"owners-app-disabled", 403, "app_disabled"},
		{"get-panel-page", 200, ""},
		{"get-panel-page-missing-file", 404, "not_found"},
	},
	"leads": {
		{"create-app-disabled", 403, "app_disabled"},
		{"create-no-idempotency-key", 400, "idempotency_key_required"},
		{"create-invalid", 422, "required"},
		{"create-no-token", 401, "unauthenticated"},
	},
	// Webhook events carry {{WEBHOOK_TIMESTAMP}}/{{WEBHOOK_SIGNATURE}}, filled in by
	// signWebhookEvent (chathistory_test.go) with a valid signature.
	"chatwebhook": {
		{"post-chat", 202, ""},
		{"post-chat-again", 202, ""},
		{"post-offline-message", 202, ""},
		{"post-chat-bad-signature", 401, "invalid_signature"},
		{"post-chat-unsigned", 401, "invalid_signature"},
		{"post-chat-unknown-account", 401, "invalid_signature"},
		{"post-chat-no-id", 422, "required"},
		{"post-chat-malformed", 400, "malformed_json"},
	},
	"feed": {
		{"get-feed", 200, ""},
		{"get-feed-no-token", 401, "unauthenticated"},
		{"get-feed-bad-type", 422, "invalid_value"},
		{"get-feed-bad-cursor", 400, "invalid_cursor"},
		{"get-apps-config", 200, ""},
		{"get-feed-page", 200, ""},
		{"get-feed-page-missing-file", 404, "not_found"},
	},
}

// pageEvents answer with a static page (shared/webpage) instead of JSON.
var pageEvents = map[string]bool{"get-settings-page": true, "get-panel-page": true, "get-feed-page": true}

func TestBootstrapsAnswerTheirEvents(t *testing.T) {
	bin := buildBootstraps(t)
	for fn, exps := range cases {
		t.Run(fn, func(t *testing.T) {
			env := apptest.New(t)
			tokens := map[string]string{
				"{{ADMIN_TOKEN}}": env.Token(t, "acme", auth.RoleAdmin),
				"{{AGENT_TOKEN}}": env.Token(t, "acme", auth.RoleAgent),
			}
			rt := lambdaruntime.NewServer()
			defer rt.Close()
			var logs bytes.Buffer
			proc, err := rt.Start(filepath.Join(bin, fn, "bootstrap"), env.Environ(), &logs)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := proc.Stop(); err != nil {
					t.Error(err)
				}
				if t.Failed() {
					t.Logf("function logs:\n%s", logs.String())
				}
			}()
			for _, exp := range exps {
				raw, err := os.ReadFile(filepath.Join("..", "events", fn, exp.event+".json"))
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range tokens {
					raw = bytes.ReplaceAll(raw, []byte(k), []byte(v))
				}
				raw = signWebhookEvent(t, env, raw)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				res, err := rt.Invoke(ctx, raw)
				cancel()
				if err != nil {
					t.Fatalf("%s: %v", exp.event, err)
				}
				if res.Error != nil {
					t.Fatalf("%s: the function reported an error: %s", exp.event, res.Error)
				}
				var out events.APIGatewayV2HTTPResponse
				if err := json.Unmarshal(res.Payload, &out); err != nil {
					t.Fatalf("%s: not an HTTP API response: %v: %s", exp.event, err, res.Payload)
				}
				if out.StatusCode != exp.status {
					t.Errorf("%s: status %d, want %d: %s", exp.event, out.StatusCode, exp.status, out.Body)
					continue
				}
				switch {
				case pageEvents[exp.event]:
					if !strings.HasPrefix(out.Headers["Content-Type"], "text/html") || !strings.Contains(out.Headers["Content-Security-Policy"], "frame-ancestors") ||
						!strings.Contains(out.Body, "<!") {
						t.Errorf("%s: not the page: %q %v", exp.event, out.Headers["Content-Type"], out.Headers)
					}
				case out.StatusCode != 302 && !strings.HasPrefix(out.Headers["Content-Type"], "application/json"):
					t.Errorf("%s: Content-Type %q", exp.event, out.Headers["Content-Type"])
				}
				if exp.code != "" && !strings.Contains(out.Body, `"code":"`+exp.code+`"`) {
					t.Errorf("%s: body %s, want error code %s", exp.event, out.Body, exp.code)
				}
			}
		})
	}
}

func TestEveryEventFileIsExercised(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "events", "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for fn, exps := range cases {
		for _, e := range exps {
			used[filepath.Join(fn, e.event+".json")] = true
		}
	}
	for _, name := range streamEvents { // transcripts_test.go sends these
		used[filepath.Join("transcripts", name)] = true
	}
	var orphans []string
	for _, f := range files {
		rel, _ := filepath.Rel(filepath.Join("..", "events"), f)
		if strings.HasPrefix(rel, "webhooks") {
			continue // raw webhook payloads, not API Gateway events
		}
		if !used[rel] {
			orphans = append(orphans, rel)
		}
	}
	sort.Strings(orphans)
	if len(orphans) > 0 {
		t.Fatalf("events no test sends: %v", orphans)
	}
}

// buildBootstraps builds with the Makefile's own recipe, so the flags under test are
// the flags we ship with; only the architecture follows this machine.
func buildBootstraps(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("make", "-s", "build", "ARCH="+runtime.GOARCH, "BUILD_DIR="+dir)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	t.Logf("bootstraps:\n%s", out)
	return filepath.Join(dir, runtime.GOARCH)
}
