// Package transcripts turns stored chats into activity-feed entries: it matches the
// visitor to Sell leads, contacts and their deals, writes one entry per record, and
// mirrors each entry into Sell as a note while chat history is enabled. It runs from
// the table's stream (the transcripts Lambda; the local gateway's stream poller) and
// from the replay command, always through Processor.
package transcripts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/store/privacystore"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
)

// SellFunc returns the Sell client used for an account's chats.
type SellFunc func(ctx context.Context, account string) (*sell.Client, error)

// Options tune a Processor; the zero value is production's.
type Options struct {
	// Sell returns the account's Sell client; the admin's token from the vault when nil.
	Sell SellFunc
	// Attempts bounds tries per chat (or per feed entry in a mirroring job) within one
	// invocation; 3 when zero. Later tries come from the stream's own retries.
	Attempts int
	// Backoff is the pause before try n+1; exponential from 200 ms with jitter when nil.
	Backoff func(n int) time.Duration
	// Lease is how long a worker may take to create one note before another may
	// take over; 2 minutes when zero.
	Lease time.Duration
	// Workers bounds stream records (and mirroring steps) handled at once; 8 when zero.
	Workers int
	// InlineWait is how long a chat in a stream batch may wait for its account's
	// Sell budget (the client's limiter, a 429's Retry-After) before it is queued for
	// the drain instead (backlog.go); 250 ms when zero.
	InlineWait time.Duration
	// AccountWorkers bounds the chats of one account the drain processes at once; 4
	// when zero, enough to keep Sell's 10 requests a second busy.
	AccountWorkers int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// ReadPhone reads visitors' and records' phone numbers as E.164 for matching
	// (phone.E164 in production); chats with a phone fail without it. It is
	// passed in rather than imported so that the leads function, which links
	// this package only to attach a chat to a new lead, stays 7 MB smaller.
	ReadPhone func(raw string) (e164 string, ok bool)
}

// Deps are what a processor uses, built once by the function's main.
type Deps struct {
	Store  *store.Store
	Vault  *tokens.Vault // the admin's Sell client, unless Options.Sell says otherwise
	Box    *secrets.Box  // opens the identifier an erasure job erases (erase.go); erasures fail without it
	Logger *slog.Logger  // slog.Default() when nil
}

// Processor matches chats, writes feed entries and mirrors notes.
type Processor struct {
	store   *store.Store
	chats   *chatstore.Store
	privacy *privacystore.Store
	logger  *slog.Logger
	o       Options
}

// New returns the production processor, matching phones with readPhone.
func New(d Deps, readPhone func(string) (string, bool)) *Processor {
	return NewWith(d, Options{ReadPhone: readPhone})
}

// NewWith returns a processor with options (tests: a fast Sell client, short backoff).
func NewWith(d Deps, o Options) *Processor {
	if o.Sell == nil {
		o.Sell = func(ctx context.Context, account string) (*sell.Client, error) {
			c, _, err := d.Vault.Client(ctx, account, tokens.Admin())
			return c, err
		}
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.Backoff == nil {
		o.Backoff = func(n int) time.Duration {
			d := 200 * time.Millisecond << min(n-1, 5)
			return d/2 + mrand.N(d/2+1)
		}
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.InlineWait <= 0 {
		o.InlineWait = DefaultInlineWait
	}
	if o.AccountWorkers <= 0 {
		o.AccountWorkers = 4
	}
	logger := d.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Processor{store: d.Store, chats: chatstore.New(d.Store), privacy: privacystore.New(d.Store, d.Box), logger: logger, o: o}
}

// errBusy: another worker is writing the same entry's note right now.
var errBusy = errors.New("transcripts: another worker is writing this note")

// Permanent wraps errors that another try cannot fix (no Sell connection, a token
// Sell refuses, a record Sell will not accept a note on, a chat we cannot read).
// Such chats are marked failed at once and wait for replay.
type Permanent struct{ Err error }

func (e *Permanent) Error() string { return e.Err.Error() }
func (e *Permanent) Unwrap() error { return e.Err }

// Deferred: the chat's account has no Sell budget left for now (sell.Throttled). The
// chat is neither failed nor done: it goes to the account's backlog.
type Deferred struct{ Err error }

func (e *Deferred) Error() string { return "deferred: " + e.Err.Error() }
func (e *Deferred) Unwrap() error { return e.Err }

func classify(err error) error {
	var p *Permanent
	if err == nil || errors.As(err, &p) || errors.Is(err, errBusy) {
		return err
	}
	var ae *sell.APIError
	switch {
	case errors.Is(err, tokens.ErrNoToken), errors.Is(err, tokens.ErrBroken), tokens.IsRefused(err):
		return &Permanent{err}
	case errors.As(err, &ae) && !ae.Temporary():
		return &Permanent{err}
	}
	return err
}

// Process matches one stored chat and brings its feed entries and notes up to date,
// trying up to Options.Attempts times. The outcome is recorded on the chat: matched,
// unmatched, or failed with the reason.
func (p *Processor) Process(ctx context.Context, account, chatID string) error {
	return p.process(ctx, account, chatID, nil)
}

// process is Process with the chat's batch pre-matched (prematch.go): the first
// try uses the chat's pre-match, if it has one; later tries match afresh, since
// whatever failed may have been about the records.
func (p *Processor) process(ctx context.Context, account, chatID string, pre prematches) error {
	var err error
	for attempt := 1; attempt <= p.o.Attempts; attempt++ {
		if attempt > 1 {
			if werr := sell.Sleep(ctx, p.o.Backoff(attempt-1)); werr != nil {
				break
			}
		}
		var out chatstore.Outcome
		matched, ok := pre[chatID]
		if attempt > 1 {
			matched, ok = nil, false
		}
		out, err = p.processOnce(ctx, account, chatID, matched, ok)
		if err == nil {
			if err = p.chats.SetOutcome(ctx, account, chatID, out, p.o.Now()); err == nil {
				return nil
			}
		}
		err = classify(err)
		if sell.Throttled(err) {
			// Sell's budget, not a fault: the chat waits in its account's backlog
			// (backlog.go) and never counts towards the dead-letter queue.
			return &Deferred{Err: err}
		}
		var perm *Permanent
		if errors.As(err, &perm) {
			break
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return &Permanent{fmt.Errorf("chat %s of %s is not stored: %w", chatID, account, err)}
	}
	// Record why, so that the table shows what the dead-letter queue holds (and,
	// locally, is the dead-letter queue).
	if serr := p.chats.SetOutcome(context.WithoutCancel(ctx), account, chatID, chatstore.Outcome{Status: chats.StatusFailed, Reason: reasonOf(err)}, p.o.Now()); serr != nil {
		p.logger.Error("could not mark chat failed", "account", account, "chat_id", chatID, "err", serr.Error())
	}
	return fmt.Errorf("process chat %s of %s: %w", chatID, account, err)
}

// processOnce makes one try; prematched says that matched are the visitor's
// records already (prematch.go), so match is not called.
func (p *Processor) processOnce(ctx context.Context, account, chatID string, matched []chats.Record, prematched bool) (chatstore.Outcome, error) {
	item, err := p.chats.Chat(ctx, account, chatID)
	if err != nil {
		return chatstore.Outcome{}, err
	}
	if item, err = p.expiring(ctx, account, item); err != nil { // retention.go
		return chatstore.Outcome{}, err
	}
	c, err := item.Chat()
	if err != nil {
		return chatstore.Outcome{}, &Permanent{err}
	}
	in, err := p.store.Integration(ctx, account)
	if err != nil {
		return chatstore.Outcome{}, err
	}
	// The records the chat is already in (a lead created from it, say, whose email
	// may not be the visitor's) keep it: a retry makes sure their notes exist too.
	records := storedRecords(item)
	if len(records) == 0 && c.Visitor.Email == "" && c.Visitor.Phone == "" {
		return chatstore.Outcome{Status: chats.StatusUnmatched}, nil
	}
	client, err := p.o.Sell(ctx, account)
	if err != nil {
		return chatstore.Outcome{}, fmt.Errorf("sell client: %w", err)
	}
	if c.Visitor.Email != "" || c.Visitor.Phone != "" {
		if !prematched {
			if matched, err = match(ctx, client, c, p.o.ReadPhone); err != nil {
				return chatstore.Outcome{}, err
			}
		}
		for _, r := range matched {
			if !slices.Contains(records, r) {
				records = append(records, r)
			}
		}
	}
	if len(records) == 0 {
		return chatstore.Outcome{Status: chats.StatusUnmatched}, nil
	}
	out := chatstore.Outcome{Status: chats.StatusMatched}
	for _, r := range records {
		e := chatstore.NewEntry(r, c, item.Start, p.o.Now())
		e.Expires = item.Expires // an entry expires with its chat
		if err := p.chats.CreateEntry(ctx, account, e); err != nil && !errors.Is(err, chatstore.ErrExists) {
			return chatstore.Outcome{}, err
		}
		// Chats that arrive while history is disabled are matched and kept, but
		// reach Sell only when it is enabled again (the mirroring job).
		if in.Enabled(settings.ChatHistoryInSell) {
			err := p.ensureNote(ctx, client, account, e.SK, c, item.Revision)
			if recordGone(err) {
				// The record was deleted in Sell since it matched or was attached:
				// there is nowhere to put the note, and no retry will make one.
				p.logger.Warn("record gone from Sell; no note", "account", account, "chat_id", c.ID, "record", r.String())
				err = nil
			}
			if err != nil {
				return chatstore.Outcome{}, err
			}
		}
		out.Records = append(out.Records, r.String())
	}
	return out, nil
}

// recordGone reports whether Sell refused a note because its record no longer
// exists: a 404, or the 422 on resource_id Sell gives for a note on a missing record.
func recordGone(err error) bool {
	var ae *sell.APIError
	return errors.Is(err, sell.ErrNotFound) ||
		(errors.As(err, &ae) && ae.Kind == sell.KindValidation && strings.TrimPrefix(ae.Field, "/") == "resource_id")
}

// storedRecords are the records whose feed the chat is in already.
func storedRecords(it chatstore.ChatItem) []chats.Record {
	var out []chats.Record
	for _, s := range it.Records {
		if r, ok := chats.ParseRecord(s); ok {
			out = append(out, r)
		}
	}
	return out
}

// match finds the visitor's leads and contacts (email, then phone in E.164: the
// client's Find does both and re-checks every hit) and the contacts' deals.
func match(ctx context.Context, client *sell.Client, c chats.Chat, readPhone func(string) (string, bool)) ([]chats.Record, error) {
	m, err := client.Find(ctx, sell.Visitor{Email: c.Visitor.Email, Phone: c.Visitor.Phone, ReadPhone: readPhone})
	if errors.Is(err, sell.ErrNoPhoneReader) {
		return nil, &Permanent{err}
	}
	if err != nil {
		return nil, fmt.Errorf("find visitor in Sell: %w", err)
	}
	var out []chats.Record
	for _, l := range m.Leads {
		out = append(out, chats.Record{Type: chats.ResourceLead, ID: l.ID})
	}
	ids := make([]int64, 0, len(m.Contacts))
	for _, ct := range m.Contacts {
		out = append(out, chats.Record{Type: chats.ResourceContact, ID: ct.ID})
		ids = append(ids, ct.ID)
	}
	if len(ids) > 0 {
		deals, err := client.DealsForContacts(ctx, ids...)
		if err != nil {
			return nil, fmt.Errorf("deals of matched contacts: %w", err)
		}
		for _, d := range deals {
			out = append(out, chats.Record{Type: chats.ResourceDeal, ID: d.ID})
		}
	}
	return out, nil
}

// ensureNote makes sure the entry has exactly one note in Sell. The lease keeps two
// workers from creating two; after a worker died mid-way (Claims > 1) the record's
// notes are searched for the chat's marker before anything is created.
func (p *Processor) ensureNote(ctx context.Context, client *sell.Client, account, sk string, c chats.Chat, rev int) error {
	owner := newOwner()
	e, err := p.claim(ctx, func() (chatstore.Entry, error) {
		return p.chats.ClaimNote(ctx, account, sk, owner, p.o.Now(), p.o.Lease)
	})
	if err != nil {
		return err
	}
	if e.NoteID != 0 {
		if e.NoteRevision < rev {
			return p.reviseNote(ctx, client, account, sk, c, rev)
		}
		return nil
	}
	if e.Claims > 1 {
		found, err := findMarkedNote(ctx, client, e, c.ID)
		if err == nil && found.ID != 0 && found.Content != chats.NoteContent(c) {
			// An earlier try made this note and lost the answer; the chat has been
			// revised since (a conversation solved again): the note is brought up to
			// date before it is recorded as showing this revision.
			_, err = client.UpdateNote(ctx, found.ID, chats.NoteContent(c))
		}
		if err != nil {
			_ = p.chats.ReleaseNote(context.WithoutCancel(ctx), account, sk, owner, false)
			return err
		}
		if found.ID != 0 {
			return p.record(ctx, account, sk, owner, found.ID, rev)
		}
	}
	n, err := client.CreateNote(ctx, sell.NewNote{ResourceType: e.ResourceType, ResourceID: e.ResourceID, Content: chats.NoteContent(c)})
	if err != nil {
		_ = p.chats.ReleaseNote(context.WithoutCancel(ctx), account, sk, owner, notCreated(err))
		return err
	}
	return p.record(ctx, account, sk, owner, n.ID, rev)
}

// claim takes a note lease with take, waiting briefly while another worker holds it.
func (p *Processor) claim(ctx context.Context, take func() (chatstore.Entry, error)) (chatstore.Entry, error) {
	wait := 10 * time.Millisecond
	for waited := time.Duration(0); ; waited += wait {
		e, err := take()
		if !errors.Is(err, chatstore.ErrLeased) {
			return e, err
		}
		// Another worker is writing this very note, usually for a few
		// milliseconds: wait for it briefly rather than fail the whole chat.
		if waited > 3*time.Second {
			return e, errBusy
		}
		if err := sell.Sleep(ctx, wait); err != nil {
			return e, err
		}
		wait = min(wait*2, 500*time.Millisecond)
	}
}

// reviseNote updates the note of an entry whose chat was revised (a messaging
// conversation solved again) to show revision rev, under the entry's lease, so
// that the conversation keeps one note per record.
func (p *Processor) reviseNote(ctx context.Context, client *sell.Client, account, sk string, c chats.Chat, rev int) error {
	owner := newOwner()
	e, err := p.claim(ctx, func() (chatstore.Entry, error) {
		return p.chats.ClaimNoteRevision(ctx, account, sk, owner, rev, p.o.Now(), p.o.Lease)
	})
	if err != nil || e.LeaseOwner != owner {
		return err // nothing to do: another worker updated it, or it has no note
	}
	if _, err := client.UpdateNote(ctx, e.NoteID, chats.NoteContent(c)); err != nil {
		_ = p.chats.ReleaseNote(context.WithoutCancel(ctx), account, sk, owner, false)
		return err
	}
	err = p.chats.RecordNoteRevision(context.WithoutCancel(ctx), account, sk, owner, rev)
	if errors.Is(err, chatstore.ErrLostLease) {
		p.logger.Warn("note lease lost", "account", account, "entry", sk, "note_id", e.NoteID)
		return errBusy
	}
	return err
}

// notCreated reports whether a failed create certainly created nothing: Sell
// answered that it refused (4xx), was rate limited (429) or unavailable (503). After
// a 500, a gateway error (502, 504) or a lost connection Sell may have acted, so the
// next try searches for the note first.
func notCreated(err error) bool {
	var ae *sell.APIError
	if !errors.As(err, &ae) || ae.Status == 0 {
		return false
	}
	return ae.Status < 500 || ae.Status == 503
}

func (p *Processor) record(ctx context.Context, account, sk, owner string, noteID int64, rev int) error {
	err := p.chats.RecordNote(context.WithoutCancel(ctx), account, sk, owner, noteID, rev)
	if errors.Is(err, chatstore.ErrLostLease) {
		// Our lease ran out while Sell was slow; whoever took over searches for
		// the marker first, so it finds this note instead of making another.
		p.logger.Warn("note lease lost", "account", account, "entry", sk, "note_id", noteID)
		return errBusy
	}
	return err
}

// sellClockSkew is how far Sell's clock may lag ours: a note of an entry is looked
// for among the notes Sell dates from the entry's creation less this.
const sellClockSkew = time.Hour

// findMarked returns the id of the note on e's record that carries chatID's marker.
// It reads back to the entry's creation however many notes the record got since: a
// busy record may have more than a thousand newer notes by the time a note whose
// answer was lost is looked for (a replay, hours later), and missing it would
// create a second one.
func findMarked(ctx context.Context, client *sell.Client, e chatstore.Entry, chatID string) (int64, error) {
	n, err := findMarkedNote(ctx, client, e, chatID)
	return n.ID, err
}

// findMarkedNote is findMarked with the note's content; the zero Note when none.
func findMarkedNote(ctx context.Context, client *sell.Client, e chatstore.Entry, chatID string) (sell.Note, error) {
	notes, err := client.NotesSince(ctx, e.ResourceType, e.ResourceID, e.CreatedAt.Add(-sellClockSkew))
	if err != nil {
		return sell.Note{}, err
	}
	for _, n := range notes {
		if strings.Contains(n.Content, chats.Marker(chatID)) {
			return n, nil
		}
	}
	return sell.Note{}, nil
}

func reasonOf(err error) string {
	if err == nil {
		return "unknown"
	}
	switch {
	case errors.Is(err, tokens.ErrNoToken):
		return "Sell is not connected for this account."
	case errors.Is(err, tokens.ErrBroken), tokens.IsRefused(err):
		return "Sell refused the stored token; the admin must connect Sell again."
	case errors.Is(err, errBusy):
		return "Another worker was writing the same note."
	}
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	return msg
}

func newOwner() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
