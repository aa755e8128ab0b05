package httpx

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// deadlineRouter answers GET /deadline after recording the deadline its handler saw.
func deadlineRouter(seen chan<- time.Time) *Router {
	rt := NewRouter(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	rt.Handle("GET /deadline", func(w http.ResponseWriter, r *http.Request) error {
		d, ok := r.Context().Deadline()
		if !ok {
			d = time.Time{}
		}
		seen <- d
		WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
		return nil
	})
	return rt
}

func TestEveryRequestRunsUnderATimeBudget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		wrap   func(http.Handler) http.Handler
		outer  time.Duration // a deadline the request already carries (Lambda's); 0: none
		budget time.Duration // the deadline the handler should see, from now
	}{
		{"by default, DefaultBudget", nil, 0, DefaultBudget},
		{"a lower budget from WithBudget", func(h http.Handler) http.Handler { return WithBudget(h, 2*time.Second) }, 0, 2 * time.Second},
		{"never a higher one", func(h http.Handler) http.Handler { return WithBudget(h, time.Hour) }, 0, DefaultBudget},
		{"a second before the invocation's own deadline when that is sooner", nil, 4 * time.Second, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			seen := make(chan time.Time, 1)
			var h http.Handler = deadlineRouter(seen)
			if tc.wrap != nil {
				h = tc.wrap(h)
			}
			r := httptest.NewRequest("GET", "/deadline", nil)
			began := time.Now()
			if tc.outer > 0 {
				ctx, cancel := context.WithTimeout(r.Context(), tc.outer)
				defer cancel()
				r = r.WithContext(ctx)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			ended := time.Now()
			deadline := <-seen
			if deadline.IsZero() {
				t.Fatal("the handler ran without a deadline")
			}
			// The deadline is set while the request is served, so it lies between.
			if deadline.Before(began.Add(tc.budget)) || deadline.After(ended.Add(tc.budget)) {
				t.Fatalf("the handler's deadline is %s after the request began, want %s", deadline.Sub(began), tc.budget)
			}
		})
	}
}

func TestARequestWhoseBudgetRunsOutIsA503WithRetryAfter(t *testing.T) {
	t.Parallel()
	rt := NewRouter(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	// A dependency that never answers but honours its context, as the AWS SDK does.
	rt.Handle("GET /stalled", func(w http.ResponseWriter, r *http.Request) error {
		select {
		case <-r.Context().Done():
			return fmt.Errorf("load settings: %w", r.Context().Err())
		case <-time.After(time.Minute):
			return nil
		}
	})
	w := httptest.NewRecorder()
	WithBudget(rt, 200*time.Millisecond).ServeHTTP(w, httptest.NewRequest("GET", "/stalled", nil))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q: %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if code, _ := errorOf(t, w.Body.String()); code != "temporarily_unavailable" {
		t.Fatalf("code %q", code)
	}
}
