// Package lambdaruntime is a small Lambda Runtime API (the 2018-06-01 interface a
// provided.al2023 bootstrap polls) so tests and benchmarks can run the very bootstrap
// binaries we ship and hand them API Gateway events, without AWS.
package lambdaruntime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Result is what the function answered for one invocation.
type Result struct {
	Payload []byte // the response body, when the function succeeded
	Error   []byte // the error document, when it reported an error
}

type invocation struct {
	id      string
	payload []byte
	done    chan Result
}

// Server serves the Runtime API on a loopback port.
type Server struct {
	// Timeout is how long each invocation may run, as the function's configured
	// timeout: the deadline the bootstrap is given (Lambda-Runtime-Deadline-Ms).
	// 30 s when zero.
	Timeout   time.Duration
	srv       *httptest.Server
	queue     chan *invocation
	mu        sync.Mutex
	inflight  map[string]*invocation
	seq       atomic.Int64
	initError chan []byte
}

// NewServer starts a Runtime API.
func NewServer() *Server {
	s := &Server{queue: make(chan *invocation), inflight: map[string]*invocation{}, initError: make(chan []byte, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", s.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", s.respond(false))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", s.respond(true))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case s.initError <- body:
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	})
	s.srv = httptest.NewServer(mux)
	return s
}

// Addr is the host:port to put in AWS_LAMBDA_RUNTIME_API.
func (s *Server) Addr() string { return s.srv.Listener.Addr().String() }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	select {
	case inv := <-s.queue:
		s.mu.Lock()
		s.inflight[inv.id] = inv
		s.mu.Unlock()
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		timeout := s.Timeout
		if timeout <= 0 {
			timeout = 30 * time.Second
		}
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(timeout).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:sellchat-test")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(inv.payload)
	case <-r.Context().Done():
	}
}

func (s *Server) respond(isError bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		inv, ok := s.inflight[r.PathValue("id")]
		delete(s.inflight, r.PathValue("id"))
		s.mu.Unlock()
		if !ok {
			http.Error(w, "unknown request id", http.StatusBadRequest)
			return
		}
		if isError {
			inv.done <- Result{Error: body}
		} else {
			inv.done <- Result{Payload: body}
		}
		w.WriteHeader(http.StatusAccepted)
	}
}

// Invoke hands payload to the next poll of the function and waits for its answer.
func (s *Server) Invoke(ctx context.Context, payload []byte) (Result, error) {
	inv := &invocation{id: fmt.Sprintf("req-%d", s.seq.Add(1)), payload: payload, done: make(chan Result, 1)}
	select {
	case s.queue <- inv:
	case b := <-s.initError:
		return Result{}, fmt.Errorf("the function failed to initialise: %s", b)
	case <-ctx.Done():
		return Result{}, fmt.Errorf("no function polled for the invocation: %w", ctx.Err())
	}
	select {
	case res := <-inv.done:
		return res, nil
	case <-ctx.Done():
		return Result{}, fmt.Errorf("the function did not answer: %w", ctx.Err())
	}
}

// Process is a running bootstrap.
type Process struct {
	cmd    *exec.Cmd
	exited chan error
}

// Start runs the bootstrap at path against s, with env added to a minimal Lambda
// environment (the real one sets these variables too).
func (s *Server) Start(path string, env []string, logs io.Writer) (*Process, error) {
	cmd := exec.Command(path)
	cmd.Env = append([]string{
		"AWS_LAMBDA_RUNTIME_API=" + s.Addr(),
		"AWS_LAMBDA_FUNCTION_NAME=sellchat-test",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_REGION=us-east-1",
		"PATH=" + os.Getenv("PATH"),
	}, env...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	p := &Process{cmd: cmd, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	return p, nil
}

// PID is the bootstrap's process id, for reading its /proc status (peak memory in
// the benchmarks).
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Stop kills the bootstrap (Lambda freezes and later kills environments; there is
// no graceful path to test here).
func (p *Process) Stop() error {
	_ = p.cmd.Process.Kill()
	err := <-p.exited
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return nil
	}
	return err
}
