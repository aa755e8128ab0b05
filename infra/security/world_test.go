// Package security_test proves who may do what across every served route: the
// security matrix (every route × every way a caller can be wrong), the webhook's
// signature refusals, and the OAuth state's CSRF cases. Each request is followed by
// a full Scan of the table (DynamoDB Local), so "refused" means "and nothing changed".
// docs/security.md describes what is checked.
package security_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/infra/gateway"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/store/privacystore"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

func TestMain(m *testing.M) { storetest.Main(m) }

const (
	// victim is account A: installed, with data of every kind the routes serve.
	victim = "acme"
	// other is account B: installed too, with its own token, secret and settings.
	other = "globex"
	// marker is written into every free-text piece of A's data (a settings value, a
	// pool's name, a chat's visitor, a lead made through POST /leads). An answer to
	// B that holds it has leaked A's data.
	marker = "ACMEONLY"

	secretA = "acme-signing-secret"
	secretB = "globex-signing-secret"
	// sharedKey is the Idempotency-Key A's agent used; B's agent (the same Zendesk
	// user id, "u-agent", in another account) uses it too.
	sharedKey = "lead-key-0001"
	// erasureA is the id of an erasure in A.
	erasureA = "ACMEERASURE1"
)

// world is one deployment holding the two accounts, with each function's routes as
// its Lambda serves them.
type world struct {
	env *apptest.Env
	// served maps each route pattern to the function router that serves it.
	served map[string]*httpx.Router
	// function names the function of each route, for messages.
	function map[string]string
	mux      *http.ServeMux // every route of every function, to find which one a request reaches
}

// newWorld builds the deployment and fills both accounts through the real routes
// (and the store where a route would need a person, such as Sell's OAuth page).
func newWorld(t *testing.T) *world {
	t.Helper()
	w := routes(apptest.New(t))
	env := w.env
	ctx := context.Background()
	adminA := env.Token(t, victim, auth.RoleAdmin)
	agentA := env.Token(t, victim, auth.RoleAgent)

	// A: installed, its agent signed in to Sell as Rex.
	env.Connect(t, victim)
	env.SignInAgent(t, victim, "u-agent", selltest.DemoRexEmail)
	// A's agent makes a lead: its stored answer (replayed for this key) holds the marker.
	res := w.do(t, apptest.Request{Method: "POST", Path: "/leads", Token: agentA,
		Header: map[string]string{"Idempotency-Key": sharedKey},
		Body:   `{"firstName":"` + marker + `","lastName":"Lead","createAnyway":true}`})
	mustHave(t, res, 201, marker)
	mustHave(t, w.do(t, apptest.Request{Method: "PUT", Path: "/pools/1004", Token: adminA, Body: `{"name":"` + marker + ` pool"}`}), 201, marker)
	mustHave(t, w.do(t, apptest.Request{Method: "PATCH", Path: "/settings", Token: adminA, Header: map[string]string{"If-Match": "0"},
		Body: `{"owners":[{"type":"pool","id":1004}]}`}), 200, "")
	// The lead status is checked against Sell on PATCH; the marker is no Sell status,
	// so it goes in through the store (the routes only read it back).
	env.SetSettings(t, victim, func(s *settings.Settings) { s.LeadStatus = marker })
	mustHave(t, w.do(t, apptest.Request{Method: "PUT", Path: "/widgets/lead/draft", Token: adminA, Body: `{"fields":["email","name"]}`}), 200, "")
	mustHave(t, w.do(t, apptest.Request{Method: "POST", Path: "/widgets/lead/publish", Token: adminA}), 200, "")
	mustHave(t, w.do(t, apptest.Request{Method: "PUT", Path: "/integration/webhook", Token: adminA, Body: `{"signingSecret":"` + secretA + `"}`}), 200, "")
	mustHave(t, w.do(t, apptest.Request{Method: "PUT", Path: "/integration/elements/chat_history_in_sell", Token: adminA, Body: `{"enabled":true,"confirm":true}`}), 200, "")
	// A chat of A's visitor, and its entry in lead 2001's feed as the transcripts
	// function would write it.
	body := chatJSON("acme-chat-1", marker+" Visitor")
	mustHave(t, w.do(t, signed(victim, secretA, body, time.Now())), 202, "")
	c, err := chats.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := chatstore.New(env.Deps.Store).CreateEntry(ctx, victim, chatstore.NewEntry(chats.Record{Type: "lead", ID: selltest.DemoVeraLeadID}, c, c.Start, time.Now())); err != nil {
		t.Fatal(err)
	}
	// An erasure A's admin asked for (which no stream runs here), under a known id.
	sub, _ := privacystore.EmailSubject("gone@example.com") // not Vera: her chats must still arrive
	if _, _, err := privacystore.New(env.Deps.Store, env.Deps.Box).Start(ctx, victim, erasureA, sub, "u-admin"); err != nil {
		t.Fatal(err)
	}
	// A pending OAuth round trip of A's admin.
	mustHave(t, w.do(t, apptest.Request{Method: "GET", Path: "/oauth/start?purpose=install", Token: adminA, Header: map[string]string{"Accept": "application/json"}}), 200, "authorizeUrl")

	// B: installed, every agent through the admin's token, history on, its own secret.
	env.Connect(t, other)
	env.SetSettings(t, other, func(s *settings.Settings) { s.Access = settings.AccessAllAgents })
	w.env.SealWebhookSecret(t, other, secretB)
	if _, err := env.Deps.Store.UpdateIntegration(ctx, other, func(in *settings.Integration) error {
		in.Elements[settings.ChatHistoryInSell] = settings.ElementState{Enabled: true}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return w
}

// routes is env's deployment with no data: each function's routes, from the code.
func routes(env *apptest.Env) *world {
	w := &world{env: env, served: map[string]*httpx.Router{}, function: map[string]string{}, mux: http.NewServeMux()}
	for name, rt := range gateway.Functions(env.Deps) {
		for _, p := range rt.Patterns() {
			w.served[p], w.function[p] = rt, name
			w.mux.Handle(p, http.NotFoundHandler())
		}
	}
	return w
}

// do serves req with the function that owns its route, as API Gateway would.
func (w *world) do(t *testing.T, req apptest.Request) apptest.Response {
	t.Helper()
	p := w.route(t, req)
	if p == "" {
		t.Fatalf("no function serves %s %s", req.Method, req.Path)
	}
	return apptest.Do(t, w.served[p], req)
}

// route is the pattern req reaches: one mux holds every function's patterns, as the
// local gateway mounts them, so precedence (GET /settings against
// GET /settings/{file...}) is the real one.
func (w *world) route(t *testing.T, req apptest.Request) string {
	t.Helper()
	r, err := http.NewRequest(req.Method, req.Path, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, p := w.mux.Handler(r)
	return p
}

func mustHave(t *testing.T, res apptest.Response, status int, contains string) {
	t.Helper()
	if res.Status != status || !strings.Contains(string(res.Body), contains) {
		t.Fatalf("setup: got %d %s; want %d with %q", res.Status, res.Body, status, contains)
	}
}

// chatJSON is a finished chat as Zendesk's webhook sends it.
func chatJSON(id, visitor string) string {
	return `{"id":"` + id + `","type":"chat","timestamp":"2026-11-20T14:02:11Z","visitor":{"name":"` + visitor + `","email":"vera@example.com"},` +
		`"history":[{"type":"chat.msg","nick":"visitor","name":"` + visitor + `","msg":"Hi!","timestamp":"2026-11-20T14:02:15Z"}]}`
}

// signed is a webhook delivery of body to account's URL, signed with secret at at.
func signed(account, secret, body string, at time.Time) apptest.Request {
	ts := at.UTC().Format(time.RFC3339)
	return apptest.Request{Method: "POST", Path: "/webhooks/chat/" + account, Body: body, Header: map[string]string{
		chatwebhook.HeaderTimestamp: ts,
		chatwebhook.HeaderSignature: chatwebhook.Sign([]byte(secret), ts, []byte(body)),
	}}
}

// table is every item, keyed by partition and sort key.
type table map[string]map[string]any

func scan(t *testing.T, w *world) table {
	t.Helper()
	out := table{}
	for _, it := range storetest.Snapshot(t, w.env.Deps.Store) {
		out[fmt.Sprint(it[store.AttrPK])+" "+fmt.Sprint(it[store.AttrSK])] = it
	}
	return out
}

// changed lists the keys added, removed or altered between two scans, sorted.
func changed(before, after table) []string {
	var keys []string
	for k, v := range before {
		if w, ok := after[k]; !ok || !reflect.DeepEqual(v, w) {
			keys = append(keys, k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// partition is the table's partition key of account.
func partition(account string) string { return "ACCOUNT#" + account + " " }
