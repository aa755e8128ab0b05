// Package apptest builds real dependencies for handler tests: a fresh DynamoDB Local
// table, a signing key whose public half the verifier trusts, and a secrets box.
package apptest

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
	"github.com/sellchat/sellchat/shared/domain/session"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/chatpoll"
	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
	"github.com/sellchat/sellchat/shared/handler/feed"
	"github.com/sellchat/sellchat/shared/handler/oauth"
	"github.com/sellchat/sellchat/shared/handler/panel"
	settingsapi "github.com/sellchat/sellchat/shared/handler/settings"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// Audience is the audience test tokens are minted for.
const Audience = "https://sellchat.test"

var (
	keyOnce           sync.Once
	trustedKey, rogue *rsa.PrivateKey
)

// keys are generated once per test binary: RSA generation is slow and the keys are
// not what the tests are about.
func keys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	keyOnce.Do(func() {
		var err error
		if trustedKey, err = auth.NewKey(); err != nil {
			t.Fatal(err)
		}
		if rogue, err = auth.NewKey(); err != nil {
			t.Fatal(err)
		}
	})
	return trustedKey, rogue
}

// Env is a test's view of one deployment.
type Env struct {
	Sell *selltest.Server // the Sell sandbox the deployment talks to, seeded with the demo data
	// Zendesk is the Zendesk sandbox (subdomain acme), its apps' backend_url set to
	// this deployment, so a token it signs is one the deployment can verify once an
	// admin connected Zendesk (ConnectZendesk).
	Zendesk *zendesktest.Server
	Deps    *app.Deps
	Signer  auth.Signer // signs tokens the deployment trusts
	Rogue   auth.Signer // signs with a key the deployment does not know

	stopEngine func()
}

// Options change the deployment New builds.
type Options struct {
	// Zendesk configures the Zendesk sandbox (a clock, the export's MinAge…); its
	// BackendURL is always this deployment.
	Zendesk zendesktest.Options
	// OwnEngine puts the table on a DynamoDB Local started for this deployment
	// alone (storetest.OwnEngine), so that a benchmark's run does not inherit the
	// shared engine's history.
	OwnEngine bool
}

// New builds dependencies over a fresh table.
func New(t testing.TB) *Env {
	t.Helper()
	return NewWith(t, Options{})
}

// NewWith is New with options.
func NewWith(t testing.TB, o Options) *Env {
	t.Helper()
	key, rogueKey := keys(t)
	pub, err := auth.EncodePublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dynamoURL, stopEngine := "", func() {}
	if o.OwnEngine {
		dynamoURL, stopEngine = storetest.OwnEngine(t)
	} else {
		dynamoURL = storetest.Endpoint(t)
	}
	s := storetest.NewAt(t, dynamoURL)
	encKey := secrets.NewKey()
	rawKey, _ := secrets.ParseKey(encKey)
	box, _ := secrets.NewBox(rawKey)
	verifierKey, err := auth.ParsePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	sb := selltest.NewServer(selltest.Options{})
	t.Cleanup(sb.Close)
	cfg := app.Config{SellAPIURL: sb.URL, SellClientID: selltest.DefaultClientID, SellClientSecret: selltest.DefaultClientSecret,
		SellRedirectURL: "https://sellchat.test/oauth/callback", SellScopes: []string{"read", "write", "profile"}, TableName: s.Table(), Region: "us-east-1", JWTPublicKey: string(pub), JWTAudience: Audience, EncryptionKey: encKey, PublicBaseURL: "https://sellchat.test",
		DynamoDBEndpoint: dynamoURL}
	zdOpts := o.Zendesk
	zdOpts.BackendURL = cfg.PublicBaseURL
	zd := zendesktest.NewServer(t, zdOpts)
	cfg.ZendeskAPIURL, cfg.ZendeskClientID, cfg.ZendeskClientSecret = zd.URL, zendesktest.DefaultSupportClientID, zendesktest.DefaultSupportClientSecret
	cfg.ZendeskRedirectURL = cfg.SellRedirectURL
	// The sandbox stands in for www.zopim.com (Chat OAuth) and the account's Chat API.
	cfg.ChatOAuthURL, cfg.ChatAPIURL, cfg.ChatClientID, cfg.ChatClientSecret = zd.URL, zd.URL, zendesktest.DefaultChatClientID, zendesktest.DefaultChatClientSecret
	cfg.ChatRedirectURL = cfg.SellRedirectURL
	priv, err := auth.EncodePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SessionSigningKey = string(priv)
	vault := tokens.NewVault(s, box, cfg.SellOAuth(), sb.URL)
	vault.Zendesk = tokens.ZendeskApp{ClientID: cfg.ZendeskClientID, ClientSecret: cfg.ZendeskClientSecret, RedirectURL: cfg.ZendeskRedirectURL, BaseURL: zd.URL}
	vault.Chat = cfg.ChatApp()
	vault.Limiters = sell.NewLimiters(10, 5)
	vault.Cache = sell.NewCache(time.Minute, nil)
	deps := &app.Deps{
		Config:   cfg,
		Store:    s,
		Verifier: auth.NewVerifier(verifierKey, Audience, nil),
		Box:      box,
		Vault:    vault,
		Logger:   slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Sessions: &session.Exchanger{Store: s, Vault: vault, Signer: auth.Signer{Key: key, Audience: Audience}},
	}
	return &Env{
		Sell:    sb,
		Zendesk: zd,
		Deps:    deps,
		Signer:  auth.Signer{Key: key, Audience: Audience},
		Rogue:   auth.Signer{Key: rogueKey, Audience: Audience},

		stopEngine: stopEngine,
	}
}

// StopEngine stops the deployment's DynamoDB Local of its own (Options.OwnEngine)
// before the test ends, so that a benchmark's next run does not share the machine
// with it; nothing for the shared engine.
func (e *Env) StopEngine() { e.stopEngine() }

// The handlers' dependencies, built from the deployment as each function's main
// builds them. (The leads package's tests build their own: its in-package tests
// import this package.)

// AdminDeps are the settings function's dependencies.
func (e *Env) AdminDeps() settingsapi.Deps {
	d := e.Deps
	return settingsapi.Deps{Store: d.Store, Vault: d.Vault, Box: d.Box, Verifier: d.Verifier, Logger: d.Logger, PublicBaseURL: d.Config.PublicBaseURL, Entry: d.Entry()}
}

// ConnectDeps are the oauth function's dependencies.
func (e *Env) ConnectDeps() oauth.Deps {
	d := e.Deps
	return oauth.Deps{Store: d.Store, Vault: d.Vault, Verifier: d.Verifier, Logger: d.Logger, SellAPIURL: d.Config.SellAPIURL, Sessions: d.Sessions, PublicBaseURL: d.Config.PublicBaseURL, Box: d.Box}
}

// PanelDeps are the panel function's dependencies.
func (e *Env) PanelDeps() panel.Deps {
	return panel.Deps{Gate: e.Deps.Gate(), Verifier: e.Deps.Verifier, Logger: e.Deps.Logger, Entry: e.Deps.Entry(), Zendesk: e.Deps.Vault.ZendeskClient}
}

// FeedDeps are the feed function's dependencies.
func (e *Env) FeedDeps() feed.Deps {
	return feed.Deps{Store: e.Deps.Store, Verifier: e.Deps.Verifier, Logger: e.Deps.Logger, Entry: e.Deps.Entry()}
}

// IngestDeps are the chatwebhook function's dependencies.
func (e *Env) IngestDeps() chatwebhook.Deps {
	return chatwebhook.Deps{Store: e.Deps.Store, Box: e.Deps.Box, Vault: e.Deps.Vault, Accounts: e.Deps.Config.Accounts, Logger: e.Deps.Logger}
}

// TranscriptsDeps are the transcripts function's dependencies.
func (e *Env) TranscriptsDeps() transcripts.Deps {
	return transcripts.Deps{Store: e.Deps.Store, Vault: e.Deps.Vault, Box: e.Deps.Box, Logger: e.Deps.Logger}
}

// PollDeps are the chatpoll function's dependencies.
func (e *Env) PollDeps() chatpoll.Deps {
	return chatpoll.Deps{Store: e.Deps.Store, Vault: e.Deps.Vault, Box: e.Deps.Box, Logger: e.Deps.Logger}
}

// Environ returns the deployment's configuration as the environment variables a
// function binary reads.
func (e *Env) Environ() []string {
	c := e.Deps.Config
	return []string{
		"TABLE_NAME=" + c.TableName, "DYNAMODB_ENDPOINT=" + c.DynamoDBEndpoint,
		"JWT_PUBLIC_KEY=" + c.JWTPublicKey, "JWT_AUDIENCE=" + c.JWTAudience,
		"ENCRYPTION_KEY=" + c.EncryptionKey, "PUBLIC_BASE_URL=" + c.PublicBaseURL,
		"SELL_API_URL=" + c.SellAPIURL, "SELL_CLIENT_ID=" + c.SellClientID, "SELL_CLIENT_SECRET=" + c.SellClientSecret,
		"SESSION_SIGNING_KEY=" + c.SessionSigningKey, "ZENDESK_API_URL=" + c.ZendeskAPIURL,
		"ZENDESK_CLIENT_ID=" + c.ZendeskClientID, "ZENDESK_CLIENT_SECRET=" + c.ZendeskClientSecret,
		"CHAT_CLIENT_ID=" + c.ChatClientID, "CHAT_CLIENT_SECRET=" + c.ChatClientSecret,
		"CHAT_OAUTH_URL=" + c.ChatOAuthURL, "CHAT_API_URL=" + c.ChatAPIURL,
	}
}

// Token signs a token for a user of account with role.
func (e *Env) Token(t testing.TB, account string, role auth.Role) string {
	t.Helper()
	tok, err := e.Signer.Sign(auth.Identity{Account: account, UserID: "u-" + string(role), Email: string(role) + "@" + account + ".test", Name: "Test " + string(role), Role: role})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Sign signs a token for id, as the Zendesk apps framework would hand it over.
func (e *Env) Sign(t testing.TB, id auth.Identity) string {
	t.Helper()
	return SignWith(t, e.Signer, id)
}

// SignWith is Sign for a deployment not built by New (see ConnectSandbox): signer is
// the one the deployment trusts.
func SignWith(t testing.TB, signer auth.Signer, id auth.Identity) string {
	t.Helper()
	tok, err := signer.Sign(id)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// AgentToken signs a token for the agent who is Zendesk user zendeskUserID of
// account, with email (empty for an agent whose identity carries none).
func (e *Env) AgentToken(t testing.TB, account, zendeskUserID, email string) string {
	t.Helper()
	return e.Sign(t, auth.Identity{Account: account, UserID: zendeskUserID, Email: email, Name: "Agent " + zendeskUserID, Role: auth.RoleAgent})
}

// ExpiredToken signs a token that expired an hour ago.
func (e *Env) ExpiredToken(t testing.TB, account string, role auth.Role) string {
	t.Helper()
	s := e.Signer
	s.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	tok, err := s.Sign(auth.Identity{Account: account, UserID: "u-old", Role: role})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// RogueToken signs an otherwise valid token with an unknown key.
func (e *Env) RogueToken(t testing.TB, account string, role auth.Role) string {
	t.Helper()
	tok, err := e.Rogue.Sign(auth.Identity{Account: account, UserID: "u-rogue", Role: role})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Request describes one call.
type Request struct {
	Method, Path, Token string
	Body                any // string, []byte or a value to marshal
	Header              map[string]string
}

// Response is a recorded answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// ErrorCode returns error.code of a JSON error body ("" if it is not one).
func (r Response) ErrorCode() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// Do serves req with h.
func Do(t testing.TB, h http.Handler, req Request) Response {
	t.Helper()
	var body io.Reader
	switch b := req.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	r := httptest.NewRequest(req.Method, req.Path, body)
	if req.Token != "" {
		r.Header.Set("Authorization", "Bearer "+req.Token)
	}
	for k, v := range req.Header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return Response{Status: w.Code, Header: w.Header(), Body: w.Body.Bytes()}
}

// Connect makes account look installed: the sandbox admin's token stored as the
// admin token, Sell marked connected with the admin as superior manager, and the
// Sell app in Chat and Chat app in Sell enabled (as install leaves them).
func (e *Env) Connect(t testing.TB, account string) {
	t.Helper()
	ConnectSandbox(t, e.Sell.Sandbox, e.Deps, account)
}

// ConnectSandbox is Connect for a deployment not built by New (the local stack's):
// deps stand for the deployment, sb for the Sell it talks to.
func ConnectSandbox(t testing.TB, sb *selltest.Sandbox, deps *app.Deps, account string) {
	t.Helper()
	ctx := context.Background()
	admin, ok := sb.User(selltest.DemoAdminEmail)
	if !ok {
		t.Fatal("the sandbox has no demo admin")
	}
	tok := sb.TokenFor(selltest.DemoAdminEmail)
	if err := deps.Vault.Save(ctx, account, tokens.Admin(), tok, tokens.SellUser{ID: admin.ID, Name: admin.Name, Email: admin.Email}); err != nil {
		t.Fatal(err)
	}
	_, err := deps.Store.UpdateIntegration(ctx, account, func(in *settings.Integration) error {
		in.SellConnected, in.Installed = true, true
		in.SuperiorManager = &settings.SellUser{ID: admin.ID, Name: admin.Name}
		if in.Elements == nil {
			in.Elements = map[settings.Element]settings.ElementState{}
		}
		in.Elements[settings.ChatAppInSell] = settings.ElementState{Enabled: true}
		in.Elements[settings.SellAppInChat] = settings.ElementState{Enabled: true}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ConnectChat connects account's Chat API as an admin's Chat OAuth would: a Chat
// token of the Zendesk sandbox's owner (Ada, a Chat admin) in the vault, and Chat
// marked connected.
func (e *Env) ConnectChat(t testing.TB, account string) {
	t.Helper()
	ConnectSandboxChat(t, e.Zendesk.Sandbox, e.Deps, account)
}

// ConnectSandboxChat is ConnectChat for a deployment not built by New (see
// ConnectSandbox): zd is the Zendesk it talks to.
func ConnectSandboxChat(t testing.TB, zd *zendesktest.Sandbox, deps *app.Deps, account string) {
	t.Helper()
	ctx := context.Background()
	tok := zd.ChatToken(zendesktest.DemoAdaID, "read", "chat")
	if err := deps.Vault.SaveChat(ctx, account, tok, "1", "Ada Admin", zendesktest.DemoAdaEmail); err != nil {
		t.Fatal(err)
	}
	if _, err := deps.Store.UpdateIntegration(ctx, account, func(in *settings.Integration) error {
		in.Chat = settings.ChatLink{Connected: true, ConnectedBy: "1", ConnectedAt: time.Now().UTC()}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// ConnectZendesk connects account's Zendesk as an admin's Support OAuth would: a
// Support token of the Zendesk sandbox's owner (Ada, an admin) in the vault, and
// Zendesk marked connected.
func (e *Env) ConnectZendesk(t testing.TB, account string) {
	t.Helper()
	ctx := context.Background()
	tok := e.Zendesk.SupportToken(zendesktest.DemoAdaID, "read", "write")
	if err := e.Deps.Vault.SaveZendesk(ctx, account, tok, strconv.FormatInt(zendesktest.DemoAdaID, 10), "Ada Admin", zendesktest.DemoAdaEmail); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Deps.Store.UpdateIntegration(ctx, account, func(in *settings.Integration) error {
		in.Zendesk.Connected, in.Zendesk.ConnectedBy, in.Zendesk.ConnectedAt = true, strconv.FormatInt(zendesktest.DemoAdaID, 10), time.Now().UTC()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// ConnectNotifications stores, sealed, the secret of account's Support webhook as
// POST /integration/zendesk/notifications does once it created the webhook and its
// trigger (ids made up: the Zendesk sandbox is not asked), so deliveries signed with
// secret open POST /webhooks/zendesk/{account}.
func (e *Env) ConnectNotifications(t testing.TB, account, secret string) {
	t.Helper()
	sealed := e.Deps.Box.Seal([]byte(secret), secrets.AAD(account, settings.NotificationsSecretKind))
	if _, err := e.Deps.Store.UpdateIntegration(context.Background(), account, func(in *settings.Integration) error {
		in.Zendesk.Notifications = settings.ZendeskNotifications{WebhookID: "01TEST", TriggerID: 9, Secret: sealed}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// ConnectForAllAgents connects account (see Connect) and lets every agent in through
// the admin's Sell token, so no agent has to sign in to Sell first.
func (e *Env) ConnectForAllAgents(t testing.TB, account string) {
	t.Helper()
	e.Connect(t, account)
	e.SetSettings(t, account, func(s *settings.Settings) { s.Access = settings.AccessAllAgents })
}

// SignInAgent stores a Sell token for Zendesk user zendeskUserID acting as the
// sandbox user with sellEmail, as agent sign-in does.
func (e *Env) SignInAgent(t testing.TB, account, zendeskUserID, sellEmail string) {
	t.Helper()
	SignInSandboxAgent(t, e.Sell.Sandbox, e.Deps, account, zendeskUserID, sellEmail)
}

// SignInSandboxAgent is SignInAgent for a deployment not built by New (see
// ConnectSandbox).
func SignInSandboxAgent(t testing.TB, sb *selltest.Sandbox, deps *app.Deps, account, zendeskUserID, sellEmail string) {
	t.Helper()
	u, ok := sb.User(sellEmail)
	if !ok {
		t.Fatalf("the sandbox has no user %s", sellEmail)
	}
	if err := deps.Vault.Save(context.Background(), account, tokens.Agent(zendeskUserID), sb.TokenFor(sellEmail), tokens.SellUser{ID: u.ID, Name: u.Name, Email: u.Email}); err != nil {
		t.Fatal(err)
	}
}

// ZendeskAuthorization starts "Sign in with Zendesk" for account at the oauth
// handler oa, checks that the authorize URL asks for PKCE (S256), and has the Zendesk
// sandbox approve it as its current approver; it returns the query Zendesk sends
// back to the callback. Tests that connect Zendesk the real way share this round trip.
func (e *Env) ZendeskAuthorization(t testing.TB, oa http.Handler, account string) url.Values {
	t.Helper()
	res := Do(t, oa, Request{Method: "GET", Path: "/oauth/start?account=" + url.QueryEscape(account) + "&purpose=zendesk",
		Header: map[string]string{"Accept": "application/json"}})
	if res.Status != http.StatusOK {
		t.Fatalf("start sign-in with Zendesk: %d %s", res.Status, res.Body)
	}
	var start struct{ AuthorizeURL string }
	res.JSON(t, &start)
	if !strings.Contains(start.AuthorizeURL, "code_challenge=") || !strings.Contains(start.AuthorizeURL, "code_challenge_method=S256") {
		t.Fatalf("authorize URL without PKCE: %s", start.AuthorizeURL)
	}
	return e.Zendesk.Authorize(t, start.AuthorizeURL)
}

// SignInWithZendesk runs the whole "Sign in with Zendesk" for account through the
// oauth handler oa (see ZendeskAuthorization) and returns the callback's answer: a
// 303 carrying a session when the approver is a Zendesk admin.
func (e *Env) SignInWithZendesk(t testing.TB, oa http.Handler, account string) Response {
	t.Helper()
	back := e.ZendeskAuthorization(t, oa, account)
	return Do(t, oa, Request{Method: "GET", Path: "/oauth/callback?" + back.Encode()})
}

// AdminClient is a Sell client with account's stored admin token, as the handlers
// build one: a benchmark's direct Sell calls go through it.
func (e *Env) AdminClient(t testing.TB, account string) *sell.Client {
	t.Helper()
	c, _, err := e.Deps.Vault.Client(context.Background(), account, tokens.Admin())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// SetSettings changes account's settings as an admin's save would: it reads them
// (the defaults before the first save), lets change edit them and saves them at the
// version read.
func (e *Env) SetSettings(t testing.TB, account string, change func(*settings.Settings)) {
	t.Helper()
	storetest.ChangeSettings(t, e.Deps.Store, account, change)
}

// SetHistory switches chat history in Sell on or off for account, as the admin's
// switch does (without the install check: tests set up what they need).
func (e *Env) SetHistory(t testing.TB, account string, on bool) {
	t.Helper()
	if _, err := e.Deps.Store.UpdateIntegration(context.Background(), account, func(in *settings.Integration) error {
		if in.Elements == nil {
			in.Elements = map[settings.Element]settings.ElementState{}
		}
		in.Elements[settings.ChatHistoryInSell] = settings.ElementState{Enabled: on}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// Install marks account as having passed the install checks, switching no element
// on (unlike a first install, and unlike Connect).
func (e *Env) Install(t testing.TB, account string) {
	t.Helper()
	if _, err := e.Deps.Store.UpdateIntegration(context.Background(), account, func(in *settings.Integration) error {
		in.Installed = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// Benchmarks of handlers time one request at a time and report percentiles in
// milliseconds, beside a baseline of direct Sell calls where the handler calls Sell.

// SellPace is how far apart benchmarks space whatever calls Sell: Sell allows a
// token 10 requests a second and the client keeps to that, so calls paced below it
// measure latency, not the limiter.
const SellPace = 500 * time.Millisecond

// PacedMedian makes n calls of f (given 0 to n-1), pace apart, and returns the
// median time a call took.
func PacedMedian(t testing.TB, n int, pace time.Duration, f func(i int) error) time.Duration {
	t.Helper()
	took := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		time.Sleep(pace)
		start := time.Now()
		if err := f(i); err != nil {
			t.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	return Median(took)
}

// TimeRequests serves b.N requests with h, one after another, fails the benchmark
// on any answer but want, and returns how long each took. It resets the timer first
// and stops it at the end; next makes each request with the timer stopped, so a
// benchmark can pace its requests there.
func TimeRequests(b *testing.B, h http.Handler, want int, next func() Request) []time.Duration {
	b.Helper()
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		req := next()
		b.StartTimer()
		start := time.Now()
		if res := Do(b, h, req); res.Status != want {
			b.Fatalf("%d %s", res.Status, res.Body)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	return took
}

// Median is the middle duration of d (the upper middle of an even count).
func Median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// Percentile is the nearest-rank p-th percentile of d: with fewer than 100 samples
// the 99th is the slowest one, which is what a p99 of a short run can honestly say.
func Percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	rank := (len(s)*p + 99) / 100 // ceil(len·p/100), 1-based
	return s[max(rank, 1)-1]
}

// Millis is d in milliseconds, as benchmarks report their latencies.
func Millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// WebhookAcks tallies the chat webhook's answers to deliveries made at once: how
// many chats it stored and how many it already had. Count may be called from many
// goroutines; any answer but 202 fails the test.
type WebhookAcks struct {
	mu                 sync.Mutex
	Stored, Duplicates int
}

// Count tallies one answer.
func (a *WebhookAcks) Count(t testing.TB, res Response) {
	t.Helper()
	var ack struct{ Duplicate bool }
	_ = json.Unmarshal(res.Body, &ack)
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case res.Status != http.StatusAccepted:
		t.Errorf("webhook answered %d %s", res.Status, res.Body)
	case ack.Duplicate:
		a.Duplicates++
	default:
		a.Stored++
	}
}
