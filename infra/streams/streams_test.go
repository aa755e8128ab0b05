package streams_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sellchat/sellchat/infra/streams"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func records(n int) []events.DynamoDBEventRecord {
	out := make([]events.DynamoDBEventRecord, n)
	for i := range out {
		out[i].Change.SequenceNumber = strconv.Itoa(i)
	}
	return out
}

func TestDeliverRetriesFromTheFirstFailureLikeLambda(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]int{}
	// Record 3 fails twice, record 7 always.
	h := func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		var resp events.DynamoDBEventResponse
		for _, r := range ev.Records {
			id := r.Change.SequenceNumber
			seen[id]++
			if id == "7" || id == "3" && seen[id] <= 2 {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: id})
			}
		}
		return resp, nil
	}
	dead, err := streams.Deliver(context.Background(), h, records(10), 5, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Change.SequenceNumber != "7" {
		t.Fatalf("dead %v", dead)
	}
	if seen["0"] != 1 || seen["2"] != 1 || seen["3"] != 3 || seen["4"] != 3 || seen["5"] != 1 || seen["7"] != 3 || seen["9"] != 3 {
		t.Fatalf("deliveries %v", seen)
	}
}

func TestThePollerHandsNewItemsToTheHandler(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	got := make(chan events.DynamoDBEventRecord, 100)
	p := &streams.Poller{DB: s.Client(), Table: s.Table(), Idle: 20 * time.Millisecond,
		Handler: forward(got)}
	stop := run(t, p)
	type item struct {
		Text  string          `json:"text"`
		Flags map[string]bool `json:"flags"`
		List  []int           `json:"list"`
	}
	for i := 0; i < 3; i++ {
		if err := s.Put(context.Background(), store.Key{Account: "acme", SK: "X#" + strconv.Itoa(i)}, item{Text: "t", Flags: map[string]bool{"on": true}, List: []int{1, 2}}); err != nil {
			t.Fatal(err)
		}
	}
	timeout := time.After(30 * time.Second)
	for i := 0; i < 3; i++ {
		select {
		case r := <-got:
			if r.EventName != "INSERT" || r.Change.Keys["pk"].String() != "ACCOUNT#acme" || r.Change.NewImage["flags"].Map()["on"].Boolean() != true ||
				len(r.Change.NewImage["list"].List()) != 2 || r.Change.SequenceNumber == "" || r.EventSource != "aws:dynamodb" {
				t.Fatalf("record %+v", r)
			}
		case <-timeout:
			t.Fatalf("only %d of 3 records arrived", i)
		}
	}
	stop()
}

// forward is a handler that hands every record it is given to got.
func forward(got chan<- events.DynamoDBEventRecord) streams.Handler {
	return func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		for _, r := range ev.Records {
			got <- r
		}
		return events.DynamoDBEventResponse{}, nil
	}
}

// run starts p in the background; stop cancels it and fails the test if the
// poller ended with an error.
func run(t *testing.T, p *streams.Poller) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
