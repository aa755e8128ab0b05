package oauth_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// failedChecks returns the codes of a 422 prerequisites_failed answer.
func failedChecks(t *testing.T, res apptest.Response) []string {
	t.Helper()
	if res.Status != http.StatusUnprocessableEntity || res.ErrorCode() != "prerequisites_failed" {
		t.Fatalf("want 422 prerequisites_failed, got %d %s", res.Status, res.Body)
	}
	var body struct {
		Error struct {
			Details []struct{ Code string } `json:"details"`
		} `json:"error"`
	}
	res.JSON(t, &body)
	var codes []string
	for _, d := range body.Error.Details {
		codes = append(codes, d.Code)
	}
	return codes
}

// TestTheInstallChecksOfAZendeskSessionComeFromZendesksAPIs: a session minted from
// Zendesk carries no Chat facts, so the checks read them: the Support role from the
// users API, the plan and the installer's Chat role from the Chat API; the phase,
// which no API tells, is what the installer states.
func TestTheInstallChecksOfAZendeskSessionComeFromZendesksAPIs(t *testing.T) {
	t.Parallel()
	env, h := newOAuth(t)
	session := sessionFrom(t, env.SignInWithZendesk(t, h, "acme")) // Ada: Zendesk admin, Chat owner
	env.Connect(t, "acme")                                         // Sell connected with the sandbox admin
	install := func(body string) apptest.Response {
		return apptest.Do(t, h, apptest.Request{Method: "POST", Path: "/integration/install", Token: session, Body: body})
	}

	if codes := failedChecks(t, install("")); !slices.Equal(codes, []string{"chat_not_connected", "chat_plan_too_low", "chat_phase_not_stated"}) {
		t.Errorf("before Chat is connected, failed checks %v", codes)
	}
	if res := connectChat(t, env, h, startChat(t, h, session)); res.Status != http.StatusFound {
		t.Fatalf("connect chat: %d %s", res.Status, res.Body)
	}
	if codes := failedChecks(t, install("")); !slices.Equal(codes, []string{"chat_phase_not_stated"}) {
		t.Errorf("without a stated phase, failed checks %v", codes)
	}
	if res := install(`{"chatPhase":5}`); res.Status != http.StatusUnprocessableEntity || res.ErrorCode() != "invalid_value" {
		t.Errorf("phase 5: %d %s", res.Status, res.Body)
	}
	if res := install(`{"chatPhase":4} x`); res.Status != http.StatusBadRequest || res.ErrorCode() != "malformed_json" {
		t.Errorf("trailing data: %d %s", res.Status, res.Body)
	}
	// Phase 4 lets only the Chat owner install: Ada is, per the Chat agents' roles.
	if res := install(`{"chatPhase":4}`); res.Status != http.StatusCreated {
		t.Fatalf("phase 4 as the Chat owner: %d %s", res.Status, res.Body)
	}

	// Rex is no Chat owner: the same phase-4 install, as Rex, fails on that alone.
	env.Zendesk.SetApprover(zendesktest.DemoRexID)
	rex := exchangeAppToken(t, env, h, zendesktest.DemoRexID)
	var got struct{ Session string }
	rex.JSON(t, &got)
	res := apptest.Do(t, h, apptest.Request{Method: "POST", Path: "/integration/install", Token: got.Session, Body: `{"chatPhase":4}`})
	if res.Status != http.StatusForbidden {
		t.Errorf("an agent's install: %d %s, want 403 (admins only)", res.Status, res.Body)
	}
}

// sourcedCheck is one failed check of a 422 with where its fact came from.
type sourcedCheck struct {
	Code   string
	Source string
	Stated *struct{ ChatPhase int }
}

func sourcedChecks(t *testing.T, res apptest.Response) map[string]sourcedCheck {
	t.Helper()
	failedChecks(t, res) // a 422 prerequisites_failed
	var body struct {
		Error struct{ Details []sourcedCheck } `json:"error"`
	}
	res.JSON(t, &body)
	out := map[string]sourcedCheck{}
	for _, d := range body.Error.Details {
		out[d.Code] = d
	}
	return out
}

// TestTheInstallAnswerSaysWhatTheInstallerStatedAndWhatWasRead: for a session from
// Zendesk, a check whose verdict rests on the phase the installer stated says so and
// names the phase (a wrong phase asks for the wrong role), a check on a fact read
// from Zendesk's APIs says that, and a fact that could not be read is not called
// read. A passed install names what it took on the installer's word; a session that
// carries its own Chat facts stated nothing.
func TestTheInstallAnswerSaysWhatTheInstallerStatedAndWhatWasRead(t *testing.T) {
	t.Parallel()
	env, h := newOAuth(t)
	session := sessionFrom(t, env.SignInWithZendesk(t, h, "acme")) // Ada: Zendesk admin
	env.Connect(t, "acme")
	install := func(token, body string) apptest.Response {
		return apptest.Do(t, h, apptest.Request{Method: "POST", Path: "/integration/install", Token: token, Body: body})
	}

	// Chat not connected and no phase stated: the plan was not read and nothing was
	// stated, so nothing is marked.
	for code, c := range sourcedChecks(t, install(session, ``)) {
		if c.Source != "" || c.Stated != nil {
			t.Errorf("before Chat is connected, %s is marked %+v", code, c)
		}
	}

	if res := connectChat(t, env, h, startChat(t, h, session)); res.Status != http.StatusFound {
		t.Fatalf("connect chat: %d %s", res.Status, res.Body)
	}
	env.Zendesk.SetOwner(zendesktest.DemoRexID) // Ada is a Chat admin, not the owner
	env.Zendesk.SetChatPlan("lite")
	checks := sourcedChecks(t, install(session, `{"chatPhase":4}`))
	if c := checks["not_account_owner"]; c.Source != "stated" || c.Stated == nil || c.Stated.ChatPhase != 4 {
		t.Errorf("the owner check on the stated phase 4: %+v", c)
	}
	if c := checks["chat_plan_too_low"]; c.Source != "zendesk_api" || c.Stated != nil {
		t.Errorf("the plan check on the plan read from Chat: %+v", c)
	}
	if len(checks) != 2 {
		t.Errorf("failed checks %v, want the owner and the plan", checks)
	}

	// On phase 3 a Chat admin may install: the answer names the phase it believed.
	env.Zendesk.SetChatPlan("professional")
	res := install(session, `{"chatPhase":3}`)
	var got struct {
		Installed bool
		Stated    *struct{ ChatPhase int }
	}
	res.JSON(t, &got)
	if res.Status != http.StatusCreated || !got.Installed || got.Stated == nil || got.Stated.ChatPhase != 3 {
		t.Fatalf("phase 3 as a Chat admin: %d %s", res.Status, res.Body)
	}

	// A session carrying its Chat facts (a local /dev/token) states nothing.
	res = install(env.Sign(t, owner), `{"chatPhase":4}`)
	got.Stated = nil
	res.JSON(t, &got)
	if res.Status != http.StatusCreated || got.Stated != nil {
		t.Errorf("a session with its own Chat facts: %d %s", res.Status, res.Body)
	}
}
