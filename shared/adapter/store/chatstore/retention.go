package chatstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/sellchat/sellchat/shared/adapter/store"
)

// Retention: chats and feed entries expire through the table's TTL (the store
// keeps it; here it is each item's Expires). A chat expires its account's retention
// days after it was received, its entries with it. When the setting changes, the
// re-stamp job (transcripts) walks the account's chats, then its entries, and
// moves every expiry to the new setting; RETENTIONJOB keeps its progress.

// Stamp is what the re-stamp job reads of a chat or an entry: not the chat itself.
type Stamp struct {
	SK         string    `json:"-"`
	ChatID     string    `json:"chatId"`
	ReceivedAt time.Time `json:"receivedAt,omitzero"` // a chat's arrival
	CreatedAt  time.Time `json:"createdAt,omitzero"`  // an entry's creation
	Expires    time.Time `json:"-"`
}

// stampPrefixes are the sort-key prefixes of chats and of entries.
var stampPrefixes = map[string]string{PhaseChats: ChatKey(""), PhaseEntries: "FEED#"}

// Stamps reads a page of up to limit of the account's chats (phase PhaseChats) or
// feed entries (PhaseEntries) in key order after the key after ("" for the
// first). next is where the following page starts, "" once all are read; a page
// may be empty with more to follow (expired items are skipped).
func (cs *Store) Stamps(ctx context.Context, account, phase, after string, limit int) (stamps []Stamp, next string, err error) {
	prefix, ok := stampPrefixes[phase]
	if !ok {
		return nil, "", fmt.Errorf("stamps: no phase %q", phase)
	}
	items, next, err := cs.s.ExpiryPage(ctx, account, prefix, after, limit, "chatId", "receivedAt", "createdAt")
	if err != nil {
		return nil, "", fmt.Errorf("read %s of %s: %w", phase, account, err)
	}
	for _, it := range items {
		var st Stamp
		if err := it.Decode(&st); err != nil {
			return nil, "", err
		}
		st.SK, st.Expires = it.SK, it.Expiry()
		stamps = append(stamps, st)
	}
	return stamps, next, nil
}

// SetExpiry makes the chat or entry at sk expire at at (zero: never). One already
// expired, or gone, stays so: ErrNotFound.
func (cs *Store) SetExpiry(ctx context.Context, account, sk string, at time.Time) error {
	return cs.s.SetExpiry(ctx, store.Key{Account: account, SK: sk}, at)
}

// ChatExpiry returns when a chat expires (zero: never), even one that has expired
// and waits for deletion, so its entries can expire with it; ErrNotFound when the
// chat is not stored at all.
func (cs *Store) ChatExpiry(ctx context.Context, account, chatID string) (time.Time, error) {
	return cs.s.ExpiryOf(ctx, store.ChatKey(account, chatID))
}

// EntryOf decodes a feed entry from a stream image (store.Change.Old).
func EntryOf(it store.Item) (Entry, error) { return entryOf(it) }

// Phases of the re-stamp job: chats first, so that entries take their chat's new
// expiry.
const (
	PhaseChats   = "chats"
	PhaseEntries = "entries"
)

// RetentionJob is the progress of the re-stamp job. Its states are the history
// job's (JobRunning, JobDone, JobFailed).
type RetentionJob struct {
	State string `json:"state"`
	Days  int    `json:"days"` // the retention applied; 0 keeps forever
	Phase string `json:"phase"`
	// After is the last key of the phase done: a run stopped by a fault resumes
	// after it. Internal; Progress leaves it out.
	After     string    `json:"after,omitempty"`
	Chats     int       `json:"chats"`   // chats seen
	Entries   int       `json:"entries"` // feed entries seen
	Changed   int       `json:"changed"` // of those, whose expiry moved
	Error     string    `json:"error,omitempty"`
	StartedAt time.Time `json:"startedAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// RetentionProgress is the job as the admin sees it (GET /integration's
// "retention").
type RetentionProgress struct {
	State     string    `json:"state"`
	Days      int       `json:"days"`
	Phase     string    `json:"phase"`
	Chats     int       `json:"chats"`
	Entries   int       `json:"entries"`
	Changed   int       `json:"changed"`
	Error     string    `json:"error,omitempty"`
	StartedAt time.Time `json:"startedAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Progress is j without its cursor.
func (j RetentionJob) Progress() RetentionProgress {
	return RetentionProgress{State: j.State, Days: j.Days, Phase: j.Phase, Chats: j.Chats, Entries: j.Entries,
		Changed: j.Changed, Error: j.Error, StartedAt: j.StartedAt, UpdatedAt: j.UpdatedAt}
}

const retentionJobKey = "RETENTIONJOB"

// RetentionJob loads the account's re-stamp progress; the zero job when none ran.
func (cs *Store) RetentionJob(ctx context.Context, account string) (RetentionJob, error) {
	var j RetentionJob
	_, err := cs.s.Get(ctx, store.Key{Account: account, SK: retentionJobKey}, &j)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return RetentionJob{}, fmt.Errorf("load retention job of %s: %w", account, err)
	}
	return j, nil
}

// SaveRetentionJob stores the account's re-stamp progress.
func (cs *Store) SaveRetentionJob(ctx context.Context, account string, j RetentionJob) error {
	if err := cs.s.Put(ctx, store.Key{Account: account, SK: retentionJobKey}, j); err != nil {
		return fmt.Errorf("save retention job of %s: %w", account, err)
	}
	return nil
}

// UnfinishedRetention lists the accounts whose re-stamp job did not finish. It
// scans the table: it is for the replay command, not for request paths.
func (cs *Store) UnfinishedRetention(ctx context.Context) ([]string, error) {
	match := store.SortKeyIs(retentionJobKey).And(expression.Name("state").NotEqual(expression.Value(JobDone)))
	keys, err := cs.s.ScanKeys(ctx, match)
	if err != nil {
		return nil, fmt.Errorf("scan for unfinished retention jobs: %w", err)
	}
	accounts := make([]string, 0, len(keys))
	for _, k := range keys {
		accounts = append(accounts, k.Account)
	}
	return accounts, nil
}
