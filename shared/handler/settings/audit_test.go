package settings_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/handler/settings"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

type auditAnswer struct {
	Items []struct {
		Action  string
		Target  string
		Actor   struct{ UserID string }
		Changes map[string]struct{ From, To any }
	}
	NextCursor string
}

func TestAdminChangesAreInTheAuditTrailAndRefusedOnesAreNot(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.Connect(t, "acme")
	h := settings.New(env.AdminDeps())
	tok := env.Token(t, "acme", auth.RoleAdmin)
	do := func(method, path, body string, header map[string]string) apptest.Response {
		return apptest.Do(t, h, apptest.Request{Method: method, Path: path, Token: tok, Body: body, Header: header})
	}
	if res := do("PATCH", "/settings", `{"leadStatus":"Working"}`, map[string]string{"If-Match": "0"}); res.Status != 200 {
		t.Fatalf("patch: %d %s", res.Status, res.Body)
	}
	if res := do("PATCH", "/settings", `{"leadStatus":""}`, map[string]string{"If-Match": "1"}); res.Status != 422 {
		t.Fatalf("refused patch: %d %s", res.Status, res.Body)
	}
	if res := do("PUT", "/integration/webhook", `{"signingSecret":"s3cret-value-1"}`, nil); res.Status != 200 {
		t.Fatalf("webhook secret: %d %s", res.Status, res.Body)
	}
	if res := do("PUT", "/integration/elements/chat_app_in_sell", `{"enabled":false}`, nil); res.Status != 200 {
		t.Fatalf("switch: %d %s", res.Status, res.Body)
	}
	res := do("GET", "/audit?limit=2", "", nil)
	var page auditAnswer
	res.JSON(t, &page)
	if res.Status != 200 || len(page.Items) != 2 || page.NextCursor == "" {
		t.Fatalf("first page: %d %s", res.Status, res.Body)
	}
	if e := page.Items[0]; e.Action != "element.switch" || e.Target != "chat_app_in_sell" || e.Changes["enabled"].To != false || e.Actor.UserID == "" {
		t.Errorf("newest entry: %+v", e)
	}
	if e := page.Items[1]; e.Action != "webhook_secret.set" || len(e.Changes) != 0 {
		t.Errorf("second entry: %+v", e)
	}
	if strings.Contains(string(res.Body), "s3cret") {
		t.Error("the trail shows the webhook secret")
	}
	var rest auditAnswer
	do("GET", "/audit?cursor="+page.NextCursor, "", nil).JSON(t, &rest)
	if len(rest.Items) != 1 || rest.Items[0].Action != "settings.update" ||
		rest.Items[0].Changes["leadStatus"].From != "New" || rest.Items[0].Changes["leadStatus"].To != "Working" {
		t.Fatalf("rest: %+v (the refused patch must not be there)", rest.Items)
	}
	for _, c := range []struct {
		path, code string
		status     int
	}{
		{"/audit?cursor=not-ours", "invalid_cursor", 400},
		{"/audit?limit=1000", "invalid_value", 422},
	} {
		if res := do("GET", c.path, "", nil); res.Status != c.status || res.ErrorCode() != c.code {
			t.Errorf("%s: %d %s", c.path, res.Status, res.Body)
		}
	}
	if res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/audit", Token: env.Token(t, "acme", auth.RoleAgent)}); res.Status != http.StatusForbidden {
		t.Errorf("an agent reads the trail: %d", res.Status)
	}
	var other auditAnswer
	apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/audit", Token: env.Token(t, "globex", auth.RoleAdmin)}).JSON(t, &other)
	if len(other.Items) != 0 {
		t.Errorf("another account sees %d entries", len(other.Items))
	}
}

func TestTheIntegrationShowsTheRetentionJob(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	h := settings.New(env.AdminDeps())
	tok := env.Token(t, "acme", auth.RoleAdmin)
	var before map[string]any
	getIntegration(t, h, tok, &before)
	if _, ok := before["retention"]; ok {
		t.Fatalf("a retention job before any change: %v", before["retention"])
	}
	if err := chatstore.New(env.Deps.Store).SaveRetentionJob(context.Background(), "acme",
		chatstore.RetentionJob{State: "running", Days: 30, Phase: chatstore.PhaseEntries, Chats: 12, Entries: 3, Changed: 9}); err != nil {
		t.Fatal(err)
	}
	var after struct {
		Retention *struct {
			State, Phase         string
			Days, Chats, Changed int
			Cursor               any
		}
	}
	getIntegration(t, h, tok, &after)
	if r := after.Retention; r == nil || r.State != "running" || r.Days != 30 || r.Phase != "entries" || r.Chats != 12 || r.Changed != 9 || r.Cursor != nil {
		t.Fatalf("retention: %+v", after.Retention)
	}
}
