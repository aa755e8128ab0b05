// Package app reads a function's configuration from the environment, once, and builds
// the dependencies every function shares (store, token verifier, secrets box, logger).
// The SAM template and the local gateway set the same variables.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/domain/access"
	"github.com/sellchat/sellchat/shared/domain/session"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/webpage"
)

// Config is the environment, parsed and checked.
type Config struct {
	TableName        string   // TABLE_NAME
	Region           string   // AWS_REGION (default us-east-1)
	DynamoDBEndpoint string   // DYNAMODB_ENDPOINT: DynamoDB Local; empty in AWS
	JWTPublicKey     string   // JWT_PUBLIC_KEY: PEM of the apps framework's RS256 key
	JWTAudience      string   // JWT_AUDIENCE: this backend's URL as the apps framework names it
	Accounts         []string // ACCOUNTS: comma-separated subdomains served; empty: any
	EncryptionKey    string   // ENCRYPTION_KEY: 32 bytes, base64 or hex
	PublicBaseURL    string   // PUBLIC_BASE_URL: where Zendesk reaches this API
	SellAPIURL       string   // SELL_API_URL: Sell's API root (default https://api.getbase.com; the sandbox locally)
	SellClientID     string   // SELL_CLIENT_ID: the Sell OAuth app's client id
	SellClientSecret string   // SELL_CLIENT_SECRET
	SellRedirectURL  string   // SELL_REDIRECT_URL: default PUBLIC_BASE_URL + /oauth/callback
	SellScopes       []string // SELL_SCOPES: default "read write profile"
	// SessionSigningKey (SESSION_SIGNING_KEY) is the PEM private key sellchat signs its
	// own sessions with, after verifying Zendesk's signed app token; its public half is
	// JWT_PUBLIC_KEY. Without it no session can be minted: POST /session and the pages'
	// signed entries answer 503 sessions_not_configured.
	SessionSigningKey string
	// Zendesk OAuth client (ZENDESK_CLIENT_ID, ZENDESK_CLIENT_SECRET), its redirect
	// (ZENDESK_REDIRECT_URL, default the Sell one) and, locally, the sandbox's URL in
	// place of https://<account>.zendesk.com (ZENDESK_API_URL).
	ZendeskClientID, ZendeskClientSecret, ZendeskRedirectURL, ZendeskAPIURL string
	// Chat API OAuth client (CHAT_CLIENT_ID, CHAT_CLIENT_SECRET), its redirect
	// (CHAT_REDIRECT_URL, default PUBLIC_BASE_URL + /oauth/callback), Chat's OAuth host
	// (CHAT_OAUTH_URL, default https://www.zopim.com, see zendesk.ChatOAuthBaseURL) and
	// the Chat API's root in place of https://<account>.zendesk.com (CHAT_API_URL;
	// the sandbox locally, empty in AWS).
	ChatClientID, ChatClientSecret, ChatRedirectURL, ChatOAuthURL, ChatAPIURL string
	LogLevel                                                                  slog.Level
	// DynamoDBTimeouts bound each DynamoDB call; not read from the environment (zero:
	// store.DefaultTimeouts in AWS, store.LocalTimeouts on DynamoDB Local). Fault
	// tests set it to try the deployed values against a local engine.
	DynamoDBTimeouts store.Timeouts
}

// FromEnv reads the configuration; every problem is reported, not just the first.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		TableName:        getenv("TABLE_NAME"),
		Region:           getenv("AWS_REGION"),
		DynamoDBEndpoint: getenv("DYNAMODB_ENDPOINT"),
		JWTPublicKey:     strings.ReplaceAll(getenv("JWT_PUBLIC_KEY"), `\n`, "\n"),
		JWTAudience:      getenv("JWT_AUDIENCE"),
		EncryptionKey:    getenv("ENCRYPTION_KEY"),
		PublicBaseURL:    strings.TrimRight(getenv("PUBLIC_BASE_URL"), "/"),
		SellAPIURL:       strings.TrimRight(getenv("SELL_API_URL"), "/"),
		SellClientID:     getenv("SELL_CLIENT_ID"),
		SellClientSecret: getenv("SELL_CLIENT_SECRET"),
		SellRedirectURL:  getenv("SELL_REDIRECT_URL"),
		SellScopes:       strings.Fields(getenv("SELL_SCOPES")),

		SessionSigningKey:   strings.ReplaceAll(getenv("SESSION_SIGNING_KEY"), `\n`, "\n"),
		ZendeskClientID:     getenv("ZENDESK_CLIENT_ID"),
		ZendeskClientSecret: getenv("ZENDESK_CLIENT_SECRET"),
		ZendeskRedirectURL:  getenv("ZENDESK_REDIRECT_URL"),
		ZendeskAPIURL:       strings.TrimRight(getenv("ZENDESK_API_URL"), "/"),
		ChatClientID:        getenv("CHAT_CLIENT_ID"),
		ChatClientSecret:    getenv("CHAT_CLIENT_SECRET"),
		ChatRedirectURL:     getenv("CHAT_REDIRECT_URL"),
		ChatOAuthURL:        strings.TrimRight(getenv("CHAT_OAUTH_URL"), "/"),
		ChatAPIURL:          strings.TrimRight(getenv("CHAT_API_URL"), "/"),
	}
	if c.ChatOAuthURL == "" {
		c.ChatOAuthURL = zendesk.ChatOAuthBaseURL
	}
	if c.ChatRedirectURL == "" && c.PublicBaseURL != "" {
		c.ChatRedirectURL = c.PublicBaseURL + "/oauth/callback"
	}
	if c.SellAPIURL == "" {
		c.SellAPIURL = sell.DefaultBaseURL
	}
	if c.ZendeskRedirectURL == "" && c.PublicBaseURL != "" {
		c.ZendeskRedirectURL = c.PublicBaseURL + "/oauth/callback"
	}
	if c.SellRedirectURL == "" && c.PublicBaseURL != "" {
		c.SellRedirectURL = c.PublicBaseURL + "/oauth/callback"
	}
	if len(c.SellScopes) == 0 {
		c.SellScopes = []string{"read", "write", "profile"}
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	for _, a := range strings.Split(getenv("ACCOUNTS"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.Accounts = append(c.Accounts, a)
		}
	}
	var errs []error
	need := func(name, v string) {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	need("TABLE_NAME", c.TableName)
	need("JWT_PUBLIC_KEY", c.JWTPublicKey)
	need("JWT_AUDIENCE", c.JWTAudience)
	need("ENCRYPTION_KEY", c.EncryptionKey)
	need("PUBLIC_BASE_URL", c.PublicBaseURL)
	need("SELL_CLIENT_ID", c.SellClientID)
	need("SELL_CLIENT_SECRET", c.SellClientSecret)
	if c.PublicBaseURL != "" {
		if u, err := url.Parse(c.PublicBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("PUBLIC_BASE_URL must be an http(s) URL, got %q", c.PublicBaseURL))
		}
	}
	for _, a := range c.Accounts {
		if !auth.ValidAccount(a) {
			errs = append(errs, fmt.Errorf("ACCOUNTS: %q is not a Zendesk subdomain", a))
		}
	}
	if lvl := getenv("LOG_LEVEL"); lvl != "" {
		if err := c.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			errs = append(errs, fmt.Errorf("LOG_LEVEL: %w", err))
		}
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	return c, nil
}

// Deps are the dependencies built from Config.
type Deps struct {
	Config   Config
	Store    *store.Store
	Verifier *auth.Verifier
	Box      *secrets.Box
	Vault    *tokens.Vault // Sell and Zendesk tokens at rest, and the clients made from them
	// Sessions verifies Zendesk's signed app tokens and mints sellchat sessions; nil
	// without SESSION_SIGNING_KEY.
	Sessions *session.Exchanger
	Logger   *slog.Logger
}

// Gate is the access gate over the deployment's table and token vault: the one
// value agent routes open sessions with.
func (d *Deps) Gate() access.Gate { return access.Gate{Store: d.Store, Vault: d.Vault} }

// SellOAuth returns the Sell OAuth app's configuration.
func (c Config) SellOAuth() *oauth2.Config {
	return sell.OAuthConfig(c.SellAPIURL, c.SellClientID, c.SellClientSecret, c.SellRedirectURL, c.SellScopes)
}

// ChatApp returns the Chat API OAuth client the vault connects and polls Chat with.
func (c Config) ChatApp() tokens.ChatApp {
	return tokens.ChatApp{ClientID: c.ChatClientID, ClientSecret: c.ChatClientSecret, RedirectURL: c.ChatRedirectURL,
		AuthURL: c.ChatOAuthURL, APIURL: c.ChatAPIURL}
}

// Build turns the configuration into dependencies.
func Build(ctx context.Context, c Config) (*Deps, error) {
	key, err := auth.ParsePublicKey([]byte(c.JWTPublicKey))
	if err != nil {
		return nil, fmt.Errorf("JWT_PUBLIC_KEY: %w", err)
	}
	rawKey, err := secrets.ParseKey(c.EncryptionKey)
	if err != nil {
		return nil, fmt.Errorf("ENCRYPTION_KEY: %w", err)
	}
	box, err := secrets.NewBox(rawKey)
	if err != nil {
		return nil, fmt.Errorf("ENCRYPTION_KEY: %w", err)
	}
	db, err := store.NewClientWith(ctx, c.Region, c.DynamoDBEndpoint, c.DynamoDBTimeouts)
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel}))
	st := store.New(db, c.TableName)
	vault := tokens.NewVault(st, box, c.SellOAuth(), c.SellAPIURL)
	vault.Zendesk = tokens.ZendeskApp{ClientID: c.ZendeskClientID, ClientSecret: c.ZendeskClientSecret,
		RedirectURL: c.ZendeskRedirectURL, BaseURL: c.ZendeskAPIURL}
	vault.Chat = c.ChatApp()
	d := &Deps{
		Config:   c,
		Store:    st,
		Vault:    vault,
		Verifier: auth.NewVerifier(key, c.JWTAudience, c.Accounts),
		Box:      box,
		Logger:   logger,
	}
	if c.SessionSigningKey != "" {
		priv, err := auth.ParsePrivateKey([]byte(c.SessionSigningKey))
		if err != nil {
			return nil, fmt.Errorf("SESSION_SIGNING_KEY: %w", err)
		}
		if !priv.PublicKey.Equal(key) {
			return nil, errors.New("SESSION_SIGNING_KEY: its public half is not JWT_PUBLIC_KEY, so no session it signs would verify")
		}
		d.Sessions = &session.Exchanger{Store: st, Vault: vault, Signer: auth.Signer{Key: priv, Audience: c.JWTAudience}}
	}
	return d, nil
}

// MustLoad reads the environment and builds the dependencies, or exits with a message
// a person can act on: a Lambda that cannot start should say why in its first log line.
func MustLoad() *Deps {
	c, err := FromEnv(os.Getenv)
	if err == nil {
		var d *Deps
		if d, err = Build(context.Background(), c); err == nil {
			slog.SetDefault(d.Logger)
			return d
		}
	}
	slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("cannot start", "err", err.Error())
	os.Exit(1)
	return nil
}

// Entry is the pages' signed entry (webpage.SignedEntry): the token Zendesk posts to
// an app's page exchanged for a session; nil, answering 503, without a session key.
func (d *Deps) Entry() webpage.Exchange {
	if d.Sessions == nil {
		return nil
	}
	return d.Sessions.ForPage
}
