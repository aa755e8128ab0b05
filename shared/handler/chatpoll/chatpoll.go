// Package chatpoll serves the chatpoll function: once a minute it reads every
// polling account's Chat API chat export (Zendesk Chat has no chat webhook) and hands
// each finished chat to the same durable ingest as the chat webhook
// (chatstore.Ingest), so a chat is stored once by id whichever way it came, and the
// table's stream, matching, notes, the dead-letter queue and replay all apply.
//
// Per account it keeps a cursor (store.ChatPollCursor): where the export resumes,
// saved after each page, so a crash re-reads at most one page (whose chats are then
// duplicates). The cursor starts at the date the admin picked for past chats
// (settings.Integration.PastChatsFrom) and starts over when another is picked. An
// account is polled while its integration polls chats
// (settings.Integration.PollsChat); a 429 holds it back until Retry-After; one
// account's failure never stops the others.
//
// The export is read no faster than Sell takes the chats: a page asks only for what
// the account's backlog lacks of the next few minutes of its Sell pace (ReadAhead);
// the rest waits in Zendesk, which keeps it, and the cursor says so
// (store.ChatPollCursor.HeldBack). A busy day or an import of past chats then
// writes to the table about as fast as it is processed, not thousands of chats at
// once that would queue for an hour beside the other accounts' live chats.
//
// Each run first reads the messaging conversations that wait for Zendesk: solved
// tickets whose conversation log the Support webhook could not read then
// (conversations.go).
package chatpoll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/store/privacystore"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
)

// Defaults of Deps.
const (
	// DefaultMinAge is how old a start_time must be before the poll asks for it:
	// Zendesk's five minutes, and half a minute for the two clocks to disagree.
	DefaultMinAge = zendesk.ExportMinAge + 30*time.Second
	// DefaultHistory is how far back an account's first poll reaches when its
	// integration names no PastChatsFrom (history switched on before the date could
	// be picked): the 30 days of past chats the admin is offered by default.
	DefaultHistory = settings.DefaultPastChats
	// DefaultMaxPages bounds the pages one run reads per account, below the export's
	// 10 calls a minute (zendesk.ExportRateLimitPerMinute): a backlog is read over a
	// few runs instead of ending in a 429.
	DefaultMaxPages = 5
	// DefaultWorkers is how many accounts are polled at once.
	DefaultWorkers = 4
	// DefaultBackoff is the wait after a 429 that names no Retry-After.
	DefaultBackoff = time.Minute
	// DefaultReadAhead is how much of the account's Sell pace (the rate its last
	// drain measured) the poll fills its backlog up to (run.room): three runs'
	// worth, so that a run that fails or comes late leaves Sell nothing to wait for.
	// A page is let through while no pace is measured.
	DefaultReadAhead = 3 * time.Minute
)

// pageWorkers is how many chats of a page are prepared, and sent down the stream,
// at once. A run reading a page of a thousand new chats took 2.6–3.1 s storing one
// after another on DynamoDB Local, 1.9–2.5 s eight at a time
// (BenchmarkAPageOfAThousandChats, a shared 2-core machine, where DynamoDB Local
// itself is the bottleneck); in AWS, where each put waits on the network, the gain
// is larger. Since the admission at the door, all but a burst of a new account's
// page goes into its backlog: 19.3 s a page at three requests a chat, eight at a
// time; 6.4 s five chats a transaction (store.CreateQueuedAll), one after another;
// about 10 s since those transactions keep to store.QueuedWritePace.
const pageWorkers = 8

// pageBudget is the time a run keeps for one more page (the export's answer and a
// thousand chats stored): no page starts closer to the run's deadline (the Lambda's
// timeout), so a run ends between pages, not in the middle of one. The page's
// chats that go into the backlog are written at store.QueuedWritePace: about 10 s
// for a thousand typical chats, up to 30 s for a thousand long ones. A page cut
// short all the same keeps what it stored, and the cursor stops before the rest.
const pageBudget = 30 * time.Second

// Deps are what the poll uses, built once by the function's main.
type Deps struct {
	Store  *store.Store
	Vault  *tokens.Vault // the accounts' Chat tokens (tokens.Chat) and the Chat API client
	Box    *secrets.Box  // keys the erasure tombstones' hashes (privacystore)
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MinAge, History, MaxPages and Workers: the Default… constants when zero. The
	// local stack lowers MinAge with its sandbox's.
	MinAge   time.Duration
	History  time.Duration
	MaxPages int
	Workers  int
	// ReadAhead: DefaultReadAhead when zero.
	ReadAhead time.Duration
	// PageSize is the export's limit a page; zendesk.ExportMaxLimit when zero.
	PageSize int
	// LogPagesPerRun bounds the conversation log pages a run reads per account;
	// DefaultLogPagesPerRun when zero.
	LogPagesPerRun int
}

// Poller polls the accounts' chat exports.
type Poller struct {
	d     Deps
	chats *chatstore.Store
}

// New returns a poller.
func New(d Deps) *Poller {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	d.MinAge = orDefault(d.MinAge, DefaultMinAge)
	d.History = orDefault(d.History, DefaultHistory)
	d.MaxPages = orDefault(d.MaxPages, DefaultMaxPages)
	d.Workers = orDefault(d.Workers, DefaultWorkers)
	d.ReadAhead = orDefault(d.ReadAhead, DefaultReadAhead)
	d.PageSize = orDefault(d.PageSize, zendesk.ExportMaxLimit)
	d.LogPagesPerRun = orDefault(d.LogPagesPerRun, DefaultLogPagesPerRun)
	// A chat of an erased visitor is not stored again (privacy erasures'
	// tombstones), and a page beyond the account's Sell pace waits in its backlog.
	return &Poller{d: d, chats: chatstore.ForIngest(d.Store, privacystore.New(d.Store, d.Box).ErasedAll)}
}

// orDefault is v, or def when v is not positive.
func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Report is what one run did, in all accounts.
type Report struct {
	Accounts int `json:"accounts"` // listed as polling
	Polled   int `json:"polled"`   // whose export was read (or asked for)
	// Skipped are listed accounts not polled this run: their integration no longer
	// polls, they are held back after a 429, Chat is disconnected, their cursor is
	// too recent to ask (Zendesk's five minutes), or their backlog holds enough.
	Skipped int `json:"skipped"`
	// HeldBack are accounts whose reading stopped (before a page, or before the
	// first) because their backlog holds what Sell will take in the next ReadAhead.
	HeldBack int `json:"heldBack"`
	Pages    int `json:"pages"`
	// Stored chats are new; Duplicates were stored before (an updated chat that the
	// export shows again, or a page read again after a crash).
	Stored     int `json:"stored"`
	Duplicates int `json:"duplicates"`
	// NotEnded chats are still going on: the export shows them again once they end.
	NotEnded int `json:"notEnded"`
	// Rejected chats cannot be stored (unparsable, or too large even compressed);
	// they are logged and passed over.
	Rejected    int `json:"rejected"`
	RateLimited int `json:"rateLimited"`
	// Conversations are messaging conversations read after waiting for Zendesk
	// (conversations.go); ConversationsWaiting are those still waiting.
	Conversations        int `json:"conversations"`
	ConversationsWaiting int `json:"conversationsWaiting"`
	// Failed names each account whose poll failed, with why.
	Failed map[string]string `json:"failed,omitempty"`
}

// add adds o's counts to r.
func (r *Report) add(o Report) {
	r.Polled += o.Polled
	r.Skipped += o.Skipped
	r.HeldBack += o.HeldBack
	r.Pages += o.Pages
	r.Stored += o.Stored
	r.Duplicates += o.Duplicates
	r.NotEnded += o.NotEnded
	r.Rejected += o.Rejected
	r.RateLimited += o.RateLimited
	r.Conversations += o.Conversations
	r.ConversationsWaiting += o.ConversationsWaiting
}

// Run reads the messaging conversations that wait for Zendesk
// (conversations.go), then polls every account whose integration polls chats, a
// few accounts at a time. Its error joins the failed accounts' (each also in
// Report.Failed); an account held back or rate-limited is not a failure.
func (p *Poller) Run(ctx context.Context) (Report, error) {
	var rep Report
	errs := p.readConversations(ctx, &rep)
	accounts, err := p.d.Store.ChatPollAccounts(ctx)
	if err != nil {
		return rep, errors.Join(append(errs, fmt.Errorf("chat poll: %w", err))...)
	}
	rep.Accounts = len(accounts)
	errs = append(errs, p.each(ctx, accounts, &rep, "chat poll", p.poll)...)
	p.d.Logger.Info("chat poll done", "accounts", rep.Accounts, "polled", rep.Polled, "pages", rep.Pages,
		"stored", rep.Stored, "duplicates", rep.Duplicates, "conversations", rep.Conversations,
		"conversations_waiting", rep.ConversationsWaiting, "failed", len(rep.Failed))
	return rep, errors.Join(errs...)
}

// each runs fn for every account, Workers at a time, adding what each did to rep;
// it returns the failures, each also named in rep.Failed.
func (p *Poller) each(ctx context.Context, accounts []string, rep *Report, what string, fn func(context.Context, string) (Report, error)) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, p.d.Workers)
	)
	for _, account := range accounts {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			one, err := fn(ctx, account)
			mu.Lock()
			defer mu.Unlock()
			rep.add(one)
			if err != nil {
				err = fmt.Errorf("%s of %s: %w", what, account, err)
				if rep.Failed == nil {
					rep.Failed = map[string]string{}
				}
				rep.Failed[account] = err.Error()
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	return errs
}

// poll reads one account's export from its cursor, at most MaxPages pages, and
// saves the cursor after each.
func (p *Poller) poll(ctx context.Context, account string) (Report, error) {
	var rep Report
	log := p.d.Logger.With("account", account)
	in, err := p.d.Store.Integration(ctx, account)
	if err != nil {
		return rep, err
	}
	if !in.PollsChat() { // the list is stale only after a purge (store/chatpoll.go)
		rep.Skipped++
		return rep, nil
	}
	cur, err := p.d.Store.ChatPollCursor(ctx, account)
	if err != nil {
		return rep, err
	}
	if next := cur.StartingFrom(in.PastChatsFrom); !next.From.Equal(cur.From) {
		// The admin picked another date: read from there. What is read again is
		// acknowledged as duplicates (the ingest is once per chat id).
		log.Info("chat poll starts over", "from", next.From.Format(time.RFC3339), "was", cur.From.Format(time.RFC3339))
		cur = next
	}
	now := p.d.Now().UTC()
	if now.Before(cur.NotBefore) {
		rep.Skipped++
		return rep, nil
	}
	client, err := p.d.Vault.ChatClient(ctx, account)
	if errors.Is(err, tokens.ErrNoToken) || errors.Is(err, tokens.ErrBroken) {
		// The admin must connect Chat (again); the cursor says so until then.
		rep.Skipped++
		return rep, p.finish(ctx, account, cur, now, "Chat is not connected, or refused its token: connect Chat again")
	}
	if err != nil {
		return rep, err
	}
	r := run{p: p, account: account, client: client, cur: cur, now: now, log: log}
	err = r.pages(ctx, &rep)
	if rep.Pages == 0 && err == nil && rep.RateLimited == 0 {
		rep.Skipped++ // caught up: nothing old enough to ask for yet
	} else {
		rep.Polled++
	}
	return rep, err
}

// run is one account's poll.
type run struct {
	p       *Poller
	account string
	client  *zendesk.Client
	cur     store.ChatPollCursor
	now     time.Time
	log     *slog.Logger
}

// pages reads the export page after page until it has caught up, the next start is
// too recent to ask, MaxPages were read, or Zendesk says to wait.
func (r *run) pages(ctx context.Context, rep *Report) error {
	// latest is the youngest start_time the poll asks for, and the youngest update a
	// chat it takes may have: Zendesk refuses a younger start_time, and a younger
	// chat may still have neighbours of the same second Zendesk has not indexed yet,
	// which a cursor moved past it would never see. Such a chat is taken next run.
	latest := r.now.Add(-r.p.d.MinAge)
	if r.cur.StartTime.IsZero() { // never polled, and no date picked: History back
		r.cur.StartTime = r.now.Add(-r.p.d.History)
		if r.cur.StartTime.After(latest) {
			r.cur.StartTime = latest
		}
		r.cur.From = r.cur.StartTime
	}
	r.cur.HeldBack = false
	for range r.p.d.MaxPages {
		if r.cur.StartTime.After(latest) {
			r.cur.CaughtUp = true
			break // too recent: Zendesk would refuse it; the next run asks
		}
		if d, ok := ctx.Deadline(); ok && time.Until(d) < pageBudget {
			break // a page and its chats may not fit: the next run goes on from here
		}
		limit, err := r.room(ctx)
		if err != nil {
			return errors.Join(err, r.p.finish(ctx, r.account, r.cur, r.now, err.Error()))
		}
		if limit == 0 {
			r.cur.HeldBack = true
			rep.HeldBack++
			break // the export keeps the rest; a later run reads on
		}
		start := r.cur.StartTime
		page, err := r.client.ChatExport(ctx, zendesk.ExportRequest{StartTime: start, StartID: r.cur.StartID, Limit: limit})
		var limited *zendesk.RateLimited
		switch {
		case errors.As(err, &limited):
			rep.RateLimited++
			r.cur.NotBefore = r.now.Add(orDefault(limited.RetryAfter, DefaultBackoff))
			r.log.Info("chat export rate limited", "retry_after", limited.RetryAfter.String())
			return r.p.finish(ctx, r.account, r.cur, r.now, "rate limited by Zendesk")
		case errors.Is(err, zendesk.ErrStartTimeTooRecent):
			// Our clock runs ahead of Zendesk's: not a failure, the next run asks again;
			// nothing old enough is left to read.
			r.log.Info("chat export start too recent for Zendesk", "start_time", start.Format(time.RFC3339))
			r.cur.CaughtUp = true
			return r.p.finish(ctx, r.account, r.cur, r.now, "")
		case err != nil:
			r.p.refused(ctx, r.account, err)
			ferr := r.p.finish(ctx, r.account, r.cur, r.now, err.Error())
			return errors.Join(fmt.Errorf("read the chat export from %s: %w", start.Format(time.RFC3339), err), ferr)
		}
		rep.Pages++
		taken, err := r.ingest(ctx, page, latest, rep)
		moved := r.advance(page, taken)
		if err != nil { // the chats taken before the failure stay taken
			return errors.Join(err, r.p.finish(ctx, r.account, r.cur, r.now, err.Error()))
		}
		// A short page, or one whose chats were not all taken, is the export's end
		// for now; a full page taken whole leaves more to read.
		r.cur.CaughtUp = !moved || taken < len(page.Chats) || len(page.Chats) < limit
		// Saved after each page: a crash re-reads at most this one.
		r.cur.NotBefore = time.Time{}
		if err := r.p.finish(ctx, r.account, r.cur, r.now, ""); err != nil {
			return err
		}
		if r.cur.CaughtUp {
			return nil
		}
	}
	return r.p.finish(ctx, r.account, r.cur, r.now, "")
}

// room is how many chats the next page may bring (the export's limit): what the
// account's backlog lacks of ReadAhead at the pace its last drain measured (of a
// page while none is measured), up to a page. It is 0, and the poll reads no more,
// when that is under a tenth of a page: reading more would only move chats from
// Zendesk's export to the table, all at once, to wait there. So a busy account's
// chats are written about as fast as Sell takes them, a minute's worth a run, not
// a flood at a time.
func (r *run) room(ctx context.Context) (int, error) {
	bl, _, err := r.p.d.Store.Backlog(ctx, r.account)
	if err != nil {
		return 0, err
	}
	size := r.p.d.PageSize
	ahead := max(float64(size), bl.Rate*r.p.d.ReadAhead.Seconds())
	n := min(float64(size), ahead-float64(bl.Waiting()))
	if n < float64(max(1, size/10)) {
		return 0, nil
	}
	return int(n), nil
}

// ingest hands the page's chats to the durable ingest together (IngestAll,
// pageWorkers at a time) and returns how many of them, in export order, it took:
// all, or those before the first updated after latest, or before the first the
// table failed to store (chats after that one may be stored already: the next run
// finds them duplicates). A chat still going on is taken without being stored (the
// export shows it again once it ends), and so is one that can never be stored
// (unparsable, too large), which is logged.
func (r *run) ingest(ctx context.Context, page *zendesk.ExportPage, latest time.Time, rep *Report) (int, error) {
	n := len(page.Chats)
	for i, ch := range page.Chats {
		if ch.UpdateTimestamp.After(latest) {
			n = i
			break
		}
	}
	errs := make([]error, n)
	var (
		raws  [][]byte
		index []int
	)
	for i, ch := range page.Chats[:n] {
		if !finished(ch) {
			rep.NotEnded++
			continue
		}
		raws, index = append(raws, ch.Raw), append(index, i)
	}
	for k, err := range r.p.chats.IngestAll(ctx, r.account, raws, r.p.d.Now(), pageWorkers) {
		errs[index[k]] = err
	}
	taken := n
	var failed error
	for i, err := range errs {
		ch := page.Chats[i]
		switch {
		case err == nil:
			if finished(ch) { // not a chat going on, passed over above
				rep.Stored++
				r.cur.Stored++
				r.cur.StoredFromStart++
			}
		case errors.Is(err, chatstore.ErrExists):
			rep.Duplicates++
		case chats.Invalid(err) || errors.Is(err, chatstore.ErrTooLarge):
			rep.Rejected++
			r.log.Warn("exported chat not stored", "chat_id", ch.ID, "err", err.Error())
		case failed == nil:
			taken, failed = i, fmt.Errorf("store chat %s: %w", ch.ID, err)
		}
	}
	return taken, failed
}

// finished reports whether the chat is one sellchat keeps: a chat that ended, or an
// offline message (which never ends).
func finished(ch zendesk.ExportedChat) bool {
	return ch.Type == chats.TypeOffline || ch.Ended()
}

// advance moves the cursor just past the page's first taken chats, and reports
// whether it moved. The export continues after (update second, id) of the last one
// taken (see zendesk.ExportRequest); a page with nothing taken leaves the cursor where
// it was, also when its end_time says otherwise.
func (r *run) advance(page *zendesk.ExportPage, taken int) bool {
	if taken == 0 {
		return false
	}
	last := page.Chats[taken-1]
	at, id := last.UpdateTimestamp.Truncate(time.Second), last.ID
	if at.IsZero() && taken == len(page.Chats) { // a chat without its update time
		at, id = page.EndTime, page.EndID
	}
	if at.IsZero() || at.Before(r.cur.StartTime.Truncate(time.Second)) {
		return false // nothing to go by, or backwards: keep the cursor
	}
	r.cur.StartTime, r.cur.StartID = at, id
	return true
}

// finish saves the account's cursor at the end of a run (or of a page): when it ran,
// and lastError ("" when it went through).
func (p *Poller) finish(ctx context.Context, account string, cur store.ChatPollCursor, now time.Time, lastError string) error {
	cur.LastRunAt, cur.LastError = now, lastError
	return p.d.Store.SaveChatPollCursor(ctx, account, cur)
}

// refused marks the account's Chat token broken when Chat no longer accepts it, so
// later runs skip the account at once instead of calling Chat with a dead token.
func (p *Poller) refused(ctx context.Context, account string, err error) {
	if !tokens.IsRefused(err) {
		return
	}
	if merr := p.d.Vault.MarkBroken(ctx, account, tokens.Chat(), "refused by Chat"); merr != nil {
		p.d.Logger.Warn("chat token not marked broken", "account", account, "err", merr.Error())
	}
}
