package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sellchat/sellchat/shared/domain/settings"
)

// poolPrefix starts the sort key of each pool mark: POOL#<phantom user id>.
const poolPrefix = "POOL#"

func poolKey(account string, id int64) Key {
	return Key{Account: account, SK: poolPrefix + strconv.FormatInt(id, 10)}
}

// MissingPoolError says that an owner of type pool is not (or no longer) a marked
// pool; Index is its place in the owners list.
type MissingPoolError struct {
	Index int
	ID    int64
}

func (e *MissingPoolError) Error() string {
	return fmt.Sprintf("owners[%d]: Sell user %d is not marked as a pool", e.Index, e.ID)
}

// Pools returns the account's marked pools, by name.
func (s *Store) Pools(ctx context.Context, account string) ([]settings.Pool, error) {
	items, err := s.QueryPrefix(ctx, account, poolPrefix, 0, false)
	if err != nil {
		return nil, fmt.Errorf("list pools of %s: %w", account, err)
	}
	out := make([]settings.Pool, 0, len(items))
	for _, it := range items {
		var p settings.Pool
		if err := it.Decode(&p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out, nil
}

// Pool returns one marked pool, or ErrNotFound.
func (s *Store) Pool(ctx context.Context, account string, id int64) (settings.Pool, error) {
	var p settings.Pool
	if _, err := s.Get(ctx, poolKey(account, id), &p); err != nil {
		return settings.Pool{}, fmt.Errorf("load pool %d of %s: %w", id, account, err)
	}
	return p, nil
}

// MarkPool marks (or renames) a pool and reports whether it was new.
func (s *Store) MarkPool(ctx context.Context, account string, p settings.Pool) (created bool, err error) {
	key := poolKey(account, p.SellUserID)
	err = s.Create(ctx, key, p, time.Time{}) // no TTL: a mark lasts until unmarked
	if errors.Is(err, ErrExists) {
		if err := s.Put(ctx, key, p); err != nil {
			return false, fmt.Errorf("rename pool %d of %s: %w", p.SellUserID, account, err)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mark pool %d of %s: %w", p.SellUserID, account, err)
	}
	return true, nil
}

// UnmarkPool removes a pool mark, but only while the settings are still at
// settingsVersion: the caller checked at that version that no owner uses the pool,
// and a settings change since then may have made it an owner (ErrConflict: read
// again). A pool that is not marked is ErrNotFound.
func (s *Store) UnmarkPool(ctx context.Context, account string, id int64, settingsVersion int64) error {
	settingsCond, err := buildCondition(versionCondition(settingsVersion))
	if err != nil {
		return err
	}
	exists, err := buildCondition(Exists())
	if err != nil {
		return err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{ConditionCheck: &types.ConditionCheck{
			TableName: &s.table, Key: Key{Account: account, SK: skSettings}.av(),
			ConditionExpression:       settingsCond.Condition(),
			ExpressionAttributeNames:  settingsCond.Names(),
			ExpressionAttributeValues: settingsCond.Values(),
		}},
		{Delete: &types.Delete{
			TableName: &s.table, Key: poolKey(account, id).av(),
			ConditionExpression:      exists.Condition(),
			ExpressionAttributeNames: exists.Names(),
		}},
	}})
	if failed := cancelled(err); failed != nil {
		if failed[0] {
			return ErrConflict
		}
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("unmark pool %d of %s: %w", id, account, err)
	}
	return nil
}

// maxPoolChecks keeps a settings write with its pool checks within one DynamoDB
// transaction (100 items, one of them the settings).
const maxPoolChecks = 99

// SaveSettingsCheckingPools is SaveSettings that also requires every owner of type
// pool to be a marked pool at the moment of writing, in one transaction, so a pool
// unmarked meanwhile cannot end up among the owners. A missing pool is a
// *MissingPoolError; a stale version ErrConflict.
func (s *Store) SaveSettingsCheckingPools(ctx context.Context, account string, st settings.Settings, expected int64) (int64, error) {
	type check struct {
		index int
		id    int64
	}
	var checks []check
	for i, o := range st.Owners {
		if o.Type == settings.OwnerPool {
			checks = append(checks, check{i, o.ID})
		}
	}
	if len(checks) == 0 {
		return s.SaveSettings(ctx, account, st, expected)
	}
	if len(checks) > maxPoolChecks {
		return 0, fmt.Errorf("save settings of %s: %d pool owners exceed one transaction", account, len(checks))
	}
	put, next, err := s.versionedPut(Key{Account: account, SK: skSettings}, st, expected)
	if err != nil {
		return 0, err
	}
	exists, err := buildCondition(Exists())
	if err != nil {
		return 0, err
	}
	items := []types.TransactWriteItem{put}
	for _, c := range checks {
		items = append(items, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: &s.table, Key: poolKey(account, c.id).av(),
			ConditionExpression:      exists.Condition(),
			ExpressionAttributeNames: exists.Names(),
		}})
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	failed := cancelled(err)
	if failed == nil {
		if err != nil {
			return 0, fmt.Errorf("save settings of %s: %w", account, err)
		}
		return next, nil
	}
	for i, c := range checks {
		if i+1 < len(failed) && failed[i+1] {
			return 0, &MissingPoolError{Index: c.index, ID: c.id}
		}
	}
	if failed[0] {
		return 0, ErrConflict
	}
	return 0, fmt.Errorf("save settings of %s: %w", account, err)
}

// cancelled returns, for a transaction cancelled by its conditions, which of its
// items failed their condition (by position); nil for any other outcome.
func cancelled(err error) []bool {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil
	}
	out := make([]bool, len(tce.CancellationReasons))
	some := false
	for i, r := range tce.CancellationReasons {
		if aws.ToString(r.Code) == "ConditionalCheckFailed" {
			out[i], some = true, true
		}
	}
	if !some {
		return nil
	}
	return out
}

// transactionConflict reports whether a transaction failed because another one was
// writing the same item at that moment: like a version conflict, worth a retry.
func transactionConflict(err error) bool {
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "TransactionConflict" {
				return true
			}
		}
	}
	var tc *types.TransactionConflictException
	return errors.As(err, &tc)
}
