// Package chatstore keeps chats, feed entries and the history-mirroring progress in
// the table. Every item lives under its account's partition:
//
//	CHAT#<chatId>                                         the chat as received (gzip), its status
//	FEED#<type>#<id>#<start>#<chatId>                     one entry per chat and Sell record
//	HISTORYJOB                                            progress of mirroring/unmirroring notes
//	RETENTIONJOB                                          progress of re-stamping expiries (retention.go)
//
// The chat's key is the store's (store.ChatKey), since the table's stream tells new
// chats by it. Writes that must happen once use conditions; the note of an entry is
// guarded by a lease so that two workers never create two notes. Every read and write
// goes through shared/adapter/store, which alone knows the table's keys and conditions.
//
// Ingest is the one door every chat comes in by, and it redacts the chat (package
// redact, with the account's settings) before anything is parsed or written: what
// a rule masks is never stored, streamed, mirrored into Sell or logged. It also
// stamps the chat with its expiry under the account's retention setting (the
// table's TTL); the chat's feed entries are given the same one. The account's
// compiled rules and retention are kept for RulesTTL, so a change of the
// redaction settings applies to chats received at most RulesTTL after it is saved
// (a change of retention is applied to what is stored by the re-stamp job, and to
// the chats of that window when they are processed).
package chatstore

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"golang.org/x/sync/singleflight"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/redact"
	"github.com/sellchat/sellchat/shared/domain/settings"
)

// Errors callers branch on.
var (
	ErrExists   = store.ErrExists   // the chat or entry is already stored
	ErrNotFound = store.ErrNotFound // no such chat or entry
	// ErrTooLarge: even compressed, the chat does not fit in one item.
	ErrTooLarge = errors.New("chatstore: the chat is too large to store")
	// ErrLeased: another worker holds the entry's note lease.
	ErrLeased = errors.New("chatstore: another worker is writing this entry's note")
	// ErrLostLease: our lease ran out and someone else took the entry over.
	ErrLostLease = errors.New("chatstore: the note lease was lost")
)

// MaxRaw bounds the compressed chat: DynamoDB items stop at 400 KB and the item needs
// room for its other attributes.
const MaxRaw = 350 << 10

// Store reads and writes chat history items.
type Store struct {
	s *store.Store

	// rules caches each account's compiled redaction rules and retention (see
	// Ingest).
	mu      sync.Mutex
	rules   map[string]cachedRules
	loading singleflight.Group

	// erased, when set (CheckErasures), tells whether a chat's visitor was erased
	// within the tombstone window; Ingest then stores nothing.
	erased ErasedFunc

	// admit, when set (Admit), decides which chats go down the stream and which
	// straight into the backlog (admission.go).
	admit *admission
}

// New returns a Store over s.
func New(s *store.Store) *Store { return &Store{s: s, rules: map[string]cachedRules{}} }

// ErasedFunc reports, for each visitor, whether its email or phone was erased in
// account within the tombstone window (privacystore.Store.ErasedAll).
type ErasedFunc func(ctx context.Context, account string, visitors []chats.Visitor) ([]bool, error)

// ErrErased is Ingest refusing a chat of an erased visitor. It is an ErrExists, so
// the routes that ingest answer it as a redelivery (202) and the poll moves on: the
// sender must not retry it, and nothing of it is kept.
var ErrErased = fmt.Errorf("%w: the chat's visitor was erased", ErrExists)

// CheckErasures makes Ingest refuse chats whose visitor erased names (privacy
// erasures' tombstones) and returns cs.
func (cs *Store) CheckErasures(erased ErasedFunc) *Store {
	cs.erased = erased
	return cs
}

// RulesTTL is how long Ingest uses an account's redaction rules and retention
// before reading its settings again: a page of the export does not read them once
// per chat, and a change of the rules applies to chats received at most this long
// after it.
const RulesTTL = 30 * time.Second

// maxCachedAccounts bounds the cache; past it, rules past their time are dropped.
const maxCachedAccounts = 1000

type cachedRules struct {
	r         *redact.Redactor
	rules     settings.Redaction // what r was compiled from
	retention settings.Retention
	read      time.Time // when the settings were read, on Ingest's clock
}

// ChatItem is a stored chat.
type ChatItem struct {
	ChatID     string    `json:"chatId"`
	Type       string    `json:"type"`
	Start      time.Time `json:"start"`
	Raw        []byte    `json:"raw"` // the body as received, gzip-compressed
	ReceivedAt time.Time `json:"receivedAt"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	Attempts   int       `json:"attempts,omitempty"`
	Records    []string  `json:"records,omitempty"` // "lead:2001", in whose feed it is
	UpdatedAt  time.Time `json:"updatedAt"`
	// Redactions counts what redaction masked before the chat was stored, by rule
	// (redact.CardRule or the admin's pattern's name); the masked text itself is
	// nowhere.
	Redactions map[string]int `json:"redactions,omitempty"`
	// Expires is when the chat expires under the account's retention (the zero
	// time: kept until deleted). It is the table's TTL, kept by the store, not an
	// attribute of the chat's own; its feed entries expire with it.
	Expires time.Time `json:"-"`
	// Revision counts the times the chat was revised after it was stored (a
	// messaging conversation solved again: ReviseChat); an entry whose note shows
	// an older revision has its note updated.
	Revision int `json:"revision,omitempty"`
}

// Body is the stored body, decompressed: the chat as received, after redaction.
func (it ChatItem) Body() ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(it.Raw))
	if err != nil {
		return nil, fmt.Errorf("open stored chat %s: %w", it.ChatID, err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("read stored chat %s: %w", it.ChatID, err)
	}
	return raw, nil
}

// Chat parses the stored body back into a chat.
func (it ChatItem) Chat() (chats.Chat, error) {
	raw, err := it.Body()
	if err != nil {
		return chats.Chat{}, err
	}
	c, err := chats.Parse(raw)
	if err != nil {
		return chats.Chat{}, fmt.Errorf("parse stored chat %s: %w", it.ChatID, err)
	}
	return c, nil
}

// gzipWriters are reused: a compressor's set-up costs more than compressing a chat.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return zw
}}

// ChatKey is the sort key of a chat.
func ChatKey(chatID string) string { return store.ChatKey("", chatID).SK }

// NewChatItem prepares c, received at now, for CreateChat.
func NewChatItem(c chats.Chat, now time.Time) (ChatItem, error) {
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	_, _ = zw.Write(c.Raw)
	if err := zw.Close(); err != nil {
		return ChatItem{}, fmt.Errorf("compress chat: %w", err)
	}
	if buf.Len() > MaxRaw {
		return ChatItem{}, ErrTooLarge
	}
	now = now.UTC()
	start := c.Start
	if start.IsZero() {
		start = now // a chat without any time sorts where it arrived
	}
	return ChatItem{ChatID: c.ID, Type: c.Type, Start: start, Raw: buf.Bytes(), ReceivedAt: now,
		Status: chats.StatusReceived, UpdatedAt: now}, nil
}

// CreateChat stores a chat once, to expire at it.Expires; ErrExists when its id is
// stored already (the error store.Create answers is that one: ErrExists is
// store's). It writes it as given, unredacted: chats from outside come in by
// Ingest, which redacts them first.
func (cs *Store) CreateChat(ctx context.Context, account string, it ChatItem) error {
	return cs.s.Create(ctx, store.ChatKey(account, it.ChatID), it, it.Expires)
}

// Ingest is the durable accept of a finished chat, wherever it came from (the
// webhook's body, a page of the Chat API's export): raw, a Chat API chat object, is
// redacted with the account's rules, parsed and stored once under its id, received
// at now and expiring under the account's retention, which starts its processing
// (the table's stream). It returns the chat as
// parsed (redacted), with ErrExists when that id was stored before (nothing is
// written: a redelivery, or an updated chat the export shows again), ErrTooLarge, or
// the parse's error (chats.ErrMalformed, a *chats.FieldError). When the account's
// rules cannot be read, nothing is stored and the error is neither of those: the
// caller tries again later rather than keep the chat unredacted.
func (cs *Store) Ingest(ctx context.Context, account string, raw []byte, now time.Time) (chats.Chat, error) {
	c, item, err := cs.prepare(ctx, account, raw, now)
	if err != nil {
		return c, err
	}
	if cs.admit != nil && !cs.admit.take(account, time.Now()) {
		return c, cs.s.CreateQueued(ctx, store.ChatKey(account, item.ChatID), item, item.Expires, now)
	}
	return c, cs.CreateChat(ctx, account, item)
}

// IngestAll is Ingest for chats of one account that arrive together (a page of the
// chat export), workers at a time, and returns one error per chat, in order, as
// Ingest would. The chats the admission sends down the stream are created one by
// one; the others go into the backlog together (store.CreateQueuedAll, five chats
// a transaction), so that a flood costs the table 0.4 requests a chat, not 3.
func (cs *Store) IngestAll(ctx context.Context, account string, raws [][]byte, now time.Time, workers int) []error {
	errs := make([]error, len(raws))
	items := make([]ChatItem, len(raws))
	parsed := make([]chats.Chat, len(raws))
	each(len(raws), workers, func(i int) {
		parsed[i], items[i], errs[i] = cs.parse(ctx, account, raws[i], now)
	})
	var (
		ok   []chats.Chat
		okAt []*error
	)
	for i := range raws {
		if errs[i] == nil {
			ok, okAt = append(ok, parsed[i]), append(okAt, &errs[i])
		}
	}
	if err := cs.checkErased(ctx, account, ok, okAt); err != nil {
		for _, e := range okAt {
			*e = err
		}
	}
	var streamed, queued []int
	for i := range raws {
		switch {
		case errs[i] != nil:
		case cs.admit == nil || cs.admit.take(account, time.Now()):
			streamed = append(streamed, i)
		default:
			queued = append(queued, i)
		}
	}
	each(len(streamed), workers, func(k int) {
		i := streamed[k]
		errs[i] = cs.CreateChat(ctx, account, items[i])
	})
	if len(queued) > 0 {
		batch := make([]store.NewChat, len(queued))
		for k, i := range queued {
			batch[k] = store.NewChat{Key: store.ChatKey(account, items[i].ChatID), Item: items[i], TTL: items[i].Expires}
		}
		for k, err := range cs.s.CreateQueuedAll(ctx, account, batch, now) {
			errs[queued[k]] = err
		}
	}
	return errs
}

// each calls fn(0) … fn(n-1), workers at a time (at least one), and waits for them.
func each(n, workers int, fn func(int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(workers, 1))
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

// prepare is what Ingest does before it writes: the chat redacted with the account's
// rules, parsed, checked against the erasures, and made the item to store.
func (cs *Store) prepare(ctx context.Context, account string, raw []byte, now time.Time) (chats.Chat, ChatItem, error) {
	c, item, err := cs.parse(ctx, account, raw, now)
	if err != nil {
		return c, item, err
	}
	var erased error
	if err := cs.checkErased(ctx, account, []chats.Chat{c}, []*error{&erased}); err != nil {
		return c, ChatItem{}, err
	}
	if erased != nil {
		return c, ChatItem{}, erased
	}
	return c, item, nil
}

// checkErased sets *errs[i] to ErrErased for the chats of list whose visitor was
// erased, in one check for all, and returns the table's error when it could not tell
// (nothing is kept then, and the sender retries).
func (cs *Store) checkErased(ctx context.Context, account string, list []chats.Chat, errs []*error) error {
	if cs.erased == nil || len(list) == 0 {
		return nil
	}
	visitors := make([]chats.Visitor, len(list))
	for i, c := range list {
		visitors[i] = c.Visitor
	}
	gone, err := cs.erased(ctx, account, visitors)
	if err != nil {
		return fmt.Errorf("check the erasures of %s: %w", account, err)
	}
	for i, g := range gone {
		if g {
			*errs[i] = ErrErased
		}
	}
	return nil
}

// parse is prepare but for the erasures: the chat redacted with the account's
// rules, parsed, and made the item to store.
func (cs *Store) parse(ctx context.Context, account string, raw []byte, now time.Time) (chats.Chat, ChatItem, error) {
	pol, err := cs.policy(ctx, account, now)
	if err != nil {
		return chats.Chat{}, ChatItem{}, err
	}
	var counts redact.Counts
	if pol.r.Active() {
		if raw, counts, err = pol.r.RedactChat(raw); err != nil {
			return chats.Chat{}, ChatItem{}, chats.ErrMalformed
		}
	}
	c, err := chats.Parse(raw)
	if err != nil {
		return chats.Chat{}, ChatItem{}, err
	}
	item, err := NewChatItem(c, now)
	if err != nil {
		return c, ChatItem{}, err
	}
	item.Redactions = counts
	item.Expires = pol.retention.Expiry(item.ReceivedAt)
	return c, item, nil
}

// ReviseChat replaces a stored chat by a later version of it (raw, redacted and
// checked as Ingest does): a messaging conversation reopened and solved again. When
// the chat changed its revision is bumped and its status is received again. It
// reports whether a revision waits to be processed (this one, or an earlier one a
// crash left unprocessed), for the caller to have it processed (Enqueue), which
// updates the notes of its entries. The chat keeps its place (start, receipt, expiry), so its
// entries keep their keys. ErrNotFound when the chat is not stored; a revision that
// races another one gets store.ErrConflict.
func (cs *Store) ReviseChat(ctx context.Context, account string, raw []byte, now time.Time) (chats.Chat, bool, error) {
	c, next, err := cs.prepare(ctx, account, raw, now)
	if err != nil {
		return c, false, err
	}
	cur, err := cs.Chat(ctx, account, c.ID)
	if err != nil {
		return c, false, err
	}
	was, err := cur.Body()
	if err != nil {
		return c, false, err
	}
	is, err := next.Body()
	if err != nil {
		return c, false, err
	}
	if bytes.Equal(was, is) {
		return c, cur.Revision > 0 && cur.Status == chats.StatusReceived, nil
	}
	rev := expression.Name("revision")
	upd := expression.Set(expression.Name("raw"), expression.Value(next.Raw)).
		Set(rev, expression.Value(cur.Revision+1)).
		Set(expression.Name("status"), expression.Value(chats.StatusReceived)).
		Set(expression.Name("updatedAt"), expression.Value(now.UTC())).
		Remove(expression.Name("reason"))
	if len(next.Redactions) > 0 {
		upd = upd.Set(expression.Name("redactions"), expression.Value(next.Redactions))
	}
	cond := store.Exists().And(expression.AttributeNotExists(rev).Or(rev.Equal(expression.Value(cur.Revision))))
	if err := cs.s.UpdateIf(ctx, store.ChatKey(account, c.ID), upd, cond, nil); err != nil {
		return c, false, fmt.Errorf("revise chat %s/%s: %w", account, c.ID, err)
	}
	return c, true, nil
}

// policy returns the account's redaction rules, compiled, and its retention, as of
// at most RulesTTL before now. Concurrent ingests of one account share one read of
// the settings.
func (cs *Store) policy(ctx context.Context, account string, now time.Time) (cachedRules, error) {
	cs.mu.Lock()
	c, ok := cs.rules[account]
	cs.mu.Unlock()
	if ok && fresh(c, now) {
		return c, nil
	}
	v, err, _ := cs.loading.Do(account, func() (any, error) {
		st, _, err := cs.s.Settings(ctx, account)
		if err != nil {
			return nil, fmt.Errorf("read the redaction rules and retention of %s: %w", account, err)
		}
		r := c.r
		if !ok || !sameRules(c.rules, st.Redaction) {
			// Stored rules were checked when saved; one that no longer compiles
			// stops the ingest rather than let its matches through.
			if r, err = st.Redaction.Redactor(); err != nil {
				return nil, fmt.Errorf("the redaction rules of %s do not compile: %w", account, err)
			}
		}
		read := cachedRules{r: r, rules: st.Redaction, retention: st.Retention, read: now}
		cs.keep(account, read)
		return read, nil
	})
	if err != nil {
		return cachedRules{}, err
	}
	return v.(cachedRules), nil
}

// sameRules reports whether a and b compile to the same rules. The rules are
// compared rather than the settings' version: a version says nothing of the rules
// once the settings item is deleted (uninstall) and saved anew.
func sameRules(a, b settings.Redaction) bool {
	return a.CardNumbersOff == b.CardNumbersOff && slices.Equal(a.Patterns, b.Patterns)
}

// fresh reports whether c may still be used at now (a clock gone back counts as
// stale).
func fresh(c cachedRules, now time.Time) bool {
	age := now.Sub(c.read)
	return age >= 0 && age < RulesTTL
}

// keep caches c for account, dropping stale entries when the cache is full.
func (cs *Store) keep(account string, c cachedRules) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if len(cs.rules) >= maxCachedAccounts {
		for a, old := range cs.rules {
			if !fresh(old, c.read) {
				delete(cs.rules, a)
			}
		}
	}
	cs.rules[account] = c
}

// Chat loads a stored chat, with its expiry.
func (cs *Store) Chat(ctx context.Context, account, chatID string) (ChatItem, error) {
	var it ChatItem
	exp, err := cs.s.GetWithExpiry(ctx, store.ChatKey(account, chatID), &it)
	if err != nil {
		return ChatItem{}, err
	}
	it.Expires = exp
	return it, nil
}

// FeedChat loads chat chatID of account only if it is in r's feed; ErrNotFound when
// the chat does not exist or has no entry in that feed. A caller allowed to read one
// record's feed can therefore not read any other chat by guessing its id.
func (cs *Store) FeedChat(ctx context.Context, account string, r chats.Record, chatID string) (ChatItem, error) {
	it, err := cs.Chat(ctx, account, chatID)
	if err != nil {
		return ChatItem{}, err
	}
	// The entry's key holds the chat's start as stored (see NewEntry's callers).
	if _, err := cs.Entry(ctx, account, chats.FeedKey(r, chats.Chat{ID: chatID, Start: it.Start})); err != nil {
		return ChatItem{}, err
	}
	return it, nil
}

// Outcome is the result of one processing attempt.
type Outcome struct {
	Status  string
	Reason  string
	Records []string // added to the chat's records
}

// SetOutcome records an attempt's result on the chat (and counts the attempt).
func (cs *Store) SetOutcome(ctx context.Context, account, chatID string, o Outcome, now time.Time) error {
	attempts := expression.Name("attempts")
	upd := expression.Set(expression.Name("status"), expression.Value(o.Status)).
		Set(attempts, expression.Plus(attempts.IfNotExists(expression.Value(0)), expression.Value(1))).
		Set(expression.Name("updatedAt"), expression.Value(now.UTC().Format(time.RFC3339Nano)))
	if o.Reason != "" {
		upd = upd.Set(expression.Name("reason"), expression.Value(o.Reason))
	} else {
		upd = upd.Remove(expression.Name("reason"))
	}
	if len(o.Records) > 0 {
		// A string set: adding a record twice keeps it once.
		upd = upd.Add(expression.Name("records"), expression.Value(store.StringSet(o.Records)))
	}
	if err := cs.s.UpdateIf(ctx, store.ChatKey(account, chatID), upd, store.Exists(), nil); err != nil {
		return fmt.Errorf("set outcome of chat %s/%s: %w", account, chatID, err)
	}
	return nil
}

// Entry is one chat in one Sell record's feed, with the note mirrored for it.
type Entry struct {
	SK           string    `json:"-"`
	ChatID       string    `json:"chatId"`
	ResourceType string    `json:"resourceType"`
	ResourceID   int64     `json:"resourceId"`
	Start        time.Time `json:"start"`
	CreatedAt    time.Time `json:"createdAt"`
	NoteID       int64     `json:"noteId,omitempty"`
	// NoteRevision is the chat's revision the note shows (ChatItem.Revision).
	NoteRevision int `json:"noteRevision,omitempty"`
	// Claims counts note leases ever taken: above zero, a note may exist in Sell
	// without its id here (a worker died between creating and recording it).
	Claims     int    `json:"claims,omitempty"`
	LeaseOwner string `json:"leaseOwner,omitempty"`
	LeaseUntil int64  `json:"leaseUntil,omitempty"` // unix milliseconds
	// Expires is when the entry expires: its chat's expiry (see ChatItem.Expires).
	Expires time.Time `json:"-"`
}

// Record is the Sell record the entry belongs to.
func (e Entry) Record() chats.Record { return chats.Record{Type: e.ResourceType, ID: e.ResourceID} }

// Leased reports whether someone holds the note lease at now.
func (e Entry) Leased(now time.Time) bool {
	return e.LeaseOwner != "" && e.LeaseUntil > now.UnixMilli()
}

// NewEntry is the entry of chat c in r's feed; it never expires until its Expires
// is set (to its chat's).
func NewEntry(r chats.Record, c chats.Chat, start, now time.Time) Entry {
	cc := c
	cc.Start = start
	return Entry{SK: chats.FeedKey(r, cc), ChatID: c.ID, ResourceType: r.Type, ResourceID: r.ID, Start: start.UTC(), CreatedAt: now.UTC()}
}

// CreateEntry writes e once, to expire at e.Expires; ErrExists when it is there
// already (see CreateChat).
func (cs *Store) CreateEntry(ctx context.Context, account string, e Entry) error {
	return cs.s.Create(ctx, store.Key{Account: account, SK: e.SK}, e, e.Expires)
}

// Entry loads one entry.
func (cs *Store) Entry(ctx context.Context, account, sk string) (Entry, error) {
	var e Entry
	exp, err := cs.s.GetWithExpiry(ctx, store.Key{Account: account, SK: sk}, &e)
	if err != nil {
		return Entry{}, err
	}
	e.SK, e.Expires = sk, exp
	return e, nil
}

// ClaimNote takes the note lease of an entry that has no note yet, until now+lease.
// It returns the entry as it is after the claim, ErrLeased when someone else holds a
// live lease, or the entry with its NoteID when the note exists already.
func (cs *Store) ClaimNote(ctx context.Context, account, sk, owner string, now time.Time, lease time.Duration) (Entry, error) {
	noteID, leaseUntil, claims := expression.Name("noteId"), expression.Name("leaseUntil"), expression.Name("claims")
	upd := expression.Set(expression.Name("leaseOwner"), expression.Value(owner)).
		Set(leaseUntil, expression.Value(now.Add(lease).UnixMilli())).
		Set(claims, expression.Plus(claims.IfNotExists(expression.Value(0)), expression.Value(1)))
	cond := store.Exists().
		And(expression.AttributeNotExists(noteID).Or(noteID.Equal(expression.Value(0)))).
		And(leaseFree(now))
	return cs.claim(ctx, account, sk, upd, cond, func(cur Entry) bool { return cur.NoteID != 0 }, "claim note")
}

// claim applies upd, which takes an entry's note lease, while cond holds. When it
// does not, the entry is read again: done says whether nothing is left to do (the
// entry is returned as it is), and otherwise someone holds the lease (ErrLeased).
func (cs *Store) claim(ctx context.Context, account, sk string, upd expression.UpdateBuilder, cond expression.ConditionBuilder, done func(Entry) bool, op string) (Entry, error) {
	var e Entry
	err := cs.s.UpdateIf(ctx, store.Key{Account: account, SK: sk}, upd, cond, &e)
	if errors.Is(err, store.ErrConflict) {
		cur, gerr := cs.Entry(ctx, account, sk)
		if gerr != nil {
			return Entry{}, gerr
		}
		if done(cur) {
			return cur, nil
		}
		return cur, ErrLeased
	}
	if err != nil {
		return Entry{}, fmt.Errorf("%s of %s/%s: %w", op, account, sk, err)
	}
	e.SK = sk
	return e, nil
}

// leaseFree holds while no worker holds an entry's note lease at now.
func leaseFree(now time.Time) expression.ConditionBuilder {
	leaseUntil := expression.Name("leaseUntil")
	return expression.AttributeNotExists(leaseUntil).Or(leaseUntil.LessThan(expression.Value(now.UnixMilli())))
}

// heldBy holds while owner holds an entry's note lease (or held it last).
func heldBy(owner string) expression.ConditionBuilder {
	return expression.Name("leaseOwner").Equal(expression.Value(owner))
}

// RecordNote keeps the id of the note created under owner's lease, showing the
// chat's revision rev, and ends the lease.
func (cs *Store) RecordNote(ctx context.Context, account, sk, owner string, noteID int64, rev int) error {
	upd := endLease(expression.Set(expression.Name("noteId"), expression.Value(noteID)).
		Set(expression.Name("noteRevision"), expression.Value(rev)))
	return cs.updateEntry(ctx, account, sk, upd, heldBy(owner), ErrLostLease, "record note")
}

// ClaimNoteRevision takes the note lease of an entry whose note shows a revision of
// its chat older than rev, to update the note. It returns the entry as it is after the
// claim; an entry whose note shows rev already (or that has no note: ClaimNote's) is
// returned as it is, with no lease taken; ErrLeased when someone holds a live lease.
func (cs *Store) ClaimNoteRevision(ctx context.Context, account, sk, owner string, rev int, now time.Time, lease time.Duration) (Entry, error) {
	noteID, noteRev := expression.Name("noteId"), expression.Name("noteRevision")
	upd := expression.Set(expression.Name("leaseOwner"), expression.Value(owner)).
		Set(expression.Name("leaseUntil"), expression.Value(now.Add(lease).UnixMilli()))
	cond := store.Exists().
		And(noteID.GreaterThan(expression.Value(0))).
		And(expression.AttributeNotExists(noteRev).Or(noteRev.LessThan(expression.Value(rev)))).
		And(leaseFree(now))
	return cs.claim(ctx, account, sk, upd, cond, func(cur Entry) bool { return cur.NoteID == 0 || cur.NoteRevision >= rev }, "claim note update")
}

// RecordNoteRevision keeps that the entry's note shows revision rev, updated under
// owner's lease, and ends the lease.
func (cs *Store) RecordNoteRevision(ctx context.Context, account, sk, owner string, rev int) error {
	upd := endLease(expression.Set(expression.Name("noteRevision"), expression.Value(rev)))
	return cs.updateEntry(ctx, account, sk, upd, heldBy(owner), ErrLostLease, "record note update")
}

// ReleaseNote ends owner's lease without a note (the attempt failed), so that a retry
// need not wait for it to run out. notCreated says Sell certainly created nothing;
// the claim is then taken back, so the next worker need not search Sell for a note.
func (cs *Store) ReleaseNote(ctx context.Context, account, sk, owner string, notCreated bool) error {
	upd := endLease(expression.UpdateBuilder{})
	if notCreated {
		claims := expression.Name("claims")
		upd = upd.Set(claims, claims.Minus(expression.Value(1)))
	}
	// A lease already lost is someone else's to end: nothing left to do.
	return cs.updateEntry(ctx, account, sk, upd, heldBy(owner), nil, "release note")
}

// ClearNote forgets the entry's note (noteID, or 0 for none recorded) once it is gone
// from Sell, unless a worker holds the lease at now. With the note gone, no note of
// the entry can exist in Sell, so the claim count starts over.
func (cs *Store) ClearNote(ctx context.Context, account, sk string, noteID int64, now time.Time) error {
	note := expression.Name("noteId")
	upd := expression.Remove(note).Remove(expression.Name("claims"))
	cond := expression.AttributeNotExists(note).Or(note.Equal(expression.Value(noteID))).And(leaseFree(now))
	return cs.updateEntry(ctx, account, sk, upd, cond, ErrLeased, "clear note")
}

// endLease adds to upd the end of an entry's note lease.
func endLease(upd expression.UpdateBuilder) expression.UpdateBuilder {
	return upd.Remove(expression.Name("leaseOwner")).Remove(expression.Name("leaseUntil"))
}

// updateEntry applies upd to the entry at sk while cond holds. A failed condition
// answers onConflict (nil: nothing to do); op names the change in other errors.
func (cs *Store) updateEntry(ctx context.Context, account, sk string, upd expression.UpdateBuilder, cond expression.ConditionBuilder, onConflict error, op string) error {
	err := cs.s.UpdateIf(ctx, store.Key{Account: account, SK: sk}, upd, cond, nil)
	if errors.Is(err, store.ErrConflict) {
		return onConflict
	}
	if err != nil {
		return fmt.Errorf("%s of %s/%s: %w", op, account, sk, err)
	}
	return nil
}

// Entries reads up to limit entries of r's feed, newest first, after the entry with
// sort key after (the previous page's last; empty for the first page). next is the
// last key returned when more may follow.
func (cs *Store) Entries(ctx context.Context, account string, r chats.Record, after string, limit int) (entries []Entry, next string, err error) {
	// One more than asked tells whether another page follows.
	items, err := cs.s.QueryPage(ctx, account, chats.FeedPrefix(r), after, limit+1, true)
	if err != nil {
		return nil, "", fmt.Errorf("query feed of %s %s: %w", account, r, err)
	}
	for _, it := range items {
		if len(entries) == limit {
			next = entries[len(entries)-1].SK
			break
		}
		e, err := entryOf(it)
		if err != nil {
			return nil, "", fmt.Errorf("decode feed entry: %w", err)
		}
		entries = append(entries, e)
	}
	return entries, next, nil
}

// AllEntries returns every feed entry of the account (for mirroring jobs).
func (cs *Store) AllEntries(ctx context.Context, account string) ([]Entry, error) {
	items, err := cs.s.QueryPrefix(ctx, account, "FEED#", 0, false)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(items))
	for _, it := range items {
		e, err := entryOf(it)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// entryOf decodes a feed entry read by a query; its key is not among its attributes.
func entryOf(it store.Item) (Entry, error) {
	var e Entry
	if err := it.Decode(&e); err != nil {
		return Entry{}, err
	}
	e.SK, e.Expires = it.SK, it.Expiry()
	return e, nil
}

// Job states of history mirroring.
const (
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// Job is the progress of making Sell's notes match the history switch: creating the
// notes (mirroring) or deleting them.
type Job struct {
	State     string    `json:"state"`
	Mirror    bool      `json:"mirror"` // true: create notes; false: delete them
	Done      int       `json:"done"`
	Total     int       `json:"total"`
	Failed    int       `json:"failed"`
	Error     string    `json:"error,omitempty"`
	StartedAt time.Time `json:"startedAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

const jobKey = "HISTORYJOB"

// Job loads the account's mirroring progress; the zero Job when none ever ran.
func (cs *Store) Job(ctx context.Context, account string) (Job, error) {
	var j Job
	_, err := cs.s.Get(ctx, store.Key{Account: account, SK: jobKey}, &j)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Job{}, err
	}
	return j, nil
}

// SaveJob stores the account's mirroring progress.
func (cs *Store) SaveJob(ctx context.Context, account string, j Job) error {
	return cs.s.Put(ctx, store.Key{Account: account, SK: jobKey}, j)
}

// Ref names a chat of an account.
type Ref struct {
	Account string
	ChatID  string
}

// Unfinished lists, across accounts, the chats whose last attempt failed and the
// accounts whose mirroring job did not finish. It scans the table: it is for the
// replay command, not for request paths.
func (cs *Store) Unfinished(ctx context.Context) (failed []Ref, jobs []string, err error) {
	match := store.SortKeyBeginsWith(ChatKey("")).And(expression.Name("status").Equal(expression.Value(chats.StatusFailed))).
		Or(store.SortKeyIs(jobKey).And(expression.Name("state").NotEqual(expression.Value(JobDone))))
	keys, err := cs.s.ScanKeys(ctx, match)
	if err != nil {
		return nil, nil, fmt.Errorf("scan for unfinished work: %w", err)
	}
	for _, k := range keys {
		if k.SK == jobKey {
			jobs = append(jobs, k.Account)
		} else {
			failed = append(failed, Ref{Account: k.Account, ChatID: strings.TrimPrefix(k.SK, ChatKey(""))})
		}
	}
	return failed, jobs, nil
}
