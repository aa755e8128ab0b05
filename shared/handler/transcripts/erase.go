package transcripts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/store/privacystore"
	"github.com/sellchat/sellchat/shared/domain/chats"
)

// Erasing a visitor (POST /privacy/erasures starts it; privacystore keeps the job).
//
// A job deletes every stored chat of the visitor, each chat's feed entries and the
// Sell notes sellchat mirrored for them (a note already gone from Sell is fine), and
// the records the leads function kept about the visitor's leads. It lists, and
// leaves alone, the Sell leads and contacts matching the visitor: those are the
// company's CRM records. Every deletion is counted on the job in the same write,
// so a job stopped by a fault (Sell down halfway) is run again from the start and
// finds only what is left, with its counts right. A chat that arrived while the job
// ran is caught by a second pass over the chats; after the job, the ingest refuses
// the visitor's chats while the erasure's tombstone lasts.

// maxErasePasses bounds the passes over the account's chats: a pass that erased
// something is followed by another, for chats that arrived meanwhile.
const maxErasePasses = 3

// Erase runs erasure job id of account to its end. It is idempotent: a done job is
// left as it is, and a job run again continues where the last run stopped. A fault
// leaves the job failed with the reason and is returned (a *Permanent one when no
// retry can help, such as a missing Sell connection).
func (p *Processor) Erase(ctx context.Context, account, id string) error {
	job, err := p.privacy.Begin(ctx, account, id)
	if errors.Is(err, store.ErrNotFound) {
		return &Permanent{fmt.Errorf("erasure %s of %s does not exist: %w", id, account, err)}
	}
	if err != nil {
		return err
	}
	if job.Finished() {
		return nil
	}
	if err := p.erase(ctx, account, job); err != nil {
		err = classify(err)
		if ferr := p.privacy.Fail(context.WithoutCancel(ctx), account, id, reasonOf(err)); ferr != nil {
			p.logger.Error("could not mark erasure failed", "account", account, "erasure", id, "err", ferr.Error())
		}
		return fmt.Errorf("erasure %s of %s: %w", id, account, err)
	}
	p.logger.Info("erasure done", "account", account, "erasure", id)
	return nil
}

// eraser is one run of one job.
type eraser struct {
	p       *Processor
	account string
	job     privacystore.Job
	sub     privacystore.Subject
	sell    func() (*sell.Client, error) // the account's Sell client, made on first use
}

func (p *Processor) erase(ctx context.Context, account string, job privacystore.Job) error {
	sub, err := p.privacy.Identifier(account, job)
	if err != nil {
		return &Permanent{err}
	}
	e := &eraser{p: p, account: account, job: job, sub: sub, sell: sync.OnceValues(func() (*sell.Client, error) {
		c, err := p.o.Sell(ctx, account)
		if err != nil {
			return nil, fmt.Errorf("sell client: %w", err)
		}
		return c, nil
	})}
	for pass := 1; pass <= maxErasePasses; pass++ {
		n, err := e.pass(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	if err := e.lateEntries(ctx); err != nil {
		return err
	}
	matches, err := e.sellRecords(ctx)
	if err != nil {
		return err
	}
	if err := e.leadCreations(ctx, matches); err != nil {
		return err
	}
	return p.privacy.Finish(ctx, account, e.job, matches)
}

// pass erases every stored chat of the visitor and returns how many it found.
func (e *eraser) pass(ctx context.Context) (int, error) {
	byChat, err := e.entriesByChat(ctx)
	if err != nil {
		return 0, err
	}
	found := 0
	_, err = e.p.privacy.ScanChats(ctx, e.account, "", 0, func(it store.Item) (bool, error) {
		var item chatstore.ChatItem
		if err := it.Decode(&item); err != nil {
			return true, err
		}
		c, err := item.Chat()
		if err != nil {
			// Nobody can tell whose it is; it stays, and is logged for an operator.
			e.p.logger.Warn("erasure skipped an unreadable chat", "account", e.account, "chat_id", item.ChatID, "err", err.Error())
			return true, nil
		}
		if !e.sub.Matches(c.Visitor, e.p.o.ReadPhone) {
			return true, nil
		}
		found++
		return true, e.chat(ctx, item, c, byChat[item.ChatID])
	})
	return found, err
}

// entriesByChat indexes the account's feed entries by chat: an entry whose chat
// was processed but not yet marked with its records is found this way too.
func (e *eraser) entriesByChat(ctx context.Context) (map[string][]chatstore.Entry, error) {
	all, err := e.p.chats.AllEntries(ctx, e.account)
	if err != nil {
		return nil, fmt.Errorf("read feed entries: %w", err)
	}
	out := map[string][]chatstore.Entry{}
	for _, en := range all {
		out[en.ChatID] = append(out[en.ChatID], en)
	}
	return out, nil
}

// chat erases one chat: its entries (and their notes) first, so that a chat still
// stored always has whatever entries are left to find, then the chat.
func (e *eraser) chat(ctx context.Context, item chatstore.ChatItem, c chats.Chat, indexed []chatstore.Entry) error {
	sks := make([]string, 0, len(indexed)+len(item.Records))
	for _, en := range indexed {
		sks = append(sks, en.SK)
	}
	for _, r := range storedRecords(item) {
		if sk := chats.FeedKey(r, chats.Chat{ID: item.ChatID, Start: item.Start}); !slices.Contains(sks, sk) {
			sks = append(sks, sk)
		}
	}
	for _, sk := range sks {
		if err := e.entry(ctx, sk); err != nil {
			return err
		}
	}
	if e.sub.Kind == privacystore.KindPhone {
		if err := e.p.privacy.TombstonePhone(ctx, e.account, e.job, c.Visitor.Phone); err != nil {
			return err
		}
	}
	if _, err := e.p.privacy.DeleteChat(ctx, e.account, e.job.ID, item.ChatID, item.Records); err != nil {
		return err
	}
	e.job.ErasedChats = append(e.job.ErasedChats, item.ChatID)
	return nil
}

// entry deletes the entry at sk with its Sell note, counting both once.
func (e *eraser) entry(ctx context.Context, sk string) error {
	return e.p.retry(ctx, func() error {
		// Read afresh: a note may have been created since the entry was listed.
		en, err := e.p.chats.Entry(ctx, e.account, sk)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		noteID, err := e.note(ctx, en)
		if err != nil {
			return err
		}
		_, err = e.p.privacy.DeleteEntry(ctx, e.account, e.job.ID, sk, noteID != 0)
		return err
	})
}

// note deletes the entry's note from Sell and returns its id (0: it has none). An
// entry claimed without a recorded note may still have one (a worker died after
// creating it), found by its marker. Until the entry is deleted its note id stays,
// so a run stopped in between deletes (finds gone) and counts the note next time.
func (e *eraser) note(ctx context.Context, en chatstore.Entry) (int64, error) {
	if en.Leased(e.p.o.Now()) {
		return 0, errBusy // its note is being created right now
	}
	if en.NoteID == 0 && en.Claims == 0 {
		return 0, nil
	}
	client, err := e.sell()
	if err != nil {
		return 0, err
	}
	id := en.NoteID
	if id == 0 {
		id, err = findMarked(ctx, client, en, en.ChatID)
		if recordGone(err) {
			return 0, nil // the record went from Sell, and its notes with it
		}
		if err != nil || id == 0 {
			return 0, err
		}
	}
	if err := client.DeleteNote(ctx, id); err != nil { // a note already gone is no error
		return 0, err
	}
	return id, nil
}

// lateEntries erases the entries of chats this job erased that were written after
// their chat was gone: a chat being processed while it was erased.
func (e *eraser) lateEntries(ctx context.Context) error {
	job, err := e.p.privacy.Job(ctx, e.account, e.job.ID)
	if err != nil {
		return err
	}
	erased := slices.Concat(job.ErasedChats, e.job.ErasedChats)
	byChat, err := e.entriesByChat(ctx)
	if err != nil {
		return err
	}
	for chatID, ens := range byChat {
		if !slices.Contains(erased, chatID) {
			continue
		}
		for _, en := range ens {
			if err := e.entry(ctx, en.SK); err != nil {
				return err
			}
		}
	}
	return nil
}

// sellRecords lists the Sell leads and contacts matching the visitor, as matching
// finds them; they are reported, not deleted.
func (e *eraser) sellRecords(ctx context.Context) ([]privacystore.SellRecord, error) {
	var out []privacystore.SellRecord
	err := e.p.retry(ctx, func() error {
		client, err := e.sell()
		if err != nil {
			return err
		}
		v := sell.Visitor{ReadPhone: e.p.o.ReadPhone}
		if e.sub.Kind == privacystore.KindEmail {
			v.Email = e.sub.Value
		} else {
			v.Phone = e.sub.Value
		}
		m, err := client.Find(ctx, v)
		if errors.Is(err, sell.ErrNoPhoneReader) {
			return &Permanent{err}
		}
		if err != nil {
			return fmt.Errorf("find the visitor in Sell: %w", err)
		}
		out = out[:0]
		for _, l := range m.Leads {
			out = append(out, privacystore.SellRecord{Kind: chats.ResourceLead, ID: l.ID})
		}
		for _, c := range m.Contacts {
			out = append(out, privacystore.SellRecord{Kind: chats.ResourceContact, ID: c.ID})
		}
		return nil
	})
	return out, err
}

// leadCreations clears what the leads function kept about the visitor's leads: those
// their erased chats were in, and those Sell matches.
func (e *eraser) leadCreations(ctx context.Context, matches []privacystore.SellRecord) error {
	job, err := e.p.privacy.Job(ctx, e.account, e.job.ID)
	if err != nil {
		return err
	}
	var leadIDs []int64
	for _, s := range job.Records {
		if r, ok := chats.ParseRecord(s); ok && r.Type == chats.ResourceLead {
			leadIDs = append(leadIDs, r.ID)
		}
	}
	for _, m := range matches {
		if m.Kind == chats.ResourceLead {
			leadIDs = append(leadIDs, m.ID)
		}
	}
	lcs, err := e.p.privacy.LeadCreations(ctx, e.account, e.sub, leadIDs)
	if err != nil {
		return err
	}
	for _, lc := range lcs {
		if _, err := e.p.privacy.ClearLeadCreation(ctx, e.account, e.job.ID, lc); err != nil {
			return err
		}
	}
	return nil
}

// ReplayErasures runs every erasure job that is not done (across accounts) again,
// as the stream would; progress, if not nil, is called after each.
func (p *Processor) ReplayErasures(ctx context.Context, progress func(done, total int)) (RerunSummary, error) {
	refs, err := p.privacy.Unfinished(ctx)
	if err != nil {
		return RerunSummary{}, err
	}
	erase := func(ref privacystore.Ref) error { return p.Erase(ctx, ref.Account, ref.ID) }
	return rerun(ctx, refs, erase, func(ref privacystore.Ref, err error) {
		p.logger.Warn("erasure still unfinished", "account", ref.Account, "erasure", ref.ID, "err", err.Error())
	}, progress)
}
