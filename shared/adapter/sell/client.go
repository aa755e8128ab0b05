// Package sell is the Zendesk Sell API client: OAuth token handling, Sell's
// JSON envelopes and error shape, per-token rate limiting with retries, and the
// operations the integration needs (users, leads, contacts, deals, metadata,
// notes, and visitor lookup by email or phone).
//
// Where Sell's behaviour is undocumented the client follows the assumptions
// listed in internal/wire/assumptions.go, which the selltest sandbox shares.
package sell

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/sell/internal/wire"
)

// DefaultBaseURL is the production API root.
const DefaultBaseURL = "https://api.getbase.com"

// Version is reported in the User-Agent.
const Version = "0.1.0"

// DefaultUserAgent names the product; Sell refuses requests without a UA.
const DefaultUserAgent = "sellchat/" + Version + " (+https://github.com/sellchat/sellchat)"

// Options configure a Client. Only TokenSource is required.
type Options struct {
	// BaseURL is the API root; DefaultBaseURL when empty.
	BaseURL string
	// TokenSource supplies the Bearer token, normally a PersistingTokenSource
	// (which also lets the client refresh after a 401) or, for personal access
	// tokens, oauth2.StaticTokenSource.
	TokenSource oauth2.TokenSource
	// HTTPClient sends requests; a client with a 20 s timeout when nil. It must
	// not add its own Authorization header.
	HTTPClient *http.Client
	// UserAgent overrides DefaultUserAgent.
	UserAgent string
	// Key identifies the token for rate limiting and the metadata cache, e.g.
	// "acme/admin" or "acme/user/123". When empty a hash of the access token is
	// used, which is right but starts a new bucket after every refresh.
	Key string
	// Limiters is the per-token limiter registry; a process-wide registry of
	// 10 requests/second (burst 5) when nil.
	Limiters *Limiters
	// Cache holds metadata; a process-wide cache with DefaultCacheTTL when nil.
	Cache *Cache
	// MaxAttempts bounds tries per request, including the first; 4 when zero.
	MaxAttempts int
	// MaxRetryAfter is the longest Retry-After the client waits for; a longer
	// one returns the 429 at once so the caller can reschedule. 20 s when zero.
	MaxRetryAfter time.Duration
	// Backoff is the wait before retry number attempt (1-based) when Sell
	// gave no Retry-After; exponential with jitter from 200 ms when nil.
	Backoff func(attempt int) time.Duration
	// Sleep waits d or until ctx ends; tests replace it to avoid real waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock used for Retry-After dates; time.Now when nil.
	Now func() time.Time
}

// Client calls the Sell API with one token. It is safe for concurrent use and
// cheap to create; the state worth sharing (limiters, cache) lives in
// Limiters and Cache.
type Client struct {
	base    string
	ts      oauth2.TokenSource
	hc      *http.Client
	ua      string
	key     string
	lims    *Limiters
	cache   *Cache
	tries   int
	maxRA   time.Duration
	backoff func(int) time.Duration
	sleep   func(context.Context, time.Duration) error
	now     func() time.Time
}

// New returns a Client.
func New(opts Options) (*Client, error) {
	if opts.TokenSource == nil {
		return nil, errors.New("sell: new client: a token source is required")
	}
	base := strings.TrimRight(opts.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if _, err := url.Parse(base); err != nil {
		return nil, fmt.Errorf("sell: new client: base url: %w", err)
	}
	c := &Client{
		base: base, ts: opts.TokenSource, hc: opts.HTTPClient, ua: opts.UserAgent,
		key: opts.Key, lims: opts.Limiters, cache: opts.Cache,
		tries: opts.MaxAttempts, maxRA: opts.MaxRetryAfter, backoff: opts.Backoff,
		sleep: opts.Sleep, now: opts.Now,
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 20 * time.Second}
	}
	if c.ua == "" {
		c.ua = DefaultUserAgent
	}
	if c.lims == nil {
		c.lims = defaultLimiters
	}
	if c.cache == nil {
		c.cache = defaultCache
	}
	if c.tries <= 0 {
		c.tries = 4
	}
	if c.maxRA <= 0 {
		c.maxRA = 20 * time.Second
	}
	if c.backoff == nil {
		c.backoff = defaultBackoff
	}
	if c.sleep == nil {
		c.sleep = Sleep
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

func defaultBackoff(attempt int) time.Duration {
	d := 200 * time.Millisecond << min(attempt-1, 5)
	// Full jitter spreads retries of Lambdas that failed together.
	return d/2 + rand.N(d/2+1)
}

// Sleep waits d, or until ctx ends and then answers ctx's error. It is the one
// context-aware wait of the code that backs off and retries (this client, the
// transcripts function, the soak), which all import this package already.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// keyFor returns the rate-limit and cache key of the request's token.
func (c *Client) keyFor(tok *oauth2.Token) string {
	if c.key != "" {
		return c.key
	}
	h := sha256.Sum256([]byte(tok.AccessToken))
	return "tok:" + hex.EncodeToString(h[:12])
}

// cacheKey scopes a metadata entry to this client's account/token.
func (c *Client) cacheKey(name string) (string, error) {
	if c.key != "" {
		return c.key + "|" + name, nil
	}
	tok, err := c.token()
	if err != nil {
		return "", err
	}
	return c.keyFor(tok) + "|" + name, nil
}

func (c *Client) token() (*oauth2.Token, error) {
	tok, err := c.ts.Token()
	if err == nil {
		return tok, nil
	}
	// A refused refresh means the user must sign in again; give callers the
	// same error they get for a 401 so there is one branch to write.
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		ae := &APIError{Kind: KindUnauthorized, Code: re.ErrorCode}
		if re.Response != nil {
			ae.Status = re.Response.StatusCode
		}
		return nil, fmt.Errorf("%w: %w", err, ae)
	}
	return nil, err
}

// idempotent reports whether a failed request may be sent again after a
// server error or timeout, when we cannot know whether Sell acted on it.
func idempotent(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == methodSearch
}

// maxBody bounds what we read from Sell; a page of 100 records is far below.
const maxBody = 16 << 20

// do sends one API call with retries and decodes the response into out
// (nil to discard). in, when not nil, is sent as {"data": in}.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body []byte
	switch v := in.(type) {
	case nil:
	case rawBody:
		var err error
		if body, err = json.Marshal(v.v); err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
	default:
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		if body, err = json.Marshal(wire.Envelope{Data: data}); err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	refreshed := false
	var lastErr error
	for attempt := 1; attempt <= c.tries; attempt++ {
		if attempt > 1 {
			wait := c.retryWait(attempt-1, lastErr)
			if errors.Is(lastErr, ErrRateLimited) && tooLong(ctx, wait) {
				return lastErr // Sell's pause is longer than this caller waits: do it later
			}
			if err := c.sleep(ctx, wait); err != nil {
				return errors.Join(lastErr, err)
			}
		}
		tok, err := c.token()
		if err != nil {
			return err
		}
		if err := waitTurn(ctx, c.lims.get(c.keyFor(tok))); err != nil {
			return err
		}
		resp, respBody, err := c.send(ctx, method, u, tok, body)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil || !idempotent(method) {
				return err
			}
			continue
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			if out == nil || resp.StatusCode == http.StatusNoContent {
				return nil
			}
			if err := json.Unmarshal(respBody, out); err != nil {
				return fmt.Errorf("decode %s response: %w", path, err)
			}
			return nil
		}
		apiErr := parseAPIError(resp, respBody, c.now())
		lastErr = apiErr
		switch {
		case apiErr.Kind == KindUnauthorized:
			// Sell can reject a token before its stated expiry; refresh
			// once and retry, then give up.
			inv, ok := c.ts.(invalidator)
			if !ok || refreshed {
				return apiErr
			}
			inv.invalidate(tok.AccessToken)
			refreshed = true
			attempt-- // the refresh retry does not use up the retry budget
			lastErr = nil
		case apiErr.Kind == KindRateLimited:
			// A 429 means Sell did not process the request, so every
			// method may be retried, unless Sell asks for a longer pause
			// than we are prepared to hold a Lambda for.
			if apiErr.RetryAfter > c.maxRA {
				return apiErr
			}
		case apiErr.Kind == KindServer && idempotent(method):
		default:
			return apiErr
		}
	}
	return lastErr
}

// retryWait is the pause before retry number n.
func (c *Client) retryWait(n int, lastErr error) time.Duration {
	if lastErr == nil {
		return 0
	}
	if ae, ok := errorsAsAPI(lastErr); ok && ae.RetryAfter > 0 {
		return ae.RetryAfter
	}
	return c.backoff(n)
}

func (c *Client) send(ctx context.Context, method, u string, tok *oauth2.Token, body []byte) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	if method == methodSearch {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, nil, fmt.Errorf("read response: %w", err)
	}
	return resp, b, nil
}

// get fetches a single resource into out.
func getOne[T any](ctx context.Context, c *Client, path string, query url.Values) (T, error) {
	var env struct {
		Data T `json:"data"`
	}
	err := c.do(ctx, http.MethodGet, path, query, nil, &env)
	return env.Data, err
}

// postOne creates a resource and returns Sell's version of it.
func postOne[T any](ctx context.Context, c *Client, path string, in any) (T, error) {
	var env struct {
		Data T `json:"data"`
	}
	err := c.do(ctx, http.MethodPost, path, nil, in, &env)
	return env.Data, err
}

// listPage fetches one page of a collection.
func listPage[T any](ctx context.Context, c *Client, path string, query url.Values) ([]T, error) {
	var coll struct {
		Items []struct {
			Data T `json:"data"`
		} `json:"items"`
	}
	if err := c.do(ctx, http.MethodGet, path, query, nil, &coll); err != nil {
		return nil, err
	}
	out := make([]T, len(coll.Items))
	for i, it := range coll.Items {
		out[i] = it.Data
	}
	return out, nil
}

// listAll walks a collection 100 at a time, up to maxPages pages. Sell gives
// no total, so a short page is the end (the official Ruby client stops at an
// empty page; stopping at a short one saves that extra call).
func listAll[T any](ctx context.Context, c *Client, path string, query url.Values, maxPages int) ([]T, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("per_page", fmt.Sprint(wire.MaxPerPage))
	var all []T
	for page := 1; page <= maxPages; page++ {
		q.Set("page", fmt.Sprint(page))
		items, err := listPage[T](ctx, c, path, q)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if len(items) < wire.MaxPerPage {
			break
		}
	}
	return all, nil
}
