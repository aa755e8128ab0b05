// Package store is sellchat's only door to DynamoDB: one table, keys scoped by account,
// conditional writes for "only once" and a version attribute for optimistic concurrency.
package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names the table reserves; items must not use them for their own fields.
const (
	AttrPK      = "pk"
	AttrSK      = "sk"
	AttrVersion = "version"
	AttrTTL     = "ttl"
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("store: not found")
	ErrConflict = errors.New("store: version conflict")
	ErrExists   = errors.New("store: already exists")
)

// Key addresses one item. The partition is always the account, so no read or write
// can reach another account's data by construction.
type Key struct {
	Account string
	SK      string
}

// accountPrefix starts every partition key: the rest of it is the account.
const accountPrefix = "ACCOUNT#"

func (k Key) pk() string { return accountPrefix + k.Account }

// accountOf returns the account of a partition key ("" if it is not one).
func accountOf(pk string) string {
	a, ok := strings.CutPrefix(pk, accountPrefix)
	if !ok {
		return ""
	}
	return a
}

// chatPrefix starts the sort key of a stored chat; the stream tells chats by it.
const chatPrefix = "CHAT#"

// ChatKey addresses chat chatID of the account.
func ChatKey(account, chatID string) Key { return Key{Account: account, SK: chatPrefix + chatID} }

func (k Key) av() map[string]types.AttributeValue { return keyAV(k.pk(), k.SK) }

// keyAV is the key of the item at partition key pk and sort key sk. Every item but
// the chat poll's list (chatpoll.go) is an account's, addressed by a Key.
func keyAV(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrPK: &types.AttributeValueMemberS{Value: pk},
		AttrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

func (k Key) String() string { return k.pk() + "/" + k.SK }

// Store reads and writes the table.
type Store struct {
	db    *dynamodb.Client
	table string
	now   func() time.Time
}

// New returns a store over table.
func New(db *dynamodb.Client, table string) *Store {
	return &Store{db: db, table: table, now: time.Now}
}

// Table names the table.
func (s *Store) Table() string { return s.table }

// Client exposes the DynamoDB client for tests that inspect the table as a whole.
func (s *Store) Client() *dynamodb.Client { return s.db }

// NewClient builds a DynamoDB client. With an endpoint (DynamoDB Local) it uses fixed
// dummy credentials, since the local engine ignores them. Without one it reads the
// credentials Lambda puts in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN). The SDK's full default chain would also work, but it links SSO,
// STS and IMDS clients a Lambda never uses and pushes each bootstrap past 10 MB.
// Every call is bounded by DefaultTimeouts (LocalTimeouts with an endpoint).
func NewClient(ctx context.Context, region, endpoint string) (*dynamodb.Client, error) {
	return NewClientWith(ctx, region, endpoint, Timeouts{})
}

// NewClientWith is NewClient with other time limits; a zero field keeps the default.
func NewClientWith(ctx context.Context, region, endpoint string, t Timeouts) (*dynamodb.Client, error) {
	creds := credentials.NewStaticCredentialsProvider("local", "local", "")
	if endpoint == "" {
		id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		if id == "" || secret == "" {
			return nil, fmt.Errorf("no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) and no DYNAMODB_ENDPOINT")
		}
		creds = credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))
	}
	opts := dynamodb.Options{
		Region:      region,
		Credentials: aws.NewCredentialsCache(creds),
	}
	t.bound(&opts, endpoint != "")
	if endpoint != "" {
		opts.BaseEndpoint = aws.String(endpoint)
	}
	return dynamodb.New(opts), nil
}

// Get reads the item at key into out. An item whose TTL has passed counts as absent:
// DynamoDB deletes expired items lazily, so reads must not trust their presence.
func (s *Store) Get(ctx context.Context, key Key, out any) (version int64, err error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key.av(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return 0, fmt.Errorf("get %s: %w", key, err)
	}
	if res.Item == nil || s.expired(res.Item) {
		return 0, ErrNotFound
	}
	if err := attributevalue.UnmarshalMapWithOptions(res.Item, out, decodeOpts); err != nil {
		return 0, fmt.Errorf("decode %s: %w", key, err)
	}
	return versionOf(res.Item), nil
}

// Put writes item at key unconditionally, keeping no version.
func (s *Store) Put(ctx context.Context, key Key, item any) error {
	return s.put(ctx, key, item, nil)
}

// PutWithTTL writes item at key unconditionally, to expire at ttl.
func (s *Store) PutWithTTL(ctx context.Context, key Key, item any, ttl time.Time) error {
	return s.put(ctx, key, item, &ttl)
}

// put writes item at key unconditionally, to expire at ttl unless it is nil.
func (s *Store) put(ctx context.Context, key Key, item any, ttl *time.Time) error {
	av, err := s.encode(key, item)
	if err != nil {
		return err
	}
	if ttl != nil {
		av[AttrTTL] = number(ttl.Unix())
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: av}); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// Create writes item only if nothing lives at key yet (an expired leftover counts as
// nothing); ErrExists otherwise. It is the "only once" primitive.
func (s *Store) Create(ctx context.Context, key Key, item any, ttl time.Time) error {
	av, err := s.encode(key, item)
	if err != nil {
		return err
	}
	if !ttl.IsZero() {
		av[AttrTTL] = number(ttl.Unix())
	}
	return s.putIf(ctx, key, av, s.createCondition(), ErrExists, "create")
}

// createCondition is Create's: no item at the key, or one whose time has passed
// (DynamoDB deletes expired items late, and until then they still hold the key).
func (s *Store) createCondition() expression.ConditionBuilder {
	return expression.AttributeNotExists(expression.Name(AttrPK)).
		Or(expression.Name(AttrTTL).LessThan(expression.Value(s.now().Unix())))
}

// PutVersioned replaces the item at key only if its stored version is expected (0:
// the item must not exist yet, or carry no version) and returns the new version. A stale expected version
// gets ErrConflict and writes nothing.
func (s *Store) PutVersioned(ctx context.Context, key Key, item any, expected int64) (int64, error) {
	av, next, err := s.encodeVersioned(key, item, expected)
	if err != nil {
		return 0, err
	}
	if err := s.putIf(ctx, key, av, versionCondition(expected), ErrConflict, "put"); err != nil {
		return 0, err
	}
	return next, nil
}

// putVersionedWith is PutVersioned plus the writes in also, all in one transaction
// (which costs twice a plain write); PutVersioned itself when also is empty.
func (s *Store) putVersionedWith(ctx context.Context, key Key, item any, expected int64, also []types.TransactWriteItem) (int64, error) {
	if len(also) == 0 {
		return s.PutVersioned(ctx, key, item, expected)
	}
	put, next, err := s.versionedPut(key, item, expected)
	if err != nil {
		return 0, err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: append([]types.TransactWriteItem{put}, also...)})
	if failed := cancelled(err); (failed != nil && failed[0]) || transactionConflict(err) {
		return 0, ErrConflict
	}
	if err != nil {
		return 0, fmt.Errorf("put %s: %w", key, err)
	}
	return next, nil
}

// versionedPut is PutVersioned's write as an item of a transaction, and the version
// it writes.
func (s *Store) versionedPut(key Key, item any, expected int64) (types.TransactWriteItem, int64, error) {
	av, next, err := s.encodeVersioned(key, item, expected)
	if err != nil {
		return types.TransactWriteItem{}, 0, err
	}
	cond, err := buildCondition(versionCondition(expected))
	if err != nil {
		return types.TransactWriteItem{}, 0, err
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName: &s.table, Item: av,
		ConditionExpression:       cond.Condition(),
		ExpressionAttributeNames:  cond.Names(),
		ExpressionAttributeValues: cond.Values(),
	}}, next, nil
}

// putIf writes av at key only while cond holds; failed when it does not. op names
// the write in other errors.
func (s *Store) putIf(ctx context.Context, key Key, av map[string]types.AttributeValue, cond expression.ConditionBuilder, failed error, op string) error {
	expr, err := buildCondition(cond)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: av,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	return conditionalOutcome(err, failed, op, key)
}

// versionCondition is PutVersioned's condition: the item is at version expected (0:
// absent, or written without a version).
func versionCondition(expected int64) expression.ConditionBuilder {
	if expected == 0 {
		// Version 0 is "never written with a version": absent, or written by Put.
		return expression.AttributeNotExists(expression.Name(AttrPK)).Or(expression.AttributeNotExists(expression.Name(AttrVersion)))
	}
	return expression.Name(AttrVersion).Equal(expression.Value(expected))
}

// buildCondition builds the expression of a conditional write.
func buildCondition(cond expression.ConditionBuilder) (expression.Expression, error) {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return expression.Expression{}, fmt.Errorf("build condition: %w", err)
	}
	return expr, nil
}

// conditionalOutcome is the error of a conditional write that answered err: failed
// when its condition did not hold, otherwise err wrapped with op and key.
func conditionalOutcome(err, failed error, op string, key Key) error {
	if isConditionFailed(err) {
		return failed
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, key, err)
	}
	return nil
}

// Delete removes the item at key; a missing item is not an error.
func (s *Store) Delete(ctx context.Context, key Key) error {
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key.av()}); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// Update reads the item at key, lets change modify it, and writes it back under the
// version it read, retrying a few times when a concurrent writer got there first. A
// missing item starts from out's zero value. It suits small items that several
// requests touch at once (the integration record) where the caller has no version.
func Update[T any](ctx context.Context, s *Store, key Key, change func(*T) error) (T, int64, error) {
	return update(ctx, s, key, change, nil)
}

// companion is an item kept in step with a versioned item: present exactly while
// wanted holds for that item's value, and written in the same transaction as it.
type companion[T any] struct {
	wanted func(T) bool
	// write puts (present) or deletes the companion.
	write func(present bool) types.TransactWriteItem
}

// writes is what must change of the companion when the item's value goes from one
// for which it was wanted (had) to cur: nothing when it was and stays unwanted, so
// items that never had a companion are written as plainly as before.
func (c *companion[T]) writes(had bool, cur T) []types.TransactWriteItem {
	if c == nil {
		return nil
	}
	want := c.wanted(cur)
	if !had && !want {
		return nil
	}
	return []types.TransactWriteItem{c.write(want)}
}

// update is Update that also keeps side (when not nil) in step with the item.
func update[T any](ctx context.Context, s *Store, key Key, change func(*T) error, side *companion[T]) (T, int64, error) {
	const attempts = 8
	var zero T
	for i := 0; i < attempts; i++ {
		var cur T
		version, err := s.Get(ctx, key, &cur)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return zero, 0, err
		}
		had := side != nil && side.wanted(cur)
		if err := change(&cur); err != nil {
			return zero, 0, err
		}
		next, err := s.putVersionedWith(ctx, key, cur, version, side.writes(had, cur))
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return zero, 0, err
		}
		return cur, next, nil
	}
	return zero, 0, fmt.Errorf("update %s: %w after %d attempts", key, ErrConflict, attempts)
}

func (s *Store) encode(key Key, item any) (map[string]types.AttributeValue, error) {
	av, err := attributevalue.MarshalMapWithOptions(item, encodeOpts)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", key, err)
	}
	for _, reserved := range []string{AttrPK, AttrSK, AttrVersion} {
		if _, ok := av[reserved]; ok {
			return nil, fmt.Errorf("encode %s: item uses reserved attribute %q", key, reserved)
		}
	}
	av[AttrPK] = &types.AttributeValueMemberS{Value: key.pk()}
	av[AttrSK] = &types.AttributeValueMemberS{Value: key.SK}
	return av, nil
}

// encodeVersioned encodes item for key at the version after expected, which it
// also returns.
func (s *Store) encodeVersioned(key Key, item any, expected int64) (map[string]types.AttributeValue, int64, error) {
	av, err := s.encode(key, item)
	if err != nil {
		return nil, 0, err
	}
	next := expected + 1
	av[AttrVersion] = number(next)
	return av, next, nil
}

// number is n as an attribute value.
func number(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// Items are described by their json tags, so one struct serves the API and the table
// and a field's name is the same in both.
func encodeOpts(o *attributevalue.EncoderOptions) { o.TagKey = "json" }
func decodeOpts(o *attributevalue.DecoderOptions) { o.TagKey = "json" }

func (s *Store) expired(item map[string]types.AttributeValue) bool {
	n, ok := item[AttrTTL].(*types.AttributeValueMemberN)
	if !ok {
		return false
	}
	ttl, err := strconv.ParseInt(n.Value, 10, 64)
	return err == nil && ttl > 0 && ttl <= s.now().Unix()
}

func versionOf(item map[string]types.AttributeValue) int64 {
	n, ok := item[AttrVersion].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	v, _ := strconv.ParseInt(n.Value, 10, 64)
	return v
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// sleepCtx waits d, or until ctx ends: the store's one wait between tries.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
