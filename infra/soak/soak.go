// Package soak holds the load-and-fault scenarios of docs/load-and-faults.md: many
// signed webhook deliveries through a Sell that fails, many admins saving settings at
// once, many agents retrying lead creations. Each scenario runs against real
// dependencies (apptest: a fresh DynamoDB Local table, a Sell sandbox) over loopback
// HTTP through the local gateway (every function's routes, as API Gateway serves
// them), counts what came out, and reports the counts that must be zero: chats lost
// or doubled, settings updates lost, leads duplicated.
//
// The package's tests run each scenario at Small size (part of make test); make soak
// runs them at Full size with -soak and prints the figures.
package soak

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sellchat/sellchat/infra/gateway"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// Size says how big each scenario is.
type Size struct {
	Webhooks int // webhook deliveries, a fifth of them redeliveries of a chat sent before
	Patches  int // concurrent PATCH /settings, each adding its own owner
	Leads    int // concurrent POST /leads ...
	LeadKeys int // ... spread over this many Idempotency-Keys (Leads/LeadKeys tries each)
	Flood    int // chats stored at once for one account while 19 others trickle (flood.go)
	// Messaging conversations solved past the conversation log's limit (messaging.go).
	Messaging int
}

// Small is the size the tests run at (make test).
func Small() Size {
	return Size{Webhooks: 500, Patches: 40, Leads: 40, LeadKeys: 10, Flood: 300, Messaging: 80}
}

// Full is the size of make soak.
func Full() Size {
	return Size{Webhooks: 10000, Patches: 200, Leads: 200, LeadKeys: 50, Flood: 5000, Messaging: 1000}
}

const account = "acme"

// stack is one deployment under load: real dependencies and the gateway on a
// loopback port.
type stack struct {
	env    *apptest.Env
	url    string       // the gateway
	client *http.Client // many connections: the scenarios are concurrent
	errs   *errorLog
}

// newStack builds a deployment whose Sell sandbox has no rate limit and whose vault
// does not throttle: the scenarios measure our concurrency, not Sell's budget.
func newStack(t testing.TB) *stack {
	t.Helper()
	return newStackWith(t, apptest.Options{})
}

// newStackWith is newStack over a Zendesk sandbox configured by o.
func newStackWith(t testing.TB, o apptest.Options) *stack {
	t.Helper()
	env := apptest.NewWith(t, o)
	sb := selltest.NewServer(selltest.Options{RateLimit: -1})
	t.Cleanup(sb.Close)
	env.Sell = sb
	env.Deps.Config.SellAPIURL = sb.URL
	v := tokens.NewVault(env.Deps.Store, env.Deps.Box, env.Deps.Config.SellOAuth(), sb.URL)
	v.Zendesk, v.Chat = env.Deps.Vault.Zendesk, env.Deps.Vault.Chat
	v.Limiters = sell.NewLimiters(0, 0)
	v.Cache = sell.NewCache(time.Minute, nil)
	env.Deps.Vault = v
	errs := &errorLog{}
	env.Deps.Logger = slog.New(errs)
	h, err := gateway.New(env.Deps, env.Signer)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	c := &http.Client{Transport: tr, Timeout: time.Minute}
	t.Cleanup(tr.CloseIdleConnections)
	return &stack{env: env, url: srv.URL, client: c, errs: errs}
}

// errorLog keeps what the deployment logs at level Error: a 500 says only "it has
// been logged", and the soak should say what.
type errorLog struct {
	mu    sync.Mutex
	n     int
	first []string
}

func (l *errorLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }
func (l *errorLog) WithAttrs([]slog.Attr) slog.Handler            { return l }
func (l *errorLog) WithGroup(string) slog.Handler                 { return l }
func (l *errorLog) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" || a.Key == "code" {
			msg += " " + a.Key + "=" + a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if len(l.first) < 3 {
		l.first = append(l.first, msg)
	}
	return nil
}

// summary says how many errors were logged, with the first few.
func (l *errorLog) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 {
		return ""
	}
	return fmt.Sprintf("%d errors logged by the deployment, first: %s", l.n, strings.Join(l.first, " | "))
}

// problems keeps the first few examples of what went wrong, for the report.
type problems struct {
	list   []string
	n      int
	logged string // errorLog.summary()
}

func (p *problems) add(format string, args ...any) {
	p.n++
	if len(p.list) < 8 {
		p.list = append(p.list, fmt.Sprintf(format, args...))
	}
}

func (p *problems) String() string {
	var s string
	if p.n > 0 {
		s = fmt.Sprintf("  examples (%d in all):", p.n)
		for _, l := range p.list {
			s += "\n    " + strings.TrimSpace(l)
		}
	}
	if p.logged != "" {
		if s != "" {
			s += "\n"
		}
		s += "  " + p.logged
	}
	return s
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
