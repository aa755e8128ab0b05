package chatstore

import (
	"sync"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store"
)

// An account's chats reach Sell no faster than its Sell budget allows (36,000
// requests an hour per token, 10 a second: "Pricing and Rate Limits",
// https://developer.zendesk.com/api-reference/sales-crm/rate-limits/; and at least
// one note a chat). A chat sent down the table's stream beyond that
// pace only waits there to be queued for the drain, and while it waits every other
// account's chat behind it on the shard waits too: 5,000 chats of one account,
// stored at once, held the others' p99 at 12× an idle system's
// (BenchmarkFloodFairness). So Ingest admits an account's chats to the stream at
// that pace, with a burst of one stream batch, and stores the rest straight into the
// account's backlog (store.CreateQueued), where the stream filter does not see them.
//
// The buckets are this process's: in AWS each warm instance of an ingesting function
// keeps its own, so a flood spread over many instances is admitted faster than
// AdmitRate, and the stream queues the surplus as it did before; the chat poll, which
// brings most chats of real Zendesk (a page of the export at a time, one run per
// account), is held to it exactly.
//
// A chat stored into the backlog spends a token too, into debt: the chats queued
// before it drain at that same pace, and until they have, a chat sent down the
// stream would only be queued behind them by the transcripts handler, after a stream
// write, a wait for Sell's budget (InlineWait) that every other account's chat in
// its batch shares, and a transaction. So once an account's chats go into its
// backlog, they all do until the debt is repaid at AdmitRate, for at most
// AdmitDebtFor after the last. A backlog that drains faster (chats matching
// nothing need no note) keeps such chats for its next drain run, a minute at most.
const (
	AdmitRate    = 10 // chats a second per account
	AdmitBurst   = 25 // the transcripts function's BatchSize in template.yaml
	AdmitDebtFor = time.Minute
)

// admission is a token bucket per account, whose tokens may go down to -debt.
type admission struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	debt    float64
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newAdmission(rate, burst float64) *admission {
	return &admission{rate: rate, burst: burst, debt: rate * AdmitDebtFor.Seconds(), buckets: map[string]*bucket{}}
}

// take reports whether account's chat arriving at now goes down the stream, and
// spends a token either way (into debt when there is none). Callers pass the wall
// clock, not Ingest's: the pace is Sell's, in real seconds.
func (a *admission) take(account string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, ok := a.buckets[account]
	if !ok {
		b = &bucket{tokens: a.burst, at: now}
		a.buckets[account] = b
	}
	if dt := now.Sub(b.at).Seconds(); dt > 0 {
		b.tokens = min(a.burst, b.tokens+dt*a.rate)
		b.at = now
	}
	admitted := b.tokens >= 1
	b.tokens = max(b.tokens-1, -a.debt)
	return admitted
}

// Admit makes Ingest send each account's chats down the stream at most rate a second
// with bursts of burst, and store the others straight into the account's backlog;
// it returns cs. Without it every chat goes down the stream.
func (cs *Store) Admit(rate, burst float64) *Store {
	cs.admit = newAdmission(rate, burst)
	return cs
}

// ForIngest is the Store the routes that take chats in use: it refuses chats of
// visitors erased names (CheckErasures) and admits each account's chats to the
// stream at its Sell pace (Admit with AdmitRate and AdmitBurst).
func ForIngest(s *store.Store, erased ErasedFunc) *Store {
	return New(s).CheckErasures(erased).Admit(AdmitRate, AdmitBurst)
}
