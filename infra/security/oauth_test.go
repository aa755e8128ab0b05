package security_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// TestOAuthStatesCannotBeCarriedAcrossAccountsOrTime covers the CSRF cases of the
// OAuth callback that shared/handler/oauth's tests leave open. Already covered there, and
// not repeated here:
//   - a replayed callback (the state is single-use): TestInstallFlowEndToEnd, with a
//     full-table comparison;
//   - a sign-in approved in Sell by another user than the one who started it (a
//     forwarded link): TestAgentSignIn, "a sign-in finished as another Sell user";
//   - forged codes, denied authorisations, garbage states, a non-admin Sell user
//     installing: TestCallbackRefusals.
//
// What is added: each refusal below also proves, by a full Scan, that nothing was
// stored and that no other pending state was used up.
func TestOAuthStatesCannotBeCarriedAcrossAccountsOrTime(t *testing.T) {
	w := routes(apptest.New(t))
	w.env.Connect(t, victim)
	w.env.Connect(t, other)
	ctx := context.Background()
	// A's admin is the sandbox's Sell admin; B's admin is a Zendesk user of B.
	adminA := auth.Identity{Account: victim, UserID: "100", Email: selltest.DemoAdminEmail, Name: "Ada", Role: auth.RoleOwner}
	adminB := auth.Identity{Account: other, UserID: "200", Email: "admin@globex.test", Name: "Gil", Role: auth.RoleAdmin}
	rex := auth.Identity{Account: victim, UserID: "361", Email: selltest.DemoRexEmail, Name: "Rex", Role: auth.RoleAgent}

	t.Run("B's state moved into A's account is unknown and uses nothing up", func(t *testing.T) {
		q := approve(t, w, start(t, w, adminA, "install")) // a code Sell would accept
		_, nonce, _ := strings.Cut(stateOf(t, start(t, w, adminB, "install")), ".")
		q.Set("state", victim+"."+nonce)
		refused(t, w, q, 400, "invalid_state", nil)
	})

	t.Run("an expired state is refused, with a real code", func(t *testing.T) {
		q := approve(t, w, start(t, w, adminA, "install")) // a code Sell would accept
		key := store.Key{Account: victim, SK: "STATE#expired-state-0001"}
		if err := w.env.Deps.Store.Create(ctx, key, map[string]any{"userId": adminA.UserID, "email": adminA.Email, "purpose": "install",
			"created": time.Now().Add(-11 * time.Minute)}, time.Now().Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		q.Set("state", victim+".expired-state-0001")
		// Reading an expired state removes it; that is the only change.
		refused(t, w, q, 400, "invalid_state", []string{partition(victim) + key.SK})
	})

	t.Run("B's state with the code of A's admin's round trip stores nothing", func(t *testing.T) {
		codeOfA := approve(t, w, start(t, w, adminA, "install")).Get("code")
		stateOfB := stateOf(t, start(t, w, adminB, "install"))
		_, nonce, _ := strings.Cut(stateOfB, ".")
		// The code is Sell's answer to Ada's approval; B's round trip was started by
		// Gil. Only B's state is used up.
		refused(t, w, url.Values{"code": {codeOfA}, "state": {stateOfB}}, 403, "sell_user_mismatch",
			[]string{partition(other) + "STATE#" + nonce})
	})

	t.Run("an agent's state signs in that agent and touches nothing of the install", func(t *testing.T) {
		authorizeURL := start(t, w, rex, "agent")
		_, nonce, _ := strings.Cut(stateOf(t, authorizeURL), ".")
		q := approve(t, w, authorizeURL)
		before := scan(t, w)
		res := w.do(t, apptest.Request{Method: "GET", Path: "/oauth/callback?" + q.Encode()})
		if res.Status != 200 {
			t.Fatalf("agent callback: %d %s", res.Status, res.Body)
		}
		d := changed(before, scan(t, w))
		want := []string{partition(victim) + "STATE#" + nonce, partition(victim) + "TOKEN#agent#361"}
		if strings.Join(d, ",") != strings.Join(want, ",") {
			t.Fatalf("changes %v; want only the state used up and Rex's own token %v", d, want)
		}
	})
}

// start begins a round trip as id and returns Sell's authorize URL.
func start(t *testing.T, w *world, id auth.Identity, purpose string) string {
	t.Helper()
	res := w.do(t, apptest.Request{Method: "GET", Path: "/oauth/start?purpose=" + purpose, Token: w.env.Sign(t, id), Header: map[string]string{"Accept": "application/json"}})
	var body struct{ AuthorizeURL string }
	res.JSON(t, &body)
	if res.Status != 200 || body.AuthorizeURL == "" {
		t.Fatalf("start: %d %s", res.Status, res.Body)
	}
	return body.AuthorizeURL
}

func stateOf(t *testing.T, authorizeURL string) string {
	t.Helper()
	u, err := url.Parse(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("state")
}

// approve follows Sell's authorize page (the sandbox approves at once, as the user
// the login hint names or as its admin) to the redirect back, and returns its query.
func approve(t *testing.T, w *world, authorizeURL string) url.Values {
	t.Helper()
	status, loc := apptest.Redirect(t, authorizeURL)
	if status != http.StatusFound || loc.Path != "/oauth/callback" || loc.Query().Get("code") == "" {
		t.Fatalf("authorize answered %d, Location %q", status, loc)
	}
	return loc.Query()
}

// refused calls back with q and checks the refusal, and that the table changed in
// exactly the keys named (states used up), nothing else: no token, no integration.
func refused(t *testing.T, w *world, q url.Values, status int, code string, consumed []string) {
	t.Helper()
	before := scan(t, w)
	res := w.do(t, apptest.Request{Method: "GET", Path: "/oauth/callback?" + q.Encode(), Header: map[string]string{"Accept": "application/json"}})
	if res.Status != status || res.ErrorCode() != code {
		t.Fatalf("got %d %s; want %d %s", res.Status, res.Body, status, code)
	}
	checkErrorShape(t, res)
	if d := changed(before, scan(t, w)); strings.Join(d, ",") != strings.Join(consumed, ",") {
		t.Fatalf("changes %v; want exactly %v", d, consumed)
	}
}
