package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// stalled listens like a DynamoDB endpoint whose engine has stopped: connections
// are accepted and requests read, but nothing ever answers. It counts attempts.
type stalled struct {
	ln       net.Listener
	attempts atomic.Int32
	mu       sync.Mutex
	conns    []net.Conn
}

func newStalled(t *testing.T) *stalled {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &stalled{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.attempts.Add(1)
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conns {
			c.Close()
		}
	})
	return s
}

func (s *stalled) endpoint() string { return "http://" + s.ln.Addr().String() }

// throttling answers every request as DynamoDB does when a table is throttled,
// after delay.
func throttling(t *testing.T, delay time.Duration) (endpoint string, attempts *atomic.Int32) {
	t.Helper()
	attempts = new(atomic.Int32)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}`)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String(), attempts
}

// unavailable reports whether err, written as the HTTP answer, is the 503
// temporarily_unavailable with Retry-After.
func unavailable(err error) bool {
	w := httptest.NewRecorder()
	httpx.WriteError(w, httptest.NewRequest("GET", "/", nil), err)
	return w.Code == http.StatusServiceUnavailable && w.Header().Get("Retry-After") != "" &&
		strings.Contains(w.Body.String(), `"temporarily_unavailable"`)
}

// The bound is what the test is about; the margin covers a busy machine.
const margin = 3 * time.Second

func TestACallToAStalledTableEndsWithinTheOperationDeadline(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		timeouts  store.Timeouts
		local     bool
		operation time.Duration
		retried   bool
	}{
		{"with the deployed timeouts, after retrying the stalled attempt", store.Timeouts{}, false, store.DefaultTimeouts.Operation, true},
		{"with DynamoDB Local's timeouts, after one long attempt", store.Timeouts{}, true, store.LocalTimeouts.Operation, false},
		{"with timeouts of its own", store.Timeouts{Attempt: 200 * time.Millisecond, Operation: time.Second}, false, time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStalled(t)
			timeouts := tc.timeouts
			if !tc.local && timeouts == (store.Timeouts{}) {
				// The deployed values, but against the stalled endpoint.
				timeouts = store.DefaultTimeouts
			}
			db, err := store.NewClientWith(context.Background(), "us-east-1", s.endpoint(), timeouts)
			if err != nil {
				t.Fatal(err)
			}
			st := store.New(db, "stalled")
			// The caller's own context is far longer: the store must not wait for it.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			began := time.Now()
			var out map[string]any
			_, err = st.Get(ctx, store.Key{Account: "acme", SK: "SETTINGS"}, &out)
			took := time.Since(began)
			if err == nil {
				t.Fatal("a stalled table answered")
			}
			if !errors.Is(err, context.DeadlineExceeded) || !unavailable(err) {
				t.Fatalf("the error is not a deadline answered as a 503 temporarily_unavailable: %v", err)
			}
			if took > tc.operation+margin {
				t.Fatalf("the call took %s, the operation deadline is %s", took, tc.operation)
			}
			if n := s.attempts.Load(); tc.retried && n < 2 {
				t.Fatalf("%d attempts: the stalled attempt was not retried within the operation", n)
			} else if !tc.retried && n != 1 {
				t.Fatalf("%d attempts: a slow local engine should be waited for, not retried", n)
			}
		})
	}
}

func TestAThrottledTableIsRetriedOnlyWithinTheOperationDeadline(t *testing.T) {
	t.Parallel()
	// Each throttled answer takes 1.2 s: the SDK's own policy (4 attempts) would
	// take 4.8 s and more; the operation's 2.5 s deadline ends it during the second
	// (the first back-off is under a second).
	endpoint, attempts := throttling(t, 1200*time.Millisecond)
	timeouts := store.Timeouts{Attempt: 5 * time.Second, Operation: 2500 * time.Millisecond}
	db, err := store.NewClientWith(context.Background(), "us-east-1", endpoint, timeouts)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(db, "throttled")
	began := time.Now()
	err = st.Put(context.Background(), store.Key{Account: "acme", SK: "X"}, map[string]string{"a": "b"})
	took := time.Since(began)
	if err == nil || !unavailable(err) {
		t.Fatalf("the error is not answered as a 503 temporarily_unavailable: %v", err)
	}
	// A smaller margin than elsewhere: under it lies the SDK's unbounded 4.8 s.
	if took > timeouts.Operation+2*time.Second {
		t.Fatalf("the call took %s, the operation deadline is %s", took, timeouts.Operation)
	}
	if attempts.Load() < 2 {
		t.Fatalf("%d attempts: throttling was not retried", attempts.Load())
	}
}

// A page of chats stored together into a backlog stops at the first transaction
// the table fails: the rest are not tried, so a stalled table fails the page within
// one deadline, and the chat poll takes the page again next run.
func TestChatsStoredTogetherStopAtTheFirstFailure(t *testing.T) {
	t.Parallel()
	endpoint, attempts := throttling(t, 0)
	db, err := store.NewClientWith(context.Background(), "us-east-1", endpoint, store.Timeouts{Attempt: time.Second, Operation: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(db, "throttled")
	page := func(n int) []store.NewChat {
		var p []store.NewChat
		for i := range n {
			p = append(p, store.NewChat{Key: store.ChatKey("acme", fmt.Sprintf("c%02d", i)), Item: map[string]string{"status": "received"}})
		}
		return p
	}
	errs := st.CreateQueuedAll(context.Background(), "acme", page(5), time.Now())
	one := attempts.Load()
	for i, err := range errs {
		if err == nil || !unavailable(err) {
			t.Fatalf("chat %d of one transaction: %v, want a 503 temporarily_unavailable", i, err)
		}
	}
	errs = st.CreateQueuedAll(context.Background(), "acme", page(50), time.Now())
	// The SDK's retries within the deadline vary by a request or so; ten
	// transactions would take ten times as many.
	if tried := attempts.Load() - one; tried > 2*one {
		t.Fatalf("50 chats took %d requests, one transaction's 5 took %d: the page went on after the table failed", tried, one)
	}
	for i, err := range errs {
		if err == nil || !unavailable(err) {
			t.Fatalf("chat %d: %v, want a 503 temporarily_unavailable", i, err)
		}
	}
}
