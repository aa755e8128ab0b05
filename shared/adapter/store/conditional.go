package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Writes conditional on one of the item's own attributes. They suit claims: an item
// taken with Create that names its holder, which only that holder may give back, so
// a holder whose claim ran out and was taken by another request cannot delete the
// newcomer's.

// DeleteIf deletes the item at key only while its attribute attr equals value;
// ErrConflict otherwise, a missing item included.
func (s *Store) DeleteIf(ctx context.Context, key Key, attr, value string) error {
	if err := ownAttr(attr); err != nil {
		return err
	}
	expr, err := buildCondition(expression.Name(attr).Equal(expression.Value(value)))
	if err != nil {
		return err
	}
	_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: key.av(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	return conditionalOutcome(err, ErrConflict, "delete", key)
}

// ownAttr refuses the attributes the store itself keeps: a condition on them would
// depend on the table's layout, which is the store's alone.
func ownAttr(attr string) error {
	switch attr {
	case "", AttrPK, AttrSK, AttrVersion, AttrTTL:
		return fmt.Errorf("condition on attribute %q: not an item's own attribute", attr)
	}
	return nil
}
