package webpage

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/url"

	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// MaxEntryBody bounds the signed POST: one form field holding a JWT of a few
// kilobytes.
const MaxEntryBody = 16 << 10

// Exchange turns the token Zendesk posts to an app's entry URL into a sellchat
// session token; its errors are *httpx.Error answers (401 invalid_token and the like).
type Exchange func(ctx context.Context, zendeskToken string) (session string, err error)

// SignedEntry makes the page's entry URL accept the apps framework's signed-URL POST:
// Zendesk posts the form field "token" once, when the iframe loads
// (https://developer.zendesk.com/documentation/apps/build-an-app/building-a-server-side-app/part-5-secure-the-app/;
// the form field is an assumption, see shared/adapter/zendesk/assumptions.go). The
// token is exchanged for a session, and the browser is sent on to the page with a
// 303: the session rides in the URL fragment (never sent to a server, so never in a
// log), and the query keeps only origin and app_guid, which the ZAF SDK reads from
// location.search to find its parent frame.
//
// A nil x still serves the routes, answering 503 sessions_not_configured: a
// deployment without a session key has the same routes as one with it.
func SignedEntry(x Exchange) Option {
	return func(c *config) {
		if x == nil {
			x = func(context.Context, string) (string, error) { return "", ErrSessionsOff }
		}
		c.entry = x
	}
}

// ErrSessionsOff answers a sign-in on a deployment that cannot mint sessions.
var ErrSessionsOff = &httpx.Error{Status: http.StatusServiceUnavailable, Code: "sessions_not_configured",
	Message: "This deployment cannot sign anyone in: SESSION_SIGNING_KEY is not set."}

func (c *config) mountEntry(rt *httpx.Router, base string) {
	if c.entry == nil {
		return
	}
	h := entryHandler(base, c.entry)
	// "POST <base>" even for a FolderOnly page: HTTP API delivers "<base>/" to the
	// "<base>" route, and no API route posts to "<base>".
	rt.Handle("POST "+base, h)
	// "<base>/{file...}" mirrors the GET routes (HTTP API's "<base>/{file+}"); only the
	// page itself, "<base>/", is an entry URL.
	rt.Handle("POST "+base+"/{file...}", func(w http.ResponseWriter, r *http.Request) error {
		if r.PathValue("file") != "" {
			return httpx.ErrNotFound
		}
		return h(w, r)
	})
}

func entryHandler(base string, x Exchange) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "application/x-www-form-urlencoded" {
			return &httpx.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
				Message: "The entry URL takes the apps framework's form post (application/x-www-form-urlencoded, field token)."}
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxEntryBody)
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return &httpx.Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: "The entry form is larger than 16 KiB."}
			}
			return &httpx.Error{Status: http.StatusBadRequest, Code: "malformed_form", Message: "The form could not be read."}
		}
		token := r.PostForm.Get("token")
		if token == "" {
			return &httpx.Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "Open this page from Zendesk: the entry URL needs the apps framework's signed token (form field token)."}
		}
		session, err := x(r.Context(), token)
		if err != nil {
			return err
		}
		q := url.Values{}
		for _, k := range []string{"origin", "app_guid"} {
			if v := r.URL.Query().Get(k); v != "" {
				q.Set(k, v)
			}
		}
		target := base + "/"
		if len(q) > 0 {
			target += "?" + q.Encode()
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		http.Redirect(w, r, target+"#token="+url.QueryEscape(session), http.StatusSeeOther)
		return nil
	}
}
