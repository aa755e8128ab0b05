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

	"github.com/sellchat/sellchat/shared/handler/panel"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/webpage"
)

// assetRef finds index.html's scripts and stylesheets as served.
var assetRef = regexp.MustCompile(`(?:src|href)="([^"]+)"`)

// TestThePanelPageIsServedAtBothSpellings checks how the panel function mounts its
// page; shared/platform/webpage tests the serving itself (headers, ETags, caching, 404s).
func TestThePanelPageIsServedAtBothSpellings(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	h := panel.New(env.PanelDeps())
	get := func(path string) apptest.Response {
		return apptest.Do(t, h, apptest.Request{Method: "GET", Path: path})
	}
	res := get(panel.PagePath + "?email=vera@example.com")
	if res.Status != http.StatusOK || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET %s: %d %s", panel.PagePath, res.Status, res.Body)
	}
	if csp := res.Header.Get("Content-Security-Policy"); csp != webpage.CSP(webpage.DefaultFrameAncestors) {
		t.Errorf("CSP %q", csp)
	}
	// API Gateway routes both spellings to /apps/panel; a redirect could loop.
	if bare := get("/apps/panel"); bare.Status != http.StatusOK || string(bare.Body) != string(res.Body) {
		t.Errorf("GET /apps/panel: %d", bare.Status)
	}
	refs := assetRef.FindAllStringSubmatch(string(res.Body), -1)
	if len(refs) != 3 {
		t.Fatalf("index.html references %d files, want panel.css, zaf.js (the apps framework loader) and panel.js", len(refs))
	}
	for _, m := range refs {
		if !(strings.HasPrefix(m[1], "/apps/panel/panel.") || strings.HasPrefix(m[1], "/apps/panel/zaf.js")) || !strings.Contains(m[1], "?v=") {
			t.Errorf("%s is not absolute and versioned", m[1])
			continue
		}
		if a := get(m[1]); a.Status != http.StatusOK || a.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: %d %q", m[1], a.Status, a.Header.Get("Cache-Control"))
		}
	}
	for _, p := range []string{"/apps/panel/nope.js", "/apps/panel/web/panel.js", "/apps/panel/%2e%2e%2fpanel.go"} {
		if r := get(p); r.Status != http.StatusNotFound || r.ErrorCode() != "not_found" {
			t.Errorf("GET %s: %d %s", p, r.Status, r.Body)
		}
	}
	// The page is public; the data routes still need a token.
	if r := get("/panel?email=vera@example.com"); r.Status != http.StatusUnauthorized {
		t.Fatalf("GET /panel without a token: %d", r.Status)
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
