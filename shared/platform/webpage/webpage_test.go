package webpage_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sellchat/sellchat/shared/platform/httpx"
	"github.com/sellchat/sellchat/shared/platform/webpage"
)

// page is a small page made like the real ones: one asset referenced relatively, one
// absolutely, a nested image, and files that are not served.
var page = fstest.MapFS{
	"index.html":   {Data: []byte(`<!doctype html><link rel="stylesheet" href="app.css"><script src="/apps/demo/app.js" defer></script><img src="img/logo.svg" alt=""><h1>Demo</h1>`)},
	"app.js":       {Data: []byte(`document.title = "demo";`)},
	"app.css":      {Data: []byte(`h1 { color: #123; }`)},
	"img/logo.svg": {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`)},
	"notes.txt":    {Data: []byte(`not part of the page`)},
	"page_test.go": {Data: []byte(`package secret`)},
}

// serve mounts page at /apps/demo (and a JSON route beside it) on a real server.
func serve(t *testing.T, opts ...webpage.Option) *httptest.Server {
	t.Helper()
	rt := httpx.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	rt.Handle("GET /apps/demo-data", func(w http.ResponseWriter, _ *http.Request) error {
		httpx.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
		return nil
	})
	webpage.Mount(rt, "/apps/demo", page, opts...)
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	return srv
}

type answer struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, srv *httptest.Server, path string, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, string(body)}
}

var assetRef = regexp.MustCompile(`(?:src|href)="([^"]+)"`)

func TestThePageIsServedAtTheBaseWithAndWithoutItsSlash(t *testing.T) {
	t.Parallel()
	srv := serve(t)
	slash := get(t, srv, "/apps/demo/", nil)
	cases := []struct{ name, path string }{
		{"the folder", "/apps/demo/"},
		{"the base without its slash (API Gateway sends both here)", "/apps/demo"},
		{"index.html by name", "/apps/demo/index.html"},
		{"with a query", "/apps/demo?email=vera@example.com"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := get(t, srv, c.path, nil)
			if res.status != http.StatusOK || res.header.Get("Content-Type") != "text/html; charset=utf-8" || res.body != slash.body {
				t.Fatalf("GET %s: %d %q %.80q", c.path, res.status, res.header.Get("Content-Type"), res.body)
			}
			if res.header.Get("Location") != "" {
				t.Fatalf("GET %s redirects to %s: a redirect could loop on API Gateway", c.path, res.header.Get("Location"))
			}
			if got := res.header.Get("Cache-Control"); got != "no-cache" {
				t.Fatalf("GET %s: Cache-Control %q, want no-cache", c.path, got)
			}
		})
	}
}

func TestEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	t.Parallel()
	srv := serve(t)
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; script-src 'self' https://static.zdassets.com; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
			"form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors https://*.zendesk.com https://*.zopim.com",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
	}
	for _, p := range []string{"/apps/demo", "/apps/demo/", "/apps/demo/app.js", "/apps/demo/app.css", "/apps/demo/img/logo.svg", "/apps/demo/zaf.js"} {
		res := get(t, srv, p, nil)
		if res.status != http.StatusOK {
			t.Errorf("GET %s: %d", p, res.status)
		}
		for k, v := range want {
			if got := res.header.Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", p, k, got, v)
			}
		}
	}
	if got := webpage.CSP(webpage.DefaultFrameAncestors); got != want["Content-Security-Policy"] {
		t.Errorf("CSP() = %q", got)
	}
}

func TestFilesAreServedWithTheirTypeAndRevalidateByETag(t *testing.T) {
	t.Parallel()
	srv := serve(t)
	cases := []struct{ path, ctype, contains string }{
		{"/apps/demo/", "text/html; charset=utf-8", "<h1>Demo</h1>"},
		{"/apps/demo/app.js", "text/javascript; charset=utf-8", "document.title"},
		{"/apps/demo/app.css", "text/css; charset=utf-8", "color: #123"},
		{"/apps/demo/img/logo.svg", "image/svg+xml", "<svg"},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			res := get(t, srv, c.path, nil)
			if res.status != http.StatusOK || res.header.Get("Content-Type") != c.ctype || !strings.Contains(res.body, c.contains) {
				t.Fatalf("%d %q %.80q", res.status, res.header.Get("Content-Type"), res.body)
			}
			etag := res.header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag: revalidation would download the file every time")
			}
			if again := get(t, srv, c.path, map[string]string{"If-None-Match": etag}); again.status != http.StatusNotModified || again.body != "" {
				t.Fatalf("again with its ETag: %d", again.status)
			}
			if changed := get(t, srv, c.path, map[string]string{"If-None-Match": `"0000"`}); changed.status != http.StatusOK {
				t.Fatalf("with another ETag: %d", changed.status)
			}
		})
	}
}

func TestIndexAsksForItsFilesByAbsoluteVersionedURLsCachedForGood(t *testing.T) {
	t.Parallel()
	srv := serve(t)
	index := get(t, srv, "/apps/demo", nil)
	refs := assetRef.FindAllStringSubmatch(index.body, -1)
	if len(refs) != 3 {
		t.Fatalf("index.html references %d files, want 3: %s", len(refs), index.body)
	}
	for _, m := range refs {
		ref := m[1]
		name, version, ok := strings.Cut(ref, "?v=")
		if !ok || !strings.HasPrefix(name, "/apps/demo/") {
			t.Errorf("%s is not absolute and versioned: it would miss from /apps/demo or run an old file", ref)
			continue
		}
		cases := []struct {
			name, path, cache string
		}{
			{"its own version", ref, "public, max-age=31536000, immutable"},
			{"no version", name, "no-cache"},
			{"a stale version", name + "?v=0000", "no-cache"},
		}
		for _, c := range cases {
			res := get(t, srv, c.path, nil)
			if res.status != http.StatusOK || res.header.Get("Cache-Control") != c.cache {
				t.Errorf("GET %s (%s): %d Cache-Control %q, want %q", c.path, c.name, res.status, res.header.Get("Cache-Control"), c.cache)
			}
			if res.header.Get("ETag") != `"`+version+`"` {
				t.Errorf("GET %s: ETag %q, want the version %q", c.path, res.header.Get("ETag"), version)
			}
		}
	}
	// A versioned index.html is not immutable: the page must show a new deployment.
	if res := get(t, srv, "/apps/demo/index.html?v=x", nil); res.header.Get("Cache-Control") != "no-cache" {
		t.Errorf("index.html?v=x: %q", res.header.Get("Cache-Control"))
	}
}

func TestUnknownFilesAreAJSON404(t *testing.T) {
	t.Parallel()
	srv := serve(t)
	for _, p := range []string{
		"/apps/demo/nope.js", "/apps/demo/index.htm", "/apps/demo/notes.txt", "/apps/demo/page_test.go",
		"/apps/demo/app.js/x", "/apps/demo/img/", "/apps/demo/..%2fwebpage.go", "/apps/demo/%2e%2e/webpage.go",
		"/apps/demo/img/..%2f..%2fapp.js%00", "/apps/demoX",
	} {
		res := get(t, srv, p, nil)
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if res.status != http.StatusNotFound || !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") ||
			json.Unmarshal([]byte(res.body), &e) != nil || e.Error.Code != "not_found" || e.Error.Message == "" {
			t.Errorf("GET %s: %d %q %s", p, res.status, res.header.Get("Content-Type"), res.body)
		}
	}
	req, _ := http.NewRequest("POST", srv.URL+"/apps/demo/", nil)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /apps/demo/: %d", res.StatusCode)
	}
}

func TestFolderOnlyLeavesTheBaseToAnotherRoute(t *testing.T) {
	t.Parallel()
	rt := httpx.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	rt.Handle("GET /settings", func(w http.ResponseWriter, _ *http.Request) error {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"api": "settings"})
		return nil
	})
	webpage.Mount(rt, "/settings", page, webpage.FolderOnly())
	if got, want := strings.Join(rt.Patterns(), ", "), "GET /settings, GET /settings/{file...}"; got != want {
		t.Fatalf("patterns %s, want %s", got, want)
	}
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	if res := get(t, srv, "/settings", nil); !strings.Contains(res.body, `"api":"settings"`) {
		t.Errorf("GET /settings is the API's: %d %s", res.status, res.body)
	}
	res := get(t, srv, "/settings/?connected=1", nil)
	if res.status != http.StatusOK || !strings.Contains(res.body, `href="/settings/app.css?v=`) {
		t.Errorf("GET /settings/: %d %.200s", res.status, res.body)
	}
}

func TestMountRegistersTheRoutesTheTemplateWires(t *testing.T) {
	t.Parallel()
	rt := httpx.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	webpage.Mount(rt, "/apps/panel", page)
	if got, want := strings.Join(rt.Patterns(), ", "), "GET /apps/panel, GET /apps/panel/{file...}"; got != want {
		t.Fatalf("patterns %s, want %s", got, want)
	}
	for _, bad := range []string{"/apps/panel/", "apps/panel", "", "/apps/{x}"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Mount(%q) did not panic", bad)
				}
			}()
			webpage.Mount(httpx.NewRouter(slog.Default()), bad, page)
		}()
	}
	defer func() {
		if recover() == nil {
			t.Error("Mount without index.html did not panic")
		}
	}()
	webpage.Mount(httpx.NewRouter(slog.Default()), "/x", fstest.MapFS{"app.js": {Data: []byte("1")}})
}

func TestFrameAncestorsComeFromTheEnvironmentOnlyWhenPlain(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, env, want string
		ok              bool
	}{
		{"unset uses Zendesk's hosts", "", webpage.DefaultFrameAncestors, true},
		{"blank uses Zendesk's hosts", "   ", webpage.DefaultFrameAncestors, true},
		{"plain sources are used as given", "https://acme.zendesk.com  https://*.example.com:8443", "https://acme.zendesk.com https://*.example.com:8443", true},
		{"http with a port", "http://localhost:3000", "http://localhost:3000", true},
		{"'self'", "'self'", "'self'", true},
		{"'none'", "'none'", "'none'", true},
		{"a smuggled directive", "https://a.zendesk.com; script-src *", webpage.DefaultFrameAncestors, false},
		{"a keyword that is not a source", "https://a.zendesk.com 'unsafe-inline'", webpage.DefaultFrameAncestors, false},
		{"a bare wildcard", "*", webpage.DefaultFrameAncestors, false},
		{"a path", "https://a.zendesk.com/x", webpage.DefaultFrameAncestors, false},
		{"another scheme", "data:", webpage.DefaultFrameAncestors, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			getenv := func(k string) string {
				if k != "FRAME_ANCESTORS" {
					t.Errorf("read %s", k)
				}
				return c.env
			}
			got, ok := webpage.FrameAncestors(getenv)
			if got != c.want || ok != c.ok {
				t.Fatalf("FRAME_ANCESTORS=%q: %q %v, want %q %v", c.env, got, ok, c.want, c.ok)
			}
			// The served header says the same, and a refused value is logged once.
			var logs bytes.Buffer
			rt := httpx.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
			webpage.Mount(rt, "/apps/demo", page, webpage.Getenv(getenv), webpage.Logger(slog.New(slog.NewTextHandler(&logs, nil))))
			rec := httptest.NewRecorder()
			rt.ServeHTTP(rec, httptest.NewRequest("GET", "/apps/demo/", nil))
			if csp := rec.Header().Get("Content-Security-Policy"); csp != webpage.CSP(c.want) {
				t.Fatalf("CSP %q, want %q", csp, webpage.CSP(c.want))
			}
			if warned := strings.Contains(logs.String(), "FRAME_ANCESTORS"); warned == c.ok {
				t.Fatalf("warned %v for ok=%v: %s", warned, c.ok, logs.String())
			}
		})
	}
}

func TestFrameAncestorsAreReadFromTheProcessEnvironment(t *testing.T) {
	t.Setenv("FRAME_ANCESTORS", "https://acme.zendesk.com")
	rt := httpx.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	webpage.Mount(rt, "/apps/demo", page)
	rec := httptest.NewRecorder()
	rt.ServeHTTP(rec, httptest.NewRequest("GET", "/apps/demo", nil))
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.HasSuffix(csp, "; frame-ancestors https://acme.zendesk.com") {
		t.Fatalf("CSP %q", csp)
	}
}

// TestEveryPageGetsTheAppsFrameworkLoader: zaf.js is served with each page, versioned
// like the page's own files when index.html asks for it, and loads the SDK from the
// two places the CSP allows: Zendesk's CDN, or the local stack's pinned copy.
func TestEveryPageGetsTheAppsFrameworkLoader(t *testing.T) {
	t.Parallel()
	withLoader := fstest.MapFS{"index.html": {Data: []byte(`<script src="zaf.js" defer></script><script src="app.js" defer></script>`)}, "app.js": page["app.js"]}
	rt := httpx.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	webpage.Mount(rt, "/apps/demo", withLoader)
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	index := get(t, srv, "/apps/demo/", nil)
	ref := regexp.MustCompile(`src="(/apps/demo/zaf\.js\?v=[0-9a-f]+)"`).FindStringSubmatch(index.body)
	if ref == nil {
		t.Fatalf("index.html does not ask for a versioned zaf.js: %s", index.body)
	}
	res := get(t, srv, ref[1], nil)
	if res.status != http.StatusOK || res.header.Get("Content-Type") != "text/javascript; charset=utf-8" ||
		res.header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("GET %s: %d %q %q", ref[1], res.status, res.header.Get("Content-Type"), res.header.Get("Cache-Control"))
	}
	for _, want := range []string{`"` + webpage.ZAFSDKURL + `"`, `"` + webpage.LocalZAFSDKPath + `"`, `q.get("origin")`, `q.get("app_guid")`, "window.sellchatZAF"} {
		if !strings.Contains(res.body, want) {
			t.Errorf("zaf.js lacks %s", want)
		}
	}
	if host := strings.Join(strings.SplitN(webpage.ZAFSDKURL, "/", 4)[:3], "/"); !strings.Contains(webpage.CSP("'none'"), "script-src 'self' "+host+";") {
		t.Errorf("the CSP does not allow the SDK's host %s: %s", host, webpage.CSP("'none'"))
	}
	// The page's other files are still its own; zaf.js is not a name a page may use.
	if got := get(t, srv, "/apps/demo/app.js", nil); got.body != string(page["app.js"].Data) {
		t.Errorf("app.js: %q", got.body)
	}
	defer func() {
		if recover() == nil {
			t.Error("a page with a zaf.js of its own was mounted")
		}
	}()
	webpage.Mount(httpx.NewRouter(slog.Default()), "/x", fstest.MapFS{"index.html": {Data: []byte("x")}, "zaf.js": {Data: []byte("1")}})
}
