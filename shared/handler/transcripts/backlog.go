package transcripts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/store"
)

// Sell allows 10 requests a second per token, so that, not Lambda or DynamoDB, is how
// fast an account's chats can reach Sell. A stream batch takes an account's chats
// only while its budget lasts (Options.InlineWait); the rest wait in the account's
// backlog (store.Enqueue), and the drain works through it at the pace the budget
// allows: on a schedule (the transcripts function's every-minute event in AWS, a
// ticker in the local stack), one lease per account, every account at once. A chat
// that meets Sell's 429 stays queued for the next run: a 429 is Sell's pace, not a
// failure, so it never reaches the dead-letter queue.
const (
	// DefaultInlineWait is Options.InlineWait's default: a little over two turns of
	// a token at 10 requests a second, so that an idle account's chat never waits
	// for the drain, and a flooded account adds at most this to a shared batch.
	DefaultInlineWait = 250 * time.Millisecond
	// DefaultDrainWindow is how long one scheduled drain run keeps taking chats:
	// just below the schedule's minute, so that an account is drained 55 s of every
	// 60 (an import runs at that share of Sell's pace) and the run that ends has
	// released its lease when the next one starts. A chat in progress finishes within
	// the function's timeout (template.yaml, 300 s).
	DefaultDrainWindow = 55 * time.Second
	// drainPage is how many queued chats are read, and matched together, at a time:
	// Sell's search takes 25 queries in one request (sell.MaxSearchItems).
	drainPage = 25
	// drainAccounts bounds the accounts drained at once by one run.
	drainAccounts = 32
	// leaseGrace is how long past its window a run may hold an account: the chats it
	// started finish (each within a few Sell calls) before another run may take over.
	leaseGrace = 2 * time.Minute
	// leaseWait is how long a run waits for an account that the run before still
	// holds (its last chats finishing), rather than leaving it idle for a minute.
	leaseWait = 10 * time.Second
)

// DrainReport says what a drain run did.
type DrainReport struct {
	Accounts  int `json:"accounts"`  // accounts with a backlog this run drained
	Processed int `json:"processed"` // chats taken off the queues: done, unmatched or failed
	Failed    int `json:"failed"`    // of those, chats marked failed (as the dead-letter queue would hold them)
	Left      int `json:"left"`      // accounts that still have chats queued
}

// Drain works through every account's backlog until window has passed (the drain's
// default when zero) or the queues are empty.
func (p *Processor) Drain(ctx context.Context, window time.Duration) (DrainReport, error) {
	if window <= 0 {
		window = DefaultDrainWindow
	}
	until := p.o.Now().Add(window)
	accounts, err := p.store.BacklogAccounts(ctx)
	if err != nil {
		return DrainReport{}, err
	}
	var (
		mu   sync.Mutex
		rep  DrainReport
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, drainAccounts)
	)
	for _, account := range accounts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r, err := p.DrainAccount(ctx, account, until)
			mu.Lock()
			defer mu.Unlock()
			rep.Accounts += r.Accounts
			rep.Processed += r.Processed
			rep.Failed += r.Failed
			rep.Left += r.Left
			if err != nil {
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	return rep, errors.Join(errs...)
}

// DrainAccount works through the account's backlog until until, at the pace of its
// Sell budget, unless another run holds it.
func (p *Processor) DrainAccount(ctx context.Context, account string, until time.Time) (rep DrainReport, err error) {
	owner := newOwner()
	began := p.o.Now()
	b, err := p.store.LeaseBacklog(ctx, account, owner, until.Add(leaseGrace), began)
	for wait := began.Add(min(leaseWait, until.Sub(began))); errors.Is(err, store.ErrConflict) && p.o.Now().Before(wait); {
		if serr := sell.Sleep(ctx, 250*time.Millisecond); serr != nil {
			return DrainReport{}, nil
		}
		b, err = p.store.LeaseBacklog(ctx, account, owner, until.Add(leaseGrace), p.o.Now())
	}
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return DrainReport{}, nil // another run has it, or it emptied meanwhile
	}
	if err != nil {
		return DrainReport{}, err
	}
	began = p.o.Now()
	rep = DrainReport{Accounts: 1}
	closed := false
	defer func() {
		if closed {
			return
		}
		rep.Left = 1
		rate := 0.0
		if took := p.o.Now().Sub(began).Seconds(); rep.Processed > 0 && took > 0 {
			rate = float64(rep.Processed) / took
		}
		if err := p.store.ReleaseBacklog(context.WithoutCancel(ctx), account, owner, rate, p.o.Now()); err != nil {
			p.logger.Warn("backlog lease not released; it expires", "account", account, "err", err.Error())
		}
	}()
	// A chat's Sell calls may wait for the budget up to the window's end; a chat
	// started by then finishes within the lease's grace.
	work, cancel := context.WithDeadline(ctx, until.Add(leaseGrace/2))
	defer cancel()
	for p.o.Now().Before(until) && ctx.Err() == nil {
		ids, err := p.store.QueuedChats(ctx, account, drainPage)
		if err != nil {
			return rep, err
		}
		if len(ids) == 0 {
			// Empty: close the backlog, unless a chat was queued since the count was read.
			if b, _, err = p.store.Backlog(ctx, account); err != nil {
				return rep, err
			}
			if ids, err = p.store.QueuedChats(ctx, account, drainPage); err != nil {
				return rep, err
			}
			if len(ids) == 0 {
				if err := p.store.CloseBacklog(ctx, account, owner, b.N); err == nil {
					closed = true
					return rep, nil
				} else if !errors.Is(err, store.ErrConflict) {
					return rep, err
				}
				continue
			}
		}
		done, failed, throttled := p.drainPage(work, account, ids)
		if err := p.store.Dequeue(ctx, account, done); err != nil {
			return rep, err
		}
		rep.Processed += len(done)
		rep.Failed += failed
		if throttled {
			break // Sell asked for a longer pause than this run has: the next run goes on
		}
	}
	return rep, nil
}

// drainPage processes queued chats, AccountWorkers at a time, and returns those
// that are done with (in the feed, unmatched, or marked failed for replay), how many
// failed, and whether Sell's budget ran out before the rest.
func (p *Processor) drainPage(ctx context.Context, account string, ids []string) (done []string, failed int, throttled bool) {
	pre := p.prematch(ctx, account, ids)
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, p.o.AccountWorkers)
	)
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := p.process(ctx, account, id, pre)
			mu.Lock()
			defer mu.Unlock()
			var d *Deferred
			switch {
			case errors.As(err, &d):
				throttled = true
				return
			case err != nil:
				// process marked it failed, with why: replay takes it from there, as
				// from the dead-letter queue.
				failed++
				p.logger.Warn("queued chat not processed", "account", account, "chat_id", id, "err", err.Error())
			}
			done = append(done, id)
		}()
	}
	wg.Wait()
	return done, failed, throttled
}

// Invoke is the transcripts function's handler: the table's stream batches
// (Handle) and the every-minute schedule that drains backlogs (Drain) share one
// function, since both run the same processor. EventBridge's scheduled event is told
// by its source and detail-type
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html).
func (p *Processor) Invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Records    json.RawMessage `json:"Records"`
		Source     string          `json:"source"`
		DetailType string          `json:"detail-type"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("transcripts: an event that is not JSON: %w", err)
	}
	if probe.Records == nil && probe.Source == "aws.events" && probe.DetailType == "Scheduled Event" {
		rep, err := p.Drain(ctx, DefaultDrainWindow)
		if err != nil {
			// Logged, not returned: a failed run is retried by the next minute's,
			// and Lambda's own retries of a scheduled event would only overlap it.
			p.logger.Warn("backlog drain incomplete", "err", err.Error())
		}
		return rep, nil
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("transcripts: not a stream batch: %w", err)
	}
	return p.Handle(ctx, ev)
}
