package oauth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
	"github.com/sellchat/sellchat/shared/handler/panel"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// sessionFrom reads the session a redirect carries in its fragment.
func sessionFrom(t testing.TB, res apptest.Response) string {
	t.Helper()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.Status != http.StatusSeeOther {
		t.Fatalf("want a 303 carrying a session, got %d %q %s", res.Status, res.Header.Get("Location"), res.Body)
	}
	frag, _ := url.ParseQuery(loc.Fragment)
	if frag.Get("token") == "" {
		t.Fatalf("no token in the fragment of %q", loc)
	}
	return frag.Get("token")
}

// connected is a deployment whose acme admin signed in with Zendesk.
func connected(t testing.TB) (*apptest.Env, http.Handler) {
	t.Helper()
	env, h := newOAuth(t)
	sessionFrom(t, env.SignInWithZendesk(t, h, "acme"))
	return env, h
}

func TestAnAdminSignsInWithZendeskAndTheAccountsAppsAreRecorded(t *testing.T) {
	t.Parallel()
	env, h := newOAuth(t)
	res := env.SignInWithZendesk(t, h, "acme")
	tok := sessionFrom(t, res)
	if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, "/settings/?zendesk=connected#") {
		t.Errorf("lands on %q, want the settings page", loc)
	}
	id, err := env.Deps.Verifier.Verify(tok)
	if err != nil {
		t.Fatalf("the session does not verify: %v", err)
	}
	if id.Account != "acme" || id.UserID != "1" || id.Role != auth.RoleAdmin || id.Email != zendesktest.DemoAdaEmail {
		t.Errorf("session identity = %+v", id)
	}
	in, err := env.Deps.Store.Integration(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if !in.Zendesk.Connected || in.Zendesk.ConnectedBy != "1" || len(in.Zendesk.Apps) != 1 ||
		in.Zendesk.Apps[0].AppID != zendesktest.DemoAppID || in.Zendesk.Apps[0].InstallationID != zendesktest.DemoInstallationID ||
		!strings.Contains(in.Zendesk.Apps[0].PublicKey, "PUBLIC KEY") {
		t.Errorf("integration's zendesk = %+v", in.Zendesk)
	}
	if _, _, err := env.Deps.Vault.Load(context.Background(), "acme", tokens.Zendesk()); err != nil {
		t.Errorf("the Zendesk connection was not stored: %v", err)
	}
}

func TestOnlyAZendeskAdminCanSignInWithZendesk(t *testing.T) {
	t.Parallel()
	env, h := newOAuth(t)
	env.Zendesk.SetApprover(zendesktest.DemoRexID)
	res := env.SignInWithZendesk(t, h, "acme")
	if res.Status != http.StatusForbidden || !strings.Contains(string(res.Body), "not_zendesk_admin") {
		t.Fatalf("an agent's sign-in answered %d %s", res.Status, res.Body)
	}
	in, _ := env.Deps.Store.Integration(context.Background(), "acme")
	if in.Zendesk.Connected {
		t.Error("an agent's refused sign-in connected Zendesk")
	}
}

func TestAZendeskCallbackIsUsableOnce(t *testing.T) {
	t.Parallel()
	env, h := newOAuth(t)
	back := env.ZendeskAuthorization(t, h, "acme")
	first := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/oauth/callback?" + back.Encode()})
	again := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/oauth/callback?" + back.Encode(), Header: map[string]string{"Accept": "application/json"}})
	if first.Status != http.StatusSeeOther || again.Status != http.StatusBadRequest || again.ErrorCode() != "invalid_state" {
		t.Fatalf("first %d, replay %d %s", first.Status, again.Status, again.Body)
	}
}

func exchange(t *testing.T, h http.Handler, body any) apptest.Response {
	t.Helper()
	return apptest.Do(t, h, apptest.Request{Method: "POST", Path: "/session", Body: body})
}

// exchangeAppToken posts to /session the app token Zendesk signs for its user userID
// in the Chat sidebar, as the panel's iframe does when it loads.
func exchangeAppToken(t *testing.T, env *apptest.Env, h http.Handler, userID int64) apptest.Response {
	t.Helper()
	return exchange(t, h, map[string]string{"token": env.Zendesk.ZAFToken(userID, "chat", "chat_sidebar")})
}

func TestAZendeskAppTokenBecomesASessionWithTheRoleZendeskGives(t *testing.T) {
	t.Parallel()
	env, h := connected(t)
	res := exchangeAppToken(t, env, h, zendesktest.DemoRexID)
	if res.Status != 200 {
		t.Fatalf("exchange: %d %s", res.Status, res.Body)
	}
	var got struct {
		Session   string
		ExpiresAt time.Time
		Account   string
		User      struct{ ID, Role, Email, Name string }
	}
	res.JSON(t, &got)
	if got.Account != "acme" || got.User.ID != "361" || got.User.Role != "agent" || got.User.Email != zendesktest.DemoRexEmail || got.User.Name == "" {
		t.Errorf("answer = %+v", got)
	}
	if until := time.Until(got.ExpiresAt); until <= 0 || until > 2*time.Hour {
		t.Errorf("expiresAt %v is not a short-lived session", got.ExpiresAt)
	}
	id, err := env.Deps.Verifier.Verify(got.Session)
	if err != nil || id.UserID != "361" || id.Role != auth.RoleAgent {
		t.Errorf("session verifies as %+v, %v", id, err)
	}
	// The session opens the agent's routes.
	pr := apptest.Do(t, panel.New(env.PanelDeps()), apptest.Request{Method: "GET", Path: "/panel/owners", Token: got.Session})
	if pr.Status == http.StatusUnauthorized {
		t.Errorf("the panel refused the session: %s", pr.Body)
	}
}

func TestTokensThatDoNotVerifyAreRefused(t *testing.T) {
	t.Parallel()
	env, h := connected(t)
	foreignKey := zendesktest.GenerateKey()
	claims := func(change func(*zendesk.AppTokenClaims)) zendesk.AppTokenClaims {
		c := env.Zendesk.ZAFClaims(zendesktest.DemoRexID, "chat", "chat_sidebar")
		change(&c)
		return c
	}
	hs256, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(func(*zendesk.AppTokenClaims) {})).SignedString([]byte("secret"))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims(func(*zendesk.AppTokenClaims) {})).SignedString(jwt.UnsafeAllowNoneSignatureType)
	genuine := env.Zendesk.ZAFToken(zendesktest.DemoRexID, "chat", "chat_sidebar")
	cases := []struct{ name, token string }{
		{"signed with another key", zendesktest.SignZAFToken(foreignKey, claims(func(*zendesk.AppTokenClaims) {}))},
		{"expired", env.Zendesk.SignAsApp(claims(func(c *zendesk.AppTokenClaims) {
			c.IssuedAt, c.NotBefore, c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-20*time.Minute)), jwt.NewNumericDate(time.Now().Add(-20*time.Minute)), jwt.NewNumericDate(time.Now().Add(-10*time.Minute))
		}))},
		{"not yet valid", env.Zendesk.SignAsApp(claims(func(c *zendesk.AppTokenClaims) {
			c.NotBefore = jwt.NewNumericDate(time.Now().Add(10 * time.Minute))
		}))},
		{"without an expiry", env.Zendesk.SignAsApp(claims(func(c *zendesk.AppTokenClaims) { c.ExpiresAt = nil }))},
		{"for another installation", env.Zendesk.SignAsApp(claims(func(c *zendesk.AppTokenClaims) {
			c.Audience = zendesk.AppTokenAudience("acme", zendesktest.DemoInstallationID+1)
		}))},
		{"from another account", env.Zendesk.SignAsApp(claims(func(c *zendesk.AppTokenClaims) {
			c.Issuer, c.Audience = zendesk.AppTokenIssuer("globex"), zendesk.AppTokenAudience("globex", zendesktest.DemoInstallationID)
		}))},
		{"issuer spelt as a URL", env.Zendesk.SignAsApp(claims(func(c *zendesk.AppTokenClaims) { c.Issuer = "https://acme.zendesk.com" }))},
		{"subject not a user id", env.Zendesk.SignAsApp(claims(func(c *zendesk.AppTokenClaims) { c.Subject = "admin" }))},
		{"HS256", hs256},
		{"alg none", none},
		{"tampered payload", tamper(genuine)},
		{"garbage", "not.a.jwt"},
		{"oversized", strings.Repeat("a", 9000)},
	}
	for _, c := range cases {
		res := exchange(t, h, map[string]string{"token": c.token})
		if res.Status != http.StatusUnauthorized || res.ErrorCode() != "invalid_token" {
			t.Errorf("%s: %d %s, want 401 invalid_token", c.name, res.Status, res.Body)
		}
	}
}

// tamper changes one character of the payload of a signed token.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	p := []byte(parts[1])
	if p[5] == 'A' {
		p[5] = 'B'
	} else {
		p[5] = 'A'
	}
	return parts[0] + "." + string(p) + "." + parts[2]
}

func TestATokenIsRefusedUntilAnAdminConnectedZendesk(t *testing.T) {
	t.Parallel()
	env, h := newOAuth(t)
	res := exchangeAppToken(t, env, h, zendesktest.DemoRexID)
	if res.Status != http.StatusUnauthorized || res.ErrorCode() != "invalid_token" {
		t.Fatalf("before connecting: %d %s", res.Status, res.Body)
	}
}

func TestAnEndUsersTokenGetsNoSession(t *testing.T) {
	t.Parallel()
	env, h := connected(t)
	res := exchangeAppToken(t, env, h, zendesktest.DemoVeraID)
	if res.Status != http.StatusForbidden || res.ErrorCode() != "forbidden" {
		t.Fatalf("end user: %d %s", res.Status, res.Body)
	}
}

func TestAGenuineTokenWithoutAZendeskConnectionAsksForOne(t *testing.T) {
	t.Parallel()
	env, h := connected(t)
	if err := env.Deps.Vault.Delete(context.Background(), "acme", tokens.Zendesk()); err != nil {
		t.Fatal(err)
	}
	res := exchangeAppToken(t, env, h, zendesktest.DemoRexID)
	if res.Status != http.StatusConflict || res.ErrorCode() != "zendesk_not_connected" {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
}

func TestMalformedSessionRequestsAreRefused(t *testing.T) {
	t.Parallel()
	_, h := newOAuth(t)
	for _, c := range []struct {
		name, body, code string
		status           int
	}{
		{"empty", "", "empty_body", 400},
		{"not JSON", "token=x", "malformed_json", 400},
		{"trailing data", `{"token":"x"} {}`, "malformed_json", 400},
		{"a field of its own, e.g. a role", `{"token":"x","role":"admin"}`, "unknown_field", 422},
		{"no token", `{}`, "required", 422},
	} {
		res := exchange(t, h, c.body)
		if res.Status != c.status || (c.code != "" && res.ErrorCode() != c.code) {
			t.Errorf("%s: %d %s", c.name, res.Status, res.Body)
		}
	}
}

func TestThePanelsEntryURLTakesZendesksSignedPost(t *testing.T) {
	t.Parallel()
	env, _ := connected(t)
	p := panel.New(env.PanelDeps())
	form := url.Values{"token": {env.Zendesk.ZAFToken(zendesktest.DemoRexID, "chat", "chat_sidebar")}}.Encode()
	res := apptest.Do(t, p, apptest.Request{Method: "POST", Path: "/apps/panel/?origin=https%3A%2F%2Facme.zendesk.com&app_guid=g-1&evil=1", Body: form,
		Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	tok := sessionFrom(t, res)
	loc, _ := url.Parse(res.Header.Get("Location"))
	if loc.Path != "/apps/panel/" || loc.Query().Get("origin") != "https://acme.zendesk.com" || loc.Query().Get("app_guid") != "g-1" || loc.Query().Has("evil") {
		t.Errorf("redirects to %q", loc)
	}
	if id, err := env.Deps.Verifier.Verify(tok); err != nil || id.UserID != "361" {
		t.Errorf("entry session: %+v %v", id, err)
	}
	for _, c := range []struct {
		name, ctype, body, code string
		status                  int
	}{
		{"JSON instead of the form", "application/json", `{"token":"x"}`, "unsupported_media_type", 415},
		{"no token", "application/x-www-form-urlencoded", "a=b", "unauthenticated", 401},
		{"a forged token", "application/x-www-form-urlencoded", "token=" + url.QueryEscape(tamper(env.Zendesk.ZAFToken(zendesktest.DemoRexID, "chat", "chat_sidebar"))), "invalid_token", 401},
		{"oversized", "application/x-www-form-urlencoded", "token=" + strings.Repeat("a", 20<<10), "body_too_large", 413},
	} {
		res := apptest.Do(t, p, apptest.Request{Method: "POST", Path: "/apps/panel/", Body: c.body, Header: map[string]string{"Content-Type": c.ctype}})
		if res.Status != c.status || res.ErrorCode() != c.code {
			t.Errorf("%s: %d %s", c.name, res.Status, res.Body)
		}
	}
	if res := apptest.Do(t, p, apptest.Request{Method: "POST", Path: "/apps/panel/panel.js", Body: form,
		Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}); res.Status != http.StatusNotFound {
		t.Errorf("POST to a page file: %d", res.Status)
	}
}
