package sell

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/time/rate"
)

// ErrThrottled is returned, without sending anything, when a call would have to wait
// longer for its token's budget than its context allows (WithMaxWait, or its
// deadline). Sell's own 429 with a Retry-After longer than that is returned as
// ErrRateLimited. Throttled reports either: the caller's cue to do the work later
// rather than count it as a failure.
var ErrThrottled = errors.New("sell: the token's rate budget is spent for now")

// Throttled reports whether err means "not now, Sell's rate budget": ErrThrottled or
// a 429 from Sell.
func Throttled(err error) bool {
	return errors.Is(err, ErrThrottled) || errors.Is(err, ErrRateLimited)
}

type maxWaitKey struct{}

// WithMaxWait bounds how long calls made with the returned context wait for their
// token's budget: for the client's own limiter and for a 429's Retry-After. A call
// that would wait longer fails at once (Throttled). The stream handler uses it so that
// one account's spent budget never holds up a batch other accounts share.
func WithMaxWait(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, maxWaitKey{}, d)
}

func maxWait(ctx context.Context) (time.Duration, bool) {
	d, ok := ctx.Value(maxWaitKey{}).(time.Duration)
	return d, ok
}

// waitTurn waits for lim's next token, as long as ctx allows.
func waitTurn(ctx context.Context, lim *rate.Limiter) error {
	limit, bounded := maxWait(ctx)
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); !bounded || left < limit {
			limit, bounded = left, true
		}
	}
	if !bounded {
		if err := lim.Wait(ctx); err != nil {
			return fmt.Errorf("rate limiter: %w", err)
		}
		return nil
	}
	r := lim.Reserve()
	if !r.OK() {
		return fmt.Errorf("rate limiter: %w", ErrThrottled)
	}
	d := r.Delay()
	if d > limit {
		r.Cancel()
		return fmt.Errorf("rate limiter: next turn in %s: %w", d.Round(time.Millisecond), ErrThrottled)
	}
	if err := Sleep(ctx, d); err != nil {
		r.Cancel()
		return fmt.Errorf("rate limiter: %w", err)
	}
	return nil
}

// tooLong reports whether a pause of d is longer than ctx lets a call wait.
func tooLong(ctx context.Context, d time.Duration) bool {
	if limit, ok := maxWait(ctx); ok && d > limit {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < d
}
