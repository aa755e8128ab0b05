// Package chatstore keeps chats, feed entries and the history-mirroring progress in
// the table. Every item lives under its account's partition:
//
//	CHAT#<chatId>                                         the chat as received (gzip), its status
//	FEED#<type>#<id>#<start>#<chatId>                     one entry per chat and Sell record
//	HISTORYJOB                                            progress of mirroring/unmirroring notes
//
// Writes that must happen once use conditions; the note of an entry is guarded by a
// lease so that two workers never create two notes.
package chatstore

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sellchat/sellchat/shared/chats"
	"github.com/sellchat/sellchat/shared/store"
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
}

// New returns a Store over s.
func New(s *store.Store) *Store { return &Store{s: s} }

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
}

// Chat parses the stored body back into a chat.
func (it ChatItem) Chat() (chats.Chat, error) {
	zr, err := gzip.NewReader(bytes.NewReader(it.Raw))
	if err != nil {
		return chats.Chat{}, fmt.Errorf("open stored chat %s: %w", it.ChatID, err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, 8<<20))
	if err != nil {
		return chats.Chat{}, fmt.Errorf("read stored chat %s: %w", it.ChatID, err)
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
func ChatKey(chatID string) string { return "CHAT#" + chatID }

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

// CreateChat stores a chat once; ErrExists when its id is stored already.
func (cs *Store) CreateChat(ctx context.Context, account string, it ChatItem) error {
	err := cs.s.Create(ctx, store.Key{Account: account, SK: ChatKey(it.ChatID)}, it, time.Time{})
	if errors.Is(err, store.ErrExists) {
		return ErrExists
	}
	return err
}

// Chat loads a stored chat.
func (cs *Store) Chat(ctx context.Context, account, chatID string) (ChatItem, error) {
	var it ChatItem
	if _, err := cs.s.Get(ctx, store.Key{Account: account, SK: ChatKey(chatID)}, &it); err != nil {
		return ChatItem{}, err
	}
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
	names := map[string]string{"#s": "status", "#r": "reason", "#a": "attempts", "#u": "updatedAt", "#pk": store.AttrPK}
	values := map[string]types.AttributeValue{
		":s": &types.AttributeValueMemberS{Value: o.Status}, ":one": &types.AttributeValueMemberN{Value: "1"},
		":zero": &types.AttributeValueMemberN{Value: "0"}, ":u": &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)},
	}
	set := "#s = :s, #a = if_not_exists(#a, :zero) + :one, #u = :u"
	remove := ""
	if o.Reason != "" {
		set += ", #r = :r"
		values[":r"] = &types.AttributeValueMemberS{Value: o.Reason}
	} else {
		remove = " REMOVE #r"
	}
	expr := "SET " + set
	if len(o.Records) > 0 {
		// A string set: adding a record twice keeps it once.
		names["#rec"] = "records"
		values[":rec"] = &types.AttributeValueMemberSS{Value: o.Records}
		expr += " ADD #rec :rec"
	}
	return cs.update(ctx, account, ChatKey(chatID), expr+remove, "attribute_exists(#pk)", names, values)
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
	// Claims counts note leases ever taken: above zero, a note may exist in Sell
	// without its id here (a worker died between creating and recording it).
	Claims     int    `json:"claims,omitempty"`
	LeaseOwner string `json:"leaseOwner,omitempty"`
	LeaseUntil int64  `json:"leaseUntil,omitempty"` // unix milliseconds
}

// Record is the Sell record the entry belongs to.
func (e Entry) Record() chats.Record { return chats.Record{Type: e.ResourceType, ID: e.ResourceID} }

// Leased reports whether someone holds the note lease at now.
func (e Entry) Leased(now time.Time) bool {
	return e.LeaseOwner != "" && e.LeaseUntil > now.UnixMilli()
}

// NewEntry is the entry of chat c in r's feed.
func NewEntry(r chats.Record, c chats.Chat, start, now time.Time) Entry {
	cc := c
	cc.Start = start
	return Entry{SK: chats.FeedKey(r, cc), ChatID: c.ID, ResourceType: r.Type, ResourceID: r.ID, Start: start.UTC(), CreatedAt: now.UTC()}
}

// CreateEntry writes e once; ErrExists when it is there already.
func (cs *Store) CreateEntry(ctx context.Context, account string, e Entry) error {
	err := cs.s.Create(ctx, store.Key{Account: account, SK: e.SK}, e, time.Time{})
	if errors.Is(err, store.ErrExists) {
		return ErrExists
	}
	return err
}

// Entry loads one entry.
func (cs *Store) Entry(ctx context.Context, account, sk string) (Entry, error) {
	var e Entry
	if _, err := cs.s.Get(ctx, store.Key{Account: account, SK: sk}, &e); err != nil {
		return Entry{}, err
	}
	e.SK = sk
	return e, nil
}

// ClaimNote takes the note lease of an entry that has no note yet, until now+lease.
// It returns the entry as it is after the claim, ErrLeased when someone else holds a
// live lease, or the entry with its NoteID when the note exists already.
func (cs *Store) ClaimNote(ctx context.Context, account, sk, owner string, now time.Time, lease time.Duration) (Entry, error) {
	names := map[string]string{"#pk": store.AttrPK, "#n": "noteId", "#o": "leaseOwner", "#lu": "leaseUntil", "#c": "claims"}
	values := map[string]types.AttributeValue{
		":o": &types.AttributeValueMemberS{Value: owner}, ":until": num(now.Add(lease).UnixMilli()),
		":now": num(now.UnixMilli()), ":zero": num(0), ":one": num(1),
	}
	out, err := cs.s.Client().UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(cs.s.Table()), Key: key(account, sk),
		UpdateExpression:          aws.String("SET #o = :o, #lu = :until, #c = if_not_exists(#c, :zero) + :one"),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND (attribute_not_exists(#n) OR #n = :zero) AND (attribute_not_exists(#lu) OR #lu < :now)"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		cur, gerr := cs.Entry(ctx, account, sk)
		if gerr != nil {
			return Entry{}, gerr
		}
		if cur.NoteID != 0 {
			return cur, nil
		}
		return cur, ErrLeased
	}
	if err != nil {
		return Entry{}, fmt.Errorf("claim note of %s/%s: %w", account, sk, err)
	}
	var e Entry
	if err := attributevalue.UnmarshalMapWithOptions(out.Attributes, &e, func(o *attributevalue.DecoderOptions) { o.TagKey = "json" }); err != nil {
		return Entry{}, fmt.Errorf("decode %s: %w", sk, err)
	}
	e.SK = sk
	return e, nil
}

// RecordNote keeps the id of the note created under owner's lease and ends the lease.
func (cs *Store) RecordNote(ctx context.Context, account, sk, owner string, noteID int64) error {
	err := cs.update(ctx, account, sk, "SET #n = :n REMOVE #o, #lu", "#o = :o",
		map[string]string{"#n": "noteId", "#o": "leaseOwner", "#lu": "leaseUntil"},
		map[string]types.AttributeValue{":n": num(noteID), ":o": &types.AttributeValueMemberS{Value: owner}})
	if isConditionFailed(err) {
		return ErrLostLease
	}
	return err
}

// ReleaseNote ends owner's lease without a note (the attempt failed), so that a retry
// need not wait for it to run out. notCreated says Sell certainly created nothing;
// the claim is then taken back, so the next worker need not search Sell for a note.
func (cs *Store) ReleaseNote(ctx context.Context, account, sk, owner string, notCreated bool) error {
	expr, names := "REMOVE #o, #lu", map[string]string{"#o": "leaseOwner", "#lu": "leaseUntil"}
	values := map[string]types.AttributeValue{":o": &types.AttributeValueMemberS{Value: owner}}
	if notCreated {
		expr = "SET #c = #c - :one " + expr
		names["#c"] = "claims"
		values[":one"] = num(1)
	}
	err := cs.update(ctx, account, sk, expr, "#o = :o", names, values)
	if isConditionFailed(err) {
		return nil
	}
	return err
}

// ClearNote forgets the entry's note (noteID, or 0 for none recorded) once it is gone
// from Sell, unless a worker holds the lease at now. With the note gone, no note of
// the entry can exist in Sell, so the claim count starts over.
func (cs *Store) ClearNote(ctx context.Context, account, sk string, noteID int64, now time.Time) error {
	cond := "(attribute_not_exists(#n) OR #n = :n) AND (attribute_not_exists(#lu) OR #lu < :now)"
	err := cs.update(ctx, account, sk, "REMOVE #n, #c", cond,
		map[string]string{"#n": "noteId", "#c": "claims", "#lu": "leaseUntil"},
		map[string]types.AttributeValue{":n": num(noteID), ":now": num(now.UnixMilli())})
	if isConditionFailed(err) {
		return ErrLeased
	}
	return err
}

// Entries reads up to limit entries of r's feed, newest first, after the entry with
// sort key after (the previous page's last; empty for the first page). next is the
// last key returned when more may follow.
func (cs *Store) Entries(ctx context.Context, account string, r chats.Record, after string, limit int) (entries []Entry, next string, err error) {
	in := &dynamodb.QueryInput{
		TableName:              aws.String(cs.s.Table()),
		KeyConditionExpression: aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames: map[string]string{
			"#pk": store.AttrPK, "#sk": store.AttrSK,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: pk(account)}, ":prefix": &types.AttributeValueMemberS{Value: chats.FeedPrefix(r)},
		},
		ScanIndexForward: aws.Bool(false),
		ConsistentRead:   aws.Bool(true),
		Limit:            aws.Int32(int32(limit + 1)),
	}
	if after != "" {
		in.ExclusiveStartKey = key(account, after)
	}
	out, err := cs.s.Client().Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("query feed of %s %s: %w", account, r, err)
	}
	for _, item := range out.Items {
		if len(entries) == limit {
			next = entries[len(entries)-1].SK
			break
		}
		var e Entry
		if err := attributevalue.UnmarshalMapWithOptions(item, &e, func(o *attributevalue.DecoderOptions) { o.TagKey = "json" }); err != nil {
			return nil, "", fmt.Errorf("decode feed entry: %w", err)
		}
		sk, _ := item[store.AttrSK].(*types.AttributeValueMemberS)
		e.SK = sk.Value
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
		var e Entry
		if err := it.Decode(&e); err != nil {
			return nil, err
		}
		e.SK = it.SK
		out = append(out, e)
	}
	return out, nil
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
	p := dynamodb.NewScanPaginator(cs.s.Client(), &dynamodb.ScanInput{
		TableName:        aws.String(cs.s.Table()),
		FilterExpression: aws.String("(begins_with(#sk, :chat) AND #st = :failed) OR (#sk = :job AND #state <> :done)"),
		ExpressionAttributeNames: map[string]string{
			"#sk": store.AttrSK, "#st": "status", "#state": "state", "#pk": store.AttrPK,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":chat": &types.AttributeValueMemberS{Value: "CHAT#"}, ":failed": &types.AttributeValueMemberS{Value: chats.StatusFailed},
			":job": &types.AttributeValueMemberS{Value: jobKey}, ":done": &types.AttributeValueMemberS{Value: JobDone},
		},
		ProjectionExpression: aws.String("#pk, #sk"),
		ConsistentRead:       aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("scan for unfinished work: %w", err)
		}
		for _, item := range page.Items {
			pkv, _ := item[store.AttrPK].(*types.AttributeValueMemberS)
			skv, _ := item[store.AttrSK].(*types.AttributeValueMemberS)
			if pkv == nil || skv == nil {
				continue
			}
			account := strings.TrimPrefix(pkv.Value, pk(""))
			if skv.Value == jobKey {
				jobs = append(jobs, account)
			} else {
				failed = append(failed, Ref{Account: account, ChatID: strings.TrimPrefix(skv.Value, "CHAT#")})
			}
		}
	}
	return failed, jobs, nil
}

// AccountOf returns the account of a table partition key ("" if it is not one).
func AccountOf(partitionKey string) string {
	a, ok := strings.CutPrefix(partitionKey, pk(""))
	if !ok {
		return ""
	}
	return a
}

func (cs *Store) update(ctx context.Context, account, sk, expr, cond string, names map[string]string, values map[string]types.AttributeValue) error {
	in := &dynamodb.UpdateItemInput{
		TableName: aws.String(cs.s.Table()), Key: key(account, sk),
		UpdateExpression: aws.String(expr), ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	}
	if cond != "" {
		in.ConditionExpression = aws.String(cond)
	}
	if len(values) == 0 {
		in.ExpressionAttributeValues = nil
	}
	if _, err := cs.s.Client().UpdateItem(ctx, in); err != nil {
		return fmt.Errorf("update %s/%s: %w", account, sk, err)
	}
	return nil
}

// pk is the partition key of account, derived from the store's own key format.
func pk(account string) string {
	return strings.TrimSuffix(store.Key{Account: account}.String(), "/")
}

func key(account, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		store.AttrPK: &types.AttributeValueMemberS{Value: pk(account)},
		store.AttrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}
