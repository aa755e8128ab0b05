package store

import (
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sellchat/sellchat/shared/domain/settings"
)

// ChangeKind says what kind of item a stream record changed.
type ChangeKind int

// The kinds of item a stream handler acts on; every other item is ChangeOther.
const (
	ChangeOther       ChangeKind = iota
	ChangeChat                   // a stored chat (CHAT#<chatId>)
	ChangeIntegration            // the account's integration state
	ChangeErasure                // an erasure job (ERASURE#<id>, privacystore)
	ChangeSettings               // the account's settings
	ChangeEntry                  // a feed entry (FEED#…, chatstore)
)

// erasurePrefix starts the sort key of an erasure job; the stream tells jobs by it.
const erasurePrefix = "ERASURE#"

// ErasureKey addresses erasure job id of the account.
func ErasureKey(account, id string) Key { return Key{Account: account, SK: erasurePrefix + id} }

// Change is one record of the table's stream, decoded: whose item, what kind, and for
// the integration state its images before and after.
type Change struct {
	// Account is empty when the record's keys are not an account's item.
	Account string
	Kind    ChangeKind
	// ChatID names the chat of a ChangeChat, and Queued tells one stored straight
	// into its account's backlog (CreateQueued): the drain processes it.
	ChatID string
	Queued bool
	// Inserted and Removed tell a new item and a deleted one from a modified one.
	Inserted, Removed bool
	// OldIntegration and NewIntegration are a ChangeIntegration's images (the zero
	// value for an absent image or one that does not decode).
	OldIntegration, NewIntegration settings.Integration
	// ErasureID names the job of a ChangeErasure, and ErasureState is the state its
	// new image holds ("" when removed): a job runs when it becomes pending.
	ErasureID, ErasureState string
	// OldSettings and NewSettings are a ChangeSettings's images (as the integration's).
	OldSettings, NewSettings settings.Settings
	// ByTTL tells a ChangeEntry removed by the table's TTL (DynamoDB deleting an
	// expired entry) from one sellchat removed (expiry.go).
	ByTTL bool
	// Old is a ChangeEntry's image before the change, to decode as the item's type.
	Old Item
}

// DecodeStreamRecord reads a record of the table's stream (new and old images) into a
// Change, so stream handlers need not know the table's keys or item shapes.
func DecodeStreamRecord(rec events.DynamoDBEventRecord) Change {
	c := Change{
		Inserted: rec.EventName == string(events.DynamoDBOperationTypeInsert),
		Removed:  rec.EventName == string(events.DynamoDBOperationTypeRemove),
	}
	pk, ok1 := rec.Change.Keys[AttrPK]
	sk, ok2 := rec.Change.Keys[AttrSK]
	if !ok1 || !ok2 || pk.DataType() != events.DataTypeString || sk.DataType() != events.DataTypeString {
		return c
	}
	c.Account = accountOf(pk.String())
	if c.Account == "" {
		return c
	}
	switch {
	case strings.HasPrefix(sk.String(), chatPrefix):
		c.Kind, c.ChatID = ChangeChat, strings.TrimPrefix(sk.String(), chatPrefix)
		if q, ok := rec.Change.NewImage[AttrQueued]; ok && q.DataType() == events.DataTypeBoolean {
			c.Queued = q.Boolean()
		}
	case sk.String() == skIntegration:
		c.Kind = ChangeIntegration
		c.OldIntegration = decodeImage[settings.Integration](rec.Change.OldImage)
		c.NewIntegration = decodeImage[settings.Integration](rec.Change.NewImage)
	case strings.HasPrefix(sk.String(), erasurePrefix):
		c.Kind, c.ErasureID = ChangeErasure, strings.TrimPrefix(sk.String(), erasurePrefix)
		c.ErasureState = decodeImage[struct {
			State string `json:"state"`
		}](rec.Change.NewImage).State
	case sk.String() == skSettings:
		c.Kind = ChangeSettings
		c.OldSettings = decodeImage[settings.Settings](rec.Change.OldImage)
		c.NewSettings = decodeImage[settings.Settings](rec.Change.NewImage)
	case strings.HasPrefix(sk.String(), feedPrefix):
		c.Kind, c.ByTTL = ChangeEntry, c.Removed && removedByTTL(rec)
		c.Old = Item{SK: sk.String(), attrs: fromStreamMap(rec.Change.OldImage)}
	}
	return c
}

// decodeImage decodes a stream image the way Get decodes an item. A stream handler
// cannot refuse a record, so an image that does not decode reads as the zero value.
func decodeImage[T any](img map[string]events.DynamoDBAttributeValue) T {
	var out T
	if len(img) == 0 {
		return out
	}
	if err := attributevalue.UnmarshalMapWithOptions(fromStreamMap(img), &out, decodeOpts); err != nil {
		var zero T
		return zero
	}
	return out
}

func fromStreamMap(m map[string]events.DynamoDBAttributeValue) map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		out[k] = fromStream(v)
	}
	return out
}

func fromStream(v events.DynamoDBAttributeValue) types.AttributeValue {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}
	case events.DataTypeList:
		l := make([]types.AttributeValue, len(v.List()))
		for i, e := range v.List() {
			l[i] = fromStream(e)
		}
		return &types.AttributeValueMemberL{Value: l}
	case events.DataTypeMap:
		return &types.AttributeValueMemberM{Value: fromStreamMap(v.Map())}
	default:
		return &types.AttributeValueMemberNULL{Value: true}
	}
}
