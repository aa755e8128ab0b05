package panel_test

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sellchat/sellchat/shared/app/apptest"
	"github.com/sellchat/sellchat/shared/panel"
)

func getPage(t *testing.T, h http.Handler, path string, header map[string]string) apptest.Response {
	t.Helper()
	return apptest.Do(t, h, apptest.Request{Method: "GET", Path: path, Header: header})
}

// assetRefs returns the src/href of index.html's scripts and stylesheets as served.
var assetRef = regexp.MustCompile(`(?:src|href)="([^"]+)"`)

func TestThePanelPageIsServedWithAStrictPolicy(t *testing.T) {
	env := apptest.New(t)
	h := panel.New(env.Deps)

	res := getPage(t, h, "/apps/panel/", nil)
	if res.Status != http.StatusOK {
		t.Fatalf("GET /apps/panel/: %d %s", res.Status, res.Body)
	}
	t.Run("the page carries the CSP, nosniff, no-referrer and revalidates", func(t *testing.T) {
		want := map[string]string{
			"Content-Type":            "text/html; charset=utf-8",
			"Content-Security-Policy": panel.PageCSP(panel.DefaultFrameAncestors),
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"Cache-Control":           "no-cache",
		}
		for k, v := range want {
			if got := res.Header.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		csp := res.Header.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'self'", "script-src 'self';", "style-src 'self';", "img-src 'self' data:", "connect-src 'self'",
			"frame-ancestors https://*.zendesk.com https://*.zopim.com"} {
			if !strings.Contains(csp, d) {
				t.Errorf("CSP %q lacks %q", csp, d)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("CSP allows inline code: %q", csp)
		}
		if res.Header.Get("ETag") == "" {
			t.Error("no ETag: revalidation would download the page every time")
		}
	})

	t.Run("an unchanged page revalidates to a 304", func(t *testing.T) {
		again := getPage(t, h, "/apps/panel/", map[string]string{"If-None-Match": res.Header.Get("ETag")})
		if again.Status != http.StatusNotModified {
			t.Fatalf("%d", again.Status)
		}
	})

	t.Run("assets are asked for by version and then cached for good", func(t *testing.T) {
		refs := assetRef.FindAllStringSubmatch(string(res.Body), -1)
		if len(refs) < 2 {
			t.Fatalf("index.html references %d assets, want the script and the stylesheet", len(refs))
		}
		for _, m := range refs {
			ref := m[1]
			if !strings.Contains(ref, "?v=") {
				t.Errorf("%s has no version: a new deployment could run an old script", ref)
				continue
			}
			if !strings.HasPrefix(ref, "/apps/panel/") {
				t.Errorf("%s is relative: it would miss when the page is opened as /apps/panel", ref)
				continue
			}
			a := getPage(t, h, ref, nil)
			if a.Status != http.StatusOK {
				t.Errorf("GET %s: %d %s", ref, a.Status, a.Body)
				continue
			}
			if got := a.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("%s Cache-Control = %q", ref, got)
			}
			if a.Header.Get("Content-Security-Policy") == "" || a.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s lacks the security headers: %v", ref, a.Header)
			}
			name, _, _ := strings.Cut(ref, "?")
			wantType := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}[filepath.Ext(name)]
			if got := a.Header.Get("Content-Type"); got != wantType {
				t.Errorf("%s Content-Type = %q, want %q", ref, got, wantType)
			}
			// Without (or with a stale) version the asset is served but revalidated.
			stale := getPage(t, h, name+"?v=0000", nil)
			if stale.Status != http.StatusOK || stale.Header.Get("Cache-Control") != "no-cache" {
				t.Errorf("%s with a stale version: %d %q", name, stale.Status, stale.Header.Get("Cache-Control"))
			}
		}
	})

	t.Run("unknown files are a JSON 404", func(t *testing.T) {
		for _, p := range []string{"/apps/panel/nope.js", "/apps/panel/index.htm", "/apps/panel/web/panel.js", "/apps/panel/%2e%2e%2fpanel.go", "/apps/panel/panel.js/x"} {
			r := getPage(t, h, p, nil)
			if r.Status != http.StatusNotFound || r.ErrorCode() != "not_found" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Errorf("GET %s: %d %q %s", p, r.Status, r.Header.Get("Content-Type"), r.Body)
			}
		}
	})

	t.Run("the folder without its slash is the same page", func(t *testing.T) {
		// API Gateway routes both spellings to /apps/panel; a redirect could loop.
		r := getPage(t, h, "/apps/panel", nil)
		if r.Status != http.StatusOK || string(r.Body) != string(res.Body) || r.Header.Get("Content-Security-Policy") == "" {
			t.Fatalf("%d %v", r.Status, r.Header)
		}
	})

	t.Run("the page is public: no token needed", func(t *testing.T) {
		// Checked above without Authorization; the data routes still need one.
		r := getPage(t, h, "/panel?email=vera@example.com", nil)
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("GET /panel without a token: %d", r.Status)
		}
	})
}

func TestFrameAncestorsComeFromTheEnvironmentWhenTheyArePlainSources(t *testing.T) {
	env := apptest.New(t)
	cases := []struct {
		name, value, want string
	}{
		{"unset uses Zendesk's hosts", "", panel.DefaultFrameAncestors},
		{"plain sources are used as given", "https://acme.zendesk.com  http://localhost:3000", "https://acme.zendesk.com http://localhost:3000"},
		{"a smuggled directive falls back to the default", "https://x.example; script-src *", panel.DefaultFrameAncestors},
		{"'none' is accepted", "'none'", "'none'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("FRAME_ANCESTORS", c.value)
			res := getPage(t, panel.New(env.Deps), "/apps/panel/", nil)
			if got, want := res.Header.Get("Content-Security-Policy"), panel.PageCSP(c.want); got != want {
				t.Fatalf("CSP = %q, want %q", got, want)
			}
		})
	}
}

// TestThePageHasNoInlineCode parses the page as the CSP will judge it: scripts only
// from files, no event-handler attributes, no inline styles. The browser test checks
// the same on the live DOM; this one names the offending element.
func TestThePageHasNoInlineCode(t *testing.T) {
	t.Parallel()
	f, err := os.Open(filepath.Join("web", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	dec.Strict = false
	dec.AutoClose = xml.HTMLAutoClose
	dec.Entity = xml.HTMLEntity
	var stack []string
	scripts := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("index.html does not parse: %v", err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			name := strings.ToLower(tk.Name.Local)
			stack = append(stack, name)
			if name == "style" {
				t.Errorf("index.html has a <style> element; the CSP blocks it")
			}
			hasSrc := false
			for _, a := range tk.Attr {
				attr := strings.ToLower(a.Name.Local)
				switch {
				case strings.HasPrefix(attr, "on"):
					t.Errorf("<%s %s=…> is an inline handler; the CSP blocks it", name, attr)
				case attr == "style":
					t.Errorf("<%s style=…> is an inline style; the CSP blocks it", name)
				case attr == "href" && strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Value)), "javascript:"):
					t.Errorf("<%s href=javascript:…> is inline code", name)
				case attr == "src":
					hasSrc = a.Value != ""
				}
			}
			if name == "script" {
				scripts++
				if !hasSrc {
					t.Errorf("a <script> has no src: inline scripts are blocked by the CSP")
				}
			}
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			if len(stack) > 0 && stack[len(stack)-1] == "script" && strings.TrimSpace(string(tk)) != "" {
				t.Errorf("a <script> has inline content: %.40q", string(tk))
			}
		}
	}
	if scripts == 0 {
		t.Error("index.html loads no script: the parser saw nothing (or the page lost panel.js)")
	}
}
