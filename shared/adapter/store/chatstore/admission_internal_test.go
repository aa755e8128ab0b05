package chatstore

import (
	"testing"
	"time"
)

// Once an account's chats go into its backlog they all do until the chats queued
// before have had time to drain at the admission's pace, for at most AdmitDebtFor
// after the last; another account's bucket is its own.
func TestChatsQueuedKeepTheirAccountOffTheStreamUntilTheyCouldHaveDrained(t *testing.T) {
	a := newAdmission(10, 2)
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	want := func(account string, when time.Duration, admitted bool) {
		t.Helper()
		if got := a.take(account, at(when)); got != admitted {
			t.Fatalf("%s at %s: admitted %v, want %v", account, when, got, admitted)
		}
	}
	want("acme", 0, true)
	want("acme", 0, true) // the burst
	for range 10 {
		want("acme", 0, false) // queued: 10 chats' debt, a second at 10 a second
	}
	want("globex", 0, true)
	want("acme", 900*time.Millisecond, false)  // 9 of the 10 drained: behind the tenth, and one more queued
	want("acme", 1150*time.Millisecond, false) // 11.5 of 11
	want("acme", 1350*time.Millisecond, true)  // 13.5 of 12: the queue has had time to drain

	// A flood's debt is bounded: a minute after its last chat the stream is open again.
	want("initech", 0, true)
	want("initech", 0, true)
	for range 10_000 {
		a.take("initech", at(0))
	}
	want("initech", AdmitDebtFor-time.Millisecond, false)
	want("initech", AdmitDebtFor+300*time.Millisecond, true)
}
