package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// An account's backlog holds the chats its Sell budget could not take when they
// arrived: Sell allows 10 requests a second per token, so a flood of chats (a busy
// hour, an import of past chats) is processed at that pace by a drain that runs on
// a schedule, rather than in the stream batch, where waiting for one account's budget
// would hold up every other account whose records share the shard. Two kinds of item:
//
//	ACCOUNT#<account> / QUEUE#<chat id>   a chat waiting for its account's Sell budget
//	BACKLOG           / <account>         the account's backlog: counters, the drain's lease
//
// BACKLOG is a list partition like CHATPOLL (chatpoll.go), so the drain finds the
// accounts with work in one Query instead of a Scan. Its item exists while the account
// has chats queued: Enqueue writes it with the chats in one transaction, or, when it
// cannot, before and after them (so no queued chat is ever unlisted), and
// CloseBacklog deletes it only if no Enqueue came in since the drain last found the
// queue empty (the "n" counter below).
const (
	backlogListPK = "BACKLOG"
	queuePrefix   = "QUEUE#"
)

// Backlog is an account's backlog as its list item keeps it.
type Backlog struct {
	// Enqueued and Drained count the chats queued and taken off the queue since the
	// backlog opened (Since): the import's total and done.
	Enqueued int64 `dynamodbav:"enqueued"`
	Drained  int64 `dynamodbav:"drained"`
	// N counts Enqueue calls; CloseBacklog holds only while it is unchanged.
	N     int64     `dynamodbav:"n"`
	Since time.Time `dynamodbav:"since"`
	// LastDrainAt is when a drain run last ended, Rate the chats per second it took
	// off the queue (the pace the account's Sell budget allows, for the ETA).
	LastDrainAt time.Time `dynamodbav:"lastDrainAt,omitempty"`
	Rate        float64   `dynamodbav:"rate,omitempty"`
	LeaseOwner  string    `dynamodbav:"leaseOwner,omitempty"`
	LeaseUntil  int64     `dynamodbav:"leaseUntil,omitempty"` // unix milliseconds
}

// Waiting is how many chats are queued.
func (b Backlog) Waiting() int64 { return max(0, b.Enqueued-b.Drained) }

// ETA is how long the queue takes to drain at the last measured rate; false before
// a drain has measured one.
func (b Backlog) ETA() (time.Duration, bool) {
	if b.Rate <= 0 {
		return 0, false
	}
	return time.Duration(float64(b.Waiting()) / b.Rate * float64(time.Second)), true
}

func backlogKey(account string) map[string]types.AttributeValue {
	return keyAV(backlogListPK, account)
}

// Enqueue queues chats of the account and returns how many were not queued already.
//
// The stream calls it for every batch of a flooded account, and the other accounts'
// chats on the shard wait for it, so it is one request when it can be:
// enqueueTogether writes the chats and counts them on the list item in one
// transaction. A chat queued already (a redelivered batch) cancels it, and so does
// a drain writing the list item at that moment; then each chat is put on its own.
func (s *Store) Enqueue(ctx context.Context, account string, chatIDs []string, now time.Time) (int, error) {
	chatIDs = distinct(chatIDs) // a transaction may not write one item twice
	if len(chatIDs) == 0 {
		return 0, nil
	}
	if len(chatIDs) < maxTransactItems {
		err := s.enqueueTogether(ctx, account, chatIDs, now)
		if err == nil {
			return len(chatIDs), nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) && !transactionConflict(err) {
			return 0, fmt.Errorf("queue chats of %s: %w", account, err)
		}
	}
	return s.enqueueEach(ctx, account, chatIDs, now)
}

func distinct(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// maxTransactItems is DynamoDB's limit of items in one TransactWriteItems
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html).
const maxTransactItems = 100

// enqueueTogether puts every chat, unless any is queued already, and counts them on
// the list item (creating it if the backlog was closed), all or nothing: a drain
// that closes the backlog either comes first, and the list item is written anew, or
// sees the count change and does not close.
func (s *Store) enqueueTogether(ctx context.Context, account string, chatIDs []string, now time.Time) error {
	at := &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)}
	items := make([]types.TransactWriteItem, 0, len(chatIDs)+1)
	for _, id := range chatIDs {
		items = append(items, types.TransactWriteItem{Put: s.queuePut(account, id, at)})
	}
	items = append(items, types.TransactWriteItem{Update: s.openUpdate(account, len(chatIDs), at)})
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	return err
}

// queuePut queues a chat unless it is queued already.
func (s *Store) queuePut(account, chatID string, at types.AttributeValue) *types.Put {
	item := Key{Account: account, SK: queuePrefix + chatID}.av()
	item["at"] = at
	return &types.Put{
		TableName: &s.table, Item: item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
	}
}

// enqueueEach puts the chats one by one, skipping those queued already.
func (s *Store) enqueueEach(ctx context.Context, account string, chatIDs []string, now time.Time) (int, error) {
	// The list item first, so that a crash after the puts leaves no queued chat
	// where the drain does not look; and again after them (reopening it if a drain
	// closed it meanwhile, having looked at the queue before the puts landed).
	if err := s.openBacklog(ctx, account, 0, now); err != nil {
		return 0, err
	}
	var (
		mu    sync.Mutex
		added int
		errs  []error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, 8)
	)
	at := &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)}
	for _, id := range chatIDs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			put := s.queuePut(account, id, at)
			_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
				TableName: put.TableName, Item: put.Item,
				ConditionExpression: put.ConditionExpression, ExpressionAttributeNames: put.ExpressionAttributeNames,
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				added++
			case isConditionFailed(err): // queued already
			default:
				errs = append(errs, fmt.Errorf("queue chat %s of %s: %w", id, account, err))
			}
		}()
	}
	wg.Wait()
	if added > 0 {
		if err := s.openBacklog(ctx, account, added, now); err != nil {
			errs = append(errs, err)
		}
	}
	return added, errors.Join(errs...)
}

// openBacklog creates or bumps the account's list item, counting k chats enqueued.
func (s *Store) openBacklog(ctx context.Context, account string, k int, now time.Time) error {
	u := s.openUpdate(account, k, &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)})
	if _, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression,
		ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
	}); err != nil {
		return fmt.Errorf("open the backlog of %s: %w", account, err)
	}
	return nil
}

// openUpdate creates or bumps the account's list item, counting k chats enqueued
// at time at.
func (s *Store) openUpdate(account string, k int, at types.AttributeValue) *types.Update {
	return &types.Update{
		TableName: &s.table, Key: backlogKey(account),
		UpdateExpression:         aws.String("ADD #n :one, #enqueued :k SET #since = if_not_exists(#since, :now)"),
		ExpressionAttributeNames: map[string]string{"#n": "n", "#enqueued": "enqueued", "#since": "since"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one": number(1), ":k": number(int64(k)), ":now": at,
		},
	}
}

func (s *Store) addToBacklog(ctx context.Context, account, counter string, k int) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: backlogKey(account),
		UpdateExpression:          aws.String("ADD #c :k"),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  map[string]string{"#c": counter, "#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":k": number(int64(k))},
	})
	if isConditionFailed(err) {
		return nil // closed meanwhile: nothing left to count for
	}
	if err != nil {
		return fmt.Errorf("count %s chats of %s: %w", counter, account, err)
	}
	return nil
}

// Backlog returns the account's backlog; false when nothing is queued.
func (s *Store) Backlog(ctx context.Context, account string) (Backlog, bool, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: backlogKey(account), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Backlog{}, false, fmt.Errorf("read the backlog of %s: %w", account, err)
	}
	if res.Item == nil {
		return Backlog{}, false, nil
	}
	var b Backlog
	if err := attributevalue.UnmarshalMap(res.Item, &b); err != nil {
		return Backlog{}, false, fmt.Errorf("decode the backlog of %s: %w", account, err)
	}
	return b, true, nil
}

// BacklogAccounts lists the accounts with chats queued.
func (s *Store) BacklogAccounts(ctx context.Context) ([]string, error) {
	return s.listedAccounts(ctx, backlogListPK, "the accounts with a backlog")
}

// QueuedChats returns up to limit of the account's queued chats.
func (s *Store) QueuedChats(ctx context.Context, account string, limit int) ([]string, error) {
	items, err := s.QueryPage(ctx, account, queuePrefix, "", limit, false)
	if err != nil {
		return nil, fmt.Errorf("read the queue of %s: %w", account, err)
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = strings.TrimPrefix(it.SK, queuePrefix)
	}
	return ids, nil
}

// Dequeue takes chats off the account's queue and counts them drained.
func (s *Store) Dequeue(ctx context.Context, account string, chatIDs []string) error {
	for start := 0; start < len(chatIDs); start += 25 {
		batch := chatIDs[start:min(start+25, len(chatIDs))]
		reqs := make([]types.WriteRequest, len(batch))
		for i, id := range batch {
			reqs[i] = types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: Key{Account: account, SK: queuePrefix + id}.av()}}
		}
		pending := map[string][]types.WriteRequest{s.table: reqs}
		for try := 0; len(pending) > 0; try++ {
			if try == 8 {
				return fmt.Errorf("dequeue chats of %s: DynamoDB left %d deletes unprocessed", account, len(pending[s.table]))
			}
			res, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return fmt.Errorf("dequeue chats of %s: %w", account, err)
			}
			pending = res.UnprocessedItems
			if len(pending) > 0 {
				if err := sleepCtx(ctx, time.Duration(50<<try)*time.Millisecond); err != nil {
					return err
				}
			}
		}
	}
	return s.addToBacklog(ctx, account, "drained", len(chatIDs))
}

// LeaseBacklog lets owner drain the account's queue until until, unless another
// owner holds an unexpired lease (ErrConflict) or nothing is queued (ErrNotFound).
func (s *Store) LeaseBacklog(ctx context.Context, account, owner string, until, now time.Time) (Backlog, error) {
	// A refused lease is read back to say why. The backlog may have closed and
	// reopened in between (a drain closing it, the stream queueing a chat), so a
	// refusal that the read does not explain is tried again.
	for try := 0; ; try++ {
		b, err := s.leaseBacklog(ctx, account, owner, until, now)
		if !isConditionFailed(err) {
			return b, err
		}
		cur, found, gerr := s.Backlog(ctx, account)
		switch {
		case gerr != nil:
			return Backlog{}, gerr
		case !found:
			return Backlog{}, ErrNotFound
		case cur.LeaseOwner != owner && cur.LeaseUntil >= now.UnixMilli(), try == 2:
			return Backlog{}, ErrConflict
		}
	}
}

func (s *Store) leaseBacklog(ctx context.Context, account, owner string, until, now time.Time) (Backlog, error) {
	res, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: backlogKey(account),
		UpdateExpression:         aws.String("SET #owner = :owner, #until = :until"),
		ConditionExpression:      aws.String("attribute_exists(#pk) AND (attribute_not_exists(#until) OR #until < :now OR #owner = :owner)"),
		ExpressionAttributeNames: map[string]string{"#owner": "leaseOwner", "#until": "leaseUntil", "#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":owner": &types.AttributeValueMemberS{Value: owner},
			":until": number(until.UnixMilli()), ":now": number(now.UnixMilli()),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		return Backlog{}, err
	}
	if err != nil {
		return Backlog{}, fmt.Errorf("lease the backlog of %s: %w", account, err)
	}
	var b Backlog
	if err := attributevalue.UnmarshalMap(res.Attributes, &b); err != nil {
		return Backlog{}, fmt.Errorf("decode the backlog of %s: %w", account, err)
	}
	return b, nil
}

// ReleaseBacklog ends owner's lease and records the run: when it ended and the rate
// at which it drained (chats per second; zero keeps the last rate).
func (s *Store) ReleaseBacklog(ctx context.Context, account, owner string, rate float64, now time.Time) error {
	upd := "REMOVE #owner, #until SET #last = :now"
	vals := map[string]types.AttributeValue{
		":owner": &types.AttributeValueMemberS{Value: owner},
		":now":   &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)},
	}
	names := map[string]string{"#owner": "leaseOwner", "#until": "leaseUntil", "#last": "lastDrainAt"}
	if rate > 0 {
		upd += ", #rate = :rate"
		names["#rate"] = "rate"
		vals[":rate"] = &types.AttributeValueMemberN{Value: strconv.FormatFloat(rate, 'f', 3, 64)}
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: backlogKey(account),
		UpdateExpression: aws.String(upd), ConditionExpression: aws.String("#owner = :owner"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
	})
	if isConditionFailed(err) {
		return nil // closed, or the lease expired and another took it
	}
	if err != nil {
		return fmt.Errorf("release the backlog of %s: %w", account, err)
	}
	return nil
}

// CloseBacklog removes the account's list item once its queue is empty: only while
// owner holds the lease and no Enqueue came in since the lease read n
// (ErrConflict otherwise: look at the queue again).
func (s *Store) CloseBacklog(ctx context.Context, account, owner string, n int64) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: backlogKey(account),
		ConditionExpression:      aws.String("#n = :n AND #owner = :owner"),
		ExpressionAttributeNames: map[string]string{"#n": "n", "#owner": "leaseOwner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":n": number(n), ":owner": &types.AttributeValueMemberS{Value: owner},
		},
	})
	if isConditionFailed(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("close the backlog of %s: %w", account, err)
	}
	return nil
}

// AttrQueued marks a chat stored straight into its account's backlog (CreateQueued).
// template.yaml's stream filter passes a new chat only without it, so the drain, not
// the stream, processes such a chat, and a flood's records do not stand in the shard
// before other accounts' chats.
const AttrQueued = "queued"

// CreateQueued stores a new chat (as Create: ErrExists when its id is stored
// already) and queues it for the drain, for a chat that arrives while its account is
// sending more than its Sell budget could take (chatstore's admission). The chat and
// its place in the queue are written together; the list item is bumped before them,
// so that a crash after them leaves no queued chat unlisted, and after them, counting
// the chat and reopening the backlog if a drain closed it meanwhile (as enqueueEach).
// Not one transaction with the list item: every ingest of a flooded account would
// then write that one item at once, and DynamoDB cancels transactions that meet.
func (s *Store) CreateQueued(ctx context.Context, key Key, item any, ttl time.Time, now time.Time) error {
	return s.CreateQueuedAll(ctx, key.Account, []NewChat{{Key: key, Item: item, TTL: ttl}}, now)[0]
}

// NewChat is a chat for CreateQueuedAll: where it goes, the item, and when it
// expires (zero: never).
type NewChat struct {
	Key  Key
	Item any
	TTL  time.Time
}

// A transaction takes up to 100 items of up to 4 MB in all
// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html),
// but CreateQueuedAll writes only 5 chats (and their queue entries) in each, one
// transaction after another. Every other account's request waits while a
// transaction holds DynamoDB Local's engine: with 50 chats a transaction the others'
// p99 during a flood doubled, with 10 it was 1.6×, with 5 about 1.25×
// (BenchmarkFloodFairness). In AWS the requests a chat are the same either way.
// transactionBytes keeps a transaction of large chats (up to 400 KB each) under
// the 4 MB.
const (
	queuedPerTransaction = 5
	transactionBytes     = 3 << 20
)

// QueuedWritePace is the write units a second CreateQueuedAll spends on one call
// (one account's page), spacing its transactions: half of what one partition
// takes. Every item of an account shares its partition key, a partition takes
// at most 1,000 write units a second, and other accounts' keys may share it
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html).
// A page of 1,000 typical chats written at full speed, about 3 s, would spend
// some 2,000 units a second and be throttled with whoever shares the partition
// (docs/cost.md, the hot partition key); at this pace it takes about 10 s.
const QueuedWritePace = 500

// CreateQueuedAll is CreateQueued for chats of one account that arrive together (a
// page of the chat export): a few chats and their queue entries in one transaction,
// between one bump of the list item before and one after, instead of three requests
// a chat. It returns one error per chat, in order: nil, ErrExists (stored already,
// or earlier in chats), or why it was not stored. A chat found stored does not hold
// up the others of its transaction: they are written again without it.
func (s *Store) CreateQueuedAll(ctx context.Context, account string, chats []NewChat, now time.Time) []error {
	errs := make([]error, len(chats))
	at := &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)}
	seen := map[string]bool{}
	var (
		group  []queuedWrite
		size   int
		listed bool // the list item was just bumped: no need to bump it again first
		pace   = writePace{perSecond: QueuedWritePace, now: time.Now, sleep: sleepCtx}
	)
	for i, c := range chats {
		if c.Key.Account != account {
			errs[i] = fmt.Errorf("create queued %s: not a chat of %s", c.Key, account)
			continue
		}
		if seen[c.Key.SK] { // one transaction cannot write an item twice
			errs[i] = ErrExists
			continue
		}
		w, n, err := s.queuedWrite(i, c, at)
		if err != nil {
			errs[i] = err
			continue
		}
		seen[c.Key.SK] = true
		if len(group) == queuedPerTransaction || len(group) > 0 && size+n > transactionBytes {
			var err error
			if listed, err = s.pacedGroup(ctx, &pace, account, group, errs, listed, now); err != nil {
				notTried(errs[i:], err)
				return errs
			}
			group, size = nil, 0
		}
		group, size = append(group, w), size+n
	}
	if len(group) > 0 {
		_, _ = s.pacedGroup(ctx, &pace, account, group, errs, listed, now)
	}
	return errs
}

// pacedGroup is createQueuedGroup after the wait pace asks for, counting what the
// group writes: its items at transactional rates, and the bumps of the list item.
// A wait cut short by ctx fails the group's chats, as the table's error would.
func (s *Store) pacedGroup(ctx context.Context, pace *writePace, account string, group []queuedWrite, errs []error, listed bool, now time.Time) (bool, error) {
	if err := pace.wait(ctx); err != nil {
		err = fmt.Errorf("create queued chats of %s: %w", account, err)
		for _, w := range group {
			errs[w.i] = err
		}
		return listed, err
	}
	units := 1 // the bump after
	if !listed {
		units++ // and the one before
	}
	for _, w := range group {
		units += w.units
	}
	pace.spent(units)
	return s.createQueuedGroup(ctx, account, group, errs, listed, now)
}

// writePace spaces a call's writes so that they spend at most perSecond write units
// a second from the first: each waits until the units spent before it are paid
// for. The clock and the wait are fields so that a test can drive them.
type writePace struct {
	perSecond float64
	now       func() time.Time
	sleep     func(context.Context, time.Duration) error
	began     time.Time
	units     float64
}

// wait waits until the units spent so far fit the pace; the first write does not
// wait. It answers ctx's error if ctx ends first.
func (p *writePace) wait(ctx context.Context) error {
	if p.began.IsZero() {
		p.began = p.now()
		return nil
	}
	d := p.began.Add(time.Duration(p.units / p.perSecond * float64(time.Second))).Sub(p.now())
	if d <= 0 {
		return nil
	}
	return p.sleep(ctx, d)
}

// spent counts units written.
func (p *writePace) spent(units int) { p.units += float64(units) }

// notTried sets the errors of chats not tried yet, because the table failed the
// chats before them: a table that stalls fails a page within one deadline, not one
// per transaction. Errors set already (a chat refused on its own) are kept.
func notTried(errs []error, cause error) {
	for i := range errs {
		if errs[i] == nil {
			errs[i] = fmt.Errorf("not stored, since the table failed the chats before: %w", cause)
		}
	}
}

// queuedWrite is one chat of CreateQueuedAll: its index in the call, the chat's put
// and its queue entry's.
type queuedWrite struct {
	i            int
	chat, queued *types.Put
	units        int // write units, at a transaction's rate of two a KB
}

// queuedWrite encodes chat c, marked queued, and its queue entry, and returns them
// with their size in bytes as DynamoDB counts it, near enough.
func (s *Store) queuedWrite(i int, c NewChat, at types.AttributeValue) (queuedWrite, int, error) {
	av, err := s.encode(c.Key, c.Item)
	if err != nil {
		return queuedWrite{}, 0, err
	}
	if !c.TTL.IsZero() {
		av[AttrTTL] = number(c.TTL.Unix())
	}
	av[AttrQueued] = &types.AttributeValueMemberBOOL{Value: true}
	expr, err := buildCondition(s.createCondition())
	if err != nil {
		return queuedWrite{}, 0, err
	}
	queue := s.queuePut(c.Key.Account, strings.TrimPrefix(c.Key.SK, chatPrefix), at)
	// A queue entry left by an expired chat of the same id is taken over.
	queue.ConditionExpression, queue.ExpressionAttributeNames = nil, nil
	chat := &types.Put{TableName: &s.table, Item: av, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}
	chatBytes, queueBytes := itemSize(av), itemSize(queue.Item)
	return queuedWrite{i: i, chat: chat, queued: queue, units: transactionUnits(chatBytes) + transactionUnits(queueBytes)},
		chatBytes + queueBytes, nil
}

// createQueuedGroup writes one transaction's chats of CreateQueuedAll and sets their
// errors. The list item is bumped before them unless listed (the bump after the
// transaction before did what the bump before does: count a change, so that no
// drain closes the backlog on a queue read before it), and after them, which it
// reports. It returns the table's error when the chats could not be stored.
func (s *Store) createQueuedGroup(ctx context.Context, account string, group []queuedWrite, errs []error, listed bool, now time.Time) (bool, error) {
	fail := func(ws []queuedWrite, err error) (bool, error) {
		for _, w := range ws {
			errs[w.i] = err
		}
		return false, err
	}
	if !listed {
		if err := s.openBacklog(ctx, account, 0, now); err != nil {
			return fail(group, err)
		}
	}
	for conflicts := 0; len(group) > 0; {
		items := make([]types.TransactWriteItem, 0, 2*len(group))
		for _, w := range group {
			items = append(items, types.TransactWriteItem{Put: w.chat}, types.TransactWriteItem{Put: w.queued})
		}
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if failed := cancelled(err); failed != nil {
			left := make([]queuedWrite, 0, len(group))
			for j, w := range group {
				if failed[2*j] {
					errs[w.i] = ErrExists
				} else {
					left = append(left, w)
				}
			}
			group = left
			continue
		}
		if transactionConflict(err) && conflicts < 3 {
			conflicts++ // another writer had one of these items at that moment
			continue
		}
		if err != nil {
			return fail(group, fmt.Errorf("create queued chats of %s: %w", account, err))
		}
		break
	}
	if len(group) == 0 {
		return true, nil // all stored before: the list was bumped, before or just now
	}
	if err := s.openBacklog(ctx, account, len(group), now); err != nil {
		return fail(group, err)
	}
	return true, nil
}

// transactionUnits is what writing an item of n bytes in a transaction costs: two
// write units a KB, rounded up
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
func transactionUnits(n int) int { return 2 * max(1, (n+1023)/1024) }

// itemSize is an item's size as DynamoDB counts it for its limits: the lengths of
// the attribute names and values (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html),
// numbers counted by their digits, a little over.
func itemSize(av map[string]types.AttributeValue) int {
	n := 0
	for name, v := range av {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return len(v.Value)
	case *types.AttributeValueMemberM:
		return 3 + itemSize(v.Value)
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberSS:
		return sumLen(v.Value)
	case *types.AttributeValueMemberNS:
		return sumLen(v.Value)
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	default: // BOOL, NULL
		return 1
	}
}

func sumLen(ss []string) int {
	n := 0
	for _, s := range ss {
		n += len(s)
	}
	return n
}
