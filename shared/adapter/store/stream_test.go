package store_test

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/domain/settings"
)

func historyImage(on bool) map[string]events.DynamoDBAttributeValue {
	return map[string]events.DynamoDBAttributeValue{
		"elements": events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{
			string(settings.ChatHistoryInSell): events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{
				"enabled": events.NewBooleanAttribute(on),
			}),
		}),
		"installed":     events.NewBooleanAttribute(true),
		"webhookSecret": events.NewBinaryAttribute([]byte{1, 2}),
		"version":       events.NewNumberAttribute("3"),
	}
}

func record(event, pk, sk string, old, new map[string]events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{EventName: event, Change: events.DynamoDBStreamRecord{
		Keys:     map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute(pk), "sk": events.NewStringAttribute(sk)},
		OldImage: old, NewImage: new,
	}}
}

func TestDecodeStreamRecord(t *testing.T) {
	t.Parallel()
	t.Run("a new chat names its account and id", func(t *testing.T) {
		c := store.DecodeStreamRecord(record("INSERT", "ACCOUNT#acme", "CHAT#c-1", nil, nil))
		if c.Account != "acme" || c.Kind != store.ChangeChat || c.ChatID != "c-1" || !c.Inserted || c.Removed {
			t.Fatalf("got %+v", c)
		}
	})
	t.Run("an integration change carries both images decoded", func(t *testing.T) {
		c := store.DecodeStreamRecord(record("MODIFY", "ACCOUNT#acme", "INTEGRATION", historyImage(false), historyImage(true)))
		if c.Kind != store.ChangeIntegration || c.Inserted || c.Removed {
			t.Fatalf("got %+v", c)
		}
		if c.OldIntegration.Enabled(settings.ChatHistoryInSell) || !c.NewIntegration.Enabled(settings.ChatHistoryInSell) || !c.NewIntegration.Installed {
			t.Fatalf("old %+v new %+v: want history off then on", c.OldIntegration, c.NewIntegration)
		}
	})
	t.Run("a removal is marked and keeps its old image", func(t *testing.T) {
		c := store.DecodeStreamRecord(record("REMOVE", "ACCOUNT#acme", "INTEGRATION", historyImage(true), nil))
		if !c.Removed || !c.OldIntegration.Enabled(settings.ChatHistoryInSell) || c.NewIntegration.Enabled(settings.ChatHistoryInSell) {
			t.Fatalf("got %+v", c)
		}
	})
	t.Run("an image that does not decode reads as the zero value", func(t *testing.T) {
		bad := map[string]events.DynamoDBAttributeValue{"elements": events.NewStringAttribute("nonsense")}
		c := store.DecodeStreamRecord(record("MODIFY", "ACCOUNT#acme", "INTEGRATION", bad, historyImage(true)))
		if c.OldIntegration.Enabled(settings.ChatHistoryInSell) || !c.NewIntegration.Enabled(settings.ChatHistoryInSell) {
			t.Fatalf("got %+v", c)
		}
	})
	t.Run("an erasure job names its id and the state it became", func(t *testing.T) {
		img := func(state string) map[string]events.DynamoDBAttributeValue {
			return map[string]events.DynamoDBAttributeValue{"state": events.NewStringAttribute(state), "chatsDeleted": events.NewNumberAttribute("2")}
		}
		c := store.DecodeStreamRecord(record("INSERT", "ACCOUNT#acme", "ERASURE#job-1", nil, img("pending")))
		if c.Kind != store.ChangeErasure || c.ErasureID != "job-1" || c.ErasureState != "pending" || c.Account != "acme" {
			t.Fatalf("got %+v", c)
		}
		c = store.DecodeStreamRecord(record("MODIFY", "ACCOUNT#acme", "ERASURE#job-1", img("pending"), img("running")))
		if c.ErasureState != "running" {
			t.Fatalf("got %+v, want the new image's state", c)
		}
		c = store.DecodeStreamRecord(record("REMOVE", "ACCOUNT#acme", "ERASURE#job-1", img("done"), nil))
		if c.ErasureState != "" || !c.Removed {
			t.Fatalf("got %+v, want no state for a removal", c)
		}
		if k := store.ErasureKey("acme", "job-1"); k.SK != "ERASURE#job-1" || k.Account != "acme" {
			t.Fatalf("ErasureKey = %+v", k)
		}
	})
	t.Run("other items and foreign keys are no account's chat or integration", func(t *testing.T) {
		for _, rec := range []events.DynamoDBEventRecord{
			record("INSERT", "ACCOUNT#acme", "HISTORYJOB", nil, nil), // SETTINGS is a kind now: expiry_test.go
			record("INSERT", "ACCOUNT#acme", "ERASED#0a1b", nil, nil),
			record("INSERT", "OTHER#acme", "CHAT#c-1", nil, nil),
			{EventName: "INSERT", Change: events.DynamoDBStreamRecord{Keys: map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("ACCOUNT#acme")}}},
		} {
			if c := store.DecodeStreamRecord(rec); c.Kind != store.ChangeOther || c.ChatID != "" {
				t.Fatalf("%+v decoded as %+v", rec.Change.Keys, c)
			}
		}
	})
}
