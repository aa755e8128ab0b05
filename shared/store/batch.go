package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sellchat/sellchat/shared/settings"
	"github.com/sellchat/sellchat/shared/widgets"
)

// Wanted is one item of a batch read: Out is filled and Found set when it exists.
type Wanted struct {
	Key     Key
	Out     any
	Found   bool
	Version int64
}

// maxBatch is DynamoDB's limit of keys per BatchGetItem.
const maxBatch = 100

// GetBatch reads several items in one round trip (consistently), for requests whose
// latency budget has no room for one read after another.
func (s *Store) GetBatch(ctx context.Context, wants []*Wanted) error {
	if len(wants) == 0 {
		return nil
	}
	if len(wants) > maxBatch {
		return fmt.Errorf("batch read of %d items: at most %d", len(wants), maxBatch)
	}
	byKey := map[string]*Wanted{}
	keys := make([]map[string]types.AttributeValue, 0, len(wants))
	for _, w := range wants {
		if _, dup := byKey[w.Key.String()]; dup {
			return fmt.Errorf("batch read: %s asked twice", w.Key)
		}
		byKey[w.Key.String()] = w
		keys = append(keys, w.Key.av())
	}
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt == 10 {
			return fmt.Errorf("batch read: DynamoDB left keys unprocessed after %d attempts", attempt)
		}
		res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return fmt.Errorf("batch read: %w", err)
		}
		for _, item := range res.Responses[s.table] {
			pk, _ := item[AttrPK].(*types.AttributeValueMemberS)
			sk, _ := item[AttrSK].(*types.AttributeValueMemberS)
			if pk == nil || sk == nil {
				continue
			}
			w := byKey[pk.Value+"/"+sk.Value]
			if w == nil || s.expired(item) {
				continue
			}
			if err := attributevalue.UnmarshalMapWithOptions(item, w.Out, decodeOpts); err != nil {
				return fmt.Errorf("decode %s: %w", w.Key, err)
			}
			w.Found, w.Version = true, versionOf(item)
		}
		req = res.UnprocessedKeys
	}
	return nil
}

// SettingsKey, IntegrationKey and WidgetKey address the account's configuration
// items, for batch reads; use Defaulted* to turn what was read into values.
func SettingsKey(account string) Key    { return Key{Account: account, SK: skSettings} }
func IntegrationKey(account string) Key { return Key{Account: account, SK: skIntegration} }

// WidgetKey addresses widget w's display of the account.
func WidgetKey(account string, w widgets.Name) Key { return widgetKey(account, w) }

// DefaultedSettings is what Settings returns for a batch-read item.
func DefaultedSettings(st settings.Settings, found bool) settings.Settings {
	if !found {
		return settings.Defaults()
	}
	if st.Owners == nil {
		st.Owners = []settings.Owner{}
	}
	return st
}

// DefaultedWidget is what Widget returns for a batch-read item.
func DefaultedWidget(st widgets.State, found bool, w widgets.Name) widgets.State {
	if !found {
		return widgets.NewState(w)
	}
	return normalised(st, w)
}
