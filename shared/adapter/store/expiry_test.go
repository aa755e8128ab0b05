package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/domain/settings"
)

func TestExpiryIsSetMovedAndRemovedButNeverBringsAnExpiredItemBack(t *testing.T) {
	s, ctx, key := acmeTest(t, "NOTE#live")
	later := time.Now().Add(48 * time.Hour).Truncate(time.Second).UTC()
	if err := s.Create(ctx, key, note{Text: "a"}, later); err != nil {
		t.Fatal(err)
	}
	var got note
	if at, err := s.GetWithExpiry(ctx, key, &got); err != nil || !at.Equal(later) || got.Text != "a" {
		t.Fatalf("read %+v expiring %v, %v; want a expiring %v", got, at, err, later)
	}
	sooner := later.Add(-24 * time.Hour)
	if err := s.SetExpiry(ctx, key, sooner); err != nil {
		t.Fatal(err)
	}
	if at, err := s.ExpiryOf(ctx, key); err != nil || !at.Equal(sooner) {
		t.Fatalf("expiry %v, %v; want %v", at, err, sooner)
	}
	if err := s.SetExpiry(ctx, key, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if at, err := s.GetWithExpiry(ctx, key, &got); err != nil || !at.IsZero() {
		t.Fatalf("expiry %v, %v; want none", at, err)
	}

	// An item past its time is hidden; its expiry can be read (so what belongs to
	// it can follow) but not moved.
	gone := store.Key{Account: "acme", SK: "NOTE#gone"}
	past := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
	if err := s.PutWithTTL(ctx, gone, note{Text: "old"}, past); err != nil {
		t.Fatal(err)
	}
	// (Unless DynamoDB Local's TTL sweep deleted it already, as DynamoDB may.)
	if at, err := s.ExpiryOf(ctx, gone); !errors.Is(err, store.ErrNotFound) && (err != nil || !at.Equal(past)) {
		t.Fatalf("expiry of the expired item %v, %v; want %v", at, err, past)
	}
	for _, at := range []time.Time{later, {}} {
		if err := s.SetExpiry(ctx, gone, at); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("moving an expired item's expiry to %v: %v, want ErrNotFound", at, err)
		}
	}
	if _, err := s.GetWithExpiry(ctx, gone, &got); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the expired item reads as %+v, %v", got, err)
	}
	// Nothing stored: nothing is created.
	missing := store.Key{Account: "acme", SK: "NOTE#missing"}
	if err := s.SetExpiry(ctx, missing, later); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("set expiry of nothing: %v", err)
	}
	if _, err := s.ExpiryOf(ctx, missing); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expiry of nothing: %v", err)
	}
}

func TestExpiryPagesWalkAPrefixPastExpiredItems(t *testing.T) {
	s, ctx, _ := acmeTest(t, "")
	later := time.Now().Add(time.Hour).Truncate(time.Second).UTC()
	past := time.Now().Add(-time.Hour)
	for i := range 7 {
		at := later
		if i >= 2 && i <= 4 { // a whole page of expired items in the middle
			at = past
		}
		if err := s.PutWithTTL(ctx, store.Key{Account: "acme", SK: fmt.Sprintf("ROW#%d", i)}, note{Text: "t", Count: i}, at); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, store.Key{Account: "acme", SK: "ROX"}, note{Text: "other prefix"}); err != nil {
		t.Fatal(err)
	}
	var seen []int
	after, pages := "", 0
	for {
		items, next, err := s.ExpiryPage(ctx, "acme", "ROW#", after, 2, "count")
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range items {
			var n note
			if err := it.Decode(&n); err != nil {
				t.Fatal(err)
			}
			if n.Text != "" || !it.Expiry().Equal(later) {
				t.Fatalf("%s: %+v expiring %v; want only count, expiring %v", it.SK, n, it.Expiry(), later)
			}
			seen = append(seen, n.Count)
		}
		if next == "" {
			break
		}
		after = next
	}
	// Four pages while the expired items are still there (one page of them comes
	// back empty, with a next); three once DynamoDB Local's TTL sweep deleted them,
	// as DynamoDB's may at any moment. Either way the walk goes past them.
	if fmt.Sprint(seen) != "[0 1 5 6]" || pages < 3 {
		t.Fatalf("read %v in %d pages; want [0 1 5 6] past the expired items", seen, pages)
	}
}

func TestTheStreamTellsRetentionChangesAndTheTTLsDeletionsOfEntries(t *testing.T) {
	t.Parallel()
	rec := func(event, sk string, old, new map[string]events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
		return events.DynamoDBEventRecord{EventName: event, Change: events.DynamoDBStreamRecord{
			Keys:     map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("ACCOUNT#acme"), "sk": events.NewStringAttribute(sk)},
			OldImage: old, NewImage: new,
		}}
	}
	retention := func(days string, notes bool) map[string]events.DynamoDBAttributeValue {
		return map[string]events.DynamoDBAttributeValue{"leadStatus": events.NewStringAttribute("New"),
			"retention": events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{
				"days": events.NewNumberAttribute(days), "deleteSellNotes": events.NewBooleanAttribute(notes)})}
	}
	c := store.DecodeStreamRecord(rec("MODIFY", "SETTINGS", retention("0", false), retention("30", true)))
	if c.Kind != store.ChangeSettings || c.Account != "acme" || c.OldSettings.Retention.Days != 0 ||
		c.NewSettings.Retention != (settings.Retention{Days: 30, DeleteSellNotes: true}) {
		t.Fatalf("settings change %+v", c)
	}
	// A settings item saved before retention existed reads as keep forever.
	if c := store.DecodeStreamRecord(rec("INSERT", "SETTINGS", nil, map[string]events.DynamoDBAttributeValue{"leadStatus": events.NewStringAttribute("New")})); c.Kind != store.ChangeSettings || !c.NewSettings.Retention.Forever() {
		t.Fatalf("old settings %+v", c)
	}

	entry := map[string]events.DynamoDBAttributeValue{"chatId": events.NewStringAttribute("c-1"), "noteId": events.NewNumberAttribute("77"),
		"resourceType": events.NewStringAttribute("lead"), "resourceId": events.NewNumberAttribute("2001"), "ttl": events.NewNumberAttribute("1700000000")}
	sk := "FEED#lead#2001#2026-11-20T13:00:00Z#c-1"
	ttl := &events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "dynamodb.amazonaws.com"}
	for _, tc := range []struct {
		name  string
		event string
		who   *events.DynamoDBUserIdentity
		byTTL bool
	}{
		{"the TTL's deletion", "REMOVE", ttl, true},
		{"sellchat's deletion", "REMOVE", nil, false},
		{"another service's deletion", "REMOVE", &events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "other.amazonaws.com"}, false},
		{"a change, not a deletion", "MODIFY", ttl, false},
	} {
		r := rec(tc.event, sk, entry, nil)
		r.UserIdentity = tc.who
		c := store.DecodeStreamRecord(r)
		var old struct {
			ChatID string `json:"chatId"`
			NoteID int64  `json:"noteId"`
		}
		if err := c.Old.Decode(&old); err != nil || c.Kind != store.ChangeEntry || c.ByTTL != tc.byTTL || c.Old.SK != sk ||
			old.ChatID != "c-1" || old.NoteID != 77 || !c.Old.Expiry().Equal(time.Unix(1700000000, 0)) {
			t.Errorf("%s: %+v, old %+v (%v)", tc.name, c, old, err)
		}
	}
}
