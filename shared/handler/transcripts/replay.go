package transcripts

import (
	"context"
	"sync"

	"github.com/sellchat/sellchat/shared/domain/chats"
)

// Summary is what a replay achieved.
type Summary struct {
	Replayed     int // failed chats tried again
	InFeed       int // of those, now in the feed of at least one record
	Unmatched    int // of those, processed but matching nothing in Sell
	StillFailing int // of those, failed again
	Jobs         int // unfinished history jobs run again
	JobsFailing  int // of those, still not finished
}

// Replay re-drives every chat whose last attempt failed (across accounts) and every
// history job that did not finish, through the same processing as the stream. It is
// idempotent: what was done before is not done twice. progress, if not nil, is
// called after each chat or job.
func (p *Processor) Replay(ctx context.Context, progress func(done, total int)) (Summary, error) {
	failed, jobs, err := p.chats.Unfinished(ctx)
	if err != nil {
		return Summary{}, err
	}
	total := len(failed) + len(jobs)
	var (
		mu   sync.Mutex
		sum  = Summary{Replayed: len(failed), Jobs: len(jobs)}
		n    int
		wg   sync.WaitGroup
		sem  = make(chan struct{}, p.o.Workers)
		tick = func() {
			n++
			if progress != nil {
				progress(n, total)
			}
		}
	)
	for _, ref := range failed {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := p.Process(ctx, ref.Account, ref.ChatID)
			status := ""
			if err == nil {
				if it, gerr := p.chats.Chat(ctx, ref.Account, ref.ChatID); gerr == nil {
					status = it.Status
				}
			}
			mu.Lock()
			defer mu.Unlock()
			switch status {
			case chats.StatusMatched:
				sum.InFeed++
			case chats.StatusUnmatched:
				sum.Unmatched++
			default:
				sum.StillFailing++
			}
			tick()
		}()
	}
	wg.Wait()
	for _, account := range jobs {
		err := p.Converge(ctx, account)
		mu.Lock()
		if err != nil {
			sum.JobsFailing++
		}
		tick()
		mu.Unlock()
	}
	return sum, ctx.Err()
}
