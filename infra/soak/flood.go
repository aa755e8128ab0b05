package soak

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"golang.org/x/sync/errgroup"

	"github.com/sellchat/sellchat/infra/streams"
	"github.com/sellchat/sellchat/infra/template"
	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/store/privacystore"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// The flooded-account scenario. Sell allows a token 10 requests a second, so one
// account's flood of chats (an import, a busy hour) takes minutes to reach Sell. While
// it does, nothing may be lost or doubled, Sell's 429 may never count as a failure, and
// the other accounts, whose chats share the table and so the stream, must reach their
// feeds as fast as when nothing floods.
const (
	// FloodAccounts are connected, each with its own Sell token; one is flooded.
	FloodAccounts = 20
	// Flood429Rate of Sell calls are answered 429 with Retry-After (the sandbox's
	// injected faults), on top of the sandbox's own limit, Sell's 10 requests a second
	// per token: Sell may answer 429 before the budget it states is spent, and the
	// client's limiter cannot prevent those.
	Flood429Rate = 0.03
	// TricklePeriod: each account but the flooded one stores a chat this often
	// (staggered), before, during and after the flood.
	TricklePeriod = 3 * time.Second
	// FloodIdleFor is how long the trickle runs before the flood: the others'
	// latency on an idle system.
	FloodIdleFor = 15 * time.Second
	// FairnessSlack bounds how much later the others' chats may reach their feeds
	// during the flood than before it (p99 against p99). An other account's chat is
	// processed in its stream batch within a few Sell calls, unless Sell answers it
	// a 429: then it waits in its account's backlog for the next drain run, which
	// starts every FloodDrainEvery but only once the run before it ended, and a run
	// that drains the flood ends after the page of 25 chats it is on (2.5 s at 10
	// requests a second, a second more per 429). The stream also carries the flood's
	// records ahead of theirs: seconds' worth while 5,000 chats are being stored. So
	// a fair system adds seconds: on an idle machine nothing at the small size; about
	// 8 s at the full size, and at the small size beside two other test suites on the
	// same two cores. 15 s leaves room for that noise. An unfair system, whose other
	// accounts wait behind the flood's backlog, adds the flood's whole drain: 30 s at
	// the small size (measured: p99 32 s with InlineWait a minute), nine minutes at
	// the full one.
	FairnessSlack = 15 * time.Second
	// FloodDrainEvery is how often the backlogs are drained, and each run's window,
	// as the local stack does (localstack.DrainInterval; AWS: every minute, 50 s).
	FloodDrainEvery = 2 * time.Second
)

const (
	floodedAccount = "flooded"
	floodLeads     = 40 // leads the visitors are; a tenth of the visitors match nothing
	floodWriters   = 16 // stores of the flood in flight at once
)

// FloodFigures is what the flooded-account scenario counted.
type FloodFigures struct {
	Accounts int           // connected, each with its own Sell token
	Flooded  int           // chats stored at once for the flooded account
	Others   int           // chats the other accounts stored, a steady trickle
	Store    time.Duration // storing the flood took

	Processed, InFeed, Unmatched int // chats done: in their records' feeds, or matching nothing

	Lost    int // chats never done, or done without their feed entry or note
	Doubled int // a second feed entry, or a second Sell note, for one chat and record

	MarkedFailed int                           // times the processor marked a chat failed (a 429 must never be one)
	FailedAtEnd  int                           // chats left failed
	DeadLettered int                           // stream records given up on, as Lambda's dead-letter queue would get them
	Deferred     struct{ Flooded, Others int } // chats queued for the drain: their token's budget was spent

	SellCalls int
	TooMany   struct{ All, Injected, Flooded int } // 429s Sell answered: all, of them injected, to the flooded account's token

	FloodTook    time.Duration // from the flood's first store to its last chat done
	Idle, During latencies     // the other accounts' chats, stored → done: before the flood, during it
	Took         time.Duration
	problems     problems
}

// latencies summarise how long chats took from stored to done.
type latencies struct {
	N             int
	P50, P99, Max time.Duration
}

func latenciesOf(d []time.Duration) latencies {
	if len(d) == 0 {
		return latencies{}
	}
	return latencies{N: len(d), P50: apptest.Percentile(d, 50), P99: apptest.Percentile(d, 99), Max: apptest.Percentile(d, 100)}
}

func (l latencies) String() string {
	return fmt.Sprintf("p50 %v, p99 %v, max %v (%d chats)", round(l.P50), round(l.P99), round(l.Max), l.N)
}

// Check is nil when nothing was lost, doubled or failed, Sell did answer 429s, and
// the others' chats were not held up by the flood beyond FairnessSlack.
func (f FloodFigures) Check() error {
	var bad []string
	if f.Lost != 0 || f.Doubled != 0 {
		bad = append(bad, fmt.Sprintf("%d lost, %d doubled", f.Lost, f.Doubled))
	}
	if f.MarkedFailed != 0 || f.FailedAtEnd != 0 || f.DeadLettered != 0 {
		bad = append(bad, fmt.Sprintf("chats marked failed %d times (%d left failed), %d stream records dead-lettered", f.MarkedFailed, f.FailedAtEnd, f.DeadLettered))
	}
	if f.TooMany.All == 0 || f.Deferred.Flooded == 0 {
		// Without them the scenario tested nothing of Sell's pace.
		bad = append(bad, fmt.Sprintf("Sell answered %d 429s and %d flooded chats were queued for the drain: want some of each", f.TooMany.All, f.Deferred.Flooded))
	}
	switch {
	case f.Idle.N == 0 || f.During.N == 0:
		bad = append(bad, fmt.Sprintf("others' chats processed before the flood %d, during it %d: want some of each", f.Idle.N, f.During.N))
	case f.During.P99 > f.Idle.P99+FairnessSlack:
		bad = append(bad, fmt.Sprintf("during the flood the others' chats took up to %v (p99), idle %v: more than %v later", round(f.During.P99), round(f.Idle.P99), FairnessSlack))
	}
	if bad == nil {
		return nil
	}
	return fmt.Errorf("flood: %s\n%s", strings.Join(bad, "; "), f.problems.String())
}

func (f FloodFigures) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "flood: %d accounts (own Sell token each, Sell's 10 requests/s; %.0f %% of calls answered 429 with Retry-After), stream poller and a drain every %v: %v\n",
		f.Accounts, Flood429Rate*100, FloodDrainEvery, round(f.Took))
	fmt.Fprintf(&b, "  1 flooded with %d chats at once (stored in %v), %d trickling a chat each every %v (%d chats)\n",
		f.Flooded, round(f.Store), f.Accounts-1, TricklePeriod, f.Others)
	rate := 0.0
	if f.FloodTook > 0 {
		rate = float64(f.Flooded) / f.FloodTook.Seconds()
	}
	fmt.Fprintf(&b, "  processed %d of %d (in feed %d, unmatched %d); the flood took %v (%.1f chats/s)\n",
		f.Processed, f.Flooded+f.Others, f.InFeed, f.Unmatched, round(f.FloodTook), rate)
	fmt.Fprintf(&b, "  Sell: %d calls, %d answered 429 (%d injected, %d to the flooded token); queued for the drain: flooded %d, others %d\n",
		f.SellCalls, f.TooMany.All, f.TooMany.Injected, f.TooMany.Flooded, f.Deferred.Flooded, f.Deferred.Others)
	fmt.Fprintf(&b, "  others' chats, stored → done: idle %v\n", f.Idle)
	fmt.Fprintf(&b, "                         during the flood %v (allowed: idle p99 + %v)\n", f.During, FairnessSlack)
	fmt.Fprintf(&b, "  marked failed %d (left failed %d), dead-lettered %d, lost %d, doubled %d", f.MarkedFailed, f.FailedAtEnd, f.DeadLettered, f.Lost, f.Doubled)
	if s := f.problems.String(); s != "" {
		b.WriteString("\n" + s)
	}
	return b.String()
}

// Flood connects FloodAccounts accounts with chat history on, runs the transcripts
// function as the local stack does (its stream handler on the table's stream, its
// drain every FloodDrainEvery) against a Sell sandbox that keeps Sell's limit and
// answers some calls 429, lets every account but one store a chat every
// TricklePeriod, and after FloodIdleFor stores size.Flood chats for the remaining
// one at once. It runs until every chat is done and counts each chat's outcome, feed
// entries and notes, and how long the others' chats took before and during the flood.
func Flood(ctx context.Context, t testing.TB, size Size) (f FloodFigures, err error) {
	t.Helper()
	began := time.Now()
	f = FloodFigures{Accounts: FloodAccounts, Flooded: size.Flood}
	r, err := newFloodRun(ctx, t)
	if err != nil {
		return f, err
	}
	defer func() { f.problems.logged = r.log.summary() }()

	stop := sync.OnceFunc(r.run(ctx, transcripts.New(r.env.TranscriptsDeps(), phone.E164)))
	defer stop()
	stopTrickle := r.trickle(ctx, r.accounts[1:])
	if err := sell.Sleep(ctx, FloodIdleFor); err != nil {
		return f, fmt.Errorf("before the flood: %w", errors.Join(err, stopTrickle()))
	}
	floodAt := time.Now()
	if err := r.flood(ctx, size.Flood); err != nil {
		return f, errors.Join(err, stopTrickle())
	}
	f.Store = time.Since(floodAt)
	t.Logf("flood stored: %d chats in %v", size.Flood, round(f.Store))
	if err := r.until(ctx, "the flood done", func() (bool, error) { return r.done(ctx, floodedAccount) }); err != nil {
		return f, errors.Join(err, stopTrickle())
	}
	t.Logf("flood done after %v", round(time.Since(floodAt)))
	if err := stopTrickle(); err != nil {
		return f, fmt.Errorf("trickle: %w", err)
	}
	if err := r.until(ctx, "every chat done", func() (bool, error) { return r.allDone(ctx) }); err != nil {
		return f, err
	}
	if err := r.until(ctx, "the backlogs closed", func() (bool, error) {
		accounts, err := r.st.BacklogAccounts(ctx)
		return len(accounts) == 0, err
	}); err != nil {
		return f, err
	}
	stop() // before counting: nothing is processed any more
	f.Took = time.Since(began)
	if err := r.failure(); err != nil {
		return f, err
	}
	f.SellCalls = r.env.Sell.TotalCalls()
	f.TooMany.All, f.TooMany.Injected, f.TooMany.Flooded = r.meter.counts()
	f.Deferred.Flooded, f.Deferred.Others, f.MarkedFailed = r.log.counts()
	f.DeadLettered = int(r.dead.Load())
	return f, r.count(ctx, &f, floodAt)
}

// floodRun is one run of the scenario: the deployment, the chats it was sent and
// what watched it.
type floodRun struct {
	env      *apptest.Env
	st       *store.Store
	cs       *chatstore.Store
	meter    *sellMeter
	log      *floodLog
	logger   *slog.Logger
	accounts []string // the flooded one first
	leads    []int64

	mu   sync.Mutex
	rng  *rand.Rand
	next map[string]int                 // account → its next chat's number
	want map[string]map[string][]string // account → chat id → the records it matches, once stored

	dead atomic.Int64          // stream records dead-lettered
	fail atomic.Pointer[error] // the first error of the poller or the drain
}

// newFloodRun builds the deployment: a fresh table, the Sell sandbox at Sell's limit
// behind a meter of its 429s, a vault whose clients keep to that limit as in
// production, and the accounts connected with chat history on.
func newFloodRun(ctx context.Context, t testing.TB) (*floodRun, error) {
	t.Helper()
	env := apptest.New(t) // its Sell sandbox keeps Sell's limit: 10 requests a second per token
	r := &floodRun{env: env, st: env.Deps.Store, log: &floodLog{queued: map[string]int{}},
		rng: rand.New(rand.NewPCG(16, 17)), next: map[string]int{}, want: map[string]map[string][]string{}}
	r.logger = slog.New(r.log)
	env.Deps.Logger = r.logger
	r.meter = &sellMeter{next: env.Sell.Sandbox}
	meterSrv := httptest.NewServer(r.meter)
	t.Cleanup(meterSrv.Close)
	env.Deps.Config.SellAPIURL = meterSrv.URL
	v := tokens.NewVault(env.Deps.Store, env.Deps.Box, env.Deps.Config.SellOAuth(), meterSrv.URL)
	v.Limiters = sell.NewLimiters(10, 5) // production's: the client's default registry
	v.Cache = sell.NewCache(time.Minute, nil)
	env.Deps.Vault = v
	r.cs = chatstore.ForIngest(r.st, privacystore.New(r.st, env.Deps.Box).ErasedAll) // as the webhook stores

	r.accounts = append(r.accounts, floodedAccount)
	for i := 1; i < FloodAccounts; i++ {
		r.accounts = append(r.accounts, fmt.Sprintf("other%02d", i))
	}
	for _, a := range r.accounts {
		apptest.ConnectSandbox(t, env.Sell.Sandbox, env.Deps, a) // a token of its own
		env.SetHistory(t, a, true)
		r.want[a] = map[string][]string{}
	}
	tok, _, err := v.Load(ctx, floodedAccount, tokens.Admin())
	if err != nil {
		return nil, fmt.Errorf("the flooded account's token: %w", err)
	}
	r.meter.flooded = "Bearer " + tok.AccessToken
	for i := range floodLeads {
		r.leads = append(r.leads, env.Sell.AddLead(sell.Lead{LastName: fmt.Sprintf("Flood %d", i), Email: floodLeadEmail(i), OwnerID: selltest.DemoAdminID}).ID)
	}
	env.Sell.SetFaults(selltest.Faults{ErrorRate: Flood429Rate, ErrorStatus: http.StatusTooManyRequests})
	return r, nil
}

func floodLeadEmail(i int) string { return fmt.Sprintf("flood-lead%d@soak.example", i) }

// run starts the transcripts function as the local stack runs it (startStreams): the
// stream poller hands the table's stream to p.Handle, and p.Drain runs every
// FloodDrainEvery. The poller applies the deployed function's FilterCriteria, read
// from template.yaml, so a batch holds what a deployed one does; a template that
// cannot be read is the run's failure. The returned function stops both and waits
// for them.
func (r *floodRun) run(ctx context.Context, p *transcripts.Processor) (stop func()) {
	filters, err := template.StreamFilters(template.TranscriptsFunction)
	if err != nil {
		err = fmt.Errorf("%w: %w", streams.ErrPollerStopped, err)
		r.fail.CompareAndSwap(nil, &err)
		return func() {}
	}
	poller := &streams.Poller{DB: r.st.Client(), Table: r.st.Table(), Handler: p.Handle, Logger: r.logger, Filters: filters,
		OnDead: func(recs []events.DynamoDBEventRecord) { r.dead.Add(int64(len(recs))) }}
	// A drain run's Failed are logged as "queued chat not processed" too: floodLog
	// counts them.
	return streams.RunWithDrain(ctx, poller, FloodDrainEvery, p.Drain, func(err error) {
		if errors.Is(err, streams.ErrPollerStopped) {
			r.fail.CompareAndSwap(nil, &err)
			return
		}
		r.logger.Warn("backlog drain", "err", err.Error())
	})
}

func (r *floodRun) failure() error {
	if err := r.fail.Load(); err != nil {
		return *err
	}
	return nil
}

// trickle has each of accounts store a chat every TricklePeriod, staggered, until
// the returned function is called; it returns the first store that failed.
func (r *floodRun) trickle(ctx context.Context, accounts []string) (stop func() error) {
	ctx, cancel := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(ctx)
	for i, a := range accounts {
		g.Go(func() error {
			next := time.NewTimer(TricklePeriod * time.Duration(i) / time.Duration(len(accounts)))
			defer next.Stop()
			for {
				select {
				case <-gctx.Done():
					return nil
				case <-next.C:
				}
				if err := r.store(gctx, a); err != nil {
					return err
				}
				next.Reset(TricklePeriod)
			}
		})
	}
	return func() error { cancel(); return g.Wait() }
}

// flood stores n chats of the flooded account at once: half as the chat poll stores
// pages of the export (chatstore.IngestAll, floodPage chats a page, one page after
// another), half pushed one chat a request as to the chat webhook, floodWriters at
// a time, both together.
func (r *floodRun) flood(ctx context.Context, n int) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		for left := n / 2; left > 0 && gctx.Err() == nil; left -= floodPage {
			if err := r.storePage(gctx, floodedAccount, min(left, floodPage)); err != nil {
				return err
			}
		}
		return nil
	})
	pushed, gctx2 := errgroup.WithContext(gctx)
	pushed.SetLimit(floodWriters)
	for range n - n/2 {
		pushed.Go(func() error { return r.store(gctx2, floodedAccount) })
	}
	g.Go(pushed.Wait)
	return g.Wait()
}

// floodPage is how many chats of the flood the export's page brings at once
// (zendesk.ExportMaxLimit).
const floodPage = 1000

// nextChat makes account's next chat: its id, its body and the records it must reach
// (none for a visitor who matches nothing). Nine visitors in ten are one of the
// leads, the tenth matches nothing.
func (r *floodRun) nextChat(account string) (string, []byte, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.next[account]
	r.next[account]++
	id := fmt.Sprintf("%s-%05d", account, i)
	email, records := fmt.Sprintf("stranger-%s@nowhere.example", id), []string(nil)
	if r.rng.IntN(10) > 0 {
		l := r.rng.IntN(len(r.leads))
		email = floodLeadEmail(l)
		records = []string{chats.Record{Type: chats.ResourceLead, ID: r.leads[l]}.String()}
	}
	return id, chatBody(id, email, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Minute)), records
}

// stored records that chat id of account was stored and must reach records.
func (r *floodRun) stored(account, id string, records []string) {
	r.mu.Lock()
	r.want[account][id] = records
	r.mu.Unlock()
}

// store stores one chat of account as the chat webhook does (chatstore.Ingest: the
// stream takes it from there). A store once begun completes, so that every stored
// chat is known.
func (r *floodRun) store(ctx context.Context, account string) error {
	if err := ctx.Err(); err != nil {
		return nil // stopped
	}
	id, body, records := r.nextChat(account)
	if _, err := r.cs.Ingest(context.WithoutCancel(ctx), account, body, time.Now()); err != nil {
		return fmt.Errorf("store chat %s: %w", id, err)
	}
	r.stored(account, id, records)
	return nil
}

// storePage stores n new chats of account together, as the chat poll stores a page
// of the export (chatstore.IngestAll).
func (r *floodRun) storePage(ctx context.Context, account string, n int) error {
	ids, bodies, records := make([]string, n), make([][]byte, n), make([][]string, n)
	for k := range n {
		ids[k], bodies[k], records[k] = r.nextChat(account)
	}
	var failed error
	for k, err := range r.cs.IngestAll(context.WithoutCancel(ctx), account, bodies, time.Now(), floodWriters) {
		if err != nil {
			failed = errors.Join(failed, fmt.Errorf("store chat %s of a page: %w", ids[k], err))
			continue
		}
		r.stored(account, ids[k], records[k])
	}
	return failed
}

// until calls done every half second until it says so, or ctx ends.
func (r *floodRun) until(ctx context.Context, what string, done func() (bool, error)) error {
	for {
		ok, err := done()
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if err := r.failure(); err != nil {
			return err
		}
		if err := sell.Sleep(ctx, 500*time.Millisecond); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
	}
}

// done reports whether every chat account stored so far is done. While the account's
// backlog holds chats they are not, and its chats need not be read.
func (r *floodRun) done(ctx context.Context, account string) (bool, error) {
	if b, found, err := r.st.Backlog(ctx, account); err != nil || (found && b.Waiting() > 0) {
		return false, err
	}
	items, err := r.chatsOf(ctx, account)
	if err != nil {
		return false, err
	}
	status := make(map[string]string, len(items))
	for _, it := range items {
		status[it.ChatID] = it.Status
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for id := range r.want[account] {
		if !isDone(status[id]) {
			return false, nil
		}
	}
	return true, nil
}

func (r *floodRun) allDone(ctx context.Context) (bool, error) {
	for _, a := range r.accounts {
		if ok, err := r.done(ctx, a); !ok || err != nil {
			return false, err
		}
	}
	return true, nil
}

func isDone(status string) bool {
	return status == chats.StatusMatched || status == chats.StatusUnmatched
}

// chatsOf reads every chat account has stored.
func (r *floodRun) chatsOf(ctx context.Context, account string) ([]chatstore.ChatItem, error) {
	const page = 200 // well under a query's 1 MB, so that a short page is the last
	var out []chatstore.ChatItem
	for after := ""; ; {
		items, err := r.st.QueryPage(ctx, account, chatstore.ChatKey(""), after, page, false)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			var c chatstore.ChatItem
			if err := it.Decode(&c); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		if len(items) < page {
			return out, nil
		}
		after = items[len(items)-1].SK
	}
}

// count looks at every chat sent: its status, feed entries and notes in Sell, and how
// long it took from stored to done.
func (r *floodRun) count(ctx context.Context, f *FloodFigures, floodAt time.Time) error {
	notes := map[string]int{} // "chat|record" → notes in Sell
	marker := strings.TrimSuffix(chats.Marker(""), "]")
	for _, n := range r.env.Sell.Notes() {
		if i := strings.Index(n.Content, marker); i >= 0 {
			id := strings.TrimSuffix(n.Content[i+len(marker):], "]")
			notes[id+"|"+chats.Record{Type: n.ResourceType, ID: n.ResourceID}.String()]++
		}
	}
	for k, c := range notes {
		if c > 1 {
			f.Doubled++
			f.problems.add("%d notes for %s", c, k)
		}
	}
	type sample struct {
		stored time.Time
		took   time.Duration
	}
	var others []sample
	var floodEnd time.Time
	for _, account := range r.accounts {
		items, err := r.chatsOf(ctx, account)
		if err != nil {
			return err
		}
		entries, err := r.cs.AllEntries(ctx, account)
		if err != nil {
			return fmt.Errorf("entries of %s: %w", account, err)
		}
		inFeed := map[string]map[string]int{} // chat → record → entries
		for _, e := range entries {
			if inFeed[e.ChatID] == nil {
				inFeed[e.ChatID] = map[string]int{}
			}
			inFeed[e.ChatID][e.Record().String()]++
		}
		byID := make(map[string]chatstore.ChatItem, len(items))
		for _, it := range items {
			byID[it.ChatID] = it
		}
		for id, want := range r.want[account] {
			it, ok := byID[id]
			if !ok {
				f.Lost++
				f.problems.add("chat %s not stored", id)
				continue
			}
			f.Doubled += r.checkFeed(f, id, want, inFeed[id])
			if !r.checkOutcome(f, it, want, inFeed[id], notes) {
				continue
			}
			took := it.UpdatedAt.Sub(it.ReceivedAt)
			if account == floodedAccount {
				floodEnd = later(floodEnd, it.UpdatedAt)
			} else {
				others = append(others, sample{it.ReceivedAt, took})
			}
		}
		if account != floodedAccount {
			f.Others += len(r.want[account])
		}
	}
	f.FloodTook = floodEnd.Sub(floodAt)
	var idle, during []time.Duration
	for _, s := range others {
		switch {
		case s.stored.Before(floodAt):
			idle = append(idle, s.took)
		case !s.stored.After(floodEnd):
			during = append(during, s.took)
		}
	}
	f.Idle, f.During = latenciesOf(idle), latenciesOf(during)
	return nil
}

// checkFeed returns how many of a chat's feed entries are one too many: a second
// entry in a record's feed, or an entry in a record it does not match.
func (r *floodRun) checkFeed(f *FloodFigures, id string, want []string, feed map[string]int) int {
	doubled := 0
	for rec, k := range feed {
		if k > 1 {
			doubled++
			f.problems.add("chat %s in %s's feed %d times", id, rec, k)
		}
		if !slices.Contains(want, rec) {
			doubled++
			f.problems.add("chat %s in %s's feed, which it does not match", id, rec)
		}
	}
	return doubled
}

// checkOutcome counts the chat's outcome and reports whether it is done as it should
// be: matched with an entry and a note in every record it matches, or unmatched
// when it matches none.
func (r *floodRun) checkOutcome(f *FloodFigures, it chatstore.ChatItem, want []string, feed map[string]int, notes map[string]int) bool {
	switch it.Status {
	case chats.StatusMatched:
		f.Processed++
		ok := len(want) > 0
		for _, rec := range want {
			if feed[rec] == 0 || notes[it.ChatID+"|"+rec] == 0 {
				ok = false
				f.problems.add("chat %s matched but %s has %d entries, %d notes", it.ChatID, rec, feed[rec], notes[it.ChatID+"|"+rec])
			}
		}
		if !ok {
			f.Lost++
			return false
		}
		f.InFeed++
	case chats.StatusUnmatched:
		f.Processed++
		if len(want) != 0 {
			f.Lost++
			f.problems.add("chat %s unmatched, want %v", it.ChatID, want)
			return false
		}
		f.Unmatched++
	case chats.StatusFailed:
		f.FailedAtEnd++
		f.Lost++
		f.problems.add("chat %s left failed: %s", it.ChatID, it.Reason)
		return false
	default:
		f.Lost++
		f.problems.add("chat %s left %q", it.ChatID, it.Status)
		return false
	}
	return true
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// sellMeter sits in front of the Sell sandbox and counts the 429s it answers: all,
// those the sandbox injected, and those to the flooded account's token.
type sellMeter struct {
	next    http.Handler
	flooded string // the flooded account's Authorization header

	mu                         sync.Mutex
	tooMany, injected, onFlood int
}

func (m *sellMeter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	m.next.ServeHTTP(sw, r)
	if sw.status != http.StatusTooManyRequests {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tooMany++
	if bytes.Contains(sw.body.Bytes(), []byte("Injected by the sandbox")) {
		m.injected++
	}
	if r.Header.Get("Authorization") == m.flooded {
		m.onFlood++
	}
}

func (m *sellMeter) counts() (all, injected, flooded int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tooMany, m.injected, m.onFlood
}

// statusWriter passes an answer on, noting its status and, for a 429, its body.
type statusWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.status == http.StatusTooManyRequests {
		w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// floodLog reads the deployment's log for what the processor does not report
// otherwise: the chats it queued for an account's drain, and every chat it marked
// failed, even one a stream retry later processed. The messages are the processor's
// (shared/handler/transcripts); errors are kept for the report, as errorLog does.
type floodLog struct {
	errorLog
	mu     sync.Mutex
	queued map[string]int // account → chats queued for the drain
	failed int
}

func (l *floodLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelInfo }
func (l *floodLog) WithAttrs([]slog.Attr) slog.Handler            { return l }
func (l *floodLog) WithGroup(string) slog.Handler                 { return l }

func (l *floodLog) Handle(ctx context.Context, r slog.Record) error {
	attrs := map[string]slog.Value{}
	r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value; return true })
	switch r.Message {
	case "chats queued for the account's Sell budget":
		l.mu.Lock()
		if n := attrs["chats"]; n.Kind() == slog.KindInt64 {
			l.queued[attrs["account"].String()] += int(n.Int64())
		}
		l.mu.Unlock()
	case "chat not processed", "queued chat not processed":
		l.mu.Lock()
		l.failed++
		l.mu.Unlock()
		r.Level = slog.LevelError // kept with the errors, for the report
	}
	if r.Level >= slog.LevelError {
		return l.errorLog.Handle(ctx, r)
	}
	return nil
}

// counts returns the chats queued for the drain, the flooded account's and the
// others', and how many times a chat was marked failed.
func (l *floodLog) counts() (flooded, others, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for a, n := range l.queued {
		if a == floodedAccount {
			flooded += n
		} else {
			others += n
		}
	}
	return flooded, others, l.failed
}
