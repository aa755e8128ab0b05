package dynamolocal

import (
	"errors"
	"fmt"
	"syscall"
)

// Pause freezes the engine (SIGSTOP) without closing its port: connections are
// still accepted by the kernel and requests sent, but nothing answers, which is
// what a stalled table looks like to a client. Fault tests use it; Resume undoes it.
func (p *Process) Pause() error { return p.signal(syscall.SIGSTOP) }

// Resume lets a paused engine run again (SIGCONT).
func (p *Process) Resume() error { return p.signal(syscall.SIGCONT) }

func (p *Process) signal(sig syscall.Signal) error {
	if p == nil || p.cmd.Process == nil {
		return errors.New("dynamodb local: no process")
	}
	// The engine's only process is the JVM itself (started in its own process
	// group), so signalling it freezes every thread of the engine.
	if err := syscall.Kill(p.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("dynamodb local: signal %v: %w", sig, err)
	}
	return nil
}
