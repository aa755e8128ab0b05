// Package zendesk is the client of one Zendesk account as sellchat uses it: OAuth
// configurations for Support (with PKCE) and Chat, the Support users and apps sellchat
// reads (who a token or a signed app token names, the app's public key and
// installation), and the Chat API's account, agents and incremental chat export.
//
// One Client holds one OAuth token. Zendesk keeps Support and Chat tokens apart, so a
// program that reads both builds two clients over the same base URL. Where Zendesk's
// behaviour is not documented the client follows assumptions.go, which the
// zendesktest sandbox shares.
package zendesk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Version is reported in the User-Agent.
const Version = "0.1.0"

// DefaultUserAgent names the product in every request.
const DefaultUserAgent = "sellchat/" + Version + " (+https://github.com/sellchat/sellchat)"

// DefaultMaxResponseBytes bounds what one response may hold. A full export page is a
// thousand whole chats, a few megabytes in practice; a bigger answer is an error, not
// a reason to exhaust a Lambda's memory.
const DefaultMaxResponseBytes = 32 << 20

// Options configure a Client. TokenSource and one of Subdomain or BaseURL are required.
type Options struct {
	// Subdomain is the account, "acme" for https://acme.zendesk.com.
	Subdomain string
	// BaseURL overrides https://<Subdomain>.zendesk.com, e.g. with the sandbox's URL.
	BaseURL string
	// TokenSource supplies the Bearer token: a Support token for users and apps, a Chat
	// token for the chat calls. Refreshing and saving rotated tokens is its business
	// (sell.PersistingTokenSource works with any oauth2.Config, these included).
	TokenSource oauth2.TokenSource
	// HTTPClient sends requests; one with a 20 s timeout when nil. It must not add an
	// Authorization header of its own.
	HTTPClient *http.Client
	// UserAgent overrides DefaultUserAgent.
	UserAgent string
	// MaxResponseBytes overrides DefaultMaxResponseBytes.
	MaxResponseBytes int64
}

// Client calls the Zendesk API of one account with one token. It is safe for
// concurrent use. It never retries: a 429 comes back as *RateLimited with Zendesk's
// Retry-After, for the caller to reschedule (a poller would rather wait for its next
// run than hold a Lambda).
type Client struct {
	base    *url.URL
	ts      oauth2.TokenSource
	hc      *http.Client
	ua      string
	maxBody int64
}

// BaseURL returns the API root of an account: https://<subdomain>.zendesk.com, where
// the Support API and, for integrated accounts, the Chat API both live
// (https://developer.zendesk.com/api-reference/live-chat/introduction).
func BaseURL(subdomain string) (string, error) {
	if !validSubdomain(subdomain) {
		return "", fmt.Errorf("zendesk: %q is not a Zendesk subdomain", subdomain)
	}
	return "https://" + subdomain + ".zendesk.com", nil
}

// validSubdomain reports whether s is 1 to 63 lower-case letters, digits and hyphens,
// not starting with a hyphen.
func validSubdomain(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// New returns a Client.
func New(opts Options) (*Client, error) {
	if opts.TokenSource == nil {
		return nil, errors.New("zendesk: new client: a token source is required")
	}
	raw := strings.TrimRight(opts.BaseURL, "/")
	if raw == "" {
		var err error
		if raw, err = BaseURL(opts.Subdomain); err != nil {
			return nil, fmt.Errorf("zendesk: new client: %w", err)
		}
	}
	base, err := url.Parse(raw)
	if err != nil || base.Host == "" || (base.Scheme != "https" && base.Scheme != "http") {
		return nil, fmt.Errorf("zendesk: new client: base url %q is not an absolute http(s) URL", raw)
	}
	c := &Client{base: base, ts: opts.TokenSource, hc: opts.HTTPClient, ua: opts.UserAgent,
		maxBody: opts.MaxResponseBytes}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 20 * time.Second}
	}
	if c.ua == "" {
		c.ua = DefaultUserAgent
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxResponseBytes
	}
	return c, nil
}

// endpoint returns the absolute URL of path with query on the client's base.
func (c *Client) endpoint(path string, query url.Values) *url.URL {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = query.Encode()
	return &u
}

// getJSON fetches u and decodes the JSON answer into out.
func (c *Client) getJSON(ctx context.Context, u *url.URL, out any) error {
	body, err := c.get(ctx, u, "application/json")
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("zendesk: decode GET %s: %w", u.Path, err)
	}
	return nil
}

// get sends one authenticated GET and returns the body of a 2xx answer; any other
// status becomes an error of errors.go.
func (c *Client) get(ctx context.Context, u *url.URL, accept string) ([]byte, error) {
	return c.do(ctx, http.MethodGet, u, accept, nil)
}

// sendJSON sends in (JSON; no body when nil) with method and decodes a 2xx answer into
// out (ignored when nil, or when the answer is empty, as a 204 is).
func (c *Client) sendJSON(ctx context.Context, method string, u *url.URL, in, out any) error {
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return fmt.Errorf("zendesk: encode %s %s: %w", method, u.Path, err)
		}
	}
	body, err := c.do(ctx, method, u, "application/json", payload)
	if err != nil {
		return err
	}
	if out == nil || len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("zendesk: decode %s %s: %w", method, u.Path, err)
	}
	return nil
}

// do sends one authenticated request (a JSON payload when not nil) and returns the
// body of a 2xx answer; any other status becomes an error of errors.go.
func (c *Client) do(ctx context.Context, method string, u *url.URL, accept string, payload []byte) ([]byte, error) {
	tok, err := c.ts.Token()
	if err != nil {
		return nil, fmt.Errorf("zendesk: %s %s: token: %w", method, u.Path, err)
	}
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("zendesk: %s %s: %w", method, u.Path, err)
	}
	tok.SetAuthHeader(req)
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", c.ua)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("zendesk: %s %s: %w", method, u.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("zendesk: %s %s: read response: %w", method, u.Path, err)
	}
	if int64(len(body)) > c.maxBody {
		return nil, fmt.Errorf("zendesk: %s %s: response larger than %d bytes", method, u.Path, c.maxBody)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, newAPIError(method, u.Path, resp, body)
	}
	return body, nil
}
