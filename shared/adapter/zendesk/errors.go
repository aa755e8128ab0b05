package zendesk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinels for errors.Is. Every error Zendesk answers is an *APIError that unwraps to
// the sentinel of its status, so callers branch on these and log the rest.
var (
	ErrBadRequest   = errors.New("zendesk: bad request")  // 400 and other 4xx
	ErrUnauthorized = errors.New("zendesk: unauthorized") // 401: token missing, expired, revoked or of the other product
	ErrForbidden    = errors.New("zendesk: forbidden")    // 403: the token's user may not do this
	ErrNotFound     = errors.New("zendesk: not found")    // 404
	ErrRateLimited  = errors.New("zendesk: rate limited") // 429; errors.As(err, **RateLimited) gives the wait
	ErrServer       = errors.New("zendesk: server error") // 5xx
	// ErrStartTimeTooRecent is the chat export refusing a start_time (or a next_page)
	// younger than ExportMinAge: nothing is wrong, ask again later with the same cursor.
	ErrStartTimeTooRecent = errors.New("zendesk: export start time too recent")
)

// APIError is a non-2xx answer. Description is Zendesk's own text, kept for logs and
// left out of Error() so that a raw Zendesk message never reaches a user.
type APIError struct {
	Method, Path string
	Status       int
	Code         string // the body's "error", e.g. RecordNotFound or invalid_token
	Description  string
	kind         error
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%v (%s %s: %d", e.kind, e.Method, e.Path, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	return s + ")"
}

// Unwrap returns the sentinel of the status.
func (e *APIError) Unwrap() error { return e.kind }

// RateLimited is a 429. RetryAfter is Zendesk's Retry-After (zero when absent).
type RateLimited struct {
	RetryAfter time.Duration
	*APIError
}

func (e *RateLimited) Error() string {
	return fmt.Sprintf("%s, retry after %s", e.APIError.Error(), e.RetryAfter)
}

// Unwrap returns the *APIError, which unwraps to ErrRateLimited.
func (e *RateLimited) Unwrap() error { return e.APIError }

// kinds are the sentinels of the statuses callers branch on; other 4xx are
// ErrBadRequest and 5xx ErrServer.
var kinds = map[int]error{
	http.StatusUnauthorized:    ErrUnauthorized,
	http.StatusForbidden:       ErrForbidden,
	http.StatusNotFound:        ErrNotFound,
	http.StatusTooManyRequests: ErrRateLimited,
}

func kindOf(status int) error {
	if k, ok := kinds[status]; ok {
		return k
	}
	if status >= 500 {
		return ErrServer
	}
	return ErrBadRequest
}

// newAPIError reads a failed response. It is defensive: Zendesk's error bodies come in
// several shapes (see assumptions.go), and 429s and gateway errors may be plain text.
func newAPIError(method, path string, resp *http.Response, body []byte) error {
	e := &APIError{Method: method, Path: path, Status: resp.StatusCode, kind: kindOf(resp.StatusCode)}
	e.Code, e.Description = errorText(body)
	if e.Status == http.StatusTooManyRequests {
		return &RateLimited{APIError: e, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	}
	return e
}

// errorText pulls a code and a description out of {"error":"x","description":"y"},
// {"error":"x","error_description":"y"} or {"error":{"title":"x","message":"y"}}.
func errorText(body []byte) (code, description string) {
	var b struct {
		Error            json.RawMessage `json:"error"`
		Description      string          `json:"description"`
		ErrorDescription string          `json:"error_description"`
	}
	if json.Unmarshal(body, &b) != nil {
		return "", strings.TrimSpace(string(bytes.ToValidUTF8(body[:min(len(body), 200)], nil)))
	}
	description = b.Description + b.ErrorDescription
	var title struct{ Title, Message string }
	switch {
	case json.Unmarshal(b.Error, &code) == nil:
	case json.Unmarshal(b.Error, &title) == nil:
		code, description = title.Title, title.Message+description
	}
	return code, description
}

// retryAfter reads Retry-After, which Zendesk documents as a number of seconds; zero
// when absent or unreadable.
func retryAfter(v string) time.Duration {
	secs, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || secs < 0 {
		return 0
	}
	return time.Duration(secs) * time.Second
}
