package streams_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sellchat/sellchat/infra/streams"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// ttlIdentity is who DynamoDB's TTL deletions are made by, in the stream.
var ttlIdentity = &events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "dynamodb.amazonaws.com"}

// change is a stream record of account acme's item sk, as the table's stream has it
// (new and old images).
func change(eventName, sk string, newImage map[string]events.DynamoDBAttributeValue, who *events.DynamoDBUserIdentity) events.DynamoDBEventRecord {
	keys := map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("ACCOUNT#acme"), "sk": events.NewStringAttribute(sk)}
	old := map[string]events.DynamoDBAttributeValue{"pk": keys["pk"], "sk": keys["sk"], "ttl": events.NewNumberAttribute("1767225600")}
	rec := events.DynamoDBEventRecord{EventName: eventName, EventSource: "aws:dynamodb", EventID: "1", EventVersion: "1.1", AWSRegion: "eu-west-1",
		UserIdentity: who,
		Change:       events.DynamoDBStreamRecord{Keys: keys, SequenceNumber: "100", SizeBytes: 64, StreamViewType: "NEW_AND_OLD_IMAGES"}}
	switch eventName {
	case "INSERT":
		rec.Change.NewImage = withKeys(keys, newImage)
	case "MODIFY":
		rec.Change.NewImage, rec.Change.OldImage = withKeys(keys, newImage), old
	case "REMOVE":
		rec.Change.OldImage = old
	}
	return rec
}

func withKeys(keys, attrs map[string]events.DynamoDBAttributeValue) map[string]events.DynamoDBAttributeValue {
	out := map[string]events.DynamoDBAttributeValue{}
	for k, v := range keys {
		out[k] = v
	}
	for k, v := range attrs {
		out[k] = v
	}
	return out
}

func state(s string) map[string]events.DynamoDBAttributeValue {
	return map[string]events.DynamoDBAttributeValue{"state": events.NewStringAttribute(s)}
}

// Each record is matched against each of template.yaml's five patterns on its own:
// the one it is meant for matches it and no other does; records the handler does
// nothing with match none, so Lambda never invokes the function for them.
func TestTheTemplatesFiltersPassWhatTheHandlerActsOnAndNothingElse(t *testing.T) {
	t.Parallel()
	filters := apptest.TranscriptsStreamFilters(t)
	const (
		none = iota - 1
		newChat
		integration
		pendingErasure
		settings
		expiredEntry
	)
	if len(filters) != expiredEntry+1 {
		t.Fatalf("the template has %d patterns; this test knows %d", len(filters), expiredEntry+1)
	}
	someone := &events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "someone.amazonaws.com"}
	for _, c := range []struct {
		name string
		rec  events.DynamoDBEventRecord
		want int
	}{
		{"a new chat", change("INSERT", "CHAT#c1", nil, nil), newChat},
		{"a chat's processing state written", change("MODIFY", "CHAT#c1", state("processed"), nil), none},
		{"a chat removed", change("REMOVE", "CHAT#c1", nil, nil), none},
		{"a chat queued in the backlog", change("INSERT", "QUEUE#c1", nil, nil), none},
		{"a feed entry written", change("INSERT", "FEED#lead#2001#c1", nil, nil), none},
		{"a feed entry the TTL deleted", change("REMOVE", "FEED#lead#2001#c1", nil, ttlIdentity), expiredEntry},
		{"a feed entry a user's erasure deleted", change("REMOVE", "FEED#lead#2001#c1", nil, nil), none},
		{"a feed entry another service deleted", change("REMOVE", "FEED#lead#2001#c1", nil, someone), none},
		{"the integration created", change("INSERT", "INTEGRATION", nil, nil), integration},
		{"the integration changed", change("MODIFY", "INTEGRATION", nil, nil), integration},
		{"an item whose key only starts like the integration's", change("MODIFY", "INTEGRATION#old", nil, nil), none},
		{"the settings changed", change("MODIFY", "SETTINGS", nil, nil), settings},
		{"an erasure asked for", change("INSERT", "ERASURE#e1", state("pending"), nil), pendingErasure},
		{"a failed erasure asked for again", change("MODIFY", "ERASURE#e1", state("pending"), nil), pendingErasure},
		{"an erasure's progress written", change("MODIFY", "ERASURE#e1", state("running"), nil), none},
		{"an erasure done", change("MODIFY", "ERASURE#e1", state("done"), nil), none},
		{"an erasure removed", change("REMOVE", "ERASURE#e1", nil, nil), none},
		{"an erasure's lock taken", change("INSERT", "ERASING#e1", state("pending"), nil), none},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for i, f := range filters {
				got, err := f.Match(c.rec)
				if err != nil {
					t.Fatal(err)
				}
				if got != (i == c.want) {
					t.Errorf("pattern %d %s: match = %v", i+1, f, got)
				}
			}
			passed, err := filters.Match(c.rec)
			if err != nil || passed != (c.want != none) {
				t.Errorf("the five together: passed = %v (%v)", passed, err)
			}
		})
	}
}

func TestAFilterMatchesAsLambdasRuleSyntaxSays(t *testing.T) {
	t.Parallel()
	rec := change("MODIFY", "CHAT#c1", map[string]events.DynamoDBAttributeValue{
		"tries": events.NewNumberAttribute("3"),
		"tags":  events.NewStringSetAttribute([]string{"vip", "pricing"}),
	}, nil)
	for _, c := range []struct {
		pattern string
		want    bool
	}{
		{`{"eventName":["INSERT","MODIFY"]}`, true},                     // any value of the array
		{`{"eventName":["modify"]}`, false},                             // exact, no case folding
		{`{"eventName":[{"prefix":"MOD"}]}`, true},                      //
		{`{"eventName":["MODIFY"],"eventSource":["aws:s3"]}`, false},    // every field must match
		{`{"userIdentity":{"type":["Service"]}}`, false},                // a field the record lacks
		{`{"dynamodb":{"NewImage":{"tries":{"N":["3"]}}}}`, true},       // DynamoDB's numbers are strings
		{`{"dynamodb":{"NewImage":{"tries":{"N":[3]}}}}`, false},        // and not JSON numbers
		{`{"dynamodb":{"SizeBytes":[64]}}`, true},                       // a JSON number, by its text
		{`{"dynamodb":{"SizeBytes":[64.0]}}`, false},                    // "300, 300.0 and 3.0e2 are not equal"
		{`{"dynamodb":{"SizeBytes":["64"]}}`, false},                    // a string is not a number
		{`{"dynamodb":{"NewImage":{"tags":{"SS":["pricing"]}}}}`, true}, // an array matches when one element does
		{`{"dynamodb":{"NewImage":{"tags":["pricing"]}}}`, false},       // a leaf's values do not match an object
		{`{"dynamodb":{"Keys":{"sk":[{"prefix":"CHAT#"}]}}}`, false},    //
	} {
		f, err := streams.ParseFilter(c.pattern)
		if err != nil {
			t.Fatalf("%s: %v", c.pattern, err)
		}
		if got, err := f.Match(rec); err != nil || got != c.want {
			t.Errorf("%s: match = %v (%v), want %v", c.pattern, got, err, c.want)
		}
	}
}

// An operator the local matcher does not implement is refused when the patterns are
// read, not matched loosely: the local stack would otherwise pass or drop what
// Lambda does not.
func TestAPatternTheMatcherCannotHonourIsRefusedWhenRead(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ pattern, want string }{
		{`{"eventName":[{"anything-but":["REMOVE"]}]}`, `unsupported operator "anything-but"`},
		{`{"dynamodb":{"SizeBytes":[{"numeric":[">",10]}]}}`, `unsupported operator "numeric"`},
		{`{"dynamodb":{"NewImage":{"state":{"S":[{"exists":"true"}]}}}}`, `unsupported operator "exists" with "true"`},
		{`{"dynamodb":{"NewImage":{"state":{"S":[{"exists":1}]}}}}`, `unsupported operator "exists" with 1`},
		{`{"dynamodb":{"NewImage":{"state":{"S":[{"exists":null}]}}}}`, `unsupported operator "exists" with null`},
		{`{"dynamodb":{"NewImage":{"state":{"S":[{"exists":[false]}]}}}}`, `unsupported operator "exists" with [false]`},
		{`{"dynamodb":{"NewImage":{"state":{"S":[{"exists":false,"prefix":"p"}]}}}}`, `unsupported operator "exists", "prefix"`},
		{`{"eventName":[{"prefix":"IN","suffix":"RT"}]}`, `unsupported operator "prefix", "suffix"`},
		{`{"eventName":[{"prefix":7}]}`, `unsupported operator "prefix"`},
		{`{"eventName":"INSERT"}`, "a leaf must be an array"},
		{`{"eventName":[]}`, "empty array"},
		{`{"eventName":[["INSERT"]]}`, "unsupported value"},
		{`["INSERT"]`, "not a JSON object"},
		{`{"eventName":["INSERT"]`, "unexpected EOF"},
	} {
		_, err := streams.ParseFilters([]string{`{"eventName":["INSERT"]}`, c.pattern})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "filter 2") {
			t.Errorf("%s: err %v, want one naming filter 2 and saying %q", c.pattern, err, c.want)
		}
	}
}

// Exists as EventBridge has it: about leaves only. exists:true matches a field
// holding a leaf; exists:false matches where there is no leaf at the path, the
// field or an object on the way to it missing, or the value being no leaf.
func TestExistsMatchesWhetherTheRecordHasALeafAtThePath(t *testing.T) {
	t.Parallel()
	const (
		notQueued = `{"dynamodb":{"NewImage":{"queued":{"BOOL":[{"exists":false}]}}}}`
		queued    = `{"dynamodb":{"NewImage":{"queued":{"BOOL":[{"exists":true}]}}}}`
	)
	attrs := func(kv ...any) map[string]events.DynamoDBAttributeValue {
		m := map[string]events.DynamoDBAttributeValue{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(events.DynamoDBAttributeValue)
		}
		return m
	}
	for _, c := range []struct {
		name    string
		pattern string
		rec     events.DynamoDBEventRecord
		want    bool
	}{
		{"exists false matches a record without the attribute", notQueued,
			change("INSERT", "CHAT#x", nil, nil), true},
		{"exists false matches when the attribute has no value of the type named", notQueued,
			change("INSERT", "CHAT#x", attrs("queued", events.NewStringAttribute("yes")), nil), true},
		{"exists false matches when the intermediate map is missing", notQueued,
			change("REMOVE", "CHAT#x", nil, nil), true}, // a REMOVE has no NewImage
		{"exists false does not match when the attribute is true", notQueued,
			change("INSERT", "CHAT#x", attrs("queued", events.NewBooleanAttribute(true)), nil), false},
		{"exists false does not match when the attribute is false", notQueued,
			change("INSERT", "CHAT#x", attrs("queued", events.NewBooleanAttribute(false)), nil), false},
		{"exists true matches when the attribute is present", queued,
			change("INSERT", "CHAT#x", attrs("queued", events.NewBooleanAttribute(true)), nil), true},
		{"exists true matches a present false", queued,
			change("INSERT", "CHAT#x", attrs("queued", events.NewBooleanAttribute(false)), nil), true},
		{"exists true does not match when the attribute is absent", queued,
			change("INSERT", "CHAT#x", nil, nil), false},
		{"exists true does not match when the intermediate map is missing", queued,
			change("REMOVE", "CHAT#x", nil, nil), false},
		{"exists true does not match when the value is an object",
			`{"dynamodb":{"NewImage":{"queued":[{"exists":true}]}}}`,
			change("INSERT", "CHAT#x", attrs("queued", events.NewBooleanAttribute(true)), nil), false},
		{"exists false matches when the value is an object, which is no leaf",
			`{"dynamodb":{"NewImage":{"queued":[{"exists":false}]}}}`,
			change("INSERT", "CHAT#x", attrs("queued", events.NewBooleanAttribute(true)), nil), true},
		{"exists false matches below a leaf, which has nothing below it",
			`{"eventName":{"S":[{"exists":false}]}}`,
			change("INSERT", "CHAT#x", nil, nil), true},
		{"exists true matches an array holding leaves",
			`{"dynamodb":{"NewImage":{"tags":{"SS":[{"exists":true}]}}}}`,
			change("INSERT", "CHAT#x", attrs("tags", events.NewStringSetAttribute([]string{"vip"})), nil), true},
		{"exists false does not match an array holding leaves",
			`{"dynamodb":{"NewImage":{"tags":{"SS":[{"exists":false}]}}}}`,
			change("INSERT", "CHAT#x", attrs("tags", events.NewStringSetAttribute([]string{"vip"})), nil), false},
		{"exists false matches an empty array, which holds no leaf",
			`{"dynamodb":{"NewImage":{"items":{"L":[{"exists":false}]}}}}`,
			change("INSERT", "CHAT#x", attrs("items", events.NewListAttribute([]events.DynamoDBAttributeValue{})), nil), true},
		{"exists true does not match an empty array",
			`{"dynamodb":{"NewImage":{"items":{"L":[{"exists":true}]}}}}`,
			change("INSERT", "CHAT#x", attrs("items", events.NewListAttribute([]events.DynamoDBAttributeValue{})), nil), false},
		{"exists false alongside a value matches the value",
			`{"dynamodb":{"NewImage":{"state":{"S":[{"prefix":"pend"},{"exists":false}]}}}}`,
			change("MODIFY", "ERASURE#e1", state("pending"), nil), true},
		{"exists false alongside a value matches the absence",
			`{"dynamodb":{"NewImage":{"state":{"S":[{"prefix":"pend"},{"exists":false}]}}}}`,
			change("MODIFY", "ERASURE#e1", nil, nil), true},
		{"exists false alongside a value does not match another value",
			`{"dynamodb":{"NewImage":{"state":{"S":[{"prefix":"pend"},{"exists":false}]}}}}`,
			change("MODIFY", "ERASURE#e1", state("done"), nil), false},
		{"a missing field still fails a rule that does not ask for its absence",
			`{"dynamodb":{"NewImage":{"queued":{"BOOL":[{"exists":false}]},"state":{"S":["done"]}}}}`,
			change("REMOVE", "CHAT#x", nil, nil), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f, err := streams.ParseFilter(c.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := f.Match(c.rec); err != nil || got != c.want {
				t.Errorf("%s: match = %v (%v), want %v", c.pattern, got, err, c.want)
			}
		})
	}
}

// The pattern for chats not yet queued: inserted chats, by their key, that have no
// queued flag.
func TestANewChatPatternWithExistsFalsePassesOnlyUnqueuedChats(t *testing.T) {
	t.Parallel()
	filters, err := streams.ParseFilters([]string{
		`{"eventName":["INSERT"],"dynamodb":{"Keys":{"sk":{"S":[{"prefix":"CHAT#"}]}},"NewImage":{"queued":{"BOOL":[{"exists":false}]}}}}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	queued := func(b bool) map[string]events.DynamoDBAttributeValue {
		return map[string]events.DynamoDBAttributeValue{"queued": events.NewBooleanAttribute(b)}
	}
	for _, c := range []struct {
		name string
		rec  events.DynamoDBEventRecord
		want bool
	}{
		{"a chat inserted without queued passes", change("INSERT", "CHAT#x", nil, nil), true},
		{"a chat inserted with other attributes but not queued passes", change("INSERT", "CHAT#x", state("new"), nil), true},
		{"a chat inserted queued is dropped", change("INSERT", "CHAT#x", queued(true), nil), false},
		{"a chat inserted with queued false is dropped too", change("INSERT", "CHAT#x", queued(false), nil), false},
		{"a chat modified without queued is dropped", change("MODIFY", "CHAT#x", nil, nil), false},
		{"a chat removed is dropped", change("REMOVE", "CHAT#x", nil, nil), false},
		{"another item inserted without queued is dropped", change("INSERT", "QUEUE#x", nil, nil), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := filters.Match(c.rec)
			if err != nil || got != c.want {
				t.Errorf("passed = %v (%v), want %v", got, err, c.want)
			}
		})
	}
}

func TestNoFiltersPassEveryRecord(t *testing.T) {
	t.Parallel()
	var none streams.Filters
	recs := []events.DynamoDBEventRecord{change("INSERT", "QUEUE#c1", nil, nil), change("REMOVE", "FEED#x", nil, nil)}
	kept, err := none.Keep(recs)
	if err != nil || len(kept) != 2 {
		t.Fatalf("kept %d of 2 (%v)", len(kept), err)
	}
}

// Records no filter matches never reach the handler, and the poller reads on past
// them: nothing is handed twice, and what is written after them still arrives.
func TestThePollerDropsWhatNoFilterMatchesAndReadsOnPastIt(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	got := make(chan events.DynamoDBEventRecord, 100)
	p := &streams.Poller{DB: s.Client(), Table: s.Table(), Idle: 20 * time.Millisecond, Handler: forward(got),
		Filters: []string{`{"eventName":["INSERT"],"dynamodb":{"Keys":{"sk":{"S":[{"prefix":"KEEP#"}]}}}}`}}
	stop := run(t, p)
	defer stop()
	writes := 0
	put := func(sks ...string) {
		t.Helper()
		for _, sk := range sks {
			writes++ // each write changes the item: DynamoDB streams no MODIFY for a put that changes nothing
			if err := s.Put(context.Background(), store.Key{Account: "acme", SK: sk}, map[string]int{"write": writes}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var handed []string
	waitFor := func(sk string) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case r := <-got:
				handed = append(handed, r.EventName+" "+r.Change.Keys["sk"].String())
				if r.Change.Keys["sk"].String() == sk {
					return
				}
			case <-timeout:
				t.Fatalf("%s never reached the handler; it was handed %q", sk, handed)
			}
		}
	}
	put("DROP#1", "KEEP#1", "DROP#2", "KEEP#2", "DROP#3")
	put("KEEP#1") // a MODIFY: dropped too
	waitFor("KEEP#2")
	put("DROP#4", "KEEP#3")
	waitFor("KEEP#3")
	if want := []string{"INSERT KEEP#1", "INSERT KEEP#2", "INSERT KEEP#3"}; strings.Join(handed, ",") != strings.Join(want, ",") {
		t.Fatalf("handed %q, want %q", handed, want)
	}
}

// A pattern that cannot be honoured stops the poller before it reads anything.
func TestThePollerRefusesToStartWithAPatternItCannotHonour(t *testing.T) {
	t.Parallel()
	p := &streams.Poller{Filters: []string{`{"dynamodb":{"SizeBytes":[{"numeric":[">",10]}]}}`}} // no table: it must fail first
	err := p.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "stream filters") {
		t.Fatalf("Run: %v; want the filters refused", err)
	}
}
