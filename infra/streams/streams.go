// Package streams reads a DynamoDB table's stream, as Lambda's event source mapping
// does in AWS, and hands the records to the same handler the transcripts Lambda
// runs, in the same events.DynamoDBEvent shape. The local stack (make run) polls
// DynamoDB Local's stream with it; tests use it to drive the handler from real
// stream records.
package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	st "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// Handler is a stream Lambda's handler with partial batch responses.
type Handler func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// Client returns a DynamoDB Streams client next to db (same endpoint, region and
// credentials) and bounded as db is: the same HTTP client (its per-attempt
// timeout), retryer and stack options (store's per-operation deadline), so a
// stalled engine fails a stream read within seconds instead of holding the poller.
func Client(db *dynamodb.Client) *dynamodbstreams.Client {
	o := db.Options()
	return dynamodbstreams.New(dynamodbstreams.Options{
		Region: o.Region, Credentials: o.Credentials, BaseEndpoint: o.BaseEndpoint, HTTPClient: o.HTTPClient,
		Retryer: o.Retryer, APIOptions: o.APIOptions,
	})
}

// Convert turns a stream record as DynamoDB Streams returns it into the record a
// Lambda receives.
func Convert(r st.Record, streamARN string) events.DynamoDBEventRecord {
	out := events.DynamoDBEventRecord{
		AWSRegion:      aws.ToString(r.AwsRegion),
		EventID:        aws.ToString(r.EventID),
		EventName:      string(r.EventName),
		EventSource:    "aws:dynamodb",
		EventVersion:   aws.ToString(r.EventVersion),
		EventSourceArn: streamARN,
	}
	// TTL's deletions are told by who made them (the retention's note deletion).
	if u := r.UserIdentity; u != nil {
		out.UserIdentity = &events.DynamoDBUserIdentity{Type: aws.ToString(u.Type), PrincipalID: aws.ToString(u.PrincipalId)}
	}
	if d := r.Dynamodb; d != nil {
		out.Change = events.DynamoDBStreamRecord{
			Keys:           convertMap(d.Keys),
			NewImage:       convertMap(d.NewImage),
			OldImage:       convertMap(d.OldImage),
			SequenceNumber: aws.ToString(d.SequenceNumber),
			SizeBytes:      aws.ToInt64(d.SizeBytes),
			StreamViewType: string(d.StreamViewType),
		}
		if d.ApproximateCreationDateTime != nil {
			out.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *d.ApproximateCreationDateTime}
		}
	}
	return out
}

func convertMap(m map[string]st.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = convert(v)
	}
	return out
}

func convert(v st.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *st.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *st.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *st.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *st.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *st.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *st.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *st.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *st.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = convert(e)
		}
		return events.NewListAttribute(l)
	case *st.AttributeValueMemberM:
		return events.NewMapAttribute(convertMap(v.Value))
	default:
		return events.NewNullAttribute()
	}
}

// Deliver hands records to h in batches, the way Lambda's event source mapping does
// with ReportBatchItemFailures: after a partial failure the batch is sent again from
// the first failed record, up to retries more times. It returns the records of the
// last failed attempts (what Lambda would send to the on-failure destination).
func Deliver(ctx context.Context, h Handler, records []events.DynamoDBEventRecord, batch, retries int) ([]events.DynamoDBEventRecord, error) {
	if batch <= 0 {
		batch = 100
	}
	var dead []events.DynamoDBEventRecord
	for start := 0; start < len(records); start += batch {
		b := records[start:min(start+batch, len(records))]
		for attempt := 0; ; attempt++ {
			resp, err := h(ctx, events.DynamoDBEvent{Records: b})
			if ctx.Err() != nil {
				return dead, ctx.Err()
			}
			from, failedSet := len(b), map[string]bool{}
			if err != nil {
				from = 0 // a failed invocation fails the whole batch
				for _, r := range b {
					failedSet[r.Change.SequenceNumber] = true
				}
			}
			for _, f := range resp.BatchItemFailures {
				failedSet[f.ItemIdentifier] = true
				for i, r := range b {
					if r.Change.SequenceNumber == f.ItemIdentifier && i < from {
						from = i
					}
				}
			}
			if from == len(b) {
				break
			}
			if attempt == retries {
				for _, r := range b[from:] {
					if failedSet[r.Change.SequenceNumber] {
						dead = append(dead, r)
					}
				}
				break
			}
			b = b[from:]
		}
	}
	return dead, nil
}

// Poller follows a table's stream and delivers its records to Handler.
type Poller struct {
	DB        *dynamodb.Client
	Table     string
	Handler   Handler
	BatchSize int // records per invocation (25 when zero, as in template.yaml)
	Retries   int // retries of a failing batch (2 when zero; negative: none)
	// Idle is the least time between two polls of the stream (250 ms when zero):
	// Lambda "polls shards in your DynamoDB stream for records at a base rate of 4
	// times per second" (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html,
	// "Polling and batching streams"). A poll whose records took longer to handle is
	// followed at once. Polling back to back instead, while a flood's records pass
	// the filters by, kept DynamoDB Local busy answering GetRecords (each costs more
	// the more records its engine has ever streamed) and slowed every other request.
	Idle time.Duration
	// Rediscover is how often the stream's shards are described again to find new
	// ones (10 s when zero); a shard that ends is followed by a description at once.
	Rediscover time.Duration
	// Timeout bounds one invocation of Handler, as the function's Timeout does in
	// Lambda (DefaultTimeout when zero): the handler's context ends then, and an
	// invocation still running is a failed one, its batch sent again.
	Timeout time.Duration
	// Filters are the event source mapping's FilterCriteria patterns (filter.go):
	// records that match none are dropped before batching, never reach Handler, and
	// count as processed, as in Lambda. None deliver every record. A pattern that
	// does not parse makes Run fail before it polls.
	Filters []string
	// FromLatest starts at the stream's tip; by default every record still in the
	// stream is read (processing is idempotent, and nothing stored while the
	// stack was down is missed).
	FromLatest bool
	Logger     *slog.Logger
	// OnDead is called with records given up on (the local dead-letter queue; the
	// handler has already marked their chats failed).
	OnDead func([]events.DynamoDBEventRecord)
}

// DefaultTimeout is the transcripts function's Timeout in template.yaml.
const DefaultTimeout = 300 * time.Second

// Run polls until ctx ends. A stalled table fails each read within the store's
// operation deadline; the poller logs it and tries again, as Lambda's event source
// mapping keeps polling.
func (p *Poller) Run(ctx context.Context) error {
	filters, err := ParseFilters(p.Filters)
	if err != nil {
		return fmt.Errorf("stream filters: %w", err)
	}
	if p.BatchSize <= 0 {
		p.BatchSize = 25
	}
	if p.Retries == 0 {
		p.Retries = 2
	}
	if p.Idle <= 0 {
		p.Idle = 250 * time.Millisecond
	}
	if p.Rediscover <= 0 {
		p.Rediscover = 10 * time.Second
	}
	if p.Timeout <= 0 {
		p.Timeout = DefaultTimeout
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	sc := Client(p.DB)
	arn, err := streamARN(ctx, p.DB, p.Table)
	for err != nil {
		// Only a table that did not answer in time is worth waiting for; a missing
		// table or stream is a mistake that polling will not mend.
		if ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		p.Logger.Warn("stream: describe table timed out", "err", err.Error())
		arn, err = streamARN(ctx, p.DB, p.Table)
	}
	iters := map[string]*string{} // open shards → next iterator
	done := map[string]bool{}
	var discovered time.Time // zero: describe the stream first
	for ctx.Err() == nil {
		polled := time.Now()
		if polled.Sub(discovered) >= p.Rediscover || len(iters) == 0 {
			if err := p.discover(ctx, sc, arn, iters, done); err != nil {
				if ctx.Err() == nil {
					p.Logger.Warn("stream: describe failed", "err", err.Error())
				}
			} else {
				discovered = polled
			}
		}
		for shard, it := range iters {
			out, err := sc.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(1000)})
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				// An iterator that expired, or that points at records trimmed
				// since, never works again
				// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetRecords.html):
				// the shard is rediscovered from its oldest record (handling is
				// idempotent). DynamoDB Local answers an iterator taken while its
				// shard was empty with TrimmedDataAccessException once any other
				// table is created; kept, that iterator held the poller for good.
				if renewable(err) {
					p.Logger.Debug("stream: iterator renewed", "shard", shard, "err", err.Error())
					delete(iters, shard)
					continue
				}
				p.Logger.Warn("stream: get records failed", "shard", shard, "err", err.Error())
				continue
			}
			if len(out.Records) > 0 {
				recs := make([]events.DynamoDBEventRecord, len(out.Records))
				for i, r := range out.Records {
					recs[i] = Convert(r, arn)
				}
				if err := p.deliver(ctx, filters, recs); err != nil {
					return nil
				}
			}
			if out.NextShardIterator == nil {
				delete(iters, shard)
				done[shard] = true
				discovered = time.Time{} // its children, if any, are read next
			} else {
				iters[shard] = out.NextShardIterator
			}
		}
		if wait := p.Idle - time.Since(polled); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
	}
	return nil
}

// deliver hands the records that pass the filters to Handler in batches; the
// others are done with once dropped. It fails only when ctx ends.
func (p *Poller) deliver(ctx context.Context, filters Filters, recs []events.DynamoDBEventRecord) error {
	kept, err := filters.Keep(recs)
	if err != nil {
		// A record that cannot be matched is not Lambda's case (it filters what it
		// built itself): deliver the page whole rather than lose records.
		p.Logger.Warn("stream: records not filtered", "err", err.Error())
		kept = recs
	}
	if dropped := len(recs) - len(kept); dropped > 0 {
		p.Logger.Debug("stream: records filtered out", "count", dropped)
	}
	if len(kept) == 0 {
		return nil
	}
	dead, err := Deliver(ctx, p.invoke, kept, p.BatchSize, max(p.Retries, 0))
	if err != nil {
		return err
	}
	if len(dead) > 0 {
		p.Logger.Warn("stream: records given up on", "count", len(dead))
		if p.OnDead != nil {
			p.OnDead(dead)
		}
	}
	return nil
}

// invoke runs Handler once under Timeout, as Lambda runs one invocation: the
// handler's context carries the deadline, and a handler still running when it
// passes is abandoned (Lambda would stop it) and its batch counted as failed.
func (p *Poller) invoke(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	type result struct {
		resp events.DynamoDBEventResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := p.Handler(ctx, ev)
		done <- result{resp, err}
	}()
	select {
	case r := <-done:
		return r.resp, r.err
	case <-ctx.Done():
		return events.DynamoDBEventResponse{}, fmt.Errorf("stream: invocation of %d records timed out after %s: %w", len(ev.Records), p.Timeout, ctx.Err())
	}
}

// renewable reports whether err says a shard iterator is spent (expired, or past
// the shard's trim point) and a new one is needed.
func renewable(err error) bool {
	var expired *st.ExpiredIteratorException
	var trimmed *st.TrimmedDataAccessException
	return errors.As(err, &expired) || errors.As(err, &trimmed)
}

func (p *Poller) discover(ctx context.Context, sc *dynamodbstreams.Client, arn string, iters map[string]*string, done map[string]bool) error {
	var start *string
	for {
		out, err := sc.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn), ExclusiveStartShardId: start})
		if err != nil {
			return err
		}
		for _, sh := range out.StreamDescription.Shards {
			id := aws.ToString(sh.ShardId)
			if _, open := iters[id]; open || done[id] {
				continue
			}
			kind := st.ShardIteratorTypeTrimHorizon
			if p.FromLatest {
				kind = st.ShardIteratorTypeLatest
			}
			it, err := sc.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(arn), ShardId: sh.ShardId, ShardIteratorType: kind})
			if err != nil {
				return err
			}
			iters[id] = it.ShardIterator
			if p.Logger != nil {
				p.Logger.Debug("stream: shard opened", "shard", id)
			}
		}
		if start = out.StreamDescription.LastEvaluatedShardId; start == nil {
			return nil
		}
	}
}

func streamARN(ctx context.Context, db *dynamodb.Client, table string) (string, error) {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		return "", fmt.Errorf("describe table %s: %w", table, err)
	}
	if out.Table.LatestStreamArn == nil {
		return "", fmt.Errorf("table %s has no stream", table)
	}
	return *out.Table.LatestStreamArn, nil
}

// ReadAll returns every record currently in the table's stream, oldest first per
// shard, reading until want records are in hand or ctx ends (a stream has no end to
// wait for).
func ReadAll(ctx context.Context, db *dynamodb.Client, table string, want func([]events.DynamoDBEventRecord) bool) ([]events.DynamoDBEventRecord, error) {
	arn, err := streamARN(ctx, db, table)
	if err != nil {
		return nil, err
	}
	sc := Client(db)
	p := &Poller{}
	iters, done := map[string]*string{}, map[string]bool{}
	var all []events.DynamoDBEventRecord
	for !want(all) {
		if err := p.discover(ctx, sc, arn, iters, done); err != nil {
			return all, err
		}
		got := 0
		for shard, it := range iters {
			out, err := sc.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it})
			if err != nil {
				return all, fmt.Errorf("get records: %w", err)
			}
			for _, r := range out.Records {
				all = append(all, Convert(r, arn))
			}
			got += len(out.Records)
			if out.NextShardIterator == nil {
				delete(iters, shard)
				done[shard] = true
			} else {
				iters[shard] = out.NextShardIterator
			}
		}
		if got == 0 && !want(all) {
			t := time.NewTimer(20 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return all, ctx.Err()
			case <-t.C:
			}
		}
	}
	return all, nil
}

// ErrPollerStopped marks RunWithDrain's report that the poller gave up; any other
// report is of one drain run.
var ErrPollerStopped = errors.New("stream poller stopped")

// RunWithDrain runs p and, every interval, drain with that interval as its window:
// the local stand-in for the transcripts function's two triggers, the table's
// stream and the every-minute schedule that drains backlogs (each run keeps taking
// chats for its window, so the drain is continuous here as there). Errors of
// either, other than ctx's end, go to onErr; a failed drain run is the next tick's
// to retry, as the next minute's is in AWS. It returns a function that stops both
// and waits for them.
func RunWithDrain[R any](ctx context.Context, p *Poller, interval time.Duration, drain func(context.Context, time.Duration) (R, error), onErr func(error)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	report := func(err error) {
		if err != nil && ctx.Err() == nil && onErr != nil {
			onErr(err)
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := p.Run(ctx); err != nil {
			report(fmt.Errorf("%w: %w", ErrPollerStopped, err))
		}
	}()
	go func() {
		defer wg.Done()
		Schedule(ctx, interval, func(ctx context.Context) {
			if _, err := drain(ctx, interval); err != nil {
				report(fmt.Errorf("backlog drain: %w", err))
			}
		})
	}()
	return func() { cancel(); wg.Wait() }
}

// Schedule calls fn every interval until ctx ends, one call at a time: the local
// stand-in for an EventBridge schedule that invokes a function.
func Schedule(ctx context.Context, interval time.Duration, fn func(context.Context)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			fn(ctx)
		}
	}
}
