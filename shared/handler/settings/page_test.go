package settings_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/webpage"
)

// TestTheSettingsPageIsServedWithoutATokenAtSettingsSlash checks how the settings
// function mounts its page; shared/platform/webpage tests the serving itself (headers, ETags,
// caching, 404s).
func TestTheSettingsPageIsServedWithoutATokenAtSettingsSlash(t *testing.T) {
	t.Parallel()
	c := notConnected(t)
	// Where the Sell install returns to.
	res := apptest.Do(t, c.h, apptest.Request{Method: "GET", Path: "/settings/?connected=1"})
	if res.Status != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(string(res.Body), "<h1>") {
		t.Fatalf("GET /settings/: %d %q", res.Status, res.Header.Get("Content-Type"))
	}
	if csp := res.Header.Get("Content-Security-Policy"); csp != webpage.CSP(webpage.DefaultFrameAncestors) {
		t.Errorf("CSP %q", csp)
	}
	// GET /settings without the slash stays the settings API.
	if api := apptest.Do(t, c.h, apptest.Request{Method: "GET", Path: "/settings"}); api.Status != 401 || api.ErrorCode() != "unauthenticated" {
		t.Errorf("GET /settings without a token: %d %s", api.Status, api.Body)
	}
	refs := regexp.MustCompile(`(?:src|href)="(/[^"]+)"`).FindAllStringSubmatch(string(res.Body), -1)
	if len(refs) != 2 {
		t.Fatalf("the page references %d files by absolute URL, want settings.css and settings.js", len(refs))
	}
	for _, m := range refs {
		if !strings.HasPrefix(m[1], "/settings/settings.") {
			t.Errorf("%s is not one of the page's files", m[1])
		}
		if a := apptest.Do(t, c.h, apptest.Request{Method: "GET", Path: m[1]}); a.Status != 200 || a.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: %d", m[1], a.Status)
		}
	}
	for _, path := range []string{"/settings/nope.js", "/settings/web/index.html", "/settings/..%2fsettings.go", "/settings/%2e%2e/settings.go"} {
		res := apptest.Do(t, c.h, apptest.Request{Method: "GET", Path: path})
		if res.Status != 404 || res.ErrorCode() != "not_found" {
			t.Errorf("GET %s: %d %s", path, res.Status, res.Body)
		}
	}
	// POST /settings/ is the page's entry URL, for Zendesk's signed form post only.
	if res := apptest.Do(t, c.h, apptest.Request{Method: "POST", Path: "/settings/"}); res.Status != 415 || res.ErrorCode() != "unsupported_media_type" {
		t.Errorf("POST /settings/ without the form: %d %s", res.Status, res.Body)
	}
	if res := apptest.Do(t, c.h, apptest.Request{Method: "PUT", Path: "/settings/"}); res.Status != 405 {
		t.Errorf("PUT /settings/: %d", res.Status)
	}
}

// TestThePageHasNoInlineCodeAndNeverInsertsHTML holds the page to what its CSP and
// its safety rely on: no inline scripts, styles or event handlers (the CSP would block
// them, silently breaking the page) and no HTML built from data.
func TestThePageHasNoInlineCodeAndNeverInsertsHTML(t *testing.T) {
	t.Parallel()
	inline := []*regexp.Regexp{
		regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]`), // a script with a body
		regexp.MustCompile(`(?i)<style`),
		regexp.MustCompile(`(?i)\sstyle\s*=`),
		regexp.MustCompile(`(?i)\son[a-z]+\s*=`),
		regexp.MustCompile(`(?i)javascript:`),
	}
	scriptTag := regexp.MustCompile(`(?i)<script[^>]*>`)
	dangerous := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function`)
	err := filepath.WalkDir("web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		src := string(raw)
		switch filepath.Ext(p) {
		case ".html":
			for _, tag := range scriptTag.FindAllString(src, -1) {
				if !strings.Contains(tag, "src=") {
					t.Errorf("%s has a script without src: %q", p, tag)
				}
			}
			for _, re := range inline {
				if m := re.FindString(src); m != "" {
					t.Errorf("%s has inline code: %q", p, m)
				}
			}
		case ".js":
			if m := dangerous.FindString(src); m != "" {
				t.Errorf("%s uses %s", p, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// pageIDs reads the page's HTML and returns every id it declares, failing on one
// declared twice (getElementById would find only the first).
func pageIDs(t *testing.T) (string, map[string]bool) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("web", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	html := string(raw)
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`\sid="([^"]+)"`).FindAllStringSubmatch(html, -1) {
		if ids[m[1]] {
			t.Errorf("id %q is declared twice", m[1])
		}
		ids[m[1]] = true
	}
	return html, ids
}

// TestEveryIDTheScriptUsesIsOnThePage: the script finds its controls by id, and a
// missing one only fails when an admin gets there (a TypeError in the console).
func TestEveryIDTheScriptUsesIsOnThePage(t *testing.T) {
	t.Parallel()
	_, ids := pageIDs(t)
	raw, err := os.ReadFile(filepath.Join("web", "settings.js"))
	if err != nil {
		t.Fatal(err)
	}
	// $("id"), and the status lines' ids: status("id", …), failed("id", …).
	uses := regexp.MustCompile(`(?:\$|\bstatus|\bfailed)\("([A-Za-z0-9_-]+)"[,)]`).FindAllStringSubmatch(string(raw), -1)
	if len(uses) < 100 {
		t.Fatalf("found only %d lookups by id: has the script's style changed?", len(uses))
	}
	for _, m := range uses {
		if !ids[m[1]] {
			t.Errorf("settings.js uses #%s, which index.html does not declare", m[1])
		}
	}
}

// TestEveryReferenceOnThePageNamesAnElement: a label's for, and the ARIA
// attributes that name other elements, must point at ids the page declares, or the
// control loses its name or description for screen readers.
func TestEveryReferenceOnThePageNamesAnElement(t *testing.T) {
	t.Parallel()
	html, ids := pageIDs(t)
	refs := regexp.MustCompile(`\s(for|form|aria-labelledby|aria-describedby|aria-controls)="([^"]*)"`).FindAllStringSubmatch(html, -1)
	if len(refs) < 20 {
		t.Fatalf("found only %d references", len(refs))
	}
	for _, m := range refs {
		for _, id := range strings.Fields(m[2]) {
			if !ids[id] {
				t.Errorf(`%s="%s" names #%s, which the page does not declare`, m[1], m[2], id)
			}
		}
	}
}
