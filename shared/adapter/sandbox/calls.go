package sandbox

import "sync"

// Call is one request a sandbox answered.
type Call struct {
	Method string
	Path   string
	// Status is the answer's status, where the sandbox logs the call once answered;
	// 0 where it logs the call on arrival.
	Status int
}

// String is "METHOD /path", the form the counts take.
func (c Call) String() string { return c.Method + " " + c.Path }

// CallLog is the calls a sandbox answered, in order, for tests to count round
// trips. The zero value is empty and ready; it is safe for concurrent use.
type CallLog struct {
	mu    sync.Mutex
	calls []Call
}

// Add logs a call.
func (l *CallLog) Add(c Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

// All returns a copy of the log.
func (l *CallLog) All() []Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Call(nil), l.calls...)
}

// Len is the number of calls logged.
func (l *CallLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.calls)
}

// Count counts the calls to "METHOD /path".
func (l *CallLog) Count(methodPath string) int {
	return l.Counts()[methodPath]
}

// Counts counts the calls by "METHOD /path".
func (l *CallLog) Counts() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := map[string]int{}
	for _, c := range l.calls {
		n[c.String()]++
	}
	return n
}

// Reset empties the log.
func (l *CallLog) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = nil
}
