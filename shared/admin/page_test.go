package admin_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sellchat/sellchat/shared/app/apptest"
)

func TestTheSettingsPageIsServedWithoutATokenUnderAStrictPolicy(t *testing.T) {
	t.Parallel()
	c := notConnected(t)
	cases := []struct{ path, ctype, contains string }{
		{"/settings/", "text/html; charset=utf-8", `<script src="settings.js" defer></script>`},
		{"/settings/index.html", "text/html; charset=utf-8", "<h1>"},
		{"/settings/settings.js", "text/javascript; charset=utf-8", "textContent"},
		{"/settings/settings.css", "text/css; charset=utf-8", ":focus-visible"},
	}
	for _, tc := range cases {
		res := apptest.Do(t, c.h, apptest.Request{Method: "GET", Path: tc.path})
		if res.Status != 200 || res.Header.Get("Content-Type") != tc.ctype || !strings.Contains(string(res.Body), tc.contains) {
			t.Fatalf("GET %s: %d %q", tc.path, res.Status, res.Header.Get("Content-Type"))
		}
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self';", "style-src 'self';", "img-src 'self' data:", "connect-src 'self'",
			"frame-ancestors https://*.zendesk.com https://*.zopim.com"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", tc.path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("CSP allows unsafe code: %q", csp)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s: headers %v", tc.path, res.Header)
		}
		etag := res.Header.Get("ETag")
		again := apptest.Do(t, c.h, apptest.Request{Method: "GET", Path: tc.path, Header: map[string]string{"If-None-Match": etag}})
		if etag == "" || again.Status != 304 {
			t.Errorf("GET %s again with its ETag: %d", tc.path, again.Status)
		}
	}
	for _, path := range []string{"/settings/nope.js", "/settings/web/index.html", "/settings/..%2fadmin.go", "/settings/%2e%2e/page.go"} {
		res := apptest.Do(t, c.h, apptest.Request{Method: "GET", Path: path})
		if res.Status != 404 || res.ErrorCode() != "not_found" {
			t.Errorf("GET %s: %d %s", path, res.Status, res.Body)
		}
	}
	if res := apptest.Do(t, c.h, apptest.Request{Method: "POST", Path: "/settings/"}); res.Status != 405 {
		t.Errorf("POST /settings/: %d", res.Status)
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
