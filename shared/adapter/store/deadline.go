package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// Timeouts bound every DynamoDB call, so a stalled or throttling table fails a
// request within seconds (a 503 the client may retry) instead of holding it until
// the Lambda's own timeout answers with API Gateway's non-JSON error.
type Timeouts struct {
	// Attempt bounds one HTTP attempt: connect, send and read the whole answer.
	// A healthy DynamoDB answers in milliseconds; the bound is generous so that a
	// cold connection (DNS, TLS) or a garbage-collection pause is not mistaken for
	// a stall, since retrying a write that did land costs a spurious
	// ErrConflict or ErrExists.
	Attempt time.Duration
	// Operation bounds one operation, every attempt and back-off included, and
	// so is the longest any single store method waits on DynamoDB.
	Operation time.Duration
}

// DefaultTimeouts are for DynamoDB in AWS: a stalled attempt gets one retry, and the
// longest wait stays well inside an HTTP request's budget (httpx.DefaultBudget).
var DefaultTimeouts = Timeouts{Attempt: 2 * time.Second, Operation: 4 * time.Second}

// LocalTimeouts are for DynamoDB Local (an endpoint is set): a JVM sharing a busy
// test machine takes seconds over its first calls (2.4 s for a first CreateTable
// was measured), so one attempt may use the whole operation: a slow engine is
// waited for, not retried, since a retried write that did land would report a
// false conflict. Still under the request budget, so a stalled engine is a 503.
var LocalTimeouts = Timeouts{Attempt: 8 * time.Second, Operation: 8 * time.Second}

// The SDK's retry policy for DynamoDB, bounded. DynamoDB's own client defaults to 4
// attempts with a 25 ms base back-off for errors and 1 s for throttling, capped at
// 20 s; the cap is lowered so that a throttled call still gets its retries within
// the operation's deadline. See "Retries and Timeouts",
// https://aws.github.io/aws-sdk-go-v2/docs/configuring-sdk/retries-timeouts/.
const (
	maxAttempts = 4
	maxBackoff  = time.Second
	baseBackoff = 25 * time.Millisecond
)

// bound sets o's HTTP client, retryer and operation deadline from t; a zero field
// takes DefaultTimeouts' value, or LocalTimeouts' for DynamoDB Local.
//
// The HTTP client's timeout covers one attempt: "This timeout includes the time to
// connect, process any redirects, and read the complete response body"
// (https://aws.github.io/aws-sdk-go-v2/docs/configuring-sdk/custom-http/). The
// operation's deadline is a context deadline set in the Initialize step, which
// runs before the Finalize step's retry loop
// (https://aws.github.io/aws-sdk-go-v2/docs/middleware/), so it covers every
// attempt and back-off; the caller's own deadline still applies when it is sooner.
func (t Timeouts) bound(o *dynamodb.Options, local bool) {
	def := DefaultTimeouts
	if local {
		def = LocalTimeouts
	}
	if t.Attempt <= 0 {
		t.Attempt = def.Attempt
	}
	if t.Operation <= 0 {
		t.Operation = def.Operation
	}
	o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(t.Attempt)
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = maxAttempts
		so.MaxBackoff = maxBackoff
		so.BaseDelay = baseBackoff
	})
	o.APIOptions = append(o.APIOptions, operationDeadline(t.Operation), meterStack)
}

// operationDeadline returns the stack option that gives each operation at most d.
func operationDeadline(d time.Duration) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("sellchatOperationDeadline",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				ctx, cancel := context.WithTimeout(ctx, d)
				defer cancel()
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	}
}
