package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sellchat/sellchat/shared/domain/audit"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// actions lists the account's audit trail, newest first, as "action by user".
func actions(t *testing.T, env *apptest.Env) []string {
	t.Helper()
	es, _, err := env.Deps.Store.AuditPage(context.Background(), "acme", "", 50)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Action+" by "+e.Actor.UserID)
	}
	return out
}

func TestConnectionsAndNotificationsAreInTheAuditTrail(t *testing.T) {
	t.Parallel()
	env, h := connected(t) // signs in with Zendesk as Ada (user 1)
	if got := actions(t, env); !slices.Contains(got, audit.ConnectionZendesk+" by 1") {
		t.Fatalf("after Sign in with Zendesk: %v", got)
	}
	if res, _ := notifications(t, env, h, "POST"); res.Status != http.StatusOK {
		t.Fatalf("set up: %d %s", res.Status, res.Body)
	}
	if res, _ := notifications(t, env, h, "DELETE"); res.Status != http.StatusOK {
		t.Fatalf("remove: %d %s", res.Status, res.Body)
	}
	got := actions(t, env)
	if len(got) < 3 || !strings.HasPrefix(got[0], audit.NotificationsRemove) || !strings.HasPrefix(got[1], audit.NotificationsSetUp) {
		t.Fatalf("trail: %v", got)
	}
	es, _, _ := env.Deps.Store.AuditPage(context.Background(), "acme", "", 1)
	raw, _ := json.Marshal(es)
	if strings.Contains(string(raw), "secret") {
		t.Errorf("an audit entry names a secret: %s", raw)
	}
	if es[0].Changes["enabled"].From != true || es[0].Changes["enabled"].To != false {
		t.Errorf("the removal's changes: %+v", es[0].Changes)
	}
}

func TestARefusedChangeIsNotInTheAuditTrail(t *testing.T) {
	t.Parallel()
	env, h := newOAuth(t)
	before := len(actions(t, env))
	res := apptest.Do(t, h, apptest.Request{Method: "POST", Path: notificationsPath, Token: env.Token(t, "acme", auth.RoleAdmin)})
	if res.Status != http.StatusConflict {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	if res := apptest.Do(t, h, apptest.Request{Method: "DELETE", Path: "/integration?purge=maybe", Token: env.Token(t, "acme", auth.RoleAdmin)}); res.Status != 422 {
		t.Fatalf("bad purge: %d", res.Status)
	}
	if got := actions(t, env); len(got) != before {
		t.Fatalf("refused requests were recorded: %v", got)
	}
}
