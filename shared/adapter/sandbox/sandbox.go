// Package sandbox is what the in-process sandboxes share. selltest (Zendesk Sell) and
// zendesktest (Zendesk) each simulate an API as an http.Handler, and each needs the
// same scaffolding around its own endpoints: a New that panics where Open reports,
// fault injection (SetFaults, FailNext) that can hold a request until the sandbox
// closes, a state file replaced atomically after every change, the records of the
// OAuth codes and tokens it issued, a log of the calls it answered, and a settable
// clock for tests. What each API says and checks stays in its own sandbox.
package sandbox

// Must returns what open returns for opts, and panics with the error, prefixed by
// pkg, where open fails: a sandbox's New, for callers that cannot go on without it.
func Must[O, S any](pkg string, open func(O) (S, error), opts O) S {
	s, err := open(opts)
	if err != nil {
		panic(pkg + ": " + err.Error())
	}
	return s
}
