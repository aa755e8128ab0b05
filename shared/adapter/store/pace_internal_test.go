package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// TestAPaceWaitsUntilTheUnitsSpentArePaidFor drives writePace with a clock of its
// own: at 500 units a second, 250 units spent make the next write wait half a
// second, time that has passed meanwhile counts, and a wait cut short answers the
// context's error.
func TestAPaceWaitsUntilTheUnitsSpentArePaidFor(t *testing.T) {
	t.Parallel()
	clock := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	var waited []time.Duration
	p := writePace{perSecond: 500, now: func() time.Time { return clock },
		sleep: func(ctx context.Context, d time.Duration) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			waited = append(waited, d)
			clock = clock.Add(d)
			return nil
		}}
	ctx := context.Background()
	step := func(units int) {
		t.Helper()
		if err := p.wait(ctx); err != nil {
			t.Fatal(err)
		}
		p.spent(units)
	}
	step(250)                          // the first write: no wait
	step(250)                          // 250 spent before it: due at 0.5 s, so half a second
	clock = clock.Add(2 * time.Second) // now 2.5 s
	step(500)                          // 500 spent: due at 1 s, no wait
	step(1000)                         // 1,000 spent: due at 2 s, no wait
	step(1)                            // 2,000 spent: due at 4 s, so 1.5 s
	if want := []time.Duration{500 * time.Millisecond, 1500 * time.Millisecond}; !slices.Equal(waited, want) {
		t.Fatalf("waited %v, want %v", waited, want)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.wait(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("a wait with its context ended: %v", err)
	}
}

func TestATransactionsWriteCostsTwoUnitsAKilobyteRoundedUp(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]int{0: 2, 1: 2, 1024: 2, 1025: 4, 3000: 6, 400 << 10: 800} {
		if got := transactionUnits(n); got != want {
			t.Errorf("%d bytes: %d units, want %d", n, got, want)
		}
	}
}
