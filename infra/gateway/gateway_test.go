package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sellchat/sellchat/shared/platform/httpx"
	"github.com/sellchat/sellchat/shared/platform/webpage"
)

// TestFramedByAddsTheSandboxToThePagesFrameAncestors: a page's CSP gets the extra
// origin in frame-ancestors and nowhere else, whether the page writes its header
// itself or lets its first Write do it; answers without a CSP are left alone.
func TestFramedByAddsTheSandboxToThePagesFrameAncestors(t *testing.T) {
	const sandbox = "http://127.0.0.1:8082"
	page := webpage.CSP(webpage.DefaultFrameAncestors)
	h := framedBy(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/page":
			w.Header().Set("Content-Security-Policy", page)
			w.WriteHeader(http.StatusOK)
		case "/write":
			w.Header().Set("Content-Security-Policy", page)
			_, _ = w.Write([]byte("x"))
		default:
			_, _ = w.Write([]byte(`{}`))
		}
	}), sandbox)
	want := strings.Replace(page, "frame-ancestors ", "frame-ancestors "+sandbox+" ", 1)
	for _, p := range []string{"/page", "/write"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if got := rec.Header().Get("Content-Security-Policy"); got != want {
			t.Errorf("%s: CSP %q, want %q", p, got, want)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api", nil))
	if got := rec.Header().Get("Content-Security-Policy"); got != "" {
		t.Errorf("an answer without a CSP got %q", got)
	}
}

// TestTheLocalSDKIsServedAsAScript serves the pinned SDK (fetching it once per cache,
// as make setup does) where the pages look for it on the loopback address.
func TestTheLocalSDKIsServedAsAScript(t *testing.T) {
	rt := httpx.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	rt.Handle("GET "+webpage.LocalZAFSDKPath, zafSDK)
	rec := httptest.NewRecorder()
	rt.ServeHTTP(rec, httptest.NewRequest("GET", webpage.LocalZAFSDKPath, nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/javascript; charset=utf-8" ||
		rec.Header().Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(rec.Body.String(), "window.ZAFClient") {
		t.Fatalf("GET %s: %d %v %.100s", webpage.LocalZAFSDKPath, rec.Code, rec.Header(), rec.Body.String())
	}
}
