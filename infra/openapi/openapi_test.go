package openapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/sellchat/sellchat/infra/gateway"
	"github.com/sellchat/sellchat/infra/openapi"
	"github.com/sellchat/sellchat/shared/platform/app"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

const errorSchema = "#/components/schemas/Error"

func load(t *testing.T) (*openapi.Doc, []openapi.Operation) {
	t.Helper()
	doc, err := openapi.Load(filepath.Join("..", "..", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ops, err := doc.Operations()
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	return doc, ops
}

// functions are the deployed functions' routers. Nothing but the logger is needed to
// list routes; the requests below are answered before any store or Sell is reached.
// gateway.Functions leaves out the local-only POST /dev/token (gateway.New adds it),
// so openapi.yaml listing it would fail the test as a route no function serves: it is
// not part of the deployed contract.
func functions() map[string]*httpx.Router {
	d := &app.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	d.Config.Accounts = []string{"acme"}
	return gateway.Functions(d)
}

func TestOpenAPIListsExactlyTheServedRoutes(t *testing.T) {
	_, ops := load(t)
	documented := map[string]bool{}
	for _, o := range ops {
		documented[o.Pattern] = true
	}
	served := map[string]string{}
	for fn, rt := range functions() {
		for _, p := range rt.Patterns() {
			served[p] = fn
		}
	}
	var missing, extra []string
	for p, fn := range served {
		if !documented[p] {
			missing = append(missing, p+" ("+fn+")")
		}
	}
	for p := range documented {
		if _, ok := served[p]; !ok {
			extra = append(extra, p)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes served but not in openapi.yaml: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("routes in openapi.yaml that no function serves: %v", extra)
	}
	if len(served) == 0 {
		t.Fatal("no function serves any route: the comparison above proved nothing")
	}
}

func TestEveryOperationDocumentsSuccessAndTheSharedErrorShape(t *testing.T) {
	_, ops := load(t)
	for _, o := range ops {
		var success, namedError bool
		for status, r := range o.Responses {
			switch {
			case status == "default":
				// The errors any route may give (405, 413, 500): the error shape.
			case len(status) != 3 || strings.Contains(status, "X"):
				t.Errorf("%s: response %q: name each status (no ranges), so the contract says what really happens", o.Pattern, status)
				continue
			case status[0] == '2' || status[0] == '3':
				success = true
				continue
			case status[0] == '4' || status[0] == '5':
				namedError = true
			default:
				t.Errorf("%s: response %q is no HTTP status", o.Pattern, status)
				continue
			}
			// Every error is the one shape, whatever else (a page) it may also be.
			if !isErrorShape(r) {
				t.Errorf("%s: %s is not application/json with $ref %s: %v", o.Pattern, status, errorSchema, r)
			}
		}
		if !success {
			t.Errorf("%s documents no 2xx or 3xx answer", o.Pattern)
		}
		if _, ok := o.Responses["default"]; !ok {
			t.Errorf("%s has no default response (405, 413, 500 in the error shape)", o.Pattern)
		}
		// Only a page's own URL has nothing to refuse besides the default's errors.
		if !namedError && len(o.Security) > 0 {
			t.Errorf("%s requires credentials but documents no error answer for them", o.Pattern)
		}
	}
}

// isErrorShape reports whether a response is JSON in the shared error schema: the
// schema itself, or an allOf that starts with it and narrows it (details of one error).
func isErrorShape(response map[string]any) bool {
	content, _ := response["content"].(map[string]any)
	js, _ := content["application/json"].(map[string]any)
	schema, _ := js["schema"].(map[string]any)
	if all, ok := schema["allOf"].([]any); ok && len(all) > 0 {
		schema, _ = all[0].(map[string]any)
	}
	return schema["$ref"] == errorSchema
}

func TestEveryRefResolves(t *testing.T) {
	doc, _ := load(t)
	refs := doc.Refs()
	if len(refs) == 0 {
		t.Fatal("no $ref found: the walk is broken")
	}
	for at, ref := range refs {
		if _, err := doc.Resolve(map[string]any{"$ref": ref}); err != nil {
			t.Errorf("%s: %v", at, err)
		}
	}
}

var anyParam = regexp.MustCompile(`\{[^{}]+\}`)

// TestDocumentedSecurityIsWhatTheCodeEnforces sends every operation a request without
// credentials to the function that serves it: an operation documented with the bearer
// token must refuse it with 401 unauthenticated, the webhook (signature) with 401
// invalid_signature, and a public one (security: []) must not answer 401.
func TestDocumentedSecurityIsWhatTheCodeEnforces(t *testing.T) {
	doc, ops := load(t)
	byPattern := map[string]http.Handler{}
	for _, rt := range functions() {
		for _, p := range rt.Patterns() {
			byPattern[p] = rt
		}
	}
	for _, o := range ops {
		h := byPattern[o.Pattern]
		if h == nil {
			continue // TestOpenAPIListsExactlyTheServedRoutes reports it
		}
		want := o.Security
		for name := range want {
			if _, err := doc.Resolve(map[string]any{"$ref": "#/components/securitySchemes/" + name}); err != nil {
				t.Errorf("%s: security scheme %s: %v", o.Pattern, name, err)
			}
		}
		// Path values that no handler knows: the answer must come from the credential
		// check alone. The webhook's account "initech" is not served (Accounts: acme).
		target := strings.NewReplacer("{account}", "initech").Replace(o.Path)
		target = anyParam.ReplaceAllString(target, "x")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(o.Method, target, strings.NewReader("{}")))
		code := errorCode(w.Body.Bytes())
		switch {
		case want["bearerAuth"]:
			if w.Code != 401 || code != "unauthenticated" {
				t.Errorf("%s is documented with bearerAuth, but without a token answers %d %q", o.Pattern, w.Code, code)
			}
		case want["zendeskWebhookSignature"]:
			if w.Code != 401 || code != "invalid_signature" {
				t.Errorf("%s is documented as signed, but unsigned answers %d %q", o.Pattern, w.Code, code)
			}
		case len(want) == 0:
			if w.Code == 401 || w.Code >= 500 {
				t.Errorf("%s is documented as public, but without credentials answers %d %q", o.Pattern, w.Code, code)
			}
		default:
			t.Errorf("%s: security %v is none this test knows", o.Pattern, want)
		}
	}
}

func errorCode(body []byte) string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Error.Code
}

// TestTheCheckerCatchesMistakes makes sure the checks above can fail: a document
// with a route too many, an undeclared path parameter, a misplaced greedy one, or a
// broken $ref is refused or reported.
func TestTheCheckerCatchesMistakes(t *testing.T) {
	bad := map[string]string{
		"undeclared path parameter": `
openapi: 3.1.0
paths:
  /widgets/{widget}:
    get:
      responses:
        "200": {description: ok}
`,
		"greedy not last": `
openapi: 3.1.0
paths:
  /a/{file}/b:
    get:
      parameters:
        - {name: file, in: path, required: true, x-greedy: true, schema: {type: string}}
      responses:
        "200": {description: ok}
`,
		"parameter not in the path": `
openapi: 3.1.0
paths:
  /a:
    get:
      parameters:
        - {name: file, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: ok}
`,
		"unquoted statuses": `
openapi: 3.1.0
paths:
  /a:
    get:
      responses:
        200: {description: ok}
`,
		"misspelt method": `
openapi: 3.1.0
paths:
  /a:
    gett:
      responses:
        "200": {description: ok}
`,
		"broken response ref": `
openapi: 3.1.0
paths:
  /a:
    get:
      responses:
        "200": {$ref: "#/components/responses/Nope"}
`,
	}
	for name, src := range bad {
		t.Run(name, func(t *testing.T) {
			doc, err := openapi.Parse([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if ops, err := doc.Operations(); err == nil {
				t.Fatalf("accepted: %+v", ops)
			}
		})
	}
	t.Run("greedy becomes {name...}", func(t *testing.T) {
		doc, err := openapi.Parse([]byte(`
openapi: 3.1.0
paths:
  /settings/{file}:
    get:
      parameters:
        - {name: file, in: path, required: true, x-greedy: true, schema: {type: string}}
      responses:
        "200": {description: ok}
`))
		if err != nil {
			t.Fatal(err)
		}
		ops, err := doc.Operations()
		if err != nil || len(ops) != 1 || ops[0].Pattern != "GET /settings/{file...}" {
			t.Fatalf("%+v %v", ops, err)
		}
		rt, err := openapi.NewRouter(ops)
		if err != nil {
			t.Fatal(err)
		}
		if o, ok := rt.Match("GET", "/settings/app.js?v=1"); !ok || o.Path != "/settings/{file}" {
			t.Fatalf("/settings/app.js matched %+v %v", o, ok)
		}
		if _, ok := rt.Match("GET", "/elsewhere"); ok {
			t.Fatal("/elsewhere matched")
		}
	})
}
