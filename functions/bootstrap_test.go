// Package functions_test runs the Lambda artifacts we ship: each function's bootstrap,
// built by `make build` for this machine's architecture, polls an in-test Lambda
// Runtime API and answers the API Gateway HTTP API v2 events in events/.
package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sellchat/sellchat/infra/gateway"
	"github.com/sellchat/sellchat/infra/lambdaruntime"
	"github.com/sellchat/sellchat/infra/openapi"
	"github.com/sellchat/sellchat/infra/template"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/platform/app"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
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
		{"put-element-not-installed", 409, "not_installed"},
		{"put-element-off", 200, ""},
		{"put-element-history-unconfirmed", 422, "confirmation_required"},
		{"put-element-unknown", 404, "unknown_element"},
		{"put-webhook", 200, ""},
		{"unknown-route", 404, "not_found"},
		// Sell metadata, pools and field display. The account here never connected
		// Sell: Sell-backed routes say so, the rest work on the standard fields.
		{"patch-settings-not-connected", 409, "sell_not_connected"},
		{"get-sell-users-not-connected", 409, "sell_not_connected"},
		{"get-lead-sources-not-connected", 409, "sell_not_connected"},
		{"post-lead-source-not-connected", 409, "sell_not_connected"},
		{"get-lead-statuses-as-agent", 403, "forbidden"},
		{"get-sell-fields-bad-widget", 422, "invalid_value"},
		{"get-pools", 200, ""},
		{"get-audit", 200, ""},
		{"get-audit-bad-cursor", 400, "invalid_cursor"},
		{"post-redaction-preview", 200, ""},
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
		{"post-settings-entry-forged", 401, "invalid_token"},
		{"post-settings-entry-file", 404, "not_found"},
	},
	"oauth": {
		{"start-install", 302, ""},
		{"start-install-as-agent", 403, "forbidden"},
		{"start-no-token", 401, "unauthenticated"},
		{"callback-unknown-state", 400, "invalid_state"},
		{"install-not-connected", 409, "sell_not_connected"},
		{"uninstall", 200, ""},
		{"post-session-forged", 401, "invalid_token"},
		{"post-session-no-token", 422, "required"},
		{"notifications-zendesk-not-connected", 409, "zendesk_not_connected"},
		{"notifications-remove-zendesk-not-connected", 409, "zendesk_not_connected"},
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
		{"post-panel-entry-forged", 401, "invalid_token"},
		{"post-panel-entry-file", 404, "not_found"},
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
		// The Support webhook's route takes only the secret of the webhook sellchat
		// created in Zendesk, never the custom sender's.
		{"post-support-custom-secret", 401, "invalid_signature"},
	},
	"feed": {
		{"get-feed", 200, ""},
		{"get-feed-no-token", 401, "unauthenticated"},
		{"get-feed-bad-type", 422, "invalid_value"},
		{"get-feed-bad-cursor", 400, "invalid_cursor"},
		{"get-chat-messages", 200, ""},
		{"get-chat-messages-bad-cursor", 400, "invalid_cursor"},
		{"get-chat-messages-bad-type", 422, "invalid_value"},
		{"get-apps-config", 200, ""},
		{"get-feed-page", 200, ""},
		{"get-feed-page-missing-file", 404, "not_found"},
		{"post-feed-entry-forged", 401, "invalid_token"},
		{"post-feed-entry-file", 404, "not_found"},
	},
	// Admins only. The erasure's second request names the same visitor otherwise
	// spelt and gets the first one's erasure (the stream that runs it is not here).
	"privacy": {
		{"get-visitor", 200, ""},
		{"get-visitor-by-phone", 200, ""},
		{"get-visitor-no-identifier", 422, "visitor_required"},
		{"get-visitor-bad-cursor", 400, "invalid_cursor"},
		{"get-visitor-as-agent", 403, "forbidden"},
		{"post-erasure", 202, ""},
		{"post-erasure-again", 202, ""},
		{"post-erasure-both", 422, "invalid_value"},
		{"post-erasure-malformed", 400, "malformed_json"},
		{"post-erasure-as-agent", 403, "forbidden"},
		{"get-erasure-unknown", 404, "erasure_not_found"},
		{"get-erasure-no-token", 401, "unauthenticated"},
	},
}

// pageEvents answer with a static page (shared/platform/webpage) instead of JSON.
var pageEvents = map[string]bool{"get-settings-page": true, "get-panel-page": true, "get-feed-page": true}

func TestBootstrapsAnswerTheirEvents(t *testing.T) {
	contract := loadContract(t)
	bin := buildBootstraps(t)
	for fn, exps := range cases {
		t.Run(fn, func(t *testing.T) {
			env := apptest.New(t)
			tokens := map[string]string{
				"{{ADMIN_TOKEN}}": env.Token(t, "acme", auth.RoleAdmin),
				"{{AGENT_TOKEN}}": env.Token(t, "acme", auth.RoleAgent),
			}
			rt := startBootstrap(t, bin, fn, env)
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
				checkDocumented(t, contract, exp.event, raw, out)
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
	used[filepath.Join("chatpoll", scheduledEvent)] = true // chatpoll_test.go sends it
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

// loadContract reads openapi.yaml, the written HTTP contract, as a router over its
// operations.
func loadContract(t *testing.T) *openapi.Router {
	t.Helper()
	doc, err := openapi.Load(filepath.Join("..", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ops, err := doc.Operations()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := openapi.NewRouter(ops)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// checkDocumented holds one real answer of a bootstrap against openapi.yaml: its
// status must be one the operation names, and its media type one that response
// documents. The operation is the one Go's mux picks for the request's path, as the
// function did (GET /settings/ is the page, GET /settings the API). An event for a
// route outside the contract (unknown-route) is not checked.
func checkDocumented(t *testing.T, contract *openapi.Router, event string, raw []byte, out events.APIGatewayV2HTTPResponse) {
	t.Helper()
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatalf("%s: %v", event, err)
	}
	op, ok := contract.Match(req.RequestContext.HTTP.Method, req.RawPath)
	if !ok {
		return
	}
	res, ok := op.Response(out.StatusCode)
	if !ok {
		t.Errorf("%s: %s answered %d, which openapi.yaml does not document for %s %s", event, op.Pattern, out.StatusCode, op.Method, op.Path)
		return
	}
	if out.StatusCode >= 300 && out.StatusCode < 400 {
		return // a redirect's body is Go's courtesy link, not part of the contract
	}
	mt, _, _ := mime.ParseMediaType(out.Headers["Content-Type"])
	if documented := openapi.MediaTypes(res); !slices.Contains(documented, mt) {
		t.Errorf("%s: %s answered %d as %q; openapi.yaml documents %v", event, op.Pattern, out.StatusCode, mt, documented)
	}
}

// TestEveryServedRouteHasAnEvent: every route a function serves is driven through its
// built bootstrap by at least one event of that function's cases (so by the test
// above), and every event's routeKey tells the truth about its request, as API
// Gateway would have routed it. Routes are compared in HTTP API's spelling ({file+}).
func TestEveryServedRouteHasAnEvent(t *testing.T) {
	fns := gateway.Functions(&app.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	owner := map[string]string{} // route key → function folder
	for fn, rt := range fns {
		if _, ok := cases[fn]; !ok {
			t.Errorf("functions/%s has no events in cases", fn)
		}
		for _, p := range rt.Patterns() {
			owner[strings.ReplaceAll(p, "...}", "+}")] = fn
		}
	}
	covered := map[string]bool{}
	for fn, exps := range cases {
		for _, exp := range exps {
			name := fn + "/" + exp.event
			raw, err := os.ReadFile(filepath.Join("..", "events", fn, exp.event+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			checkRouteKey(t, name, ev)
			switch want, served := owner[ev.RouteKey]; {
			case !served:
				// Only an event about unknown routes may name a route nobody serves;
				// any other would be a misspelt routeKey hiding a route with no event.
				if exp.status != http.StatusNotFound || exp.code != "not_found" {
					t.Errorf("%s: routeKey %q is served by no function", name, ev.RouteKey)
				}
			case want != fn:
				t.Errorf("%s: routeKey %q is served by functions/%s, not %s", name, ev.RouteKey, want, fn)
			default:
				covered[ev.RouteKey] = true
			}
		}
	}
	var missing []string
	for rk, fn := range owner {
		if !covered[rk] {
			missing = append(missing, rk+" ("+fn+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("served routes with no event in cases: %v", missing)
	}
	if len(owner) == 0 {
		t.Fatal("no function serves any route: the comparison above proved nothing")
	}
}

var routeParam = regexp.MustCompile(`\{([^{}+]+)\+?\}`)

// checkRouteKey checks that an event is self-consistent: routeKey (twice), method and
// path agree, the route matches the path as API Gateway matches it (a greedy {name+}
// takes the rest of the path; "<base>/" goes to the "<base>" route, as an HTTP API
// route cannot end in "/"), and pathParameters hold what the route extracts.
func checkRouteKey(t *testing.T, name string, ev events.APIGatewayV2HTTPRequest) {
	t.Helper()
	method, route, _ := strings.Cut(ev.RouteKey, " ")
	switch {
	case ev.RequestContext.RouteKey != ev.RouteKey:
		t.Errorf("%s: routeKey %q but requestContext.routeKey %q", name, ev.RouteKey, ev.RequestContext.RouteKey)
	case ev.RequestContext.HTTP.Method != method:
		t.Errorf("%s: routeKey %q but method %s", name, ev.RouteKey, ev.RequestContext.HTTP.Method)
	case ev.RequestContext.HTTP.Path != ev.RawPath:
		t.Errorf("%s: rawPath %q but requestContext.http.path %q", name, ev.RawPath, ev.RequestContext.HTTP.Path)
	}
	var names []string
	for _, m := range routeParam.FindAllStringSubmatch(route, -1) {
		names = append(names, m[1])
	}
	mux := http.NewServeMux()
	var got map[string]string
	mux.HandleFunc(method+" "+strings.ReplaceAll(route, "+}", "...}"), func(_ http.ResponseWriter, r *http.Request) {
		got = map[string]string{}
		for _, n := range names {
			got[n] = r.PathValue(n)
		}
	})
	for _, p := range []string{ev.RawPath, strings.TrimSuffix(ev.RawPath, "/")} {
		if got == nil && p != "" {
			mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, p, nil))
		}
	}
	if got == nil {
		t.Errorf("%s: routeKey %q does not match path %q", name, ev.RouteKey, ev.RawPath)
		return
	}
	want := ev.PathParameters
	if want == nil {
		want = map[string]string{}
	}
	if len(got) != len(want) {
		t.Errorf("%s: pathParameters %v, but the route gives %v", name, want, got)
		return
	}
	for k, v := range got {
		if want[k] != v {
			t.Errorf("%s: pathParameters %v, but the route gives %v", name, want, got)
			return
		}
	}
}

// startBootstrap runs the bootstrap of function fn from bin, configured for env,
// under a fresh Lambda Runtime API, and returns that API to invoke it through. Each
// invocation gets the deadline of the function's Timeout in template.yaml, as in
// AWS. The function is stopped when the test ends, and its logs shown if the test
// failed.
func startBootstrap(t *testing.T, bin, fn string, env *apptest.Env) *lambdaruntime.Server {
	t.Helper()
	rt := lambdaruntime.NewServer()
	t.Cleanup(rt.Close)
	timeout, err := template.Timeout(strings.ToUpper(fn[:1]) + fn[1:] + "Function")
	if err != nil {
		t.Fatal(err)
	}
	rt.Timeout = timeout
	var logs bytes.Buffer
	proc, err := rt.Start(filepath.Join(bin, fn, "bootstrap"), env.Environ(), &logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := proc.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("function logs:\n%s", logs.String())
		}
	})
	return rt
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
