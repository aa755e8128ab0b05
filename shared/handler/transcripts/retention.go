package transcripts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
)

// Retention (docs/privacy.md): chats and their feed entries expire through the
// table's TTL, retention days after the chat was received.
//
//   - Ingest stamps each new chat with its expiry; processing gives its entries the
//     same one, after bringing the chat's in line with the setting as it is then (a
//     chat ingested within chatstore.RulesTTL of a change carries the old one).
//   - A change of the days runs the re-stamp job (ApplyRetention) from the stream:
//     it moves the expiry of every stored chat, then of every entry to its chat's.
//   - When DynamoDB's TTL deletes an entry whose note sellchat mirrored into Sell
//     and the admin chose so, the note is deleted too (ExpiredEntry). Only TTL's
//     deletions do that: an erasure or an uninstall's purge deletes entries its
//     own way.

// restampPage is how many chats or entries the re-stamp job reads at once: the end
// of a page done is where a run stopped by a fault resumes.
var restampPage = 100

// errRetentionMoved: the retention changed while the job ran; the job for the new
// setting (its change is in the stream too) takes over.
var errRetentionMoved = errors.New("transcripts: the retention changed during the job")

// ApplyRetention re-stamps the account's stored chats and feed entries with its
// retention setting: each chat expires its days after it was received (or never,
// when kept forever), each entry with its chat. What has expired already stays
// expired. Progress is kept in the RETENTIONJOB item (GET /integration shows it); a
// run stopped by a fault leaves the job failed with the reason and resumes, next
// time, after the last page done (the stream's retry, or make replay). It is
// idempotent: an item whose expiry is right already costs no write.
func (p *Processor) ApplyRetention(ctx context.Context, account string) error {
	st, _, err := p.store.Settings(ctx, account)
	if err != nil {
		return err
	}
	job, err := p.chats.RetentionJob(ctx, account)
	if err != nil {
		return err
	}
	now := p.o.Now().UTC()
	if job.State == "" || job.State == chatstore.JobDone || job.Days != st.Retention.Days || job.Phase == "" {
		// A new setting, or the same one asked for again: walk everything.
		job = chatstore.RetentionJob{Days: st.Retention.Days, Phase: chatstore.PhaseChats, StartedAt: now}
	}
	job.State, job.Error, job.UpdatedAt = chatstore.JobRunning, "", now
	if err := p.chats.SaveRetentionJob(ctx, account, job); err != nil {
		return err
	}
	rs := &restamper{p: p, account: account, retention: st.Retention, job: &job}
	err = rs.run(ctx)
	if errors.Is(err, errRetentionMoved) {
		p.logger.Info("retention job superseded", "account", account, "days", job.Days)
		return nil
	}
	job.UpdatedAt = p.o.Now().UTC()
	if err != nil {
		err = classify(err)
		job.State, job.Error = chatstore.JobFailed, reasonOf(err)
		if serr := p.chats.SaveRetentionJob(context.WithoutCancel(ctx), account, job); serr != nil {
			p.logger.Error("could not mark retention job failed", "account", account, "err", serr.Error())
		}
		return fmt.Errorf("retention job of %s: %w", account, err)
	}
	job.State, job.After = chatstore.JobDone, ""
	if err := p.chats.SaveRetentionJob(context.WithoutCancel(ctx), account, job); err != nil {
		return err
	}
	p.logger.Info("retention job done", "account", account, "days", job.Days, "chats", job.Chats, "entries", job.Entries, "changed", job.Changed)
	return nil
}

// restamper is one run of the re-stamp job.
type restamper struct {
	p         *Processor
	account   string
	retention settings.Retention
	job       *chatstore.RetentionJob
}

// run walks the chats, then the entries, a page at a time from where the job
// stands, saving the job after every page.
func (rs *restamper) run(ctx context.Context) error {
	for {
		stamps, next, err := rs.p.chats.Stamps(ctx, rs.account, rs.job.Phase, rs.job.After, restampPage)
		if err != nil {
			return err
		}
		changed, err := rs.page(ctx, stamps)
		rs.job.Changed += changed // what moved stays moved: a resumed page finds it done
		if err != nil {
			return err
		}
		if rs.job.Phase == chatstore.PhaseChats {
			rs.job.Chats += len(stamps)
		} else {
			rs.job.Entries += len(stamps)
		}
		rs.job.After = next
		if next == "" && rs.job.Phase == chatstore.PhaseEntries {
			return nil
		}
		if next == "" {
			rs.job.Phase = chatstore.PhaseEntries
		}
		// The setting may move while we work: stop rather than stamp what the
		// job for the new one is stamping.
		st, _, err := rs.p.store.Settings(ctx, rs.account)
		if err != nil {
			return err
		}
		if st.Retention.Days != rs.job.Days {
			return errRetentionMoved
		}
		rs.job.UpdatedAt = rs.p.o.Now().UTC()
		if err := rs.p.chats.SaveRetentionJob(ctx, rs.account, *rs.job); err != nil {
			return err
		}
	}
}

// page re-stamps one page, a few items at a time, and returns how many expiries
// moved; the first item that still fails after retries fails the page.
func (rs *restamper) page(ctx context.Context, stamps []chatstore.Stamp) (int, error) {
	var (
		mu      sync.Mutex
		changed int
		first   error
		wg      sync.WaitGroup
		sem     = make(chan struct{}, rs.p.o.Workers)
	)
	for _, st := range stamps {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			moved, err := rs.stamp(ctx, st)
			mu.Lock()
			defer mu.Unlock()
			if moved {
				changed++
			}
			if err != nil && first == nil {
				first = err
			}
		}()
	}
	wg.Wait()
	return changed, first
}

// stamp gives one chat or entry the expiry it should have, and reports whether it
// moved. One that expired or went meanwhile is left alone.
func (rs *restamper) stamp(ctx context.Context, st chatstore.Stamp) (bool, error) {
	var moved bool
	err := rs.p.retry(ctx, func() error {
		want, err := rs.want(ctx, st)
		if err != nil || want.Equal(st.Expires) {
			return err
		}
		err = rs.p.chats.SetExpiry(ctx, rs.account, st.SK, want)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		moved = err == nil
		return err
	})
	return moved, err
}

// want is the expiry st should have: a chat's follows the retention; an entry's is
// its chat's (even one past, so the entry expires with its chat). An entry whose
// chat is no longer stored follows the retention from its own creation.
func (rs *restamper) want(ctx context.Context, st chatstore.Stamp) (time.Time, error) {
	if rs.job.Phase == chatstore.PhaseChats {
		return rs.retention.Expiry(st.ReceivedAt), nil
	}
	exp, err := rs.p.chats.ChatExpiry(ctx, rs.account, st.ChatID)
	if errors.Is(err, store.ErrNotFound) {
		return rs.retention.Expiry(st.CreatedAt), nil
	}
	return exp, err
}

// expiring brings a chat's expiry in line with the account's retention as it is
// now and returns the chat with it, for its entries to take. A chat ingested just
// after a change of the setting was stamped with the old one (Ingest reads the
// setting at most chatstore.RulesTTL late), possibly after the re-stamp job passed
// it; the entries it already has (a redelivery) follow it. A chat whose new expiry
// has passed is expired here and reads as not stored.
func (p *Processor) expiring(ctx context.Context, account string, item chatstore.ChatItem) (chatstore.ChatItem, error) {
	st, _, err := p.store.Settings(ctx, account)
	if err != nil {
		return item, err
	}
	want := st.Retention.Expiry(item.ReceivedAt)
	if want.Equal(item.Expires) {
		return item, nil
	}
	if err := p.chats.SetExpiry(ctx, account, chatstore.ChatKey(item.ChatID), want); err != nil {
		return item, fmt.Errorf("expiry of chat %s: %w", item.ChatID, err)
	}
	for _, r := range storedRecords(item) {
		sk := chats.FeedKey(r, chats.Chat{ID: item.ChatID, Start: item.Start})
		if err := p.chats.SetExpiry(ctx, account, sk, want); err != nil && !errors.Is(err, store.ErrNotFound) {
			return item, fmt.Errorf("expiry of entry %s: %w", sk, err)
		}
	}
	item.Expires = want
	if !want.IsZero() && !want.After(p.o.Now()) {
		return item, fmt.Errorf("chat %s is past its retention: %w", item.ChatID, store.ErrNotFound)
	}
	return item, nil
}

// ExpiredEntry deletes the Sell note of a feed entry DynamoDB's TTL deleted, when
// the account's retention says so (deleteSellNotes); old is the entry as it was. A
// note already gone from Sell is fine. An entry claimed without a recorded note
// may still have one (a worker died after creating it): it is found by its marker.
func (p *Processor) ExpiredEntry(ctx context.Context, account string, old store.Item) error {
	e, err := chatstore.EntryOf(old)
	if err != nil {
		return &Permanent{fmt.Errorf("expired entry %s of %s: %w", old.SK, account, err)}
	}
	if e.NoteID == 0 && e.Claims == 0 {
		return nil
	}
	st, _, err := p.store.Settings(ctx, account)
	if err != nil {
		return err
	}
	if !st.Retention.DeleteSellNotes {
		return nil
	}
	err = p.retry(ctx, func() error {
		client, err := p.o.Sell(ctx, account)
		if err != nil {
			return fmt.Errorf("sell client: %w", err)
		}
		id := e.NoteID
		if id == 0 {
			if id, err = findMarked(ctx, client, e, e.ChatID); err != nil || id == 0 {
				return err
			}
		}
		return client.DeleteNote(ctx, id)
	})
	if err != nil {
		return fmt.Errorf("note of expired entry %s of %s: %w", e.SK, account, err)
	}
	p.logger.Info("note of expired entry deleted", "account", account, "chat_id", e.ChatID, "record", e.Record().String())
	return nil
}

// RerunSummary is what running unfinished jobs again achieved: the erasures of
// ReplayErasures, the re-stamp jobs of ReplayRetention.
type RerunSummary struct {
	Run     int // unfinished jobs run again
	Failing int // of those, still not done
}

// rerun runs each unfinished job again, as the stream would, and counts those that
// still fail, each told to failed (to log it); progress, if not nil, is called after
// each. Erasures and retention re-stamp jobs are replayed alike through it.
func rerun[J any](ctx context.Context, jobs []J, run func(J) error, failed func(J, error), progress func(done, total int)) (RerunSummary, error) {
	sum := RerunSummary{Run: len(jobs)}
	for i, job := range jobs {
		if err := run(job); err != nil {
			sum.Failing++
			failed(job, err)
		}
		if progress != nil {
			progress(i+1, len(jobs))
		}
	}
	return sum, ctx.Err()
}

// ReplayRetention runs every re-stamp job that did not finish (across accounts)
// again, as the stream would; progress, if not nil, is called after each.
func (p *Processor) ReplayRetention(ctx context.Context, progress func(done, total int)) (RerunSummary, error) {
	accounts, err := p.chats.UnfinishedRetention(ctx)
	if err != nil {
		return RerunSummary{}, err
	}
	restamp := func(account string) error { return p.ApplyRetention(ctx, account) }
	return rerun(ctx, accounts, restamp, func(account string, err error) {
		p.logger.Warn("retention job still unfinished", "account", account, "err", err.Error())
	}, progress)
}

// retentionChanged reports whether a change of the settings moves the retention
// days (a first save with days set included); the notes option alone stamps
// nothing. A deleted settings item (uninstall) runs nothing.
func retentionChanged(c store.Change) bool {
	return !c.Removed && c.OldSettings.Retention.Days != c.NewSettings.Retention.Days
}
