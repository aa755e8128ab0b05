package admin

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"os"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/sellchat/sellchat/shared/httpx"
)

// web holds the settings page: plain HTML, CSS and JavaScript, no build step.
//
//go:embed web
var web embed.FS

// DefaultFrameAncestors are the hosts allowed to frame the page: the Zendesk apps
// framework shows it inside Zendesk Support and Chat.
const DefaultFrameAncestors = "https://*.zendesk.com https://*.zopim.com"

// frameSource is one CSP source expression we accept from FRAME_ANCESTORS: a scheme
// and host (wildcards allowed) with an optional port, 'self' or 'none'. Anything
// else could smuggle another directive into the header.
var frameSource = regexp.MustCompile(`^('self'|'none'|https?://[A-Za-z0-9*.-]+(:[0-9]{1,5})?)$`)

// frameAncestors reads FRAME_ANCESTORS (space separated), falling back to the
// default when it is unset or holds something that is not a plain source.
func frameAncestors(getenv func(string) string) (string, bool) {
	raw := strings.Fields(getenv("FRAME_ANCESTORS"))
	if len(raw) == 0 {
		return DefaultFrameAncestors, true
	}
	for _, s := range raw {
		if !frameSource.MatchString(s) {
			return DefaultFrameAncestors, false
		}
	}
	return strings.Join(raw, " "), true
}

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// page serves the settings page's files under /settings/ with a strict Content
// Security Policy: scripts and styles only from our own files, no inline code, and
// framing only by the configured hosts.
func (h *handler) page() http.Handler {
	ancestors, ok := frameAncestors(os.Getenv)
	if !ok {
		h.deps.Logger.Warn("FRAME_ANCESTORS holds something other than plain sources; using the default", "default", DefaultFrameAncestors)
	}
	csp := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors " + ancestors
	assets := map[string]asset{}
	_ = fs.WalkDir(web, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := web.ReadFile(p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return nil // only the kinds of file the page is made of are served
		}
		sum := sha256.Sum256(body)
		assets[strings.TrimPrefix(p, "web/")] = asset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("path")
		if name == "" {
			name = "index.html"
		}
		a, ok := assets[name]
		if !ok {
			httpx.WriteError(w, r, &httpx.Error{Status: http.StatusNotFound, Code: "not_found", Message: "The settings page has no such file."})
			return
		}
		hd := w.Header()
		hd.Set("Content-Type", a.contentType)
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		// Revalidate every time (a new deployment must show at once); the ETag keeps
		// that to a 304 when nothing changed.
		hd.Set("Cache-Control", "no-cache")
		hd.Set("ETag", a.etag)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
	})
}
