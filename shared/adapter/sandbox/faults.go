package sandbox

import (
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Injector is a sandbox's fault injection. F is the sandbox's own Faults type (what
// may go wrong there: latency, errors, hangs), and the Injector keeps the rest: the
// configuration SetFaults set, the statuses FailNext queued, the seeded generator the
// fault rates roll (so a run is repeatable), and the sandbox's closing, which releases
// the requests a fault holds. The zero value injects nothing; it is safe for
// concurrent use.
type Injector[F any] struct {
	mu        sync.Mutex
	config    F
	failNext  []int
	rng       *mrand.Rand
	closed    chan struct{}
	closeOnce sync.Once
}

// Set replaces the configuration.
func (in *Injector[F]) Set(config F) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.config = config
}

// Heal drops the statuses FailNext queued and the configuration: the sandbox
// answers normally from the next call.
func (in *Injector[F]) Heal() {
	in.mu.Lock()
	defer in.mu.Unlock()
	var zero F
	in.config, in.failNext = zero, nil
}

// FailNext queues status for the next n calls.
func (in *Injector[F]) FailNext(n, status int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for range n {
		in.failNext = append(in.failNext, status)
	}
}

// Next returns the configuration for one call and the status FailNext queued for it,
// 0 when none is left.
func (in *Injector[F]) Next() (config F, forced int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.failNext) > 0 {
		forced, in.failNext = in.failNext[0], in.failNext[1:]
	}
	return in.config, forced
}

// Roll returns the next number in [0,1) of the generator, seeded alike in every
// sandbox, to compare with a fault's rate.
func (in *Injector[F]) Roll() float64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.rng == nil {
		in.rng = mrand.New(mrand.NewPCG(1, 2))
	}
	return in.rng.Float64()
}

// Hold keeps a call waiting d; false when the request or the sandbox ended first.
func (in *Injector[F]) Hold(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-in.closedChan():
	}
	return false
}

// Close releases the calls held now and the ones held later: a closed sandbox
// answers at once.
func (in *Injector[F]) Close() {
	in.closeOnce.Do(func() { close(in.closedChan()) })
}

// closedChan is closed by Close; made on first use so that the zero value works.
func (in *Injector[F]) closedChan() chan struct{} {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed == nil {
		in.closed = make(chan struct{})
	}
	return in.closed
}
