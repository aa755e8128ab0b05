// Package privacystore keeps the erasures of visitors' data in the table: the job
// that erases a visitor, the lock that makes it the only unfinished one for that
// identifier, and the tombstone that keeps the visitor's chats from being stored
// again for a while. Every item lives under its account's partition:
//
//	ERASURE#<id>      the job: state, keyed hash of the identifier, who asked and when, counts;
//	                  the sealed identifier and the ids of the chats erased only while it runs
//	ERASING#<hash>    the identifier's unfinished job (its id); deleted when the job is done
//	ERASED#<hash>     tombstone: the identifier was erased; expires TombstoneWindow later
//
// A job is the proof an erasure leaves: once done it holds no personal data, only
// the keyed hash of the identifier (secrets.Box.KeyedHash, which nobody without the
// deployment's key can link to an email or phone), the counts, who asked and when.
//
// The package does not import chatstore, so that the ingest (chatstore.Ingest) can
// ask it whether a visitor was erased. Chats are found by callers (ScanChats hands
// them each stored chat item to decode) and deleted here by key, each deletion
// counted on the job in the same transaction, so a retried job neither loses nor
// doubles a count.
package privacystore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/store"
)

// TombstoneWindow is how long an erased visitor's chats are refused by the ingest
// after the erasure started: long enough for a webhook's redeliveries and for the
// chat poll reading the export again (a Chat API export re-reads at most days back),
// short enough not to keep even a keyed hash of the visitor for long.
const TombstoneWindow = 30 * 24 * time.Hour

// Errors callers branch on.
var (
	ErrNotFound = store.ErrNotFound
	// ErrNoKey: the store was built without a box, so it can neither hash nor seal.
	ErrNoKey = errors.New("privacystore: no encryption key to hash or seal identifiers with")
)

// Job states. A job is pending when asked for (and when asked for again after it
// failed), running while a worker erases, failed when a fault stopped it (it is
// retried), done at the end.
const (
	StatePending = "pending"
	StateRunning = "running"
	StateFailed  = "failed"
	StateDone    = "done"
)

// Sort-key prefixes of the items this package keeps beside the job (store.ErasureKey).
const (
	lockPrefix      = "ERASING#"
	tombstonePrefix = "ERASED#"
)

// hashPurpose binds the identifiers' keyed hashes to erasures.
const hashPurpose = "erasure"

// Store reads and writes erasure jobs, locks and tombstones.
type Store struct {
	s   *store.Store
	box *secrets.Box
	now func() time.Time
}

// New returns a Store over s that hashes and seals identifiers with box.
func New(s *store.Store, box *secrets.Box) *Store {
	return &Store{s: s, box: box, now: time.Now}
}

// SellRecord is a Sell lead or contact matching an erased visitor: listed in the
// report, never deleted, since it is the company's CRM record.
type SellRecord struct {
	Kind string `json:"kind"` // lead or contact
	ID   int64  `json:"id"`
}

// Job is an erasure and, when done, its report.
type Job struct {
	ID    string `json:"id"`
	State string `json:"state"`
	// Kind and Hash name the identifier without holding it: its kind and its keyed
	// hash (hex), the same for every erasure of it in this deployment.
	Kind        string    `json:"identifierKind"`
	Hash        string    `json:"identifierHash"`
	RequestedBy string    `json:"requestedBy"` // the asking admin's Zendesk user id
	RequestedAt time.Time `json:"requestedAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	FinishedAt  time.Time `json:"finishedAt,omitzero"`
	Attempts    int       `json:"attempts,omitempty"`
	Error       string    `json:"error,omitempty"` // why the last attempt failed
	// The counts, kept up to date after every deletion.
	ChatsDeleted   int `json:"chatsDeleted"`
	EntriesDeleted int `json:"entriesDeleted"`
	NotesDeleted   int `json:"notesDeleted"`
	LeadRecords    int `json:"idempotencyRecordsCleared"`
	// Records are the Sell records whose feeds held the erased chats ("lead:2001").
	Records []string `json:"records,omitempty"`
	// SellRecords are the leads and contacts matching the visitor when the job ended.
	SellRecords []SellRecord `json:"sellRecords,omitempty"`
	// Sealed is the identifier, sealed with the box; ErasedChats the ids of the chats
	// erased so far (to find entries written for them late). Both go when done.
	Sealed      []byte   `json:"sealed,omitempty"`
	ErasedChats []string `json:"erasedChats,omitempty"`
}

// Finished reports whether the job is done.
func (j Job) Finished() bool { return j.State == StateDone }

// lock is the ERASING item: the identifier's unfinished job.
type lock struct {
	JobID string `json:"jobId"`
}

// tombstone is the ERASED item. It names no one: its key is the keyed hash.
type tombstone struct {
	Kind     string    `json:"kind"`
	JobID    string    `json:"jobId"`
	ErasedAt time.Time `json:"erasedAt"`
}

// Hash is the keyed hash (hex) that names sub in jobs, locks and tombstones.
func (ps *Store) Hash(sub Subject) (string, error) {
	if ps.box == nil {
		return "", ErrNoKey
	}
	return hex.EncodeToString(ps.box.KeyedHash(hashPurpose, []byte(sub.hashInput()))), nil
}

// sealAAD binds a job's sealed identifier to its account and job.
func sealAAD(account, id string) []byte { return secrets.AAD(account, "erasure:"+id) }

func lockKey(account, hash string) store.Key {
	return store.Key{Account: account, SK: lockPrefix + hash}
}

func tombstoneKey(account, hash string) store.Key {
	return store.Key{Account: account, SK: tombstonePrefix + hash}
}

// Start begins erasing sub from account as asked by user by: a new pending job
// under id, its lock, and the identifier's tombstone, written together. When sub
// already has an unfinished job, that job is returned instead (created false), and
// one that failed is made pending again, which runs it again. The stream runs
// pending jobs (shared/handler/transcripts).
func (ps *Store) Start(ctx context.Context, account, id string, sub Subject, by string) (Job, bool, error) {
	hash, err := ps.Hash(sub)
	if err != nil {
		return Job{}, false, err
	}
	for range 3 {
		job, created, err := ps.start(ctx, account, id, sub, hash, by)
		if !errors.Is(err, errLockGone) {
			return job, created, err
		}
		// The identifier's job finished between our write and our read of its lock:
		// there is none running now, so ours may start.
	}
	return Job{}, false, fmt.Errorf("start erasure %s of %s: the identifier's erasures keep finishing under us", id, account)
}

// errLockGone: the lock that refused a start was gone when read.
var errLockGone = errors.New("privacystore: the identifier's lock went")

// start is one try of Start.
func (ps *Store) start(ctx context.Context, account, id string, sub Subject, hash, by string) (Job, bool, error) {
	now := ps.now().UTC()
	job := Job{ID: id, State: StatePending, Kind: sub.Kind, Hash: hash, RequestedBy: by, RequestedAt: now, UpdatedAt: now,
		Sealed: ps.box.Seal([]byte(sub.Kind+":"+sub.Value), sealAAD(account, id))}
	err := ps.s.Together(ctx,
		store.TxCreate(lockKey(account, hash), lock{JobID: id}, time.Time{}),
		store.TxCreate(store.ErasureKey(account, id), job, time.Time{}),
		store.TxPut(tombstoneKey(account, hash), tombstone{Kind: sub.Kind, JobID: id, ErasedAt: now}, now.Add(TombstoneWindow)),
	)
	switch {
	case err == nil:
		return job, true, nil
	case store.IsCancelledAt(err, 0):
		running, err := ps.unfinished(ctx, account, hash)
		return running, false, err
	default:
		return Job{}, false, fmt.Errorf("start erasure %s of %s: %w", id, account, err)
	}
}

// unfinished returns the job the identifier's lock names, made pending again if it
// had failed.
func (ps *Store) unfinished(ctx context.Context, account, hash string) (Job, error) {
	var l lock
	if _, err := ps.s.Get(ctx, lockKey(account, hash), &l); errors.Is(err, store.ErrNotFound) {
		return Job{}, errLockGone
	} else if err != nil {
		return Job{}, fmt.Errorf("read the running erasure of %s: %w", account, err)
	}
	upd := expression.Set(expression.Name("state"), expression.Value(StatePending)).
		Set(expression.Name("updatedAt"), expression.Value(ps.now().UTC().Format(time.RFC3339Nano)))
	var j Job
	err := ps.s.UpdateIf(ctx, store.ErasureKey(account, l.JobID), upd, stateIs(StateFailed), &j)
	if err == nil {
		return j, nil
	}
	if !errors.Is(err, store.ErrConflict) {
		return Job{}, fmt.Errorf("retry erasure %s of %s: %w", l.JobID, account, err)
	}
	return ps.Job(ctx, account, l.JobID)
}

// stateIs holds while the job exists in state.
func stateIs(state string) expression.ConditionBuilder {
	return store.Exists().And(expression.Name("state").Equal(expression.Value(state)))
}

// notDone holds while the job exists and is not done.
func notDone() expression.ConditionBuilder {
	return store.Exists().And(expression.Name("state").NotEqual(expression.Value(StateDone)))
}

// Job loads job id of account; ErrNotFound when the account has none of that id.
func (ps *Store) Job(ctx context.Context, account, id string) (Job, error) {
	var j Job
	if _, err := ps.s.Get(ctx, store.ErasureKey(account, id), &j); err != nil {
		return Job{}, err
	}
	return j, nil
}

// Begin marks the job running and counts the attempt; a done job is returned as it
// is (the caller has nothing to do), a missing one is ErrNotFound.
func (ps *Store) Begin(ctx context.Context, account, id string) (Job, error) {
	upd := ps.touch(expression.Set(expression.Name("state"), expression.Value(StateRunning))).
		Add(expression.Name("attempts"), expression.Value(1)).
		Remove(expression.Name("error"))
	var j Job
	err := ps.s.UpdateIf(ctx, store.ErasureKey(account, id), upd, notDone(), &j)
	if errors.Is(err, store.ErrConflict) {
		return ps.Job(ctx, account, id) // done, or gone
	}
	if err != nil {
		return Job{}, fmt.Errorf("begin erasure %s of %s: %w", id, account, err)
	}
	return j, nil
}

// Fail leaves the job failed with reason, to be retried; a done job stays done.
func (ps *Store) Fail(ctx context.Context, account, id, reason string) error {
	upd := ps.touch(expression.Set(expression.Name("state"), expression.Value(StateFailed))).
		Set(expression.Name("error"), expression.Value(reason))
	err := ps.s.UpdateIf(ctx, store.ErasureKey(account, id), upd, notDone(), nil)
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("mark erasure %s of %s failed: %w", id, account, err)
	}
	return nil
}

// touch adds the job's updatedAt to upd.
func (ps *Store) touch(upd expression.UpdateBuilder) expression.UpdateBuilder {
	return upd.Set(expression.Name("updatedAt"), expression.Value(ps.now().UTC().Format(time.RFC3339Nano)))
}

// Identifier opens the subject a running job erases.
func (ps *Store) Identifier(account string, j Job) (Subject, error) {
	if ps.box == nil {
		return Subject{}, ErrNoKey
	}
	if len(j.Sealed) == 0 {
		return Subject{}, fmt.Errorf("erasure %s of %s holds no identifier (it is done)", j.ID, account)
	}
	raw, err := ps.box.Open(j.Sealed, sealAAD(account, j.ID))
	if err != nil {
		return Subject{}, fmt.Errorf("open the identifier of erasure %s of %s: %w", j.ID, account, err)
	}
	sub, ok := parseSubject(string(raw))
	if !ok {
		return Subject{}, fmt.Errorf("erasure %s of %s: the sealed identifier does not parse", j.ID, account)
	}
	return sub, nil
}

// DeleteChat deletes chat chatID of account and counts it on job id, with the
// records whose feeds held it; false when the chat was gone already (nothing is
// counted).
func (ps *Store) DeleteChat(ctx context.Context, account, id, chatID string, records []string) (bool, error) {
	upd := ps.touch(expression.Add(expression.Name("chatsDeleted"), expression.Value(1))).
		Add(expression.Name("erasedChats"), expression.Value(store.StringSet{chatID}))
	if len(records) > 0 {
		upd = upd.Add(expression.Name("records"), expression.Value(store.StringSet(records)))
	}
	return ps.deleteCounted(ctx, store.ChatKey(account, chatID), store.ErasureKey(account, id), upd)
}

// DeleteEntry deletes the feed entry at sort key sk (one read from chatstore) and
// counts it on job id, with its Sell note when note says the note was deleted; false
// when the entry was gone already.
func (ps *Store) DeleteEntry(ctx context.Context, account, id, sk string, note bool) (bool, error) {
	upd := ps.touch(expression.Add(expression.Name("entriesDeleted"), expression.Value(1)))
	if note {
		upd = upd.Add(expression.Name("notesDeleted"), expression.Value(1))
	}
	return ps.deleteCounted(ctx, store.Key{Account: account, SK: sk}, store.ErasureKey(account, id), upd)
}

// deleteCounted deletes the item at key and applies count to the job at job, in one
// transaction: false, with nothing written, when the item was gone.
func (ps *Store) deleteCounted(ctx context.Context, key, job store.Key, count expression.UpdateBuilder) (bool, error) {
	cond := store.Exists()
	err := ps.s.Together(ctx, store.TxDelete(key, true), store.TxUpdate(job, count, &cond))
	switch {
	case err == nil:
		return true, nil
	case store.IsCancelledAt(err, 0):
		return false, nil
	default:
		return false, fmt.Errorf("delete %s for %s: %w", key, job, err)
	}
}

// Finish ends the job: done, with the Sell records matching the visitor, its sealed
// identifier and chat ids removed, and its identifier's lock deleted, together. A
// job finished meanwhile by another worker stays as that worker left it.
func (ps *Store) Finish(ctx context.Context, account string, j Job, sellRecords []SellRecord) error {
	now := ps.now().UTC().Format(time.RFC3339Nano)
	upd := ps.touch(expression.Set(expression.Name("state"), expression.Value(StateDone))).
		Set(expression.Name("finishedAt"), expression.Value(now)).
		Remove(expression.Name("sealed")).Remove(expression.Name("erasedChats")).Remove(expression.Name("error"))
	if len(sellRecords) > 0 {
		// Spelt as the json tags say: expression.Value encodes structs by field name.
		list := make([]map[string]any, len(sellRecords))
		for i, r := range sellRecords {
			list[i] = map[string]any{"kind": r.Kind, "id": r.ID}
		}
		upd = upd.Set(expression.Name("sellRecords"), expression.Value(list))
	}
	cond := notDone()
	err := ps.s.Together(ctx, store.TxUpdate(store.ErasureKey(account, j.ID), upd, &cond), store.TxDelete(lockKey(account, j.Hash), false))
	if err != nil && !store.IsCancelledAt(err, 0) {
		return fmt.Errorf("finish erasure %s of %s: %w", j.ID, account, err)
	}
	return nil
}

// Ref names an erasure job of an account.
type Ref struct {
	Account string
	ID      string
}

// Unfinished lists, across accounts, the jobs that are not done. It scans the
// table: it is for the replay command, not for request paths.
func (ps *Store) Unfinished(ctx context.Context) ([]Ref, error) {
	prefix := store.ErasureKey("", "").SK
	keys, err := ps.s.ScanKeys(ctx, store.SortKeyBeginsWith(prefix).And(expression.Name("state").NotEqual(expression.Value(StateDone))))
	if err != nil {
		return nil, fmt.Errorf("scan for unfinished erasures: %w", err)
	}
	out := make([]Ref, 0, len(keys))
	for _, k := range keys {
		out = append(out, Ref{Account: k.Account, ID: k.SK[len(prefix):]})
	}
	return out, nil
}
