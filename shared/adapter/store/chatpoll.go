package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sellchat/sellchat/shared/domain/settings"
)

// The chat poll reads each account's Chat API export once a minute. It keeps two
// kinds of item:
//
//	ACCOUNT#<account> / CHATPOLL      the account's cursor: where the export resumes, how the last run went
//	CHATPOLL          / <account>     the list of accounts to poll, one item each, holding nothing else
//
// The list is the one partition that is not an account's. Finding the accounts to poll
// any other way means a Scan, and a Scan reads (and is billed for) every item of
// every account, chats and feed entries included, which once a minute would cost more
// than everything else the table does. An entry holds no data of the account, only its
// name, and is written or deleted in the same transaction as the integration item
// whose state decides it (UpdateIntegration), so the list and the integration items
// cannot disagree. The one exception is a purge (DeletePrefix of the whole account),
// which leaves the entry behind: the poller reads the integration item of every listed
// account anyway and skips those that no longer poll (one read a minute each), and the
// account's next integration write removes it.
const (
	skChatPoll     = "CHATPOLL"
	chatPollListPK = "CHATPOLL"
)

// ChatPollCursor is an account's place in its Chat API chat export and the state of
// its last poll.
type ChatPollCursor struct {
	// StartTime and StartID are where the next export page starts: the previous page's
	// end_time and end_id (see zendesk.ExportRequest). A zero StartTime has never
	// polled: the poller picks the first start.
	StartTime time.Time `json:"startTime,omitzero"`
	StartID   string    `json:"startId,omitempty"`
	// From is where this read of the export started: the integration's
	// PastChatsFrom, or the poll's default reach back. Zero on cursors saved before it
	// was kept.
	From time.Time `json:"from,omitzero"`
	// CaughtUp is set when a run read everything old enough to ask for, and cleared
	// when one stopped with more to read or the read starts over.
	CaughtUp bool `json:"caughtUp,omitempty"`
	// LastRunAt is when the last poll of the account ended, LastError what stopped it
	// ("" when it went through).
	LastRunAt time.Time `json:"lastRunAt,omitzero"`
	LastError string    `json:"lastError,omitempty"`
	// NotBefore holds the account back after Zendesk answered 429: no poll asks
	// before it (Retry-After).
	NotBefore time.Time `json:"notBefore,omitzero"`
	// Stored counts the chats the poll stored for the account, for operators.
	Stored int64 `json:"stored,omitempty"`
	// HeldBack is set when the last run stopped reading because the account's
	// backlog held what Sell takes in the next minutes: the rest of the export
	// waits in Zendesk until the backlog drains.
	HeldBack bool `json:"heldBack,omitempty"`
	// StoredFromStart counts the chats stored since this read started at From
	// (Stored counts them across starts over): what Left estimates by.
	StoredFromStart int64 `json:"storedFromStart,omitempty"`
}

// StartingFrom is the cursor for past chats from from (the integration's
// PastChatsFrom): c itself while from is zero or where c started, else c started over
// at from. Starting over keeps NotBefore (Zendesk's wait still holds) and Stored (the
// chats stored are still stored; read again they are duplicates).
func (c ChatPollCursor) StartingFrom(from time.Time) ChatPollCursor {
	if from.IsZero() || from.Equal(c.From) {
		return c
	}
	c.From, c.StartTime, c.StartID, c.CaughtUp, c.HeldBack, c.StoredFromStart = from, from, "", false, false, 0
	return c
}

// Left estimates how many chats the export holds between the cursor and horizon
// (as Progress): the chats stored since From, spread evenly over the time read,
// over the time left. Zendesk's export gives no total, so this is a guess, made
// only once a twentieth of the way is read and a chat was stored; false before
// that, and 0 once caught up.
func (c ChatPollCursor) Left(horizon time.Time) (int64, bool) {
	if c.CaughtUp {
		return 0, true
	}
	p, ok := c.Progress(horizon)
	if !ok || p < 0.05 || c.StoredFromStart == 0 {
		return 0, false
	}
	return int64(math.Round(float64(c.StoredFromStart) * (1 - p) / p)), true
}

// Progress is how far the cursor has read from From towards horizon (the youngest
// start the export takes: now less its minimum age), from 0 to 1; 1 once caught up.
// False when the cursor does not know where it started.
func (c ChatPollCursor) Progress(horizon time.Time) (float64, bool) {
	if c.CaughtUp {
		return 1, true
	}
	if c.From.IsZero() {
		return 0, false
	}
	span := horizon.Sub(c.From)
	if span <= 0 {
		return 0, true // started at the horizon: nothing read yet
	}
	p := float64(c.StartTime.Sub(c.From)) / float64(span)
	// Floored to a thousandth, so 1 is shown only when it is reached.
	return math.Floor(min(max(p, 0), 1)*1000) / 1000, true
}

// ChatPollCursor returns the account's cursor; the zero value when it never polled.
func (s *Store) ChatPollCursor(ctx context.Context, account string) (ChatPollCursor, error) {
	var c ChatPollCursor
	if _, err := s.Get(ctx, Key{Account: account, SK: skChatPoll}, &c); err != nil && !errors.Is(err, ErrNotFound) {
		return ChatPollCursor{}, fmt.Errorf("load chat poll cursor of %s: %w", account, err)
	}
	return c, nil
}

// SaveChatPollCursor replaces the account's cursor. One poller writes it at a time
// (the function runs with a concurrency of one), so no version is kept.
func (s *Store) SaveChatPollCursor(ctx context.Context, account string, c ChatPollCursor) error {
	if err := s.Put(ctx, Key{Account: account, SK: skChatPoll}, c); err != nil {
		return fmt.Errorf("save chat poll cursor of %s: %w", account, err)
	}
	return nil
}

// ChatPollAccounts lists the accounts whose integration polls chats
// (settings.Integration.PollsChat), in name order: one Query of the list partition.
func (s *Store) ChatPollAccounts(ctx context.Context) ([]string, error) {
	return s.listedAccounts(ctx, chatPollListPK, "the accounts that poll chats")
}

// listedAccounts reads a list partition (CHATPOLL, BACKLOG, TICKETWAIT): one Query,
// whose sort keys are the accounts listed, in name order. what names the list for
// the error.
func (s *Store) listedAccounts(ctx context.Context, pk, what string) ([]string, error) {
	items, err := s.queryPartition(ctx, pk, "", 0, false)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	accounts := make([]string, len(items))
	for i, it := range items {
		accounts[i] = it.SK
	}
	return accounts, nil
}

// chatPollEntry keeps the account's entry of the list in step with its integration
// item: present while the integration polls chats.
func chatPollEntry(s *Store, account string) *companion[settings.Integration] {
	return &companion[settings.Integration]{
		wanted: settings.Integration.PollsChat,
		write: func(present bool) types.TransactWriteItem {
			if present {
				return types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: keyAV(chatPollListPK, account)}}
			}
			return types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: keyAV(chatPollListPK, account)}}
		},
	}
}
