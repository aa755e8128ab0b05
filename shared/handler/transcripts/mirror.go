package transcripts

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
)

// errSuperseded: the history switch moved while a job ran; the job for the new
// position takes over.
var errSuperseded = errors.New("transcripts: the history switch changed during the job")

// Converge makes Sell's notes match the account's history switch: with history
// enabled every feed entry gets its note; disabled, every mirrored note is deleted
// (the entries stay, hidden). It is idempotent and resumable: entries already in the
// wanted state cost no Sell call, so a retry after a fault picks up where the last
// run stopped. Progress is kept in the HISTORYJOB item (GET /integration shows it).
func (p *Processor) Converge(ctx context.Context, account string) error {
	in, err := p.store.Integration(ctx, account)
	if err != nil {
		return err
	}
	mirror := in.Enabled(settings.ChatHistoryInSell)
	entries, err := p.chats.AllEntries(ctx, account)
	if err != nil {
		return err
	}
	job := chatstore.Job{State: chatstore.JobRunning, Mirror: mirror, Total: len(entries), StartedAt: p.o.Now().UTC(), UpdatedAt: p.o.Now().UTC()}
	if err := p.chats.SaveJob(ctx, account, job); err != nil {
		return err
	}
	var client *sell.Client
	var clientErr error
	var clientOnce sync.Once
	getClient := func() (*sell.Client, error) {
		clientOnce.Do(func() { client, clientErr = p.o.Sell(ctx, account) })
		return client, clientErr
	}
	var (
		mu       sync.Mutex
		lastErr  error
		stopped  bool
		wg       sync.WaitGroup
		sem      = make(chan struct{}, p.o.Workers)
		parsed   = map[string]revisedChat{}
		progress = func(err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				job.Failed++
				lastErr = err
			} else {
				job.Done++
			}
			if (job.Done+job.Failed)%25 == 0 {
				job.UpdatedAt = p.o.Now().UTC()
				_ = p.chats.SaveJob(ctx, account, job)
			}
		}
	)
	chatOf := func(id string) (revisedChat, error) {
		mu.Lock()
		c, ok := parsed[id]
		mu.Unlock()
		if ok {
			return c, nil
		}
		item, err := p.chats.Chat(ctx, account, id)
		if err != nil {
			return revisedChat{}, err
		}
		if c.Chat, err = item.Chat(); err != nil {
			return revisedChat{}, err
		}
		c.rev = item.Revision
		mu.Lock()
		parsed[id] = c
		mu.Unlock()
		return c, nil
	}
	for _, e := range entries {
		if mirror && e.NoteID != 0 || !mirror && e.NoteID == 0 && e.Claims == 0 {
			progress(nil) // nothing to do for this one
			continue
		}
		// The switch may move while we work: stop rather than undo what the
		// job for its new position is doing.
		cur, err := p.store.Integration(ctx, account)
		if err != nil {
			progress(err)
			continue
		}
		if cur.Enabled(settings.ChatHistoryInSell) != mirror {
			mu.Lock()
			stopped = true
			mu.Unlock()
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(e chatstore.Entry) {
			defer func() { <-sem; wg.Done() }()
			progress(p.retry(ctx, func() error {
				client, err := getClient()
				if err != nil {
					return fmt.Errorf("sell client: %w", err)
				}
				if !mirror {
					return p.removeNote(ctx, client, account, e)
				}
				c, err := chatOf(e.ChatID)
				if err != nil {
					return err
				}
				return p.ensureNote(ctx, client, account, e.SK, c.Chat, c.rev)
			}))
		}(e)
	}
	wg.Wait()
	if stopped {
		return nil
	}
	job.State, job.Error, job.UpdatedAt = chatstore.JobDone, "", p.o.Now().UTC()
	if job.Failed > 0 {
		job.State, job.Error = chatstore.JobFailed, reasonOf(lastErr)
	}
	if err := p.chats.SaveJob(context.WithoutCancel(ctx), account, job); err != nil {
		return err
	}
	if job.Failed > 0 {
		return fmt.Errorf("history job of %s: %d of %d entries failed: %w", account, job.Failed, job.Total, lastErr)
	}
	p.logger.Info("history job done", "account", account, "mirror", mirror, "entries", job.Total)
	return nil
}

// removeNote deletes the entry's note from Sell and forgets it. An entry claimed
// before without a recorded note may still have one (a worker died after creating
// it): the record's notes are searched for the marker.
func (p *Processor) removeNote(ctx context.Context, client *sell.Client, account string, e chatstore.Entry) error {
	if e.Leased(p.o.Now()) {
		return errBusy
	}
	id := e.NoteID
	if id == 0 {
		found, err := findMarked(ctx, client, e, e.ChatID)
		if err != nil {
			return err
		}
		id = found
	}
	if id != 0 {
		if err := client.DeleteNote(ctx, id); err != nil {
			return err
		}
	}
	err := p.chats.ClearNote(ctx, account, e.SK, e.NoteID, p.o.Now())
	if errors.Is(err, chatstore.ErrLeased) {
		return errBusy
	}
	return err
}

// retry runs f up to Options.Attempts times while its errors are temporary.
func (p *Processor) retry(ctx context.Context, f func() error) error {
	var err error
	for attempt := 1; attempt <= p.o.Attempts; attempt++ {
		if attempt > 1 {
			if werr := sell.Sleep(ctx, p.o.Backoff(attempt-1)); werr != nil {
				return err
			}
		}
		if err = classify(f()); err == nil {
			return nil
		}
		var perm *Permanent
		if errors.As(err, &perm) {
			return err
		}
	}
	return err
}

// revisedChat is a stored chat with its revision (chatstore.ChatItem.Revision).
type revisedChat struct {
	chats.Chat
	rev int
}
