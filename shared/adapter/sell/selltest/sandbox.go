// Package selltest is an in-process Zendesk Sell sandbox, the way
// net/http/httptest sits next to net/http: it speaks Sell's paths, envelopes,
// filters, pagination, errors, OAuth2 and rate limits so that the sell client
// and everything built on it can be tested, benchmarked and demoed without the
// real API.
//
// Tests start one with NewServer and call the helpers on it (TokenFor,
// AddLead, FailNext, SetFaults, Calls…). A program that wants the sandbox on a
// listener of its own (the local gateway, infra/cmd/sellsandbox) builds the
// handler with New and serves it:
//
//	sb := selltest.New(selltest.Options{Seed: selltest.DemoSeed()})
//	defer sb.Close()
//	srv := &http.Server{Handler: sb}
//	go srv.Serve(ln)
//
// A sandbox lives in memory unless Options.StateFile names a file to keep its
// state in; the local stack does that, so a restart keeps its Sell data.
//
// Behaviour the reference notes leave open follows the same assumptions as the
// client (shared/adapter/sell/internal/wire/assumptions.go); docs/sell-sandbox.md
// describes the whole sandbox and its demo data.
package selltest

import (
	"crypto/rand"
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
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/internal/wire"
)

// Options configure a Sandbox. The zero value is a sandbox seeded with
// DemoSeed, Sell's documented limits and an OAuth client
// DefaultClientID/DefaultClientSecret.
type Options struct {
	// Seed is the initial data; DemoSeed() when nil. Pass &Seed{} for none.
	Seed *Seed
	// ClientID and ClientSecret of the one OAuth app the sandbox knows.
	ClientID, ClientSecret string
	// TokenLifetime of access tokens; one hour (Sell's) when zero.
	TokenLifetime time.Duration
	// KeepRefreshTokens turns off refresh-token rotation. By default every
	// refresh returns a new refresh token and invalidates the old one.
	KeepRefreshTokens bool
	// RateLimit is requests per second per token: 10 (Sell's) when zero,
	// unlimited when negative. RateBurst defaults to the rate.
	RateLimit float64
	RateBurst int
	// RetryAfter is sent with 429s: one second when zero, omitted when
	// negative (Sell does not promise the header).
	RetryAfter time.Duration
	// DisableSearchAPI makes /v3/*/search answer like a plan without the
	// Search API.
	DisableSearchAPI bool
	// Region reads phone numbers without a country code in v3 phone search.
	Region string
	// Now is the clock for tokens, rate limits and timestamps.
	Now func() time.Time
	// StateFile, when set, keeps the sandbox's state in that JSON file so that
	// it survives a restart, as a real Sell account would: records, users,
	// pools, and the OAuth codes and tokens it issued. Open (or New) loads the
	// file in place of Seed when it exists; every change (an API write, an OAuth
	// exchange, a helper such as AddLead) is written back atomically at once,
	// and again on Close. Empty, the default for tests, keeps everything in
	// memory. The local stack (make run) sets it to .local/sell-sandbox.json.
	StateFile string
}

// Default OAuth client credentials of the sandbox.
const (
	DefaultClientID     = "sellchat-sandbox"
	DefaultClientSecret = "sellchat-sandbox-secret"
)

// Faults make the sandbox misbehave on API calls (not on /oauth2). Rates are
// fractions in [0,1].
type Faults struct {
	// Latency is added to every API call, e.g. 40 ms to model a WAN hop.
	Latency time.Duration
	// ErrorRate answers that fraction of calls with ErrorStatus (500 when 0).
	ErrorRate   float64
	ErrorStatus int
	// HangRate makes that fraction of calls hang until the client gives up,
	// the sandbox is closed, or MaxHang (30 s when zero) passes, then 504.
	HangRate float64
	MaxHang  time.Duration
}

// Sandbox is the Sell simulator as an http.Handler. Its methods are safe for
// concurrent use with requests in flight.
type Sandbox struct {
	opts   Options
	mux    *http.ServeMux
	file   *sandbox.StateFile
	faults sandbox.Injector[Faults]
	calls  sandbox.CallLog // API calls, on arrival

	mu        sync.Mutex
	nextID    int64
	account   sell.Account
	users     map[int64]*sell.User
	leads     map[int64]*sell.Lead
	contacts  map[int64]*sell.Contact
	deals     map[int64]*sell.Deal
	notes     map[int64]*sell.Note
	sources   map[int64]*sell.LeadSource
	statuses  []sell.LeadStatus
	fields    map[string][]sell.CustomField
	pools     map[int64]*pool
	visible   map[visKey]bool
	codes     map[string]*sandbox.Code
	access    map[string]*sandbox.AccessToken
	refresh   map[string]*sandbox.Grant
	limiters  map[string]*rate.Limiter
	grants    map[string]int
	deny      bool
	searchOff bool
}

type pool struct {
	members []int64
	next    int
}

type visKey struct {
	user     int64
	resource string
	id       int64
}

// New returns a sandbox handler. Call Close when done so that hanging
// requests (see Faults) are released. With Options.StateFile set it panics
// when the file cannot be read or created; Open reports that as an error.
func New(opts Options) *Sandbox { return sandbox.Must("selltest", Open, opts) }

// newSandbox applies the defaults of opts and returns an empty sandbox, ready
// to be loaded from a seed or a saved state.
func newSandbox(opts Options) *Sandbox {
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = wire.TokenLifetimeSeconds * time.Second
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = wire.RateLimitPerSecond
	}
	if opts.RateBurst <= 0 {
		opts.RateBurst = max(1, int(math.Ceil(opts.RateLimit)))
	}
	if opts.RetryAfter == 0 {
		opts.RetryAfter = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Seed == nil {
		opts.Seed = DemoSeed()
	}
	s := &Sandbox{
		opts:      opts,
		nextID:    100001,
		users:     map[int64]*sell.User{},
		leads:     map[int64]*sell.Lead{},
		contacts:  map[int64]*sell.Contact{},
		deals:     map[int64]*sell.Deal{},
		notes:     map[int64]*sell.Note{},
		sources:   map[int64]*sell.LeadSource{},
		fields:    map[string][]sell.CustomField{},
		pools:     map[int64]*pool{},
		visible:   map[visKey]bool{},
		codes:     map[string]*sandbox.Code{},
		access:    map[string]*sandbox.AccessToken{},
		refresh:   map[string]*sandbox.Grant{},
		limiters:  map[string]*rate.Limiter{},
		grants:    map[string]int{},
		searchOff: opts.DisableSearchAPI,
	}
	s.file = sandbox.NewStateFile(opts.StateFile, "Sell sandbox", &s.mu, func() any { return s.snapshotLocked() })
	s.routes()
	return s
}

// Close releases requests held by a hang fault and, with Options.StateFile,
// saves the state a last time. The handler keeps working (and saving).
func (s *Sandbox) Close() {
	s.faults.Close()
	s.changed()
}

func (s *Sandbox) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /oauth2/authorize", s.authorize)
	m.HandleFunc("POST /oauth2/token", s.tokenEndpoint)
	m.HandleFunc("GET /v2/users/self", s.getSelf)
	m.HandleFunc("GET /v2/users", s.listUsers)
	m.HandleFunc("GET /v2/users/{id}", s.getUser)
	m.HandleFunc("GET /v2/accounts/self", s.getAccount)
	m.HandleFunc("GET /v2/leads", s.listLeads)
	m.HandleFunc("POST /v2/leads", s.createLead)
	m.HandleFunc("GET /v2/leads/{id}", s.getLead)
	m.HandleFunc("GET /v2/contacts", s.listContacts)
	m.HandleFunc("GET /v2/contacts/{id}", s.getContact)
	m.HandleFunc("GET /v2/deals", s.listDeals)
	m.HandleFunc("GET /v2/deals/{id}", s.getDeal)
	m.HandleFunc("GET /v2/lead_sources", s.listSources)
	m.HandleFunc("POST /v2/lead_sources", s.createSource)
	m.HandleFunc("GET /v2/lead_sources/{id}", s.getSource)
	m.HandleFunc("GET /v2/lead_statuses", s.listStatuses)
	for _, rt := range []string{sell.ResourceLead, sell.ResourceContact, sell.ResourceDeal} {
		m.HandleFunc("GET /v2/"+rt+"/custom_fields", s.listCustomFields(rt))
	}
	m.HandleFunc("GET /v2/notes", s.listNotes)
	m.HandleFunc("POST /v2/notes", s.createNote)
	m.HandleFunc("GET /v2/notes/{id}", s.getNote)
	m.HandleFunc("PUT /v2/notes/{id}", s.updateNote)
	m.HandleFunc("DELETE /v2/notes/{id}", s.deleteNote)
	for _, res := range []string{"leads", "contacts", "deals"} {
		m.HandleFunc("POST /v3/"+res+"/search", s.search(res))
	}
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "Not Found", "Requested path was not found.")
	})
	s.mux = m
}

// ServeHTTP answers like Sell. API calls pass, in order: call counting,
// faults, the User-Agent check, authentication, rate limiting and the scope
// check; OAuth endpoints skip all of them.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Request-Id", newRequestID())
	if strings.HasPrefix(r.URL.Path, "/oauth2/") {
		// authorize issues a code, the token endpoint tokens: both change state.
		s.mux.ServeHTTP(w, r)
		s.changed()
		return
	}
	// Logged on arrival, so that a call a fault holds counts while it hangs.
	s.calls.Add(sandbox.Call{Method: r.Method, Path: r.URL.Path})
	if !s.applyFaults(w, r) {
		return
	}
	if r.UserAgent() == "" {
		writeError(w, http.StatusBadRequest, wire.CodeInvalidUserAgent, "invalid user agent",
			"The request must include a User-Agent header identifying the client.")
		return
	}
	c, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, "unauthorized", "Unauthorized",
			"Required access token is missing, malformed, expired, or invalid.")
		return
	}
	if !s.allow(c.token) {
		if s.opts.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(s.opts.RetryAfter.Seconds()))))
		}
		writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "Too Many Requests",
			"The rate limit of the access token has been exceeded.")
		return
	}
	if need := scopeFor(r); !c.scopes[need] {
		writeError(w, http.StatusForbidden, "insufficient_scope", "Forbidden",
			"The access token lacks the '"+need+"' scope.")
		return
	}
	s.mux.ServeHTTP(w, r.WithContext(withCaller(r.Context(), c)))
	// Reads change nothing worth keeping (v3 search is a POST that only reads);
	// any other call may have changed the state.
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !strings.HasPrefix(r.URL.Path, "/v3/") {
		s.changed()
	}
}

func scopeFor(r *http.Request) string {
	switch {
	case r.Method != http.MethodGet && !strings.HasPrefix(r.URL.Path, "/v3/"):
		return "write"
	case strings.HasPrefix(r.URL.Path, "/v2/users"), strings.HasPrefix(r.URL.Path, "/v2/accounts"):
		return "profile"
	default:
		return "read"
	}
}

// applyFaults runs the configured faults; false means the response is done.
func (s *Sandbox) applyFaults(w http.ResponseWriter, r *http.Request) bool {
	f, forced := s.faults.Next()
	errRoll, hangRoll := s.faults.Roll(), s.faults.Roll()

	if f.Latency > 0 && !s.faults.Hold(r, f.Latency) {
		return false
	}
	if f.HangRate > 0 && hangRoll < f.HangRate {
		hang := f.MaxHang
		if hang <= 0 {
			hang = 30 * time.Second
		}
		s.faults.Hold(r, hang)
		writeStatus(w, http.StatusGatewayTimeout)
		return false
	}
	if forced == 0 && f.ErrorRate > 0 && errRoll < f.ErrorRate {
		forced = f.ErrorStatus
		if forced == 0 {
			forced = http.StatusInternalServerError
		}
	}
	if forced != 0 {
		if forced == http.StatusTooManyRequests && s.opts.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(s.opts.RetryAfter.Seconds()))))
		}
		writeStatus(w, forced)
		return false
	}
	return true
}

// writeStatus answers a forced status with the code Sell uses for it.
func writeStatus(w http.ResponseWriter, status int) {
	code := map[int]string{
		400: "invalid_param", 401: "unauthorized", 403: "forbidden", 404: "not_found",
		422: "incorrect_value", 429: "rate_limit_exceeded", 503: "temporarily_unavailable",
	}[status]
	if code == "" {
		code = "server_error"
	}
	writeError(w, status, code, http.StatusText(status), "Injected by the sandbox.")
}

func (s *Sandbox) allow(token string) bool {
	if s.opts.RateLimit < 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lim, ok := s.limiters[token]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(s.opts.RateLimit), s.opts.RateBurst)
		s.limiters[token] = lim
	}
	return lim.AllowN(s.opts.Now(), 1)
}

func newRequestID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:5] + "-" + h[5:10] + "-" + h[10:15] + "-" + h[15:20]
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b) // 64 characters, like Sell's tokens
}

// writeJSON writes v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeOne(w http.ResponseWriter, status int, typ string, v any) {
	data, _ := json.Marshal(v)
	writeJSON(w, status, wire.Envelope{Data: data, Meta: &wire.Meta{Type: typ}})
}

// fieldError is one entry of a 422.
type fieldError struct {
	resource, field, code, message, details string
}

func writeError(w http.ResponseWriter, status int, code, message, details string) {
	writeErrors(w, status, fieldError{code: code, message: message, details: details})
}

func writeErrors(w http.ResponseWriter, status int, errs ...fieldError) {
	body := wire.ErrorBody{Meta: wire.ErrorMeta{
		Type: "errors", HTTPStatus: wire.HTTPStatusText(status),
		Logref: w.Header().Get("X-Request-Id"), Links: map[string]string{"more_info": wire.MoreInfoURL},
	}}
	for _, e := range errs {
		body.Errors = append(body.Errors, wire.ErrorItem{
			Error: wire.ErrorDetail{Resource: e.resource, Field: e.field, Code: e.code, Message: e.message, Details: e.details},
			Meta:  wire.ErrorMeta{Type: "error", Links: map[string]string{"more_info": wire.MoreInfoURL}},
		})
	}
	w.Header().Set("Content-Language", "en")
	writeJSON(w, status, body)
}

func invalid(resource, field, code, details string) fieldError {
	msg := map[string]string{
		"unknown": "unknown attribute", "missing": "attribute is missing",
		"blank": "attribute can't be blank", "invalid_type": "attribute type is invalid",
		"incorrect_value": "attribute value is incorrect", wire.CodeAlreadyExists: "attribute value already exists",
	}[code]
	return fieldError{resource: resource, field: field, code: code, message: msg, details: details}
}

func writeInvalidParam(w http.ResponseWriter, details string) {
	writeError(w, http.StatusBadRequest, "invalid_param", "invalid request query parameter", details)
}
