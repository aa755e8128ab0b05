package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Writes that land together or not at all: an erasure's start (its job, the lock
// that makes it the identifier's only one, its tombstone) and each deletion it makes
// with the job's count of it, so that a retry after a fault neither loses nor
// doubles a count. One transaction costs twice the plain writes; DynamoDB takes at
// most 100 items, each once.

// TxWrite is one write of a transaction; build it with TxCreate, TxPut, TxDelete or
// TxUpdate.
type TxWrite struct {
	key    Key
	item   any       // a put's item
	ttl    time.Time // a put's expiry, zero for none
	delete bool      // a delete
	update *expression.UpdateBuilder
	cond   *expression.ConditionBuilder
	create bool // a put only while nothing (live) is at key
}

// TxCreate puts item at key only if nothing lives there yet (an expired leftover
// counts as nothing), as Create does.
func TxCreate(key Key, item any, ttl time.Time) TxWrite {
	return TxWrite{key: key, item: item, ttl: ttl, create: true}
}

// TxPut puts item at key whatever is there, to expire at ttl (zero: never).
func TxPut(key Key, item any, ttl time.Time) TxWrite { return TxWrite{key: key, item: item, ttl: ttl} }

// TxDelete deletes the item at key; with mustExist the transaction fails when there
// is none (so a deletion counted with it is counted once).
func TxDelete(key Key, mustExist bool) TxWrite {
	w := TxWrite{key: key, delete: true}
	if mustExist {
		c := Exists()
		w.cond = &c
	}
	return w
}

// TxUpdate applies upd to the item at key (creating it when missing, as UpdateItem
// does) while cond holds; a nil cond always holds.
func TxUpdate(key Key, upd expression.UpdateBuilder, cond *expression.ConditionBuilder) TxWrite {
	return TxWrite{key: key, update: &upd, cond: cond}
}

// CancelledError is a transaction that wrote nothing because conditions failed;
// Failed says which writes' (by position). It is an ErrConflict.
type CancelledError struct{ Failed []bool }

func (e *CancelledError) Error() string {
	return fmt.Sprintf("store: transaction cancelled: conditions failed %v", e.Failed)
}

// Is makes a cancelled transaction an ErrConflict for callers that need not know which.
func (e *CancelledError) Is(target error) bool { return target == ErrConflict }

// FailedAt reports whether write i's condition failed.
func (e *CancelledError) FailedAt(i int) bool { return i < len(e.Failed) && e.Failed[i] }

// maxTogether is DynamoDB's limit of items per transaction.
const maxTogether = 100

// togetherAttempts bounds the tries of a transaction that met another one writing
// the same item: DynamoDB cancels such a transaction rather than queueing it.
const togetherAttempts = 5

// Together applies writes in one transaction: all of them or none. A failed
// condition is a *CancelledError.
func (s *Store) Together(ctx context.Context, writes ...TxWrite) error {
	if len(writes) == 0 {
		return nil
	}
	if len(writes) > maxTogether {
		return fmt.Errorf("transaction of %d writes: at most %d", len(writes), maxTogether)
	}
	items := make([]types.TransactWriteItem, len(writes))
	for i, w := range writes {
		it, err := s.txItem(w)
		if err != nil {
			return err
		}
		items[i] = it
	}
	var err error
	for attempt := 1; attempt <= togetherAttempts; attempt++ {
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if failed := cancelled(err); failed != nil {
			return &CancelledError{Failed: failed}
		}
		if err == nil || !transactionConflict(err) {
			break
		}
		// Another transaction held one of the items: it is done in milliseconds.
		if serr := sleepCtx(ctx, time.Duration(attempt*attempt)*10*time.Millisecond); serr != nil {
			return fmt.Errorf("transaction on %s: %w", writes[0].key, serr)
		}
	}
	if err != nil {
		return fmt.Errorf("transaction on %s: %w", writes[0].key, err)
	}
	return nil
}

// txItem is w as an item of a transaction.
func (s *Store) txItem(w TxWrite) (types.TransactWriteItem, error) {
	switch {
	case w.delete:
		d := &types.Delete{TableName: &s.table, Key: w.key.av()}
		if w.cond != nil {
			expr, err := buildCondition(*w.cond)
			if err != nil {
				return types.TransactWriteItem{}, err
			}
			d.ConditionExpression, d.ExpressionAttributeNames, d.ExpressionAttributeValues = expr.Condition(), expr.Names(), expr.Values()
		}
		return types.TransactWriteItem{Delete: d}, nil
	case w.update != nil:
		return s.txUpdate(w)
	default:
		return s.txPut(w)
	}
}

func (s *Store) txPut(w TxWrite) (types.TransactWriteItem, error) {
	av, err := s.encode(w.key, w.item)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	if !w.ttl.IsZero() {
		av[AttrTTL] = number(w.ttl.Unix())
	}
	p := &types.Put{TableName: &s.table, Item: av}
	if w.create {
		expr, err := buildCondition(expression.AttributeNotExists(expression.Name(AttrPK)).
			Or(expression.Name(AttrTTL).LessThan(expression.Value(s.now().Unix()))))
		if err != nil {
			return types.TransactWriteItem{}, err
		}
		p.ConditionExpression, p.ExpressionAttributeNames, p.ExpressionAttributeValues = expr.Condition(), expr.Names(), expr.Values()
	}
	return types.TransactWriteItem{Put: p}, nil
}

func (s *Store) txUpdate(w TxWrite) (types.TransactWriteItem, error) {
	b := expression.NewBuilder().WithUpdate(*w.update)
	if w.cond != nil {
		b = b.WithCondition(*w.cond)
	}
	expr, err := b.Build()
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("build update of %s: %w", w.key, err)
	}
	for _, name := range expr.Names() {
		if name != AttrPK {
			if err := ownAttr(name); err != nil {
				return types.TransactWriteItem{}, fmt.Errorf("update %s: %w", w.key, err)
			}
		}
	}
	u := &types.Update{TableName: &s.table, Key: w.key.av(), UpdateExpression: expr.Update(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values()}
	if w.cond != nil {
		u.ConditionExpression = expr.Condition()
	}
	return types.TransactWriteItem{Update: u}, nil
}

// IsCancelledAt reports whether err is a transaction cancelled by write i's condition.
func IsCancelledAt(err error, i int) bool {
	var ce *CancelledError
	return errors.As(err, &ce) && ce.FailedAt(i)
}
