package store

import (
	"context"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// Meter sums the capacity DynamoDB says each operation consumed, for measuring what
// a request path costs (docs/cost.md). It is opt-in per context (WithMeter): only a
// metered call asks DynamoDB for ReturnConsumedCapacity, so an unmetered request is
// byte for byte what it was. Safe for concurrent use, as one chat's processing may
// write from several goroutines.
type Meter struct {
	mu  sync.Mutex
	ops map[string]Usage
}

// Usage is what the calls of one DynamoDB operation consumed.
//
// DynamoDB reports consumed capacity only on a successful call: a conditional write
// that fails its condition (ErrExists, ErrConflict) or a cancelled transaction is
// still charged the write units (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html)
// but its error carries no figure, so Failed counts them for the reader to price.
type Usage struct {
	Calls  int
	Failed int
	RCU    float64
	WCU    float64
}

// NewMeter returns an empty meter.
func NewMeter() *Meter { return &Meter{ops: map[string]Usage{}} }

type meterKey struct{}

// WithMeter returns ctx with m attached: every store call made with it, or with a
// context derived from it, adds its consumed capacity to m.
func WithMeter(ctx context.Context, m *Meter) context.Context {
	return context.WithValue(ctx, meterKey{}, m)
}

func meterFrom(ctx context.Context) *Meter {
	m, _ := ctx.Value(meterKey{}).(*Meter)
	return m
}

// Ops returns the usage per operation name (GetItem, Query, TransactWriteItems, ...).
func (m *Meter) Ops() map[string]Usage {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]Usage, len(m.ops))
	for k, v := range m.ops {
		out[k] = v
	}
	return out
}

// Names lists the operations metered so far, sorted, for stable reports.
func (m *Meter) Names() []string {
	ops := m.Ops()
	names := make([]string, 0, len(ops))
	for k := range ops {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Total sums every operation's usage.
func (m *Meter) Total() Usage {
	var t Usage
	for _, u := range m.Ops() {
		t.Calls += u.Calls
		t.Failed += u.Failed
		t.RCU += u.RCU
		t.WCU += u.WCU
	}
	return t
}

// Reset empties the meter, so one meter can measure several paths in turn.
func (m *Meter) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ops = map[string]Usage{}
}

func (m *Meter) add(op string, u Usage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.ops[op]
	t.Calls += u.Calls
	t.Failed += u.Failed
	t.RCU += u.RCU
	t.WCU += u.WCU
	m.ops[op] = t
}

// meterStack installs the meter middleware in every client NewClient builds. It sits
// in the Initialize step, before the retry loop, so a call counts once however many
// attempts it took (DynamoDB bills the attempt that succeeded; throttled ones are
// not charged).
func meterStack(s *middleware.Stack) error {
	return s.Initialize.Add(middleware.InitializeMiddlewareFunc("sellchatMeter", meterMiddleware), middleware.After)
}

func meterMiddleware(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	m := meterFrom(ctx)
	if m == nil || !askCapacity(in.Parameters) {
		return next.HandleInitialize(ctx, in)
	}
	out, md, err := next.HandleInitialize(ctx, in)
	op := middleware.GetOperationName(ctx)
	if err != nil {
		m.add(op, Usage{Calls: 1, Failed: 1})
		return out, md, err
	}
	rcu, wcu := consumed(out.Result, isRead(op))
	m.add(op, Usage{Calls: 1, RCU: rcu, WCU: wcu})
	return out, md, err
}

// askCapacity sets ReturnConsumedCapacity TOTAL on the inputs that take it, and says
// whether params is one of them (table management calls are not metered).
func askCapacity(params any) bool {
	const total = types.ReturnConsumedCapacityTotal
	switch in := params.(type) {
	case *dynamodb.GetItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.PutItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.UpdateItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.DeleteItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.QueryInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.ScanInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.BatchGetItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.BatchWriteItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.TransactGetItemsInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.TransactWriteItemsInput:
		in.ReturnConsumedCapacity = total
	default:
		return false
	}
	return true
}

// consumed reads the capacity an output reports, as read and write units.
func consumed(result any, read bool) (rcu, wcu float64) {
	var ccs []types.ConsumedCapacity
	switch out := result.(type) {
	case *dynamodb.GetItemOutput:
		ccs = one(out.ConsumedCapacity)
	case *dynamodb.PutItemOutput:
		ccs = one(out.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		ccs = one(out.ConsumedCapacity)
	case *dynamodb.DeleteItemOutput:
		ccs = one(out.ConsumedCapacity)
	case *dynamodb.QueryOutput:
		ccs = one(out.ConsumedCapacity)
	case *dynamodb.ScanOutput:
		ccs = one(out.ConsumedCapacity)
	case *dynamodb.BatchGetItemOutput:
		ccs = out.ConsumedCapacity
	case *dynamodb.BatchWriteItemOutput:
		ccs = out.ConsumedCapacity
	case *dynamodb.TransactGetItemsOutput:
		ccs = out.ConsumedCapacity
	case *dynamodb.TransactWriteItemsOutput:
		ccs = out.ConsumedCapacity
	}
	for _, c := range ccs {
		r, w := split(c, read)
		rcu += r
		wcu += w
	}
	return rcu, wcu
}

func one(c *types.ConsumedCapacity) []types.ConsumedCapacity {
	if c == nil {
		return nil
	}
	return []types.ConsumedCapacity{*c}
}

// split takes the read and write units when DynamoDB gives them apart, and otherwise
// charges CapacityUnits to the operation's own kind: a TOTAL answer may carry only
// CapacityUnits.
func split(c types.ConsumedCapacity, read bool) (rcu, wcu float64) {
	r, w := deref(c.ReadCapacityUnits), deref(c.WriteCapacityUnits)
	if r != 0 || w != 0 {
		return r, w
	}
	if read {
		return deref(c.CapacityUnits), 0
	}
	return 0, deref(c.CapacityUnits)
}

func deref(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}

func isRead(op string) bool {
	switch op {
	case "GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems":
		return true
	}
	return false
}
