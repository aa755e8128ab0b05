package transcripts

import (
	"context"
	"errors"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/privacystore"
	"github.com/sellchat/sellchat/shared/domain/settings"
)

// Handle is the stream handler: new chats are processed (an account's chats in
// the batch matched together, prematch.go), a flip of the history
// switch in an account's integration state runs the mirroring job, and an erasure
// job that becomes pending (asked for, or asked for again after it failed) runs
// (erase.go). A change of the retention days runs the re-stamp job, and a feed
// entry the table's TTL deleted has its Sell note deleted if the admin chose so
// (retention.go). Everything else in the stream is ignored. Records that failed in a way a retry may fix are reported
// in BatchItemFailures, so Lambda retries only from them (and, after its last retry,
// sends them to the dead-letter queue).
func (p *Processor) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	failed := make([]bool, len(ev.Records))
	var wg sync.WaitGroup
	sem := make(chan struct{}, p.o.Workers)
	jobs := map[string][]int{}               // account → its integration records: one job covers them all
	erasures := map[privacystore.Ref][]int{} // a job's records: one run covers them all
	restamps := map[string][]int{}           // account → its retention changes: one re-stamp job covers them all
	inserted := map[string][]newChat{}       // account → its new chats: matched together (prematch.go)
	for i, rec := range ev.Records {
		c := store.DecodeStreamRecord(rec)
		account := c.Account
		switch {
		case account == "":
		case c.Kind == store.ChangeChat && c.Inserted && c.Queued:
			// Stored straight into the backlog: the stream filter drops these; a
			// stack without it must not process them beside the drain.
		case c.Kind == store.ChangeChat && c.Inserted:
			inserted[account] = append(inserted[account], newChat{i, c.ChatID})
		case c.Kind == store.ChangeIntegration && historyFlipped(c):
			jobs[account] = append(jobs[account], i)
		case c.Kind == store.ChangeErasure && c.ErasureState == privacystore.StatePending:
			ref := privacystore.Ref{Account: account, ID: c.ErasureID}
			erasures[ref] = append(erasures[ref], i)
		case c.Kind == store.ChangeSettings && retentionChanged(c):
			restamps[account] = append(restamps[account], i)
		case c.Kind == store.ChangeEntry && c.ByTTL:
			sem <- struct{}{}
			wg.Add(1)
			go func(i int, old store.Item) {
				defer func() { <-sem; wg.Done() }()
				if err := p.ExpiredEntry(ctx, account, old); err != nil { // retention.go
					var perm *Permanent
					failed[i] = !errors.As(err, &perm)
					p.logger.Warn("note of expired entry not deleted", "account", account, "err", err.Error(), "retry", failed[i])
				}
			}(i, c.Old)
		}
	}
	for account, cs := range inserted {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.processBatch(ctx, account, cs, sem, failed)
		}()
	}
	for account, idx := range restamps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.ApplyRetention(ctx, account); err != nil { // retention.go
				p.logger.Warn("retention job incomplete", "account", account, "err", err.Error())
				var perm *Permanent
				if !errors.As(err, &perm) {
					for _, i := range idx {
						failed[i] = true
					}
				}
			}
		}()
	}
	for ref, idx := range erasures {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Erase(ctx, ref.Account, ref.ID); err != nil {
				p.logger.Warn("erasure incomplete", "account", ref.Account, "erasure", ref.ID, "err", err.Error())
				var perm *Permanent
				if !errors.As(err, &perm) {
					for _, i := range idx {
						failed[i] = true
					}
				}
			}
		}()
	}
	for account, idx := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Converge(ctx, account); err != nil {
				p.logger.Warn("history job incomplete", "account", account, "err", err.Error())
				var perm *Permanent
				if !errors.As(err, &perm) {
					for _, i := range idx {
						failed[i] = true
					}
				}
			}
		}()
	}
	wg.Wait()
	var resp events.DynamoDBEventResponse
	for i, f := range failed {
		if f {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: ev.Records[i].Change.SequenceNumber})
		}
	}
	return resp, nil
}

// A newChat is a chat insert of the batch: its record's index and the chat.
type newChat struct {
	i      int
	chatID string
}

// processBatch handles an account's new chats of the batch. While the account has
// a backlog they join it, so that the drain takes them in turn; otherwise they are
// pre-matched together and processed on the batch's workers (sem bounds them with
// the batch's other work), each waiting at most InlineWait for the account's Sell
// budget. Those it cannot take, and after the first of them those not started yet,
// are queued for the drain (backlog.go): one account's flood never holds the batch,
// and so the shard, beyond that. Chats that fail in a way
// a retry may fix, and chats that could not be queued, are marked in failed.
func (p *Processor) processBatch(ctx context.Context, account string, cs []newChat, sem chan struct{}, failed []bool) {
	ids := make([]string, len(cs))
	for k, c := range cs {
		ids[k] = c.chatID
	}
	_, waiting, err := p.store.Backlog(ctx, account)
	switch {
	case err != nil:
		// The table does not answer: nothing below could work either, so the stream
		// retries the chats, now rather than after every try has timed out.
		p.logger.Warn("backlog unreadable; the stream retries the chats", "account", account, "chats", len(cs), "err", err.Error())
		for _, c := range cs {
			failed[c.i] = true
		}
		return
	case waiting:
		p.enqueue(ctx, account, cs, failed)
		return
	}
	inline := sell.WithMaxWait(ctx, p.o.InlineWait)
	pre := p.prematch(inline, account, ids)
	var (
		mu       sync.Mutex
		deferred []newChat
		spent    bool // a chat met the spent budget
		mine     sync.WaitGroup
	)
	// Once a chat met the spent budget, the chats not started yet are queued
	// untried: each would still take the next of Sell's turns within InlineWait, so
	// a flood's first batch went on at Sell's pace for about a second, holding the
	// shard (BenchmarkFloodFairness).
	queued := func(c newChat) bool {
		mu.Lock()
		defer mu.Unlock()
		if spent {
			deferred = append(deferred, c)
		}
		return spent
	}
	for _, c := range cs {
		if queued(c) {
			continue
		}
		sem <- struct{}{}
		if queued(c) { // spent while c waited for a worker
			<-sem
			continue
		}
		mine.Add(1)
		go func() {
			defer func() { <-sem; mine.Done() }()
			err := p.process(inline, account, c.chatID, pre)
			var d *Deferred
			if errors.As(err, &d) {
				mu.Lock()
				deferred = append(deferred, c)
				spent = true
				mu.Unlock()
				return
			}
			if err != nil {
				var perm *Permanent
				if !errors.As(err, &perm) {
					failed[c.i] = true
				}
				p.logger.Warn("chat not processed", "account", account, "chat_id", c.chatID, "err", err.Error(), "retry", failed[c.i])
			}
		}()
	}
	mine.Wait()
	if len(deferred) > 0 {
		p.enqueue(ctx, account, deferred, failed)
	}
}

// enqueue queues chats for the drain; if that fails, the stream retries them.
func (p *Processor) enqueue(ctx context.Context, account string, cs []newChat, failed []bool) {
	ids := make([]string, len(cs))
	for k, c := range cs {
		ids[k] = c.chatID
	}
	if _, err := p.store.Enqueue(ctx, account, ids, p.o.Now()); err != nil {
		p.logger.Warn("chats not queued; the stream retries them", "account", account, "chats", len(ids), "err", err.Error())
		for _, c := range cs {
			failed[c.i] = true
		}
		return
	}
	p.logger.Info("chats queued for the account's Sell budget", "account", account, "chats", len(ids))
}

// historyFlipped reports whether the change switches chat_history_in_sell on or off.
func historyFlipped(c store.Change) bool {
	if c.Removed {
		return false
	}
	return c.OldIntegration.Enabled(settings.ChatHistoryInSell) != c.NewIntegration.Enabled(settings.ChatHistoryInSell)
}
