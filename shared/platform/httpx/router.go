package httpx

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
)

// HandlerFunc is a handler that returns an error; the router turns the error into the
// JSON error shape in one place.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Router is a Go 1.22 ServeMux that remembers its patterns (so the local gateway and
// the template test can list them) and answers unknown routes and wrong methods with
// the JSON error shape instead of ServeMux's plain text.
type Router struct {
	mux      *http.ServeMux
	patterns []string
	logger   *slog.Logger
}

// NewRouter returns an empty router whose requests are logged to logger.
func NewRouter(logger *slog.Logger) *Router {
	return &Router{mux: http.NewServeMux(), logger: logger}
}

// Handle registers h for a pattern like "GET /settings".
func (rt *Router) Handle(pattern string, h HandlerFunc) {
	rt.patterns = append(rt.patterns, pattern)
	rt.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(w, r, err)
		}
	}))
}

// HandleHTTP registers a plain http.Handler (static files, redirects).
func (rt *Router) HandleHTTP(pattern string, h http.Handler) {
	rt.patterns = append(rt.patterns, pattern)
	rt.mux.Handle(pattern, h)
}

// Patterns lists the registered patterns in registration order.
func (rt *Router) Patterns() []string { return append([]string(nil), rt.patterns...) }

// ServeHTTP serves the request with the shared conventions applied.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	Wrap(http.HandlerFunc(rt.dispatch), rt.logger).ServeHTTP(w, r)
}

func (rt *Router) dispatch(w http.ResponseWriter, r *http.Request) {
	if !clean(r.URL.Path) {
		// ServeMux would redirect to the cleaned path (even when it names a served
		// route); a path that is not in its clean form names no route of ours.
		WriteError(w, r, ErrNotFound)
		return
	}
	h, pattern := rt.mux.Handler(r)
	if pattern != "" {
		rt.mux.ServeHTTP(w, r)
		return
	}
	// No pattern matched: ServeMux would answer 404, 405 (with Allow) or a redirect
	// in plain text. Let it decide, then say it in JSON. Its redirects (a path with
	// dot segments or doubled slashes, to the cleaned path) are answered as a 404:
	// API Gateway routes the path as sent, every route is served at each spelling
	// it has, and a redirect would be the one answer of the API that is not JSON.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", rec.Header().Get("Allow"))
		WriteError(w, r, &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: "This route does not accept " + r.Method + "."})
		return
	}
	WriteError(w, r, ErrNotFound)
}

// clean reports whether p is already what ServeMux would clean it to: rooted,
// without dot segments or doubled slashes (a trailing slash is kept).
func clean(p string) bool {
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// Unwrapped serves the routes without the shared conventions; the local gateway
// mounts it under its own router so each request is wrapped (and logged) once.
func (rt *Router) Unwrapped() http.Handler { return http.HandlerFunc(rt.dispatch) }
