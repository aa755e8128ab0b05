package httpx

import (
	"context"
	"net/http"
	"time"
)

// DefaultBudget is the time one request may take, every DynamoDB and Sell call
// included; Wrap applies it to every route as a context deadline. A dependency that
// stalls then ends in ctx's deadline, which WriteError answers as the JSON 503
// temporarily_unavailable with Retry-After, well before the Lambda's own timeout
// (15 s in template.yaml's Globals) would cut the function off and API Gateway
// answer with its own non-JSON 503. Ten seconds leave Sell's 8 s bound on an admin
// route's Sell calls room after the table reads, and 5 s of the 15 to answer in.
const DefaultBudget = 10 * time.Second

// answerMargin is kept free before a deadline the request already carries (in
// Lambda, the invocation's), so that a request whose budget ran out still has time
// to send its 503 before the function is stopped.
const answerMargin = time.Second

// WithBudget lowers the budget of the requests h serves to d, for tests of a
// stalled dependency that should not wait DefaultBudget; Wrap (inside h) applies it.
// It never raises the budget above DefaultBudget.
func WithBudget(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), budgetKey{}, d)))
	})
}

type budgetKey struct{}

// budget returns ctx with the request's deadline: DefaultBudget (or a lower one from
// WithBudget) from now, and at least answerMargin before any deadline ctx has.
func budget(ctx context.Context) (context.Context, context.CancelFunc) {
	d := DefaultBudget
	if lower, ok := ctx.Value(budgetKey{}).(time.Duration); ok && lower < d {
		d = lower
	}
	deadline := time.Now().Add(d)
	if outer, ok := ctx.Deadline(); ok && outer.Add(-answerMargin).Before(deadline) {
		deadline = outer.Add(-answerMargin)
	}
	return context.WithDeadline(ctx, deadline)
}
