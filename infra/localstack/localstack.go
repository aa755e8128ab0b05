// Package localstack runs the whole product on one machine for `make run`: DynamoDB
// Local and the Sell sandbox, both keeping their state under .local/ so that a restart
// keeps the whole stack's state, every function behind one gateway, and local keys
// standing in for the Zendesk apps framework's and the deployment's secrets.
package localstack

import (
	"cmp"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sellchat/sellchat/infra/dynamolocal"
	"github.com/sellchat/sellchat/infra/gateway"
	"github.com/sellchat/sellchat/infra/streams"
	"github.com/sellchat/sellchat/infra/template"
	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
	"github.com/sellchat/sellchat/shared/handler/chatpoll"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// Options place the stack. Zero ports pick free ones (tests); `make run` uses the
// documented defaults through FromEnv.
type Options struct {
	Dir         string // state: DynamoDB data, the Sell sandbox's state, keys (default .local)
	Port        int    // gateway
	SellPort    int    // Sell sandbox
	ZendeskPort int    // Zendesk sandbox
	// ZendeskMinAge is the Zendesk sandbox's minimum start_time age for the chat
	// export (ZENDESK_SANDBOX_MIN_AGE; Zendesk's real 5 minutes when zero).
	ZendeskMinAge time.Duration
	// ChatPollInterval is how often the chat poll runs (CHAT_POLL_INTERVAL, default
	// 10s; every minute in AWS), so a chat added to the sandbox shows up quickly.
	ChatPollInterval time.Duration
	DynamoDBPort     int
	DynamoDB         string // an already running DynamoDB endpoint to use instead of starting one
	InMemory         bool   // keep DynamoDB's data and the Sell sandbox's state in memory (tests)
	Log              io.Writer
}

// OptionsFromEnv reads PORT, SELL_SANDBOX_PORT, ZENDESK_SANDBOX_PORT,
// ZENDESK_SANDBOX_MIN_AGE, CHAT_POLL_INTERVAL, DYNAMODB_PORT and SELLCHAT_LOCAL_DIR
// with the documented defaults.
func OptionsFromEnv() (Options, error) {
	o := Options{Dir: envOr("SELLCHAT_LOCAL_DIR", ".local"), Log: os.Stderr}
	var err error
	if o.Port, err = port("PORT", 8080); err != nil {
		return o, err
	}
	if o.DynamoDBPort, err = port("DYNAMODB_PORT", 8000); err != nil {
		return o, err
	}
	if o.SellPort, err = port("SELL_SANDBOX_PORT", 8081); err != nil {
		return o, err
	}
	if o.ZendeskPort, err = port("ZENDESK_SANDBOX_PORT", 8082); err != nil {
		return o, err
	}
	if v := os.Getenv("ZENDESK_SANDBOX_MIN_AGE"); v != "" {
		if o.ZendeskMinAge, err = time.ParseDuration(v); err != nil || o.ZendeskMinAge < 0 {
			return o, fmt.Errorf("ZENDESK_SANDBOX_MIN_AGE: %q is not a duration like 5m", v)
		}
	}
	if v := os.Getenv("CHAT_POLL_INTERVAL"); v != "" {
		if o.ChatPollInterval, err = time.ParseDuration(v); err != nil || o.ChatPollInterval <= 0 {
			return o, fmt.Errorf("CHAT_POLL_INTERVAL: %q is not a positive duration like 10s", v)
		}
	}
	return o, nil
}

// Stack is a running local stack.
type Stack struct {
	URL     string // gateway
	SellURL string // Sell sandbox
	Sell    *selltest.Sandbox
	// ZendeskURL is the Zendesk sandbox (subdomain acme), standing in for
	// https://acme.zendesk.com.
	ZendeskURL string
	Zendesk    *zendesktest.Sandbox
	DynamoDB   string
	Deps       *app.Deps
	Signer     auth.Signer
	ddb        *dynamolocal.Process
	server     *http.Server
	sellSrv    *http.Server
	zendeskSrv *http.Server
	served     chan error
	// the stream poller feeding the transcripts handler, as Lambda does in AWS
	stopStreams func()
	// the chat poll on its interval, as EventBridge runs it in AWS
	stopChatPoll func()
}

// DefaultChatPollInterval is how often the local stack runs the chat poll.
const DefaultChatPollInterval = 10 * time.Second

// The local table's name, and the audience of /dev/token's tokens: fixed, so a token
// (like the data) survives a restart on another port.
const (
	TableName = "sellchat"
	Audience  = "sellchat-local"
)

// SellStateFile is the Sell sandbox's state under Options.Dir.
const SellStateFile = "sell-sandbox.json"

// ZendeskStateFile is where the Zendesk sandbox keeps its state (apps and their keys,
// tokens it issued, chats) under Options.Dir.
const ZendeskStateFile = "zendesk-sandbox.json"

// stateFile is where a sandbox keeps its state under Dir: nowhere (its zero
// StateFile) when the stack is in memory. Both sandboxes place their state by it.
func (o Options) stateFile(name string) string {
	if o.InMemory {
		return ""
	}
	return filepath.Join(o.Dir, name)
}

// Start brings the stack up and returns once every part answers.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("state folder %s: %w", o.Dir, err)
	}
	signingKey, err := loadOrCreateKey(filepath.Join(o.Dir, "jwt-private.pem"))
	if err != nil {
		return nil, err
	}
	encKey, err := loadOrCreateSecret(filepath.Join(o.Dir, "encryption.key"))
	if err != nil {
		return nil, err
	}
	s := &Stack{DynamoDB: o.DynamoDB}
	if s.DynamoDB == "" {
		opts := dynamolocal.Options{Port: o.DynamoDBPort, Log: io.Discard}
		if !o.InMemory {
			opts.DBPath = filepath.Join(o.Dir, "dynamodb")
		}
		if s.ddb, err = dynamolocal.Start(ctx, opts); err != nil {
			return nil, err
		}
		s.DynamoDB = s.ddb.Endpoint
	}
	if err := s.start(ctx, o, signingKey, encKey); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// start brings up what runs beside DynamoDB: the sandboxes, the functions behind
// the gateway, the stream poller and the chat poll. Start stops whatever of it
// came up when it fails.
func (s *Stack) start(ctx context.Context, o Options, signingKey *rsa.PrivateKey, encKey string) error {
	var err error
	// The Sell sandbox, seeded with the demo data the first time. It keeps its state
	// next to DynamoDB's: the table holds the Sell tokens it issued and the ids of the
	// records it holds, so forgetting one side on a restart would break the other.
	if s.Sell, err = selltest.Open(selltest.Options{Seed: selltest.DemoSeed(), StateFile: o.stateFile(SellStateFile)}); err != nil {
		return err
	}
	if s.SellURL, s.sellSrv, err = serve(o.SellPort, s.Sell, "Sell sandbox"); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", o.Port))
	if err != nil {
		return fmt.Errorf("gateway port: %w", err)
	}
	s.URL = "http://" + ln.Addr().String()

	// The Zendesk sandbox: its installed app points at this gateway (backend_url),
	// so "Sign in with Zendesk" finds it and its tokens verify here.
	zdOpts := zendesktest.Options{BackendURL: s.URL, MinAge: o.ZendeskMinAge, StateFile: o.stateFile(ZendeskStateFile)}
	if s.Zendesk, err = zendesktest.Open(zdOpts); err != nil {
		return err
	}
	if s.ZendeskURL, s.zendeskSrv, err = serve(o.ZendeskPort, s.Zendesk, "Zendesk sandbox"); err != nil {
		return err
	}
	pub, err := auth.EncodePublicKey(&signingKey.PublicKey)
	if err != nil {
		return err
	}
	privPEM, err := auth.EncodePrivateKey(signingKey)
	if err != nil {
		return err
	}
	env := map[string]string{
		"TABLE_NAME":         TableName,
		"DYNAMODB_ENDPOINT":  s.DynamoDB,
		"JWT_PUBLIC_KEY":     string(pub),
		"JWT_AUDIENCE":       Audience,
		"ENCRYPTION_KEY":     encKey,
		"PUBLIC_BASE_URL":    s.URL,
		"SELL_API_URL":       s.SellURL,
		"SELL_CLIENT_ID":     selltest.DefaultClientID,
		"SELL_CLIENT_SECRET": selltest.DefaultClientSecret,
		"LOG_LEVEL":          os.Getenv("LOG_LEVEL"),

		"SESSION_SIGNING_KEY":   string(privPEM),
		"ZENDESK_API_URL":       s.ZendeskURL,
		"ZENDESK_CLIENT_ID":     zendesktest.DefaultSupportClientID,
		"ZENDESK_CLIENT_SECRET": zendesktest.DefaultSupportClientSecret,
		// The sandbox stands in for www.zopim.com and the account's Chat API too.
		"CHAT_OAUTH_URL":     s.ZendeskURL,
		"CHAT_API_URL":       s.ZendeskURL,
		"CHAT_CLIENT_ID":     zendesktest.DefaultChatClientID,
		"CHAT_CLIENT_SECRET": zendesktest.DefaultChatClientSecret,
	}
	cfg, err := app.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		return err
	}
	if s.Deps, err = app.Build(ctx, cfg); err != nil {
		return err
	}
	s.Deps.Logger = slog.New(slog.NewJSONHandler(o.Log, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if err := s.Deps.Store.CreateTable(ctx); err != nil {
		return err
	}
	s.Signer = auth.Signer{Key: signingKey, Audience: Audience, TTL: 12 * time.Hour}
	// The Zendesk sandbox's host page frames the pages as Zendesk does (GET /sandbox/host).
	h, err := gateway.New(s.Deps, s.Signer, gateway.FramedBy(s.ZendeskURL))
	if err != nil {
		_ = ln.Close()
		return err
	}
	if s.stopStreams, err = startStreams(s.Deps); err != nil {
		_ = ln.Close()
		return err
	}
	s.server = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.served = make(chan error, 1)
	s.stopChatPoll = startChatPoll(s.Deps, o.ChatPollInterval, o.ZendeskMinAge)
	go func() { s.served <- s.server.Serve(ln) }()
	return nil
}

// serve serves h on 127.0.0.1:port (a free port when 0) until its server is shut down.
func serve(port int, h http.Handler, what string) (string, *http.Server, error) {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return "", nil, fmt.Errorf("%s port: %w", what, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), srv, nil
}

// Stop shuts the gateway and the Sell sandbox down gracefully (the sandbox saves its
// state a last time) and stops DynamoDB Local.
func (s *Stack) Stop() {
	if s.stopChatPoll != nil {
		s.stopChatPoll()
	}
	if s.stopStreams != nil {
		s.stopStreams()
	}
	shutdown(s.server)
	shutdown(s.sellSrv)
	if s.Sell != nil {
		s.Sell.Close()
	}
	shutdown(s.zendeskSrv)
	if s.Zendesk != nil {
		s.Zendesk.Close()
	}
	s.ddb.Stop()
}

// shutdown stops srv (if it was started) gracefully, giving its requests in flight
// five seconds: the gateway and both sandboxes are stopped alike.
func shutdown(srv *http.Server) {
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

// Run starts the stack, prints where everything is and a line ending in "ready",
// and serves until ctx ends (Ctrl-C).
func Run(ctx context.Context, o Options, out io.Writer) error {
	s, err := Start(ctx, o)
	if err != nil {
		return err
	}
	defer s.Stop()
	fmt.Fprintf(out, "sellchat local stack\n")
	fmt.Fprintf(out, "  API gateway     %s   (every function; POST /dev/token for test tokens)\n", s.URL)
	fmt.Fprintf(out, "  Sell sandbox    %s   (demo data; OAuth approves at once as ada@example.com, or login_hint)\n", s.SellURL)
	fmt.Fprintf(out, "  Zendesk sandbox %s   (subdomain acme; OAuth approves at once as Ada, user 1; POST /sandbox/zaf-token signs app tokens, POST /sandbox/chats adds a chat)\n", s.ZendeskURL)
	fmt.Fprintf(out, "  chat poll       every %s   (accounts with Chat connected, GET /oauth/start?purpose=chat, and history in Sell on)\n", cmp.Or(o.ChatPollInterval, DefaultChatPollInterval))
	if o.InMemory {
		fmt.Fprintf(out, "  DynamoDB Local  %s   (table %q, in memory)\n", s.DynamoDB, TableName)
	} else {
		fmt.Fprintf(out, "  DynamoDB Local  %s   (table %q)\n", s.DynamoDB, TableName)
		fmt.Fprintf(out, "  state kept in   %s and %s\n", filepath.Join(o.Dir, "dynamodb"), filepath.Join(o.Dir, SellStateFile))
	}
	// The owner with the sandbox admin's email: a Sell sign-in needs the caller's
	// email, and on Chat phase 4 only the owner passes the install checks.
	fmt.Fprintf(out, "  try: curl -s -XPOST %s/dev/token -d '{\"account\":\"acme\",\"userId\":\"1\",\"email\":\"ada@example.com\",\"role\":\"owner\"}'  (then the README's Try-it blocks)\n", s.URL)
	fmt.Fprintf(out, "local stack ready\n")
	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "stopping…")
		return nil
	case err := <-s.served:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

func loadOrCreateKey(path string) (*rsa.PrivateKey, error) {
	if b, err := os.ReadFile(path); err == nil {
		return auth.ParsePrivateKey(b)
	}
	key, err := auth.NewKey()
	if err != nil {
		return nil, err
	}
	pemText, err := auth.EncodePrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pemText, 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return key, nil
}

func loadOrCreateSecret(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return string(b), nil
	}
	k := secrets.NewKey()
	if err := os.WriteFile(path, []byte(k), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return k, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func port(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 0 || p > 65535 {
		return 0, fmt.Errorf("%s must be a port number, got %q", name, v)
	}
	return p, nil
}

// startStreams polls the table's stream and hands its records to the transcripts
// function's own handler, so chats posted to the local webhook reach the feed the
// way they do in AWS, and drains the accounts' backlogs every DrainInterval, as the
// function's every-minute schedule does in AWS (each run keeps taking chats for the
// interval, so the drain is continuous there as here). The poller applies the
// function's FilterCriteria, read from template.yaml itself (the one beside go.mod,
// found from the working directory), so a local batch holds what a deployed one
// does; a stack whose template cannot be read or whose patterns cannot be matched
// does not start, since it would otherwise run unlike AWS without saying so. It
// returns a function that stops both and waits for them.
func startStreams(d *app.Deps) (func(), error) {
	filters, err := template.StreamFilters(template.TranscriptsFunction)
	if err == nil {
		_, err = streams.ParseFilters(filters)
	}
	if err != nil {
		return nil, fmt.Errorf("the transcripts function's stream filters: %w", err)
	}
	proc := transcripts.New(transcripts.Deps{Store: d.Store, Vault: d.Vault, Box: d.Box, Logger: d.Logger}, phone.E164)
	p := &streams.Poller{DB: d.Store.Client(), Table: d.Store.Table(), Handler: proc.Handle, Logger: d.Logger, Filters: filters}
	return streams.RunWithDrain(context.Background(), p, DrainInterval, proc.Drain, func(err error) {
		d.Logger.Warn("transcripts", "err", err.Error())
	}), nil
}

// DrainInterval is how often the local stack drains backlogs, and how long each run
// keeps taking chats.
const DrainInterval = 2 * time.Second

// startChatPoll runs the chat poll function's own Run every interval
// (DefaultChatPollInterval when zero), as EventBridge invokes it every minute in AWS.
// minAge is the sandbox's export rule, which the poll then waits for (the default
// when zero); the two share this machine's clock. It returns a function that stops
// the loop and waits for a run in progress.
func startChatPoll(d *app.Deps, interval, minAge time.Duration) func() {
	if interval <= 0 {
		interval = DefaultChatPollInterval
	}
	p := chatpoll.New(chatpoll.Deps{Store: d.Store, Vault: d.Vault, Box: d.Box, Logger: d.Logger, MinAge: minAge})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		streams.Schedule(ctx, interval, func(ctx context.Context) {
			if _, err := p.Run(ctx); err != nil && ctx.Err() == nil {
				d.Logger.Warn("chat poll", "err", err.Error())
			}
		})
	}()

	return func() { cancel(); <-done }
}
