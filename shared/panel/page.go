package panel

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/sellchat/sellchat/shared/httpx"
)

// web holds the panel page the Zendesk Chat iframe loads: plain HTML, CSS and
// JavaScript, no build step, no framework.
//
//go:embed web
var web embed.FS

// PagePath is where the panel page lives; the Chat app's manifest points its iframe here.
// "/apps/panel" (no slash) serves the same page: API Gateway's HTTP API cannot route a
// path ending in "/" and sends both spellings to the "/apps/panel" route.
const PagePath = "/apps/panel/"

// DefaultFrameAncestors are the hosts allowed to frame the page: the Zendesk apps
// framework shows it inside Zendesk Chat (zopim) and the Agent Workspace (zendesk).
const DefaultFrameAncestors = "https://*.zendesk.com https://*.zopim.com"

// frameSource is one CSP source expression accepted from FRAME_ANCESTORS: a scheme and
// host (wildcards allowed) with an optional port, 'self' or 'none'. Anything else
// (a ';' above all) could smuggle another directive into the header.
var frameSource = regexp.MustCompile(`^('self'|'none'|https?://[A-Za-z0-9*.-]+(:[0-9]{1,5})?)$`)

// frameAncestors reads FRAME_ANCESTORS (space separated), falling back to the default
// when it is unset or holds something that is not a plain source.
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

// PageCSP returns the Content-Security-Policy of the panel page for the given frame
// ancestors: our own files only, no inline code, calls only to this API.
func PageCSP(ancestors string) string {
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors " + ancestors
}

// pageAsset is one embedded file, ready to serve.
type pageAsset struct {
	body        []byte
	contentType string
	version     string // a short hash of body: the ETag, and the ?v= that index.html asks for
}

var pageContentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// loadPage reads the embedded files. index.html is rewritten so that it asks for
// each asset as "/apps/panel/name?v=<hash of the asset>": the asset can then be cached
// for good (a new deployment changes the URL) while index.html itself is revalidated,
// and the absolute path works whether the page was opened with the trailing slash
// or without it.
func loadPage() map[string]pageAsset {
	assets := map[string]pageAsset{}
	_ = fs.WalkDir(web, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := pageContentTypes[path.Ext(p)]
		if !ok {
			return nil // only the kinds of file the page is made of are served
		}
		body, err := web.ReadFile(p)
		if err != nil {
			return err
		}
		assets[strings.TrimPrefix(p, "web/")] = pageAsset{body: body, contentType: ct, version: shortHash(body)}
		return nil
	})
	if index, ok := assets["index.html"]; ok {
		body := index.body
		for name, a := range assets {
			if name == "index.html" {
				continue
			}
			for _, attr := range []string{`src="`, `href="`} {
				body = bytes.ReplaceAll(body, []byte(attr+name+`"`), []byte(attr+PagePath+name+"?v="+a.version+`"`))
			}
		}
		index.body, index.version = body, shortHash(body)
		assets["index.html"] = index
	}
	return assets
}

func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// registerPage adds the panel page's routes. The files are public: they hold no data,
// and the page signs its own calls with the agent's token from the apps framework.
// template.yaml wires the same two routes: "/apps/panel" and "/apps/panel/{file+}"
// (HTTP API's spelling of the rest-of-path wildcard {file...}).
func registerPage(rt *httpx.Router) {
	ancestors, ok := frameAncestors(os.Getenv)
	if !ok {
		// Logged once at start (app.MustLoad makes the deployment's logger the default);
		// the page still serves, with the safe default.
		slog.Default().Warn("FRAME_ANCESTORS holds something other than plain sources; using the default", "default", DefaultFrameAncestors)
	}
	h := &pageHandler{assets: loadPage(), csp: PageCSP(ancestors)}
	rt.HandleHTTP("GET "+strings.TrimSuffix(PagePath, "/"), h)
	rt.HandleHTTP("GET "+PagePath+"{file...}", h)
}

type pageHandler struct {
	assets map[string]pageAsset
	csp    string
}

func (h *pageHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file") // "" for the page itself; deeper paths match no asset
	if name == "" {
		name = "index.html"
	}
	a, ok := h.assets[name]
	if !ok {
		h.notFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("ETag", `"`+a.version+`"`)
	if name != "index.html" && r.URL.Query().Get("v") == a.version {
		// The URL names this exact content, so it never changes.
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		// The page (and an asset asked for without its version) must show a new
		// deployment at once; the ETag keeps revalidation to a 304.
		hd.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}

func (h *pageHandler) notFound(w http.ResponseWriter, r *http.Request) {
	httpx.WriteError(w, r, &httpx.Error{Status: http.StatusNotFound, Code: "not_found", Message: "The panel page has no such file."})
}
