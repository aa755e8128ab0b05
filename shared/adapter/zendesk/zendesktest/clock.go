package zendesktest

import (
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sandbox"
)

// Clock is a settable clock for Options.Now, so tests move time (token expiry, the
// five-minute rule, rate limits) without waiting.
type Clock = sandbox.Clock

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return sandbox.NewClock(t) }
