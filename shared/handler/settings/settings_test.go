package settings_test

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/handler/settings"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

func TestMain(m *testing.M) { storetest.Main(m) }

type settingsBody struct {
	Access       string `json:"access"`
	LeadStatus   string `json:"leadStatus"`
	LeadSourceID *int64 `json:"leadSourceId"`
	Owners       []struct {
		Type string `json:"type"`
		ID   int64  `json:"id"`
	} `json:"owners"`
	AllowAgentsAssignAnyOwner bool  `json:"allowAgentsAssignAnyOwner"`
	Version                   int64 `json:"version"`
}

type integrationBody struct {
	Elements map[string]struct {
		Enabled      bool `json:"enabled"`
		SignInOnLoad bool `json:"signInOnLoad"`
	} `json:"elements"`
	SellConnected    bool   `json:"sellConnected"`
	WebhookURL       string `json:"webhookUrl"`
	SigningSecretSet bool   `json:"signingSecretSet"`
}

// getIntegration reads GET /integration into v, failing the test unless it answers
// 200; the answer is returned for what the test reads of its bytes.
func getIntegration(t *testing.T, h http.Handler, tok string, v any) apptest.Response {
	t.Helper()
	res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/integration", Token: tok})
	if res.Status != http.StatusOK {
		t.Fatalf("GET /integration: %d %s", res.Status, res.Body)
	}
	res.JSON(t, v)
	return res
}

func setup(t *testing.T) (*apptest.Env, http.Handler, string) {
	t.Helper()
	env := apptest.New(t)
	return env, settings.New(env.AdminDeps()), env.Token(t, "acme", auth.RoleAdmin)
}

func TestSettingsStartWithDefaultsAndChangePartially(t *testing.T) {
	t.Parallel()
	env, h, tok := setup(t)

	res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/settings", Token: tok})
	if res.Status != 200 {
		t.Fatalf("GET /settings: %d %s", res.Status, res.Body)
	}
	var got settingsBody
	res.JSON(t, &got)
	if got.Access != "sell_users" || got.LeadStatus != "New" || got.Version != 0 || got.Owners == nil {
		t.Fatalf("defaults = %+v", got)
	}
	if res.Header.Get("ETag") != `"0"` {
		t.Fatalf("ETag = %q", res.Header.Get("ETag"))
	}

	// Owners, source and status are checked against Sell: connect it and mark the
	// demo pool so the ids below are real.
	env.Connect(t, "acme")
	if res := apptest.Do(t, h, apptest.Request{Method: "PUT", Path: "/pools/1004", Token: tok, Body: `{"name":"Inbound"}`}); res.Status != 201 {
		t.Fatalf("mark pool: %d %s", res.Status, res.Body)
	}
	res = apptest.Do(t, h, apptest.Request{Method: "PATCH", Path: "/settings", Token: tok,
		Header: map[string]string{"If-Match": `"0"`},
		Body:   `{"access":"all_agents","owners":[{"type":"user","id":1002},{"type":"pool","id":1004},{"type":"user","id":1002}]}`})
	if res.Status != 200 {
		t.Fatalf("PATCH: %d %s", res.Status, res.Body)
	}
	res.JSON(t, &got)
	if got.Access != "all_agents" || got.LeadStatus != "New" || got.Version != 1 || len(got.Owners) != 2 {
		t.Fatalf("after PATCH = %+v (want access changed, status kept, owners deduplicated)", got)
	}

	res = apptest.Do(t, h, apptest.Request{Method: "PATCH", Path: "/settings", Token: tok,
		Header: map[string]string{"If-Match": "1"}, Body: `{"leadSourceId":5002,"allowAgentsAssignAnyOwner":true}`})
	res.JSON(t, &got)
	if res.Status != 200 || got.Access != "all_agents" || *got.LeadSourceID != 5002 || !got.AllowAgentsAssignAnyOwner || got.Version != 2 {
		t.Fatalf("second PATCH: %d %+v", res.Status, got)
	}

	res = apptest.Do(t, h, apptest.Request{Method: "PATCH", Path: "/settings", Token: tok,
		Header: map[string]string{"If-Match": "2"}, Body: `{"leadSourceId":null}`})
	res.JSON(t, &got)
	if res.Status != 200 || got.LeadSourceID != nil {
		t.Fatalf("clearing the source: %d %s", res.Status, res.Body)
	}
}

func TestConcurrentPatchesWithOneVersionHaveOneWinner(t *testing.T) {
	t.Parallel()
	env, h, tok := setup(t)
	env.Connect(t, "acme") // lead statuses are checked against Sell
	statuses := []string{"New", "Working", "Unqualified"}
	var ok, conflict atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			res := apptest.Do(t, h, apptest.Request{Method: "PATCH", Path: "/settings", Token: tok,
				Header: map[string]string{"If-Match": "0"}, Body: fmt.Sprintf(`{"leadStatus":%q}`, statuses[i%len(statuses)])})
			switch res.Status {
			case 200:
				ok.Add(1)
			case 409:
				conflict.Add(1)
			default:
				t.Errorf("unexpected %d %s", res.Status, res.Body)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || conflict.Load() != 19 {
		t.Fatalf("%d won and %d conflicted; want 1 and 19", ok.Load(), conflict.Load())
	}
	var got settingsBody
	apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/settings", Token: tok}).JSON(t, &got)
	if got.Version != 1 || !slices.Contains(statuses, got.LeadStatus) {
		t.Fatalf("stored %+v", got)
	}
}

func TestElementsSwitchAloneAndHistoryNeedsConfirmation(t *testing.T) {
	t.Parallel()
	env, h, tok := setup(t)
	env.Install(t, "acme")
	put := func(name, body string) apptest.Response {
		return apptest.Do(t, h, apptest.Request{Method: "PUT", Path: "/integration/elements/" + name, Token: tok, Body: body})
	}
	var in integrationBody
	res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/integration", Token: tok})
	res.JSON(t, &in)
	if res.Status != 200 || len(in.Elements) != 3 || in.Elements["chat_app_in_sell"].Enabled || in.WebhookURL != "https://sellchat.test/webhooks/chat/acme" {
		t.Fatalf("initial integration: %d %s", res.Status, res.Body)
	}

	if res := put("chat_app_in_sell", `{"enabled":true,"signInOnLoad":true}`); res.Status != 200 {
		t.Fatalf("enable chat app: %d %s", res.Status, res.Body)
	}
	if res := put("chat_history_in_sell", `{"enabled":true}`); res.Status != 422 || res.ErrorCode() != "confirmation_required" {
		t.Fatalf("history without confirm: %d %s", res.Status, res.Body)
	}
	if res := put("sell_app_in_chat", `{"enabled":true,"signInOnLoad":true}`); res.Status != 422 || res.ErrorCode() != "not_applicable" {
		t.Fatalf("signInOnLoad on the wrong element: %d %s", res.Status, res.Body)
	}
	res = put("chat_history_in_sell", `{"enabled":true,"confirm":true}`)
	res.JSON(t, &in)
	if res.Status != 200 || !in.Elements["chat_history_in_sell"].Enabled || !in.Elements["chat_app_in_sell"].SignInOnLoad || in.Elements["sell_app_in_chat"].Enabled {
		t.Fatalf("after confirming history: %d %s", res.Status, res.Body)
	}
	res = put("chat_history_in_sell", `{"enabled":false}`)
	res.JSON(t, &in)
	if res.Status != 200 || in.Elements["chat_history_in_sell"].Enabled || !in.Elements["chat_app_in_sell"].Enabled {
		t.Fatalf("disabling history touched another element: %s", res.Body)
	}
}

func TestConcurrentElementSwitchesAreAllKept(t *testing.T) {
	t.Parallel()
	env, h, tok := setup(t)
	env.Install(t, "acme")
	var wg sync.WaitGroup
	for _, name := range []string{"chat_app_in_sell", "sell_app_in_chat"} {
		wg.Go(func() {
			if res := apptest.Do(t, h, apptest.Request{Method: "PUT", Path: "/integration/elements/" + name, Token: tok, Body: `{"enabled":true}`}); res.Status != 200 {
				t.Errorf("%s: %d %s", name, res.Status, res.Body)
			}
		})
	}
	wg.Wait()
	var in integrationBody
	getIntegration(t, h, tok, &in)
	if !in.Elements["chat_app_in_sell"].Enabled || !in.Elements["sell_app_in_chat"].Enabled {
		t.Fatalf("a concurrent switch was lost: %+v", in.Elements)
	}
}

func TestWebhookSecretIsStoredSealedAndNeverShown(t *testing.T) {
	t.Parallel()
	env, h, tok := setup(t)
	const secret = "dGhpcyBpcyBhIHRlc3Qgc2VjcmV0"
	res := apptest.Do(t, h, apptest.Request{Method: "PUT", Path: "/integration/webhook", Token: tok, Body: `{"signingSecret":"` + secret + `"}`})
	if res.Status != 200 || strings.Contains(string(res.Body), secret) {
		t.Fatalf("PUT webhook: %d %s", res.Status, res.Body)
	}
	var in integrationBody
	res = apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/integration", Token: tok})
	res.JSON(t, &in)
	if !in.SigningSecretSet || strings.Contains(string(res.Body), secret) {
		t.Fatalf("GET /integration: %s", res.Body)
	}
	if dump := fmt.Sprint(storetest.Snapshot(t, env.Deps.Store)); strings.Contains(dump, secret) {
		t.Fatal("the signing secret is in the table in clear")
	}
}

// TestBadInputChangesNothing is the bad-input matrix of every route: each case gets
// its documented status and JSON error code, and the table is left exactly as it was.
func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	env, h, tok := setup(t)
	env.Connect(t, "acme")
	// Some state to protect.
	apptest.Do(t, h, apptest.Request{Method: "PATCH", Path: "/settings", Token: tok, Header: map[string]string{"If-Match": "0"}, Body: `{"leadStatus":"Working"}`})
	apptest.Do(t, h, apptest.Request{Method: "PUT", Path: "/integration/elements/sell_app_in_chat", Token: tok, Body: `{"enabled":true}`})

	agent := env.Token(t, "acme", auth.RoleAgent)
	expired := env.ExpiredToken(t, "acme", auth.RoleAdmin)
	rogue := env.RogueToken(t, "acme", auth.RoleAdmin)
	wrongAudience := func() string {
		s := env.Signer
		s.Audience = "https://someone-else.test"
		tok, _ := s.Sign(auth.Identity{Account: "acme", UserID: "1", Role: auth.RoleAdmin})
		return tok
	}()
	huge := `{"leadStatus":"` + strings.Repeat("x", 1<<20) + `"}`
	ifMatch1 := map[string]string{"If-Match": "1"}

	routes := []route{
		{"GET", "/settings", ""},
		{"PATCH", "/settings", `{"leadStatus":"New"}`},
		{"GET", "/integration", ""},
		{"PUT", "/integration/elements/chat_app_in_sell", `{"enabled":true}`},
		{"PUT", "/integration/webhook", `{"signingSecret":"abcdefgh12345"}`},
	}
	cases := refusalMatrix(routes, ifMatch1, []variant{
		{"without a token", "", 401, "unauthenticated"},
		{"with an expired token", expired, 401, "invalid_token"},
		{"with a token signed by another key", rogue, 401, "invalid_token"},
		{"with a token for another audience", wrongAudience, 401, "invalid_token"},
		{"with a garbage token", "not.a.jwt", 401, "invalid_token"},
		{"as an agent", agent, 403, "forbidden"},
	}, tok, []variant{
		{"with malformed JSON", `{"leadStatus":`, 400, "malformed_json"},
		{"with a body over 1 MiB", huge, 413, "body_too_large"},
		{"with a JSON array", `[1,2]`, 400, "malformed_json"},
	})
	admin := func(method, path, body string, header map[string]string) apptest.Request {
		return apptest.Request{Method: method, Path: path, Token: tok, Body: body, Header: header}
	}
	cases = append(cases,
		refusal{"PATCH with a stale If-Match is 409", admin("PATCH", "/settings", `{"leadStatus":"X"}`, map[string]string{"If-Match": "0"}), 409, "version_conflict"},
		refusal{"PATCH with a future If-Match is 409", admin("PATCH", "/settings", `{"leadStatus":"X"}`, map[string]string{"If-Match": "9"}), 409, "version_conflict"},
		refusal{"PATCH without If-Match is 428", admin("PATCH", "/settings", `{"leadStatus":"X"}`, nil), 428, "if_match_required"},
		refusal{"PATCH with a non-numeric If-Match is 400", admin("PATCH", "/settings", `{"leadStatus":"X"}`, map[string]string{"If-Match": "abc"}), 400, "invalid_if_match"},
		refusal{"PATCH with access of the wrong type is 422", admin("PATCH", "/settings", `{"access":3}`, ifMatch1), 422, "wrong_type"},
		refusal{"PATCH with an unknown access mode is 422", admin("PATCH", "/settings", `{"access":"everyone"}`, ifMatch1), 422, "invalid_value"},
		refusal{"PATCH with owners of the wrong shape is 422", admin("PATCH", "/settings", `{"owners":[{"type":"team","id":1}]}`, ifMatch1), 422, "invalid_value"},
		refusal{"PATCH with owners as a string is 422", admin("PATCH", "/settings", `{"owners":"all"}`, ifMatch1), 422, "wrong_type"},
		refusal{"PATCH with a negative source is 422", admin("PATCH", "/settings", `{"leadSourceId":-1}`, ifMatch1), 422, "invalid_value"},
		refusal{"PATCH of the superior manager is 422", admin("PATCH", "/settings", `{"superiorManager":{"id":1}}`, ifMatch1), 422, "read_only"},
		refusal{"PATCH of an unknown field is 422", admin("PATCH", "/settings", `{"colour":"red"}`, ifMatch1), 422, "unknown_field"},
		refusal{"PATCH with one bad field among good ones changes none", admin("PATCH", "/settings", `{"leadStatus":"Won","access":"nobody"}`, ifMatch1), 422, "invalid_value"},
		refusal{"PUT of an unknown element is 404", admin("PUT", "/integration/elements/fax_machine", `{"enabled":true}`, nil), 404, "unknown_element"},
		refusal{"PUT of an element with enabled as a string is 422", admin("PUT", "/integration/elements/sell_app_in_chat", `{"enabled":"yes"}`, nil), 422, "wrong_type"},
		refusal{"PUT of an element without enabled is 422", admin("PUT", "/integration/elements/sell_app_in_chat", `{}`, nil), 422, "required"},
		refusal{"PUT of history without confirm is 422", admin("PUT", "/integration/elements/chat_history_in_sell", `{"enabled":true}`, nil), 422, "confirmation_required"},
		refusal{"PUT of history from a future date is 422", admin("PUT", "/integration/elements/chat_history_in_sell", `{"enabled":true,"confirm":true,"pastChatsFrom":"2999-01-01"}`, nil), 422, "in_future"},
		refusal{"PUT of history from before 2010 is 422", admin("PUT", "/integration/elements/chat_history_in_sell", `{"enabled":true,"confirm":true,"pastChatsFrom":"2009-12-31"}`, nil), 422, "too_old"},
		refusal{"PUT of history from a date in another format is 422", admin("PUT", "/integration/elements/chat_history_in_sell", `{"enabled":true,"confirm":true,"pastChatsFrom":"1 Nov 2026"}`, nil), 422, "invalid_value"},
		refusal{"PUT of history with a date as a number is 422", admin("PUT", "/integration/elements/chat_history_in_sell", `{"enabled":true,"confirm":true,"pastChatsFrom":20261101}`, nil), 422, "wrong_type"},
		refusal{"PUT of history off with a date is 422", admin("PUT", "/integration/elements/chat_history_in_sell", `{"enabled":false,"pastChatsFrom":"2026-01-01"}`, nil), 422, "not_applicable"},
		refusal{"PUT of another element with a date is 422", admin("PUT", "/integration/elements/sell_app_in_chat", `{"enabled":true,"pastChatsFrom":"2026-01-01"}`, nil), 422, "not_applicable"},
		refusal{"PUT of a webhook secret with spaces is 422", admin("PUT", "/integration/webhook", `{"signingSecret":"a b c d e f"}`, nil), 422, "invalid_value"},
		refusal{"PUT of a webhook secret as a number is 422", admin("PUT", "/integration/webhook", `{"signingSecret":12345678}`, nil), 422, "wrong_type"},
		refusal{"PUT of a webhook without a secret is 422", admin("PUT", "/integration/webhook", `{}`, nil), 422, "required"},
		refusal{"an unknown route is a JSON 404", admin("GET", "/nowhere", "", nil), 404, "not_found"},
		refusal{"a wrong method is a JSON 405", admin("DELETE", "/settings", "", nil), 405, "method_not_allowed"},
	)
	checkRefusals(t, env, h, "bad input", cases)
}

// route is a method and path, with a valid body where the route takes one.
type route struct{ method, path, body string }

// variant is one way a request goes wrong (a token, or a body) and the status and
// JSON error code it earns; what names it in the test's name.
type variant struct {
	what, value string
	status      int
	code        string
}

// refusal is a request a route must refuse with status and a JSON error code.
type refusal struct {
	name   string
	req    apptest.Request
	status int
	code   string
}

// refusalMatrix sends every route with each token of callers, then each route that
// takes a body with each of bodies as admin; every request carries header.
func refusalMatrix(routes []route, header map[string]string, callers []variant, admin string, bodies []variant) []refusal {
	var out []refusal
	for _, r := range routes {
		add := func(v variant, token, body string) {
			req := apptest.Request{Method: r.method, Path: r.path, Token: token, Header: header}
			if body != "" {
				req.Body = body
			}
			out = append(out, refusal{fmt.Sprintf("%s %s %s is %d", r.method, r.path, v.what, v.status), req, v.status, v.code})
		}
		for _, c := range callers {
			add(c, c.value, r.body)
		}
		if r.body == "" {
			continue
		}
		for _, b := range bodies {
			add(b, admin, b.value)
		}
	}
	return out
}

// checkRefusals sends each case to h and checks its status and JSON error code; the
// refused requests (what, in a failure) must leave env's table exactly as it was.
func checkRefusals(t *testing.T, env *apptest.Env, h http.Handler, what string, cases []refusal) {
	t.Helper()
	unchanged(t, env, what, func() {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				res := apptest.Do(t, h, c.req)
				if res.Status != c.status || res.ErrorCode() != c.code {
					t.Fatalf("got %d %s; want %d %s", res.Status, res.Body, c.status, c.code)
				}
				if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Fatalf("Content-Type = %q", ct)
				}
			})
		}
	})
}

// fieldRefusal is a request of an admin that a route must refuse with status and a
// JSON error code on field ("" when the error names no field).
type fieldRefusal struct {
	name, method, path, body string
	status                   int
	code, field              string
}

// refusesAll sends each case as c's admin and checks the error it gets; the refused
// requests (what, in a failure) must leave the table exactly as it was.
func (c connected) refusesAll(t *testing.T, what string, cases []fieldRefusal) {
	t.Helper()
	unchanged(t, c.env, what, func() {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var body any
				if tc.body != "" {
					body = tc.body
				}
				res := c.do(t, tc.method, tc.path, body)
				var e struct {
					Error struct{ Code, Field string }
				}
				res.JSON(t, &e)
				if res.Status != tc.status || e.Error.Code != tc.code || e.Error.Field != tc.field {
					t.Fatalf("got %d %s; want %d %s on %q", res.Status, res.Body, tc.status, tc.code, tc.field)
				}
			})
		}
	})
}

// unchanged runs f and fails t if f left env's table otherwise than it found it;
// what names f's requests in the failure.
func unchanged(t *testing.T, env *apptest.Env, what string, f func()) {
	t.Helper()
	before := storetest.Snapshot(t, env.Deps.Store)
	f()
	if after := storetest.Snapshot(t, env.Deps.Store); !reflect.DeepEqual(before, after) {
		t.Fatalf("%s changed stored data:\nbefore %v\nafter  %v", what, before, after)
	}
}

func TestAnotherAccountNeitherSeesNorChangesOurs(t *testing.T) {
	t.Parallel()
	env, h, tok := setup(t)
	env.Connect(t, "acme")
	if res := apptest.Do(t, h, apptest.Request{Method: "PATCH", Path: "/settings", Token: tok, Header: map[string]string{"If-Match": "0"}, Body: `{"leadStatus":"Working"}`}); res.Status != 200 {
		t.Fatalf("acme PATCH: %d %s", res.Status, res.Body)
	}
	other := env.Token(t, "globex", auth.RoleAdmin)

	var got settingsBody
	apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/settings", Token: other}).JSON(t, &got)
	if got.LeadStatus == "Working" || got.Version != 0 {
		t.Fatalf("globex sees acme's settings: %+v", got)
	}
	// globex's write with acme's version is judged against globex's own (absent) item.
	res := apptest.Do(t, h, apptest.Request{Method: "PATCH", Path: "/settings", Token: other, Header: map[string]string{"If-Match": "1"}, Body: `{"leadStatus":"Theirs"}`})
	if res.Status != 409 {
		t.Fatalf("globex PATCH with acme's version: %d %s", res.Status, res.Body)
	}
	apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/settings", Token: tok}).JSON(t, &got)
	if got.LeadStatus != "Working" {
		t.Fatalf("acme's settings changed: %+v", got)
	}
}

func TestPanicsBecomeAnOpaque500(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	rt := settings.New(env.AdminDeps())
	rt.Handle("GET /boom", func(http.ResponseWriter, *http.Request) error { panic("secret internals") })
	res := apptest.Do(t, rt, apptest.Request{Method: "GET", Path: "/boom"})
	if res.Status != 500 || res.ErrorCode() != "internal" || strings.Contains(string(res.Body), "secret") {
		t.Fatalf("got %d %s", res.Status, res.Body)
	}
	if res.Header.Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id")
	}
}

func TestRequestIDIsEchoed(t *testing.T) {
	t.Parallel()
	_, h, tok := setup(t)
	res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/settings", Token: tok, Header: map[string]string{"X-Request-Id": "abc-123"}})
	if res.Header.Get("X-Request-Id") != "abc-123" {
		t.Fatalf("X-Request-Id = %q", res.Header.Get("X-Request-Id"))
	}
	res = apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/settings", Token: tok, Header: map[string]string{"X-Request-Id": "bad id\r\nx"}})
	if id := res.Header.Get("X-Request-Id"); id == "" || strings.ContainsAny(id, " \r\n") {
		t.Fatalf("an unsafe request id was echoed: %q", id)
	}
}
