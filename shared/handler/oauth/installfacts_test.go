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
	session := sessionFrom(t, signInWithZendesk(t, env, h)) // Ada: Zendesk admin, Chat owner
	env.Connect(t, "acme")                                  // Sell connected with the sandbox admin
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
	rex := exchange(t, h, map[string]string{"token": env.Zendesk.ZAFToken(zendesktest.DemoRexID, "chat", "chat_sidebar")})
	var got struct{ Session string }
	rex.JSON(t, &got)
	res := apptest.Do(t, h, apptest.Request{Method: "POST", Path: "/integration/install", Token: got.Session, Body: `{"chatPhase":4}`})
	if res.Status != http.StatusForbidden {
		t.Errorf("an agent's install: %d %s, want 403 (admins only)", res.Status, res.Body)
	}
}
