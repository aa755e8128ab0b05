// Package webpage serves sellchat's embedded static pages (the settings page, the
// panel page and the feed page): plain HTML, CSS, JavaScript and SVG under one base
// path, with the security headers every page shares (a strict Content-Security-Policy
// whose frame-ancestors come from FRAME_ANCESTORS, nosniff, no-referrer), ETags and
// the cache policy. It owns how a page is routed, so that every page works on API
// Gateway's HTTP API, which cannot route a path ending in "/". Every page also gets
// zaf.js, the loader of the Zendesk apps framework's SDK (see ZAFSDKURL).
package webpage

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// DefaultFrameAncestors are the hosts allowed to frame a page: the Zendesk apps
// framework shows the pages inside Zendesk Support, Chat (zopim) and Sell.
const DefaultFrameAncestors = "https://*.zendesk.com https://*.zopim.com"

// ZAFSDKURL is where Zendesk serves the apps framework's SDK (ZAFClient) to app
// iframes, the latest 2.0 patch release: "Import the ZAF SDK from
// https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js"
// (https://developer.zendesk.com/documentation/apps/app-developer-guide/using-the-apps-framework/).
// zaf.js loads it when Zendesk opened the page; the CSP allows its host and no other.
const ZAFSDKURL = "https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js"

// zafSDKHost is ZAFSDKURL's origin, the one script source beside 'self'.
const zafSDKHost = "https://static.zdassets.com"

// LocalZAFSDKPath is where the local stack's gateway serves its pinned copy of the SDK
// (infra/zafsdk). zaf.js takes it instead of ZAFSDKURL on a page served from the
// loopback address, which cannot reach the CDN; AWS never serves the path.
const LocalZAFSDKPath = "/vendor/zaf_sdk.js"

// CSP returns the pages' Content-Security-Policy for the given frame ancestors: our
// own files and Zendesk's SDK only, no inline code, calls only to this API, framing
// only by ancestors.
func CSP(ancestors string) string {
	return "default-src 'self'; script-src 'self' " + zafSDKHost + "; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors " + ancestors
}

// zafLoader is zaf.js, served with every page (at <base>/zaf.js): it loads the SDK
// only when Zendesk opened the page and hands the page a promise of its client.
//
//go:embed zaf.js
var zafLoader []byte

// frameSource is one CSP source expression accepted from FRAME_ANCESTORS: a scheme and
// host (wildcards allowed) with an optional port, 'self' or 'none'. Anything else
// (a ';' above all) could smuggle another directive into the header.
var frameSource = regexp.MustCompile(`^('self'|'none'|https?://[A-Za-z0-9*.-]+(:[0-9]{1,5})?)$`)

// FrameAncestors reads FRAME_ANCESTORS (space separated) through getenv. It falls back
// to DefaultFrameAncestors when the variable is unset (ok) or holds anything that is
// not a plain source (not ok: the caller should say so).
func FrameAncestors(getenv func(string) string) (ancestors string, ok bool) {
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

// Option changes how Mount serves a page.
type Option func(*config)

type config struct {
	getenv     func(string) string
	logger     *slog.Logger
	folderOnly bool
	entry      Exchange
}

// Logger sets where a bad FRAME_ANCESTORS is reported (slog.Default() otherwise).
func Logger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Getenv replaces os.Getenv for reading FRAME_ANCESTORS (tests).
func Getenv(f func(string) string) Option { return func(c *config) { c.getenv = f } }

// FolderOnly leaves "GET <base>" to another route: the page is then served at
// "<base>/" only. The settings page needs it, as GET /settings is the settings API.
func FolderOnly() Option { return func(c *config) { c.folderOnly = true } }

// contentTypes are the kinds of file a page is made of; other files are not served.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// file is one page file, ready to serve.
type file struct {
	body        []byte
	contentType string
	version     string // a short hash of body: the ETag, and the ?v= index.html asks for
}

// Mount serves the page in files (index.html at its root) under base, e.g. "/apps/panel":
// it registers "GET <base>" and "GET <base>/{file...}" (HTTP API's "<base>" and
// "<base>/{file+}"). index.html is the page at both "<base>" and "<base>/", with no
// redirect between them: API Gateway sends both spellings to one route. index.html
// is rewritten to ask for each of its files as "<base>/name?v=<hash>", an absolute
// URL that works from either spelling and that can be cached for good, while
// index.html itself is revalidated (cheaply, by ETag). An unknown file is the JSON
// 404. The files are public: a page holds no data and signs its own calls.
//
// Mount panics when files has no index.html or base is not a path like "/a/b".
func Mount(rt *httpx.Router, base string, files fs.FS, opts ...Option) {
	if !strings.HasPrefix(base, "/") || strings.HasSuffix(base, "/") || strings.ContainsAny(base, "{} ") {
		panic(fmt.Sprintf("webpage: base %q must be a path like /apps/panel, without a trailing slash", base))
	}
	c := config{getenv: os.Getenv}
	for _, o := range opts {
		o(&c)
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	ancestors, ok := FrameAncestors(c.getenv)
	if !ok {
		// Reported once at start; the page still serves, with the safe default.
		c.logger.Warn("FRAME_ANCESTORS holds something other than plain sources; using the default", "page", base, "default", DefaultFrameAncestors)
	}
	loaded, err := load(files, base)
	if err != nil {
		panic(fmt.Sprintf("webpage: %s: %v", base, err))
	}
	h := &handler{files: loaded, csp: CSP(ancestors)}
	if !c.folderOnly {
		rt.HandleHTTP("GET "+base, h)
	}
	rt.HandleHTTP("GET "+base+"/{file...}", h)
	c.mountEntry(rt, base)
}

// load reads the page's files, adds zaf.js, and rewrites index.html's references to
// them.
func load(files fs.FS, base string) (map[string]file, error) {
	out := map[string]file{}
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return nil
		}
		body, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		out[p] = file{body: body, contentType: ct, version: shortHash(body)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, taken := out["zaf.js"]; taken {
		return nil, fmt.Errorf("zaf.js is the apps framework loader every page gets; the page may not bring its own")
	}
	out["zaf.js"] = file{body: zafLoader, contentType: contentTypes[".js"], version: shortHash(zafLoader)}
	index, ok := out["index.html"]
	if !ok {
		return nil, fmt.Errorf("no index.html")
	}
	body := index.body
	for name, f := range out {
		if name == "index.html" {
			continue
		}
		versioned := base + "/" + name + "?v=" + f.version + `"`
		for _, attr := range []string{`src="`, `href="`} {
			for _, ref := range []string{name, base + "/" + name} {
				body = bytes.ReplaceAll(body, []byte(attr+ref+`"`), []byte(attr+versioned))
			}
		}
	}
	index.body, index.version = body, shortHash(body)
	out["index.html"] = index
	return out, nil
}

func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

type handler struct {
	files map[string]file
	csp   string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file") // "" for the page itself, at <base> or <base>/
	if name == "" {
		name = "index.html"
	}
	f, ok := h.files[name]
	if !ok {
		httpx.WriteError(w, r, &httpx.Error{Status: http.StatusNotFound, Code: "not_found", Message: "This page has no such file."})
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", f.contentType)
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("ETag", `"`+f.version+`"`)
	if name != "index.html" && r.URL.Query().Get("v") == f.version {
		// The URL names this exact content, so it never changes.
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		// The page (and a file asked for without its version) must show a new
		// deployment at once; the ETag keeps revalidation to a 304.
		hd.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}
