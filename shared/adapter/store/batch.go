package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/domain/widgets"
)

// Wanted is one item of a batch read: Out is filled and Found set when it exists.
type Wanted struct {
	Key     Key
	Out     any
	Found   bool
	Version int64
}

// MaxBatch is DynamoDB's limit of keys per BatchGetItem: GetBatch reads no more.
const MaxBatch = 100

// GetBatch reads several items in one round trip (consistently), for requests whose
// latency budget has no room for one read after another.
func (s *Store) GetBatch(ctx context.Context, wants []*Wanted) error {
	if len(wants) == 0 {
		return nil
	}
	if len(wants) > MaxBatch {
		return fmt.Errorf("batch read of %d items: at most %d", len(wants), MaxBatch)
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

// Config is an account's configuration as one read gives it, with the defaults that
// Settings, Integration and Widget apply to items never written.
type Config struct {
	Settings    settings.Settings
	Integration settings.Integration
	// Widgets holds the display of each widget the read asked for.
	Widgets map[widgets.Name]widgets.State
}

// ReadConfig reads the account's settings, its integration state, the displays of the
// widgets ws and the items also asks for (a request's Sell tokens) in one round trip:
// the agent panel's latency budget has room for a single read of the table.
func (s *Store) ReadConfig(ctx context.Context, account string, ws []widgets.Name, also ...*Wanted) (Config, error) {
	var (
		cfg = Config{Widgets: make(map[widgets.Name]widgets.State, len(ws))}
		st  settings.Settings
	)
	wSettings := &Wanted{Key: Key{Account: account, SK: skSettings}, Out: &st}
	wIntegration := &Wanted{Key: Key{Account: account, SK: skIntegration}, Out: &cfg.Integration}
	states := make([]widgets.State, len(ws))
	wants := append(make([]*Wanted, 0, 2+len(ws)+len(also)), wSettings, wIntegration)
	for i, w := range ws {
		wants = append(wants, &Wanted{Key: widgetKey(account, w), Out: &states[i]})
	}
	wants = append(wants, also...)
	if err := s.GetBatch(ctx, wants); err != nil {
		return Config{}, fmt.Errorf("read configuration of %s: %w", account, err)
	}
	cfg.Settings = defaultedSettings(st, wSettings.Found)
	for i, w := range ws {
		cfg.Widgets[w] = defaultedWidget(states[i], wants[2+i].Found, w)
	}
	return cfg, nil
}

// defaultedSettings is what Settings returns for an item read or found missing.
func defaultedSettings(st settings.Settings, found bool) settings.Settings {
	if !found {
		return settings.Defaults()
	}
	if st.Owners == nil {
		st.Owners = []settings.Owner{}
	}
	return st
}

// defaultedWidget is what Widget returns for an item read or found missing.
func defaultedWidget(st widgets.State, found bool, w widgets.Name) widgets.State {
	if !found {
		return widgets.NewState(w)
	}
	return normalised(st, w)
}
