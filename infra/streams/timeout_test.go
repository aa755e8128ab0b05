package streams_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sellchat/sellchat/infra/streams"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
)

// TestAnInvocationThatOutlivesItsTimeoutFailsAndIsRetriedLikeLambda: a handler hung
// on something that ignores its context does not hold the poller; as Lambda does
// when a function times out, the batch counts as failed, is sent again, and is
// given up on once the retries are spent.
func TestAnInvocationThatOutlivesItsTimeoutFailsAndIsRetriedLikeLambda(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	release := make(chan struct{})
	defer close(release)
	var calls atomic.Int32
	deadlines := make(chan bool, 10)
	dead := make(chan []events.DynamoDBEventRecord, 1)
	p := &streams.Poller{DB: s.Client(), Table: s.Table(), Idle: 20 * time.Millisecond, Retries: 1, Timeout: 300 * time.Millisecond,
		Handler: func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			calls.Add(1)
			_, ok := ctx.Deadline()
			deadlines <- ok
			<-release // hung, whatever its context says
			return events.DynamoDBEventResponse{}, nil
		},
		OnDead: func(recs []events.DynamoDBEventRecord) { dead <- recs }}
	stop := run(t, p)
	if err := s.Put(context.Background(), store.Key{Account: "acme", SK: "X#1"}, map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	select {
	case recs := <-dead:
		if len(recs) != 1 || recs[0].Change.Keys["sk"].String() != "X#1" {
			t.Fatalf("given up on %+v", recs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the hung invocation held the poller: the record was neither retried nor given up on")
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d invocations, want the first and one retry", n)
	}
	for range 2 {
		if !<-deadlines {
			t.Fatal("the handler ran without its invocation's deadline")
		}
	}
	stop()
}

// TestThePollerGoesOnWhenItsIteratorIsTrimmed: DynamoDB Local answers an iterator
// taken on a still-empty shard with TrimmedDataAccessException once another table
// is created (as tests and the local stack do all the time). The poller takes a new
// iterator, so what is written next still reaches the handler.
func TestThePollerGoesOnWhenItsIteratorIsTrimmed(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	opened := make(chan struct{}, 1)
	got := make(chan events.DynamoDBEventRecord, 10)
	p := &streams.Poller{DB: s.Client(), Table: s.Table(), Idle: 20 * time.Millisecond,
		Logger:  slog.New(&signalOn{msg: "stream: shard opened", ch: opened}),
		Handler: forward(got)}
	stop := run(t, p)
	select {
	case <-opened:
	case <-time.After(30 * time.Second):
		t.Fatal("the poller opened no shard")
	}
	storetest.New(t) // another table: the poller's iterator on the empty shard is now trimmed
	if err := s.Put(context.Background(), store.Key{Account: "acme", SK: "X#1"}, map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r.Change.Keys["sk"].String() != "X#1" {
			t.Fatalf("record %+v", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the item written after the iterator was trimmed never reached the handler")
	}
	stop()
}

// signalOn is a log handler that signals once a record with msg is logged.
type signalOn struct {
	msg string
	ch  chan struct{}
}

func (h *signalOn) Enabled(context.Context, slog.Level) bool { return true }
func (h *signalOn) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		select {
		case h.ch <- struct{}{}:
		default:
		}
	}
	return nil
}
func (h *signalOn) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *signalOn) WithGroup(string) slog.Handler      { return h }
