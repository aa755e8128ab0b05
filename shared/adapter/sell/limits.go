package sell

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiters is a registry of per-token rate limiters. Sell counts requests per
// token, so every Client in a process that uses the same token must draw from
// the same bucket; clients are cheap and created per request, the registry is
// not. Safe for concurrent use.
type Limiters struct {
	limit rate.Limit
	burst int

	mu sync.Mutex
	m  map[string]*limiterEntry
}

type limiterEntry struct {
	lim      *rate.Limiter
	lastUsed time.Time
}

// NewLimiters returns a registry handing out limiters of r requests per second
// with the given burst. r <= 0 means no limit.
func NewLimiters(r float64, burst int) *Limiters {
	l := rate.Limit(r)
	if r <= 0 {
		l = rate.Inf
	}
	if burst < 1 {
		burst = 1
	}
	return &Limiters{limit: l, burst: burst, m: make(map[string]*limiterEntry)}
}

// defaultLimiters keeps us under Sell's 10 requests/second per token. The
// burst is small so that a cold Lambda firing a lookup's parallel reads is not
// slowed, while a loop cannot run ahead of the budget.
var defaultLimiters = NewLimiters(10, 5)

// maxIdleLimiter bounds memory: a token unused for this long has a full bucket
// anyway, so dropping its limiter changes nothing.
const maxIdleLimiter = 10 * time.Minute

// get returns the limiter of key, creating it on first use.
func (l *Limiters) get(key string) *rate.Limiter {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.m[key]; ok {
		e.lastUsed = now
		return e.lim
	}
	if len(l.m) >= 1024 {
		for k, e := range l.m {
			if now.Sub(e.lastUsed) > maxIdleLimiter {
				delete(l.m, k)
			}
		}
	}
	e := &limiterEntry{lim: rate.NewLimiter(l.limit, l.burst), lastUsed: now}
	l.m[key] = e
	return e.lim
}
