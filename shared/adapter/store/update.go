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

// Partial updates, page-by-page reads and scans, for items that several workers
// change a few attributes of at once (a chat's status, a feed entry's note lease).
// Callers describe attributes with the expression builder, by their own names; the
// store's key and bookkeeping attributes stay the store's.

// Exists is a condition that holds while the item exists.
func Exists() expression.ConditionBuilder {
	return expression.AttributeExists(expression.Name(AttrPK))
}

// StringSet is a set of strings as an attribute value: adding a member twice (with
// UpdateBuilder.Add) keeps it once.
type StringSet []string

// MarshalDynamoDBAttributeValue encodes the set as DynamoDB's string set.
func (ss StringSet) MarshalDynamoDBAttributeValue() (types.AttributeValue, error) {
	return &types.AttributeValueMemberSS{Value: ss}, nil
}

// UpdateIf applies update to the item at key while cond holds, atomically;
// ErrConflict when it does not. With out non-nil it decodes the item as the update
// left it into out.
func (s *Store) UpdateIf(ctx context.Context, key Key, update expression.UpdateBuilder, cond expression.ConditionBuilder, out any) error {
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("build update of %s: %w", key, err)
	}
	for _, name := range expr.Names() {
		// The condition may ask whether the item exists; the update may not touch
		// what the store keeps for itself.
		if name != AttrPK {
			if err := ownAttr(name); err != nil {
				return fmt.Errorf("update %s: %w", key, err)
			}
		}
	}
	in := &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: key.av(),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
	if out != nil {
		in.ReturnValues = types.ReturnValueAllNew
	}
	res, err := s.db.UpdateItem(ctx, in)
	if err := conditionalOutcome(err, ErrConflict, "update", key); err != nil {
		return err
	}
	if out != nil {
		if err := attributevalue.UnmarshalMapWithOptions(res.Attributes, out, decodeOpts); err != nil {
			return fmt.Errorf("decode %s: %w", key, err)
		}
	}
	return nil
}

// QueryPage returns up to limit of the account's items whose sort key starts with
// prefix, in sort-key order (reverse when newestFirst), starting after the item with
// sort key after (empty: from the first). It makes one round trip, for pages a
// request serves; QueryPrefix reads them all.
func (s *Store) QueryPage(ctx context.Context, account, prefix, after string, limit int, newestFirst bool) ([]Item, error) {
	in, err := s.prefixQuery(Key{Account: account}.pk(), prefix, newestFirst)
	if err != nil {
		return nil, err
	}
	in.Limit = aws.Int32(int32(limit))
	if after != "" {
		in.ExclusiveStartKey = Key{Account: account, SK: after}.av()
	}
	res, err := s.db.Query(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("query %s/%s* after %q: %w", account, prefix, after, err)
	}
	out := make([]Item, 0, len(res.Items))
	for _, attrs := range res.Items {
		if s.expired(attrs) {
			continue
		}
		out = append(out, itemOf(attrs))
	}
	return out, nil
}

// SortKeyBeginsWith and SortKeyIs are conditions on an item's sort key, for ScanKeys.
func SortKeyBeginsWith(prefix string) expression.ConditionBuilder {
	return expression.Name(AttrSK).BeginsWith(prefix)
}

// SortKeyIs holds for the items whose sort key is sk.
func SortKeyIs(sk string) expression.ConditionBuilder {
	return expression.Name(AttrSK).Equal(expression.Value(sk))
}

// ScanKeys returns the keys of every item, across accounts, for which match holds.
// It reads the whole table: it is for maintenance commands, not for request paths.
func (s *Store) ScanKeys(ctx context.Context, match expression.ConditionBuilder) ([]Key, error) {
	proj := expression.NamesList(expression.Name(AttrPK), expression.Name(AttrSK))
	expr, err := expression.NewBuilder().WithFilter(match).WithProjection(proj).Build()
	if err != nil {
		return nil, fmt.Errorf("build scan: %w", err)
	}
	p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{
		TableName:                 &s.table,
		FilterExpression:          expr.Filter(),
		ProjectionExpression:      expr.Projection(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ConsistentRead:            aws.Bool(true),
	})
	var keys []Key
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		for _, item := range page.Items {
			pk, _ := item[AttrPK].(*types.AttributeValueMemberS)
			sk, _ := item[AttrSK].(*types.AttributeValueMemberS)
			if pk == nil || sk == nil {
				continue
			}
			if a := accountOf(pk.Value); a != "" {
				keys = append(keys, Key{Account: a, SK: sk.Value})
			}
		}
	}
	return keys, nil
}
