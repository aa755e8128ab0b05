package security_test

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// access is who a route is for.
type access int

const (
	adminOnly    access = iota // a Zendesk owner or admin of the token's account
	anyRole                    // any signed-in Zendesk user of the token's account
	page                       // a static page: public, holds no data, signs its own calls
	callback                   // Sell's OAuth redirect: public, bound to a single-use state
	webhook                    // Zendesk's delivery: an HMAC signature, never a JWT
	zendeskToken               // Zendesk's signed app token in the body, exchanged for a session; a Bearer token means nothing
)

func (a access) String() string {
	return [...]string{"admin", "any role", "public page", "OAuth callback", "signed webhook", "Zendesk app token"}[a]
}

// want is an answer: status, error code ("" for a success) and whether the request
// may change the table. Only the caller's own partition may ever change.
type want struct {
	status int
	code   string
	writes bool
}

// row is one request to one route. Every route the functions serve needs at least
// one row; a route added without one fails TestEveryRouteHasARow.
type row struct {
	route  string // the pattern as the function registers it
	access access
	method string
	path   string // path params filled with plausible values
	body   string
	header map[string]string
	// cross is what account B's token gets (B's admin on admin routes, B's agent
	// otherwise). B is installed and has its own data, so B's request runs the
	// route's real work, in B's partition.
	cross want
	// control: A's own token of the same role gets A's marker back from this very
	// request, which proves the leak check on B's answer can see a leak.
	control bool
}

var ok200 = want{status: 200}

// forgedZendeskToken claims to be Zendesk's app token for the victim's account, with
// a signature Zendesk never made.
const forgedZendeskToken = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJhY21lLnplbmRlc2suY29tIiwic3ViIjoiMSJ9.c2lnbmF0dXJl"

// forgedEntry is the apps framework's form post carrying the forged token.
const forgedEntry = "token=" + forgedZendeskToken

var formHeader = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

// rows are in the order they run: B's purge of its own account comes last, since it
// leaves B with nothing for the rows after it.
var rows = []row{
	// The settings function.
	{route: "GET /settings", access: adminOnly, method: "GET", path: "/settings", cross: ok200, control: true},
	{route: "PATCH /settings", access: adminOnly, method: "PATCH", path: "/settings", header: map[string]string{"If-Match": "1"},
		body: `{"allowAgentsAssignAnyOwner":true}`, cross: want{200, "", true}},
	{route: "GET /integration", access: adminOnly, method: "GET", path: "/integration", cross: ok200},
	{route: "PUT /integration/elements/{name}", access: adminOnly, method: "PUT", path: "/integration/elements/chat_app_in_sell",
		body: `{"enabled":false}`, cross: want{200, "", true}},
	{route: "PUT /integration/webhook", access: adminOnly, method: "PUT", path: "/integration/webhook",
		body: `{"signingSecret":"globex-rotated-secret"}`, cross: want{200, "", true}},
	{route: "GET /sell/users", access: adminOnly, method: "GET", path: "/sell/users", cross: ok200},
	{route: "GET /sell/lead-sources", access: adminOnly, method: "GET", path: "/sell/lead-sources", cross: ok200},
	// Creates the source in Sell (B's Sell); the table gets only B's audit entry.
	{route: "POST /sell/lead-sources", access: adminOnly, method: "POST", path: "/sell/lead-sources",
		body: `{"name":"Globex fair"}`, cross: want{201, "", true}},
	{route: "GET /sell/lead-statuses", access: adminOnly, method: "GET", path: "/sell/lead-statuses", cross: ok200},
	{route: "GET /sell/fields", access: adminOnly, method: "GET", path: "/sell/fields?widget=lead", cross: ok200},
	// B's trail holds only B's changes.
	{route: "GET /audit", access: adminOnly, method: "GET", path: "/audit", cross: ok200},
	// A preview reads B's own rules and stores nothing.
	{route: "POST /redaction/preview", access: adminOnly, method: "POST", path: "/redaction/preview", body: `{"text":"4111 1111 1111 1111"}`, cross: ok200},
	{route: "GET /pools", access: adminOnly, method: "GET", path: "/pools", cross: ok200, control: true},
	// A marked 1004 as a pool (and uses it as an owner): to B it is no pool.
	{route: "DELETE /pools/{sellUserId}", access: adminOnly, method: "DELETE", path: "/pools/1004", cross: want{404, "unknown_pool", false}},
	// B marking the same Sell user is new in B (201), not a rename of A's pool (200).
	{route: "PUT /pools/{sellUserId}", access: adminOnly, method: "PUT", path: "/pools/1004",
		body: `{"name":"Globex pool"}`, cross: want{201, "", true}},
	{route: "GET /widgets/{widget}", access: adminOnly, method: "GET", path: "/widgets/lead", cross: ok200},
	{route: "PUT /widgets/{widget}/draft", access: adminOnly, method: "PUT", path: "/widgets/lead/draft",
		body: `{"fields":["name","phone"]}`, cross: want{200, "", true}},
	{route: "GET /widgets/{widget}/preview", access: adminOnly, method: "GET", path: "/widgets/lead/preview", cross: ok200},
	{route: "POST /widgets/{widget}/publish", access: adminOnly, method: "POST", path: "/widgets/lead/publish", cross: want{200, "", true}},
	{route: "GET /settings/{file...}", access: page, method: "GET", path: "/settings/settings.js"},
	{route: "POST /settings", access: zendeskToken, method: "POST", path: "/settings", body: forgedEntry, header: formHeader},
	{route: "POST /settings/{file...}", access: zendeskToken, method: "POST", path: "/settings/", body: forgedEntry, header: formHeader},

	// The oauth function. Starting an install names A's account: B is refused.
	{route: "GET /oauth/start", access: adminOnly, method: "GET", path: "/oauth/start?account=" + victim + "&purpose=install",
		header: map[string]string{"Accept": "application/json"}, cross: want{403, "account_mismatch", false}},
	// An agent's own sign-in: B's agent gets a state in B's partition only.
	{route: "GET /oauth/start", access: anyRole, method: "GET", path: "/oauth/start?purpose=agent",
		header: map[string]string{"Accept": "application/json"}, cross: want{200, "", true}},
	// No state that exists: the CSRF cases with real states are in oauth_test.go.
	{route: "GET /oauth/callback", access: callback, method: "GET", path: "/oauth/callback?code=c0de&state=" + victim + ".no-such-state",
		header: map[string]string{"Accept": "application/json"}},
	// Zendesk's signed token is the only credential: a sellchat token of any kind,
	// with a forged Zendesk token in the body, gets no session.
	{route: "POST /session", access: zendeskToken, method: "POST", path: "/session", body: `{"token":"` + forgedZendeskToken + `"}`},
	// B's token carries no Chat facts, so B's install checks fail: 422, nothing stored.
	{route: "POST /integration/install", access: adminOnly, method: "POST", path: "/integration/install", cross: want{422, "prerequisites_failed", false}},
	// B never signed in with Zendesk: nothing is created anywhere, nothing stored.
	{route: "POST /integration/zendesk/notifications", access: adminOnly, method: "POST", path: "/integration/zendesk/notifications",
		cross: want{409, "zendesk_not_connected", false}},
	{route: "DELETE /integration/zendesk/notifications", access: adminOnly, method: "DELETE", path: "/integration/zendesk/notifications",
		cross: want{409, "zendesk_not_connected", false}},

	// The feed function. Lead 2001 has A's chat in its feed; B's feed of it is empty.
	{route: "GET /feed", access: anyRole, method: "GET", path: "/feed?resourceType=lead&resourceId=2001", cross: ok200, control: true},
	// A's chat by its id: to B it is in no feed of B's, so not found.
	{route: "GET /feed/chats/{chatId}/messages", access: anyRole, method: "GET", path: "/feed/chats/acme-chat-1/messages?resourceType=lead&resourceId=2001",
		cross: want{404, "chat_not_found", false}, control: true},
	{route: "GET /apps/config", access: anyRole, method: "GET", path: "/apps/config", cross: ok200},
	{route: "GET /apps/feed", access: page, method: "GET", path: "/apps/feed"},
	{route: "GET /apps/feed/{file...}", access: page, method: "GET", path: "/apps/feed/feed.js"},
	{route: "POST /apps/feed", access: zendeskToken, method: "POST", path: "/apps/feed", body: forgedEntry, header: formHeader},
	{route: "POST /apps/feed/{file...}", access: zendeskToken, method: "POST", path: "/apps/feed/", body: forgedEntry, header: formHeader},

	// The panel function. B's agent has no Sell sign-in of its own, but B lets every
	// agent use the admin's token (A does not): B's answers come from B's settings.
	{route: "GET /panel", access: anyRole, method: "GET", path: "/panel?email=vera@example.com", cross: ok200},
	{route: "GET /panel/owners", access: anyRole, method: "GET", path: "/panel/owners", cross: ok200, control: true},
	{route: "GET /apps/panel", access: page, method: "GET", path: "/apps/panel"},
	{route: "GET /apps/panel/{file...}", access: page, method: "GET", path: "/apps/panel/panel.js"},
	{route: "POST /apps/panel", access: zendeskToken, method: "POST", path: "/apps/panel", body: forgedEntry, header: formHeader},
	{route: "POST /apps/panel/{file...}", access: zendeskToken, method: "POST", path: "/apps/panel/", body: forgedEntry, header: formHeader},

	// The leads function. B's agent (the same user id as A's) reuses A's key with
	// another body: a key shared across accounts would answer 409
	// idempotency_key_reused (or replay A's lead); B gets its own new lead.
	{route: "POST /leads", access: anyRole, method: "POST", path: "/leads", header: map[string]string{"Idempotency-Key": sharedKey},
		body: `{"firstName":"Bea","lastName":"Globex","createAnyway":true,"owner":{"type":"user","id":1002}}`, cross: want{201, "", true}},

	// The chatwebhook function: a valid chat, but a Bearer token is no signature.
	{route: "POST /webhooks/chat/{account}", access: webhook, method: "POST", path: "/webhooks/chat/" + victim, body: chatJSON("jwt-chat", "Jay")},
	// Zendesk's Support webhook: only the secret of the webhook sellchat made opens it.
	{route: "POST /webhooks/zendesk/{account}", access: webhook, method: "POST", path: "/webhooks/zendesk/" + victim, body: `{"ticket_id":"83"}`},

	// The privacy function. A's visitor (A's chat, with the marker) is nobody in B:
	// B's admin gets an empty answer; A's erasure is no erasure of B's.
	{route: "GET /privacy/visitors", access: adminOnly, method: "GET", path: "/privacy/visitors?email=vera@example.com", cross: ok200, control: true},
	// B erasing the same visitor starts B's own erasure, in B's partition only.
	{route: "POST /privacy/erasures", access: adminOnly, method: "POST", path: "/privacy/erasures",
		body: `{"email":"vera@example.com"}`, cross: want{202, "", true}},
	{route: "GET /privacy/erasures/{id}", access: adminOnly, method: "GET", path: "/privacy/erasures/" + erasureA,
		cross: want{404, "erasure_not_found", false}},

	// Last: B purges its own account; A keeps everything.
	{route: "DELETE /integration", access: adminOnly, method: "DELETE", path: "/integration?purge=true", cross: want{200, "", true}},
}

// column is one way a caller can be wrong (or, last, be someone else).
type column struct {
	name  string
	token func(t *testing.T, w *world, r row) string
	// want is the answer for r; ok false when the cell does not apply.
	want func(r row) (want, bool)
}

// refusedAs is the answer of a JWT route to a bad token, and of the public routes to
// any token (which they ignore).
func refusedAs(status int, code string) func(r row) (want, bool) {
	return func(r row) (want, bool) {
		switch r.access {
		case page:
			return ok200, true
		case callback:
			return want{400, "invalid_state", false}, true
		case webhook:
			return want{401, "invalid_signature", false}, true
		case zendeskToken:
			return want{401, "invalid_token", false}, true
		}
		return want{status, code, false}, true
	}
}

var columns = []column{
	{"no token", func(*testing.T, *world, row) string { return "" }, refusedAs(401, "unauthenticated")},
	{"expired token", func(t *testing.T, w *world, _ row) string { return w.env.ExpiredToken(t, victim, auth.RoleOwner) },
		refusedAs(401, "invalid_token")},
	{"token signed by another key", func(t *testing.T, w *world, _ row) string { return w.env.RogueToken(t, victim, auth.RoleOwner) },
		refusedAs(401, "invalid_token")},
	{"token for another audience", func(t *testing.T, w *world, _ row) string {
		s := w.env.Signer
		s.Audience = "https://another-app.example"
		tok, err := s.Sign(auth.Identity{Account: victim, UserID: "u-owner", Role: auth.RoleOwner})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}, refusedAs(401, "invalid_token")},
	{"wrong role (agent)", func(t *testing.T, w *world, _ row) string { return w.env.Token(t, victim, auth.RoleAgent) },
		func(r row) (want, bool) {
			if r.access == anyRole {
				return want{}, false // every Zendesk role may: agents are who these routes are for
			}
			return refusedAs(403, "forbidden")(r)
		}},
	{"another account's token", func(t *testing.T, w *world, r row) string {
		if r.access == anyRole {
			return w.env.Token(t, other, auth.RoleAgent)
		}
		return w.env.Token(t, other, auth.RoleAdmin)
	}, func(r row) (want, bool) {
		if r.access == adminOnly || r.access == anyRole {
			return r.cross, true
		}
		return refusedAs(0, "")(r)
	}},
}

// TestEveryRouteHasARow derives the route list from the code: a route a function
// serves without a row here (say, a new one nobody thought to protect) fails, and so
// does a row whose request would not reach its route.
func TestEveryRouteHasARow(t *testing.T) {
	t.Parallel()
	w := routes(apptest.New(t))
	have := map[string]bool{}
	for _, r := range rows {
		have[r.route] = true
		if _, ok := w.served[r.route]; !ok {
			t.Errorf("row for %q: no function serves it", r.route)
			continue
		}
		if got := w.route(t, apptest.Request{Method: r.method, Path: r.path}); got != r.route {
			t.Errorf("row for %q sends %s %s, which reaches %q", r.route, r.method, r.path, got)
		}
	}
	var missing []string
	for p := range w.served {
		if !have[p] {
			missing = append(missing, p+" ("+w.function[p]+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("served routes without a row in the security matrix (say who may call them): %v", missing)
	}
}

// TestSecurityMatrix runs every row under every column. After each request a full
// Scan of the table must equal the one before, except for B's own requests that are
// expected to write, which may change B's partition only (and must change it).
func TestSecurityMatrix(t *testing.T) {
	w := newWorld(t)
	ran, skipped := 0, 0
	for _, r := range rows {
		for _, col := range columns {
			exp, applies := col.want(r)
			if !applies {
				skipped++
				continue
			}
			ran++
			t.Run(r.method+" "+r.path+"/"+col.name, func(t *testing.T) {
				cross := col.name == "another account's token"
				token := col.token(t, w, r)
				req := apptest.Request{Method: r.method, Path: r.path, Token: token, Header: r.header}
				if r.body != "" {
					req.Body = r.body
				}
				if cross && r.control {
					// The same request as A's user of the same role: A's marker comes back.
					a := req
					a.Token = w.env.Token(t, victim, roleOf(r))
					if res := w.do(t, a); res.Status != 200 || !strings.Contains(string(res.Body), marker) {
						t.Fatalf("control: A's own request got %d %s, without A's marker", res.Status, res.Body)
					}
				}
				before := scan(t, w)
				res := w.do(t, req)
				after := scan(t, w)

				if res.Status != exp.status || res.ErrorCode() != exp.code {
					t.Fatalf("%s (%s route): got %d %s; want %d %q", col.name, r.access, res.Status, res.Body, exp.status, exp.code)
				}
				if exp.code != "" {
					checkErrorShape(t, res)
				}
				diff := changed(before, after)
				switch {
				case !exp.writes && len(diff) > 0:
					t.Fatalf("the request changed the table: %v", diff)
				case exp.writes && len(diff) == 0:
					t.Fatalf("B's request was expected to write B's partition, and wrote nothing")
				}
				for _, k := range diff {
					if !strings.HasPrefix(k, partition(other)) {
						t.Fatalf("B's request changed %s, outside B's partition (all changes: %v)", k, diff)
					}
				}
				if cross && strings.Contains(string(res.Body), marker) {
					t.Fatalf("B's answer holds A's data: %s", res.Body)
				}
			})
		}
	}
	t.Logf("security matrix: %d rows × %d columns: %d requests checked, %d cells not applicable", len(rows), len(columns), ran, skipped)
}

func roleOf(r row) auth.Role {
	if r.access == anyRole {
		return auth.RoleAgent
	}
	return auth.RoleAdmin
}

// checkErrorShape holds a refusal to the contract: {"error":{"code","message"}}.
func checkErrorShape(t *testing.T, res apptest.Response) {
	t.Helper()
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(res.Body, &e); err != nil || e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not the JSON error shape: %s", res.Body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error answered as %q", ct)
	}
}
