package sell

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell/internal/wire"
)

// Kind classifies an APIError for callers that branch on it.
type Kind int

// The kinds of API errors, following how Sell's official clients split status
// codes (422 resource error, 429 rate limit, other 4xx, 5xx).
const (
	KindBadRequest   Kind = iota + 1 // 400 and other unclassified 4xx
	KindValidation                   // 422; Field names the attribute
	KindUnauthorized                 // 401, or a refresh the token endpoint refused
	KindForbidden                    // 403 (scope, plan or permission)
	KindNotFound                     // 404, also for records the token may not see
	KindRateLimited                  // 429; RetryAfter may be set
	KindServer                       // 5xx
)

var kindNames = map[Kind]string{
	KindBadRequest: "bad request", KindValidation: "validation failed",
	KindUnauthorized: "unauthorized", KindForbidden: "forbidden",
	KindNotFound: "not found", KindRateLimited: "rate limited", KindServer: "server error",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Sentinels for errors.Is: errors.Is(err, sell.ErrNotFound) is true for any
// *APIError of KindNotFound in err's chain.
var (
	ErrBadRequest   = &APIError{Kind: KindBadRequest}
	ErrValidation   = &APIError{Kind: KindValidation}
	ErrUnauthorized = &APIError{Kind: KindUnauthorized}
	ErrForbidden    = &APIError{Kind: KindForbidden}
	ErrNotFound     = &APIError{Kind: KindNotFound}
	ErrRateLimited  = &APIError{Kind: KindRateLimited}
	ErrServer       = &APIError{Kind: KindServer}
	// ErrAlreadyExists matches validation errors with code already_exists,
	// e.g. creating a lead source whose name is taken.
	ErrAlreadyExists = &APIError{Kind: KindValidation, Code: wire.CodeAlreadyExists}
)

// APIError is an error answered by Sell, decoded from its error envelope.
// Message and Details are Sell's own (English) texts, kept for logs; they are
// deliberately left out of Error() so a raw Sell body never reaches a user.
type APIError struct {
	Kind       Kind
	Status     int    // HTTP status
	Code       string // Sell's error code, e.g. incorrect_value
	Resource   string // on 422: the resource type
	Field      string // on 422: JSON pointer of the attribute, e.g. /status
	Message    string
	Details    string
	RequestID  string        // X-Request-Id / meta.logref, for Sell support
	RetryAfter time.Duration // on 429 when Sell sent Retry-After
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sell api: %s", e.Kind)
	if e.Status != 0 {
		fmt.Fprintf(&b, " (%d", e.Status)
		if e.Code != "" {
			b.WriteString(" " + e.Code)
		}
		if e.Field != "" {
			b.WriteString(" on " + e.Field)
		}
		b.WriteString(")")
	}
	if e.RequestID != "" {
		b.WriteString(" request " + e.RequestID)
	}
	return b.String()
}

// Is makes the package sentinels match by kind (and by code when the
// sentinel names one).
func (e *APIError) Is(target error) bool {
	t, ok := target.(*APIError)
	if !ok || t.Status != 0 || t.Kind != e.Kind {
		return false
	}
	return t.Code == "" || t.Code == e.Code
}

// Temporary reports whether repeating the same request later may succeed.
func (e *APIError) Temporary() bool { return e.Kind == KindRateLimited || e.Kind == KindServer }

func kindForStatus(status int) Kind {
	switch {
	case status == http.StatusUnprocessableEntity:
		return KindValidation
	case status == http.StatusUnauthorized:
		return KindUnauthorized
	case status == http.StatusForbidden:
		return KindForbidden
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status >= 500:
		return KindServer
	default:
		return KindBadRequest
	}
}

// parseAPIError builds an APIError from a non-2xx response. It is defensive:
// 429s and gateway errors may come without Sell's JSON envelope.
func parseAPIError(resp *http.Response, body []byte, now time.Time) *APIError {
	e := &APIError{
		Kind:      kindForStatus(resp.StatusCode),
		Status:    resp.StatusCode,
		RequestID: resp.Header.Get("X-Request-Id"),
	}
	var eb wire.ErrorBody
	if json.Unmarshal(body, &eb) == nil && len(eb.Errors) > 0 {
		d := eb.Errors[0].Error
		e.Code, e.Resource, e.Field, e.Message, e.Details = d.Code, d.Resource, d.Field, d.Message, d.Details
		if e.RequestID == "" {
			e.RequestID = eb.Meta.Logref
		}
	}
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	return e
}

// parseRetryAfter reads delay-seconds or an HTTP date; zero when absent.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// errorsAsAPI is errors.As for *APIError.
func errorsAsAPI(err error) (*APIError, bool) {
	var ae *APIError
	ok := errors.As(err, &ae)
	return ae, ok
}
