package zendesktest

import (
	"cmp"
	"net/http"
	"strings"
	"time"
)

// Faults make the sandbox misbehave on API calls (never on OAuth or /sandbox/).
type Faults struct {
	// Latency is added to every API call, e.g. 40 ms for a WAN round trip.
	Latency time.Duration
	// ErrorRate is the fraction of calls, in [0,1], answered with ErrorStatus (503 when
	// zero). Decisions come from a seeded generator, so a run is repeatable.
	ErrorRate   float64
	ErrorStatus int
}

// SetFaults replaces the fault configuration; Faults{} turns faults off.
func (s *Sandbox) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// FailNext answers the next n API calls with status, then behaves again. A forced 429
// carries Retry-After: 1, like a real one.
func (s *Sandbox) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, status)
	}
}

// applyFaults runs the faults of one call; false means the response is written.
func (s *Sandbox) applyFaults(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	f, status := s.faults, 0
	if len(s.failNext) > 0 {
		status, s.failNext = s.failNext[0], s.failNext[1:]
	} else if f.ErrorRate > 0 && s.rng.Float64() < f.ErrorRate {
		status = cmp.Or(f.ErrorStatus, http.StatusServiceUnavailable)
	}
	s.mu.Unlock()
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return false
		case <-s.closed:
		}
	}
	if status == 0 {
		return true
	}
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeError(w, status, strings.ReplaceAll(http.StatusText(status), " ", ""), "Injected by the sandbox.")
	return false
}

// Call is one request the sandbox answered.
type Call struct {
	Method string
	Path   string
	Status int
}

// String is "METHOD /path", the form CallCount takes.
func (c Call) String() string { return c.Method + " " + c.Path }

func (s *Sandbox) logCall(r *http.Request, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{Method: r.Method, Path: r.URL.Path, Status: status})
}

// Calls returns every request answered since the start or ResetCalls, in order: API
// calls, OAuth and /sandbox/ alike, failed ones included.
func (s *Sandbox) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallCount counts the calls to "METHOD /path", e.g.
// "GET /api/v2/chat/incremental/chats".
func (s *Sandbox) CallCount(methodPath string) int {
	n := 0
	for _, c := range s.Calls() {
		if c.String() == methodPath {
			n++
		}
	}
	return n
}

// ResetCalls empties the call log.
func (s *Sandbox) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}
