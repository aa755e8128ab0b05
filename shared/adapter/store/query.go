package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Item is one result of a prefix query: its sort key and its attributes, to decode.
type Item struct {
	SK      string
	Version int64
	attrs   map[string]types.AttributeValue
}

// Decode reads the item into out.
func (it Item) Decode(out any) error {
	if err := attributevalue.UnmarshalMapWithOptions(it.attrs, out, decodeOpts); err != nil {
		return fmt.Errorf("decode %s: %w", it.SK, err)
	}
	return nil
}

// QueryPrefix returns the account's live items whose sort key starts with prefix, in
// sort-key order (reverse when newestFirst), at most limit (0: all).
func (s *Store) QueryPrefix(ctx context.Context, account, prefix string, limit int, newestFirst bool) ([]Item, error) {
	items, err := s.queryPartition(ctx, Key{Account: account}.pk(), prefix, limit, newestFirst)
	if err != nil {
		return nil, fmt.Errorf("query %s/%s*: %w", account, prefix, err)
	}
	return items, nil
}

// queryPartition is QueryPrefix in the partition pk, an account's or another
// (chatpoll.go).
func (s *Store) queryPartition(ctx context.Context, pk, prefix string, limit int, newestFirst bool) ([]Item, error) {
	in, err := s.prefixQuery(pk, prefix, newestFirst)
	if err != nil {
		return nil, err
	}
	var out []Item
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, attrs := range page.Items {
			if s.expired(attrs) {
				continue
			}
			out = append(out, itemOf(attrs))
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
	}
	return out, nil
}

// DeletePrefix deletes the account's items whose sort key starts with prefix and
// returns how many it deleted.
func (s *Store) DeletePrefix(ctx context.Context, account, prefix string) (int, error) {
	items, err := s.QueryPrefix(ctx, account, prefix, 0, false)
	if err != nil {
		return 0, err
	}
	for _, it := range items {
		if err := s.Delete(ctx, Key{Account: account, SK: it.SK}); err != nil {
			return 0, err
		}
	}
	return len(items), nil
}

// Take deletes the item at key and returns what it held, atomically: of concurrent
// callers exactly one gets the item, the rest ErrNotFound. An expired item is
// deleted but reported as not found. It makes single-use tokens (OAuth states).
func (s *Store) Take(ctx context.Context, key Key, out any) error {
	expr, err := buildCondition(Exists())
	if err != nil {
		return err
	}
	res, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: key.av(),
		ConditionExpression:      expr.Condition(),
		ExpressionAttributeNames: expr.Names(),
		ReturnValues:             types.ReturnValueAllOld,
	})
	if err := conditionalOutcome(err, ErrNotFound, "take", key); err != nil {
		return err
	}
	if res.Attributes == nil || s.expired(res.Attributes) {
		return ErrNotFound
	}
	if err := attributevalue.UnmarshalMapWithOptions(res.Attributes, out, decodeOpts); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}

// prefixQuery is the consistent query of the items of partition pk whose sort key
// starts with prefix ("" for all of them), in sort-key order or its reverse.
func (s *Store) prefixQuery(pk, prefix string, newestFirst bool) (*dynamodb.QueryInput, error) {
	keyCond := expression.Key(AttrPK).Equal(expression.Value(pk))
	if prefix != "" { // DynamoDB refuses begins_with on an empty string; "" means all
		keyCond = keyCond.And(expression.Key(AttrSK).BeginsWith(prefix))
	}
	expr, err := expression.NewBuilder().WithKeyCondition(keyCond).Build()
	if err != nil {
		return nil, fmt.Errorf("build query: %w", err)
	}
	return &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ConsistentRead:            aws.Bool(true),
		ScanIndexForward:          aws.Bool(!newestFirst),
	}, nil
}

// itemOf reads a stored item's key and version.
func itemOf(attrs map[string]types.AttributeValue) Item {
	sk, _ := attrs[AttrSK].(*types.AttributeValueMemberS)
	return Item{SK: sk.Value, Version: versionOf(attrs), attrs: attrs}
}
