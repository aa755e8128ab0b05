// Package zendesktest is an in-process Zendesk sandbox, the way net/http/httptest sits
// next to net/http: one account (subdomain "acme" by default) speaking Zendesk's
// Support OAuth (with PKCE) and the Chat API's OAuth, the users and apps endpoints, the
// Chat account, agents and incremental chat export, messaging tickets with their
// requesters' identities and conversation logs (messaging.go), with Zendesk's error
// bodies, rate limits and the export's five-minute rule, so that the zendesk client and
// everything built on it can be tested and demoed without a Zendesk account.
//
// Tests start one with NewServer and use the helpers on it (SupportToken, ZAFToken,
// AddChat, FailNext, Calls…). A program that wants the sandbox on a listener of its
// own (the local stack, on ZENDESK_SANDBOX_PORT) builds the handler with New or Open:
//
//	sb := zendesktest.New(zendesktest.Options{})
//	defer sb.Close()
//	go (&http.Server{Handler: sb}).Serve(ln)
//
// Besides Zendesk's own paths it serves local-only helpers under /sandbox/ (a signed
// app token for a user, posting a chat into the export, posting a solved messaging
// conversation, and a host page that frames an app as Zendesk does, host.go); nothing
// under /sandbox/ exists in Zendesk and nothing here is ever deployed.
//
// Where Zendesk's behaviour is undocumented the sandbox makes the client's assumptions,
// read from the same constants (shared/adapter/zendesk/assumptions.go);
// docs/zendesk-sandbox.md describes the whole sandbox and its demo data.
package zendesktest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/sellchat/sellchat/shared/adapter/sandbox"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
)

// Options configure a Sandbox. The zero value is the demo account (DemoSeed) with
// Zendesk's limits as assumptions.go states them.
type Options struct {
	// Subdomain is the account; DemoSubdomain when empty.
	Subdomain string
	// BackendURL is the backend_url setting of installed apps that name none: the
	// sellchat deployment the apps' iframes load from (the local stack's gateway).
	BackendURL string
	// Seed is the initial data; DemoSeed() when nil. Pass &Seed{} for none.
	Seed *Seed
	// The OAuth clients the sandbox knows: the Support OAuth client and the Chat API
	// client; DefaultSupportClientID… when empty.
	SupportClientID, SupportClientSecret string
	ChatClientID, ChatClientSecret       string
	// TokenLifetime of access tokens when the request names no expires_in;
	// zendesk.DefaultTokenLifetime when zero.
	TokenLifetime time.Duration
	// MinAge is the export's five-minute rule: a start_time younger than this is
	// refused. zendesk.ExportMinAge when zero, no rule when negative. The local stack
	// sets it from ZENDESK_SANDBOX_MIN_AGE so a demo need not wait five minutes.
	MinAge time.Duration
	// RateLimit and ExportRateLimit are requests a minute per token, for the API and for
	// the chat export; zendesk.RateLimitPerMinute and ExportRateLimitPerMinute when
	// zero, unlimited when negative. The whole minute's allowance may be spent at once.
	RateLimit, ExportRateLimit float64
	// ConversationLogPerMinute is the conversation log's own limit, requests a minute
	// for the whole account; zendesk.ConversationLogRateLimitPerMinute when zero,
	// unlimited when negative.
	ConversationLogPerMinute float64
	// AppKey signs the tokens of seeded apps that bring no key of their own; a new
	// 2048-bit key per app when nil. Tests pass one key to save generating it.
	AppKey *rsa.PrivateKey
	// Now is the clock of tokens, codes, rate limits, chats and the five-minute rule.
	Now func() time.Time
	// StateFile, when set, keeps the sandbox's state in that JSON file so that a restart
	// keeps its users, apps and their keys, chats, and the OAuth codes and tokens it
	// issued. Open loads it in place of Seed when it exists and creates it otherwise;
	// every change is written back at once.
	StateFile string
}

// Default OAuth clients of the sandbox.
const (
	DefaultSupportClientID     = "sellchat-zendesk-sandbox"
	DefaultSupportClientSecret = "sellchat-zendesk-sandbox-secret"
	DefaultChatClientID        = "sellchat-chat-sandbox"
	DefaultChatClientSecret    = "sellchat-chat-sandbox-secret"
)

// Sandbox is the Zendesk simulator as an http.Handler. Its methods are safe for
// concurrent use with requests in flight.
type Sandbox struct {
	opts   Options
	mux    *http.ServeMux
	file   *sandbox.StateFile
	faults sandbox.Injector[Faults]
	calls  sandbox.CallLog // every call, once answered

	mu       sync.Mutex
	st       *state
	keys     map[int64]*rsa.PrivateKey // app id → signing key
	limiters map[string]*rate.Limiter
	approver int64
	deny     bool
}

// New returns a sandbox handler. It panics when Options.StateFile cannot be read or
// written; Open reports that as an error.
func New(opts Options) *Sandbox { return sandbox.Must("zendesktest", Open, opts) }

// newSandbox applies the defaults of opts and returns a sandbox with no state yet.
func newSandbox(opts Options) *Sandbox {
	if opts.Subdomain == "" {
		opts.Subdomain = DemoSubdomain
	}
	if opts.Seed == nil {
		opts.Seed = DemoSeed()
	}
	defaults := []struct {
		v   *string
		def string
	}{
		{&opts.SupportClientID, DefaultSupportClientID}, {&opts.SupportClientSecret, DefaultSupportClientSecret},
		{&opts.ChatClientID, DefaultChatClientID}, {&opts.ChatClientSecret, DefaultChatClientSecret},
	}
	for _, d := range defaults {
		if *d.v == "" {
			*d.v = d.def
		}
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = zendesk.DefaultTokenLifetime
	}
	switch {
	case opts.MinAge == 0:
		opts.MinAge = zendesk.ExportMinAge
	case opts.MinAge < 0:
		opts.MinAge = 0
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = zendesk.RateLimitPerMinute
	}
	if opts.ExportRateLimit == 0 {
		opts.ExportRateLimit = zendesk.ExportRateLimitPerMinute
	}
	if opts.ConversationLogPerMinute == 0 {
		opts.ConversationLogPerMinute = zendesk.ConversationLogRateLimitPerMinute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Sandbox{
		opts:     opts,
		keys:     map[int64]*rsa.PrivateKey{},
		limiters: map[string]*rate.Limiter{},
	}
	s.file = sandbox.NewStateFile(opts.StateFile, "Zendesk sandbox", &s.mu, func() any { return s.st })
	s.routes()
	return s
}

// Close releases requests held by a latency fault and, with Options.StateFile, saves a
// last time. The handler keeps working.
func (s *Sandbox) Close() {
	s.faults.Close()
	s.changed()
}

// Subdomain is the sandbox's account.
func (s *Sandbox) Subdomain() string { return s.opts.Subdomain }

func (s *Sandbox) now() time.Time { return s.opts.Now() }

func (s *Sandbox) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET "+zendesk.SupportAuthorizePath, s.authorize(support))
	m.HandleFunc("POST "+zendesk.SupportTokenPath, s.tokenEndpoint(support))
	m.HandleFunc("GET "+zendesk.ChatAuthorizePath, s.authorize(chat))
	m.HandleFunc("POST "+zendesk.ChatTokenPath, s.tokenEndpoint(chat))
	m.HandleFunc("GET /api/v2/users/{id}", s.getUser)
	m.HandleFunc("GET /api/v2/users/{id}/identities", s.listIdentities)
	m.HandleFunc("GET /api/v2/users/{id}/identities.json", s.listIdentities)
	m.HandleFunc("GET /api/v2/tickets/{id}", s.getTicket)
	m.HandleFunc("GET /api/v2/tickets/{id}/conversation_log", s.getConversationLog)
	m.HandleFunc("GET /api/v2/apps/installations.json", s.listInstallations)
	m.HandleFunc("GET /api/v2/apps/installations", s.listInstallations)
	m.HandleFunc("GET /api/v2/apps/{id}/public_key.pem", s.getPublicKey)
	m.HandleFunc("GET /api/v2/chat/account", s.getChatAccount)
	m.HandleFunc("GET /api/v2/chat/agents", s.listChatAgents)
	m.HandleFunc("GET /api/v2/chat/agents/{id}", s.getChatAgent)
	m.HandleFunc("GET "+zendesk.ExportPath, s.exportChats)
	m.HandleFunc("GET "+zendesk.ChatSearchPath, s.searchChats)
	m.HandleFunc("GET "+zendesk.ChatPath+"{id}", s.getChat)
	m.HandleFunc("POST /api/v2/webhooks", s.postWebhook)
	m.HandleFunc("GET /api/v2/webhooks/{id}", s.getWebhook)
	m.HandleFunc("GET /api/v2/webhooks/{id}"+zendesk.WebhookSigningSecretPath, s.getSigningSecret)
	m.HandleFunc("DELETE /api/v2/webhooks/{id}", s.deleteWebhook)
	m.HandleFunc("POST /api/v2/triggers", s.postTrigger)
	m.HandleFunc("GET /api/v2/triggers/{id}", s.getTrigger)
	m.HandleFunc("DELETE /api/v2/triggers/{id}", s.deleteTrigger)
	m.HandleFunc("POST /sandbox/tickets/{id}/solve", s.postSolveTicket)
	m.HandleFunc("POST /sandbox/zaf-token", s.postZAFToken)
	m.HandleFunc("POST /sandbox/chats", s.postChat)
	m.HandleFunc("POST /sandbox/messaging", s.postMessaging)
	m.HandleFunc("GET /sandbox/host", s.host)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "InvalidEndpoint", "Not found")
	})
	s.mux = m
}

// ServeHTTP answers like Zendesk. API calls (/api/v2/…) pass, in order: the call log,
// faults, authentication (a token of the right product), the rate limit, then the
// endpoint, which checks scope and role. OAuth and /sandbox/ paths skip all but the log.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() { s.logCall(r, rec.status) }()
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		s.mux.ServeHTTP(rec, r)
		s.changed() // OAuth issues codes and tokens, /sandbox/ adds chats
		return
	}
	if !s.applyFaults(rec, r) {
		return
	}
	c, ok := s.authenticate(r)
	if !ok {
		writeJSON(rec, http.StatusUnauthorized, map[string]string{"error": zendesk.CodeInvalidToken,
			"error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons."})
		return
	}
	if wait, ok := s.allow(c.token, r.URL.Path == zendesk.ExportPath); !ok {
		rec.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		rec.Header().Set("Content-Type", "text/plain")
		rec.WriteHeader(http.StatusTooManyRequests)
		_, _ = rec.Write([]byte(zendesk.RateLimitedText))
		return
	}
	s.mux.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
}

// allow spends one request of the token's minute; when none is left it answers how
// long until one is.
func (s *Sandbox) allow(token string, export bool) (time.Duration, bool) {
	perMinute, key := s.opts.RateLimit, "api|"+token
	if export {
		perMinute, key = s.opts.ExportRateLimit, "export|"+token
	}
	if perMinute < 0 {
		return 0, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lim, ok := s.limiters[key]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(perMinute/60), max(1, int(perMinute)))
		s.limiters[key] = lim
	}
	now := s.now()
	if lim.AllowN(now, 1) {
		return 0, true
	}
	res := lim.ReserveN(now, 1)
	defer res.CancelAt(now)
	return max(res.DelayFrom(now), time.Second), false
}

// statusRecorder keeps the status for the call log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// writeJSON writes v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes Zendesk's usual error body (see assumptions.go).
func writeError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "description": description})
}

func forbidden(w http.ResponseWriter) {
	writeError(w, http.StatusForbidden, zendesk.CodeForbidden,
		"You do not have access to this page. Please contact the account owner of this help desk for further help.")
}

func notFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, zendesk.CodeNotFound, "Not found")
}

// randomHex returns n random bytes in hex: 64 characters for 32, like Zendesk's tokens.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// baseOf is the scheme and host a request reached the sandbox at, for the absolute
// URLs Zendesk puts in bodies (next_page, url).
func baseOf(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}
