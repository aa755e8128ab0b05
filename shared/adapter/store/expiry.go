package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Items that expire: the table's TTL attribute stays the store's, so callers read
// and change an item's expiry here, as a time, never as the attribute. DynamoDB
// deletes an expired item in the background (within about two days); until then
// every read here treats it as absent, and nothing here brings it back.

// Expiry is when the item expires; the zero time when it never does.
func (it Item) Expiry() time.Time { return expiryOf(it.attrs) }

// expiryOf reads the TTL attribute of a stored item.
func expiryOf(item map[string]types.AttributeValue) time.Time {
	n, ok := item[AttrTTL].(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}
	}
	ttl, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil || ttl <= 0 {
		return time.Time{}
	}
	return time.Unix(ttl, 0).UTC()
}

// GetWithExpiry is Get that also returns when the item expires (zero: never).
func (s *Store) GetWithExpiry(ctx context.Context, key Key, out any) (time.Time, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key.av(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return time.Time{}, fmt.Errorf("get %s: %w", key, err)
	}
	if res.Item == nil || s.expired(res.Item) {
		return time.Time{}, ErrNotFound
	}
	if err := attributevalue.UnmarshalMapWithOptions(res.Item, out, decodeOpts); err != nil {
		return time.Time{}, fmt.Errorf("decode %s: %w", key, err)
	}
	return expiryOf(res.Item), nil
}

// ExpiryOf returns when the item at key expires, reading nothing else of it. Unlike
// the other reads it answers for an item that has expired but is not deleted yet
// (a time not after now), so that what belongs to it can expire with it;
// ErrNotFound only when nothing is stored at key.
func (s *Store) ExpiryOf(ctx context.Context, key Key) (time.Time, error) {
	proj := expression.NamesList(expression.Name(AttrPK), expression.Name(AttrTTL))
	expr, err := expression.NewBuilder().WithProjection(proj).Build()
	if err != nil {
		return time.Time{}, fmt.Errorf("build projection: %w", err)
	}
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: key.av(), ConsistentRead: aws.Bool(true),
		ProjectionExpression: expr.Projection(), ExpressionAttributeNames: expr.Names()})
	if err != nil {
		return time.Time{}, fmt.Errorf("get expiry of %s: %w", key, err)
	}
	if res.Item == nil {
		return time.Time{}, ErrNotFound
	}
	return expiryOf(res.Item), nil
}

// SetExpiry makes the item at key expire at at, or never when at is zero. An item
// absent or already expired is left as it is and answers ErrNotFound: what reads
// hide as expired must not come back because the expiry moved.
func (s *Store) SetExpiry(ctx context.Context, key Key, at time.Time) error {
	ttl := expression.Name(AttrTTL)
	upd := expression.Remove(ttl)
	if !at.IsZero() {
		upd = expression.Set(ttl, expression.Value(at.Unix()))
	}
	live := Exists().And(expression.AttributeNotExists(ttl).Or(ttl.GreaterThan(expression.Value(s.now().Unix()))))
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(live).Build()
	if err != nil {
		return fmt.Errorf("build expiry of %s: %w", key, err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key.av(),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	return conditionalOutcome(err, ErrNotFound, "set expiry of", key)
}

// ExpiryPage reads up to limit of the account's items whose sort key starts with
// prefix, in sort-key order, after the item with sort key after (empty: from the
// first), each with only attrs and its expiry. next is where the following page
// starts, empty once the prefix is read to its end. Expired items are left out,
// but the page moves past them, so a page can be empty with more to follow: only
// an empty next ends the read. It is for jobs that walk a whole account.
func (s *Store) ExpiryPage(ctx context.Context, account, prefix, after string, limit int, attrs ...string) (items []Item, next string, err error) {
	pk := Key{Account: account}.pk()
	proj := expression.NamesList(expression.Name(AttrSK), expression.Name(AttrTTL))
	for _, a := range attrs {
		proj = proj.AddNames(expression.Name(a))
	}
	keyCond := expression.Key(AttrPK).Equal(expression.Value(pk)).And(expression.Key(AttrSK).BeginsWith(prefix))
	expr, err := expression.NewBuilder().WithKeyCondition(keyCond).WithProjection(proj).Build()
	if err != nil {
		return nil, "", fmt.Errorf("build query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    expr.KeyCondition(),
		ProjectionExpression:      expr.Projection(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(int32(limit)),
	}
	if after != "" {
		in.ExclusiveStartKey = Key{Account: account, SK: after}.av()
	}
	res, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("query %s/%s* after %q: %w", account, prefix, after, err)
	}
	for _, a := range res.Items {
		if !s.expired(a) {
			items = append(items, itemOf(a))
		}
	}
	if last, ok := res.LastEvaluatedKey[AttrSK].(*types.AttributeValueMemberS); ok {
		next = last.Value
	}
	return items, next, nil
}

// feedPrefix starts the sort key of a feed entry (chatstore's); the stream tells
// entries by it, for the TTL's removals.
const feedPrefix = "FEED#"

// removedByTTL reports whether DynamoDB's TTL made the removal rec records: TTL
// deletions carry the service's identity (userIdentity {type "Service",
// principalId "dynamodb.amazonaws.com"}); deletions sellchat makes carry none.
func removedByTTL(rec events.DynamoDBEventRecord) bool {
	u := rec.UserIdentity
	return u != nil && u.Type == "Service" && u.PrincipalID == "dynamodb.amazonaws.com"
}
