package zendesktest_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
)

// The host page's markup, as host.js and Chromium read it (the whole exchange runs in
// a browser in infra/localstack's TestTheAppsRunInsideTheSandboxHostWithTheRealSDK).
var (
	formAction = regexp.MustCompile(`<form id="launch" method="post" target="app" action="([^"]+)"><input type="hidden" name="token" value="([^"]+)">`)
	hostData   = regexp.MustCompile(`<body data-host="([^"]+)">`)
	inline     = regexp.MustCompile(`(?s)<(script|style)>(.*?)</(?:script|style)>`)
)

func TestTheHostPageFramesAnAppAsZendeskDoes(t *testing.T) {
	t.Parallel()
	srv, clk := newSandbox(t, zendesktest.Options{})
	const app = "http://127.0.0.1:8080/apps/panel/?keep=1"
	status, header, body := get(t, srv, "", "/sandbox/host?"+url.Values{"app": {app}, "user": {"361"},
		"email": {"vera@example.com"}, "name": {"Vera Visitor"}, "chatId": {"c-1"}}.Encode())
	if status != 200 || header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /sandbox/host: %d %s", status, body)
	}
	page := string(body)

	t.Run("it posts a token the app's key signed, with origin and app_guid", func(t *testing.T) {
		m := formAction.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no launch form:\n%s", page)
		}
		action, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		q := action.Query()
		if action.Host != "127.0.0.1:8080" || action.Path != "/apps/panel/" || q.Get("keep") != "1" ||
			q.Get("origin") != srv.URL || len(q.Get("app_guid")) != 32 {
			t.Errorf("the form posts to %s", action)
		}
		key, err := srv.SupportAPI(zendesktest.DemoAdaID).AppPublicKey(context.Background(), zendesktest.DemoAppID)
		if err != nil {
			t.Fatal(err)
		}
		c, err := verify(html.UnescapeString(m[2]), key, zendesktest.DemoInstallationID, clk.Now())
		if err != nil || c.Subject != "361" || c.Context.Product != "chat" || c.Context.Location != "chat_sidebar" {
			t.Errorf("the posted token: %+v %v", c, err)
		}
	})

	t.Run("it answers the chat's visitor and the user, and registers the app", func(t *testing.T) {
		m := hostData.FindStringSubmatch(page)
		if m == nil {
			t.Fatal("no data-host")
		}
		var cfg struct {
			App        string
			Data       map[string]json.RawMessage
			Registered struct {
				Context struct{ Product, Location, InstanceGUID string }
			}
		}
		if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &cfg); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"visitor":     `{"display_name":"Vera Visitor","email":"vera@example.com","phone":""}`,
			"chat.id":     `"c-1"`,
			"currentUser": `{"email":"rex@example.com","id":361,"name":"Rex Rep","role":"agent"}`,
		}
		for path, v := range want {
			if string(cfg.Data[path]) != v {
				t.Errorf("%s = %s, want %s", path, cfg.Data[path], v)
			}
		}
		if cfg.App != app || cfg.Registered.Context.Product != "chat" || cfg.Registered.Context.Location != "chat_sidebar" {
			t.Errorf("config %+v", cfg)
		}
	})

	t.Run("its CSP allows its own inline code and the app's origin only", func(t *testing.T) {
		csp := header.Get("Content-Security-Policy")
		for _, m := range inline.FindAllStringSubmatch(page, -1) {
			sum := sha256.Sum256([]byte(m[2]))
			src := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
			if !strings.Contains(csp, m[1]+"-src "+src+";") {
				t.Errorf("the inline %s (%s) is not the one the CSP allows: %s", m[1], src, csp)
			}
		}
		for _, d := range []string{"default-src 'none'", "frame-src http://127.0.0.1:8080;", "form-action http://127.0.0.1:8080;", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("CSP %q lacks %q", csp, d)
			}
		}
		if header.Get("Cache-Control") != "no-store" {
			t.Errorf("a page holding a token is cached: %q", header.Get("Cache-Control"))
		}
	})

	t.Run("a Sell card answers its record's id", func(t *testing.T) {
		for location, path := range map[string]string{"lead_card": "lead.id", "person_card": "contact.id", "company_card": "contact.id", "deal_card": "deal.id"} {
			_, _, b := get(t, srv, "", "/sandbox/host?"+url.Values{"app": {app}, "product": {"sell"}, "location": {location}, "record": {"2001"}}.Encode())
			m := hostData.FindStringSubmatch(string(b))
			if m == nil || !strings.Contains(html.UnescapeString(m[1]), `"`+path+`":2001`) || strings.Contains(html.UnescapeString(m[1]), `"visitor"`) {
				t.Errorf("%s: %s", location, b)
			}
		}
	})

	t.Run("a given token is posted as it is", func(t *testing.T) {
		_, _, b := get(t, srv, "", "/sandbox/host?"+url.Values{"app": {app}, "token": {"forged.token.here"}}.Encode())
		if m := formAction.FindStringSubmatch(string(b)); m == nil || m[2] != "forged.token.here" {
			t.Errorf("posted %v", m)
		}
	})

	t.Run("it refuses what it cannot host", func(t *testing.T) {
		cases := map[string]url.Values{
			"no app":           {},
			"a relative app":   {"app": {"/apps/panel/"}},
			"a javascript app": {"app": {"javascript:alert(1)"}},
			"another product":  {"app": {app}, "product": {"guide"}},
			"a bad record":     {"app": {app}, "product": {"sell"}, "location": {"lead_card"}, "record": {"x"}},
			"a bad user":       {"app": {app}, "user": {"rex"}},
		}
		for name, q := range cases {
			if status, _, b := get(t, srv, "", "/sandbox/host?"+q.Encode()); status != 400 {
				t.Errorf("%s: %d %s", name, status, b)
			}
		}
		if status, _, _ := get(t, srv, "", "/sandbox/host?"+url.Values{"app": {app}, "user": {"4242"}}.Encode()); status != 404 {
			t.Errorf("an unknown user: %d", status)
		}
	})
}
