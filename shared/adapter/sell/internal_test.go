package sell

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestParseAPIError(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	body := `{"errors":[{"error":{"resource":"lead","field":"/status","code":"incorrect_value","message":"attribute value is incorrect","details":"secret detail"},"meta":{"type":"error"}}],"meta":{"type":"errors","http_status":"422 Unprocessable Entity","logref":"aaaaa-bbbbb-ccccc-ddddd"}}`
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		check  func(t *testing.T, e *APIError)
	}{
		{"a 422 envelope yields field, code and logref", 422, http.Header{}, body, func(t *testing.T, e *APIError) {
			if e.Kind != KindValidation || e.Field != "/status" || e.Code != "incorrect_value" || e.RequestID != "aaaaa-bbbbb-ccccc-ddddd" {
				t.Errorf("%+v", e)
			}
		}},
		{"a 429 without JSON body is still rate limited", 429, http.Header{"Retry-After": {"7"}}, "Too Many Requests", func(t *testing.T, e *APIError) {
			if e.Kind != KindRateLimited || e.RetryAfter != 7*time.Second {
				t.Errorf("%+v", e)
			}
		}},
		{"a Retry-After date is converted to a delay", 503, http.Header{"Retry-After": {now.Add(30 * time.Second).Format(http.TimeFormat)}}, "", func(t *testing.T, e *APIError) {
			if e.Kind != KindServer || e.RetryAfter != 30*time.Second {
				t.Errorf("%+v", e)
			}
		}},
		{"an unclassified 4xx is a bad request", 409, http.Header{}, "", func(t *testing.T, e *APIError) {
			if e.Kind != KindBadRequest {
				t.Errorf("%+v", e)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := parseAPIError(&http.Response{StatusCode: tt.status, Header: tt.header}, []byte(tt.body), now)
			tt.check(t, e)
		})
	}
}

func TestAPIErrorIs(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("sell: create lead source: %w", &APIError{Kind: KindValidation, Status: 422, Code: "already_exists", Details: "secret detail"})
	tests := []struct {
		name   string
		target error
		want   bool
	}{
		{"a validation error matches ErrValidation", ErrValidation, true},
		{"an already_exists error matches ErrAlreadyExists", ErrAlreadyExists, true},
		{"a validation error does not match ErrNotFound", ErrNotFound, false},
		{"an error is not a sentinel of another code", &APIError{Kind: KindValidation, Code: "blank"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := errors.Is(err, tt.target); got != tt.want {
				t.Errorf("errors.Is = %v, want %v", got, tt.want)
			}
		})
	}
	if s := err.Error(); s != "sell: create lead source: sell api: validation failed (422 already_exists)" {
		t.Errorf("Error() = %q", s)
	}
}

func TestDecimal(t *testing.T) {
	t.Parallel()
	var v struct{ A, B, C Decimal }
	if err := json.Unmarshal([]byte(`{"A":"12.50","B":12.5,"C":null}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != "12.50" || v.B != "12.5" || v.C != "" {
		t.Errorf("%+v", v)
	}
}

func TestLimitersShareOneLimiterPerKey(t *testing.T) {
	t.Parallel()
	l := NewLimiters(10, 5)
	if l.get("acme/admin") != l.get("acme/admin") {
		t.Error("the same key gave two limiters")
	}
	if l.get("acme/admin") == l.get("acme/user/1") {
		t.Error("different keys share a limiter")
	}
}

func TestSameEmail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"case and surrounding spaces are ignored", " Vera@Example.COM ", "vera@example.com", true},
		{"different addresses are not equal", "vera@example.com", "vera@example.org", false},
		{"two empty addresses are not equal", "", " ", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := SameEmail(tt.a, tt.b); got != tt.want {
				t.Errorf("SameEmail(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
	if got := NormalizeEmail(" A@B.C "); got != "a@b.c" {
		t.Errorf("NormalizeEmail = %q", got)
	}
}
