package zendesktest

import (
	"cmp"
	"net/http"
	"strings"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sandbox"
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
func (s *Sandbox) SetFaults(f Faults) { s.faults.Set(f) }

// FailNext answers the next n API calls with status, then behaves again. A forced 429
// carries Retry-After: 1, like a real one.
func (s *Sandbox) FailNext(n, status int) { s.faults.FailNext(n, status) }

// applyFaults runs the faults of one call; false means the response is written.
func (s *Sandbox) applyFaults(w http.ResponseWriter, r *http.Request) bool {
	f, status := s.faults.Next()
	if status == 0 && f.ErrorRate > 0 && s.faults.Roll() < f.ErrorRate {
		status = cmp.Or(f.ErrorStatus, http.StatusServiceUnavailable)
	}
	// A closed sandbox answers at once; a request given up on gets no answer.
	if f.Latency > 0 && !s.faults.Hold(r, f.Latency) && r.Context().Err() != nil {
		return false
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
type Call = sandbox.Call

func (s *Sandbox) logCall(r *http.Request, status int) {
	s.calls.Add(Call{Method: r.Method, Path: r.URL.Path, Status: status})
}

// Calls returns every request answered since the start or ResetCalls, in order: API
// calls, OAuth and /sandbox/ alike, failed ones included.
func (s *Sandbox) Calls() []Call { return s.calls.All() }

// CallCount counts the calls to "METHOD /path", e.g.
// "GET /api/v2/chat/incremental/chats".
func (s *Sandbox) CallCount(methodPath string) int { return s.calls.Count(methodPath) }

// ResetCalls empties the call log.
func (s *Sandbox) ResetCalls() { s.calls.Reset() }
