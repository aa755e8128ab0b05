package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
)

type payload struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func router() *Router {
	rt := NewRouter(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	rt.Handle("POST /things", func(w http.ResponseWriter, r *http.Request) error {
		var p payload
		if err := DecodeJSON(r, &p); err != nil {
			return err
		}
		WriteJSON(w, http.StatusCreated, p)
		return nil
	})
	return rt
}

func errorOf(t *testing.T, body string) (code, field string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message, Field string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("not a JSON error: %q", body)
	}
	if e.Error.Message == "" {
		t.Fatalf("error without a message: %s", body)
	}
	return e.Error.Code, e.Error.Field
}

func TestRequestsAreAnsweredInTheErrorShape(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, method, path string
		body               io.Reader
		status             int
		code, field        string
	}{
		{"malformed JSON is 400", "POST", "/things", strings.NewReader(`{"name":`), 400, "malformed_json", ""},
		{"two JSON values are 400", "POST", "/things", strings.NewReader(`{} {}`), 400, "malformed_json", ""},
		{"a stray ] after the value is 400", "POST", "/things", strings.NewReader(`{"name":"x"}]`), 400, "malformed_json", ""},
		{"a stray } after the value is 400", "POST", "/things", strings.NewReader(`{"name":"x"}}`), 400, "malformed_json", ""},
		{"a second value after white space is 400", "POST", "/things", strings.NewReader("{\"name\":\"x\"}\n 7"), 400, "malformed_json", ""},
		{"an empty body is 400", "POST", "/things", strings.NewReader(``), 400, "empty_body", ""},
		{"a wrong type names the field", "POST", "/things", strings.NewReader(`{"count":"three"}`), 422, "wrong_type", "count"},
		{"an unknown field is named", "POST", "/things", strings.NewReader(`{"nmae":"x"}`), 422, "unknown_field", "nmae"},
		{"a body over 1 MiB without a length is 413", "POST", "/things", io.MultiReader(strings.NewReader(`{"name":"`), strings.NewReader(strings.Repeat("x", MaxBody)), strings.NewReader(`"}`)), 413, "body_too_large", ""},
		{"an unknown route is a JSON 404", "GET", "/elsewhere", nil, 404, "not_found", ""},
		{"a wrong method is a JSON 405", "DELETE", "/things", nil, 405, "method_not_allowed", ""},
		{"dot segments are a JSON 404, not a redirect", "GET", "/things/../../go.mod", nil, 404, "not_found", ""},
		{"dot segments to a served route are a JSON 404", "POST", "/x/../things", strings.NewReader(`{}`), 404, "not_found", ""},
		{"doubled slashes are a JSON 404", "POST", "//things", strings.NewReader(`{}`), 404, "not_found", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(c.method, c.path, c.body)
			r.ContentLength = -1 // as a chunked upload: the limit must hold while reading
			w := httptest.NewRecorder()
			router().ServeHTTP(w, r)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			if ct, ns := w.Header().Get("Content-Type"), w.Header().Get("X-Content-Type-Options"); !strings.HasPrefix(ct, "application/json") || ns != "nosniff" {
				t.Fatalf("Content-Type %q, X-Content-Type-Options %q: want JSON, nosniff", ct, ns)
			}
			code, field := errorOf(t, w.Body.String())
			if code != c.code || field != c.field {
				t.Fatalf("code %q field %q, want %q %q", code, field, c.code, c.field)
			}
		})
	}
}

func TestAGoodRequestPasses(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	router().ServeHTTP(w, httptest.NewRequest("POST", "/things", strings.NewReader(`{"name":"a","count":2}`)))
	if w.Code != 201 || !strings.Contains(w.Body.String(), `"count":2`) {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if w.Header().Get("Allow") != "" {
		t.Fatal("unexpected Allow header")
	}
}

func TestMethodNotAllowedSaysWhatIsAllowed(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	router().ServeHTTP(w, httptest.NewRequest("GET", "/things", nil))
	if w.Code != 405 || !strings.Contains(w.Header().Get("Allow"), "POST") {
		t.Fatalf("%d Allow=%q", w.Code, w.Header().Get("Allow"))
	}
}

// A plain request id from outside is echoed (and logged); anything else is replaced
// by one of ours, so a client cannot put text of its choosing into logs or headers.
func TestRequestIDsAreEchoedOnlyWhenPlain(t *testing.T) {
	t.Parallel()
	rt := router()
	long := strings.Repeat("a", 129)
	for id, echoed := range map[string]bool{
		"req-1":                                  true,
		"1-67891233-abcdef012345678912345:a.b_c": true,
		strings.Repeat("a", 128):                 true,
		long:                                     false,
		"":                                       false,
		"evil\r\nSet-Cookie: x=1":                false,
		"id with spaces":                         false,
		"ünïcode":                                false,
	} {
		req := httptest.NewRequest("GET", "/nowhere", nil)
		if id != "" {
			req.Header["X-Request-Id"] = []string{id}
		}
		rec := httptest.NewRecorder()
		rt.ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-Id")
		if echoed && got != id {
			t.Errorf("id %q was not echoed: got %q", id, got)
		}
		if !echoed && (got == id || got == "" || !plainRequestID(got)) {
			t.Errorf("id %q: answered with %q, want a fresh plain id", id, got)
		}
	}
}

func TestADependencyThatTimesOutOrThrottlesIsA503NotA500(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"a deadline hit while the store answered", fmt.Errorf("load settings acme: %w", context.DeadlineExceeded), 503, "temporarily_unavailable"},
		{"DynamoDB throttling", fmt.Errorf("save settings acme: %w", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}), 503, "temporarily_unavailable"},
		{"provisioned throughput exceeded", &smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException"}, 503, "temporarily_unavailable"},
		{"another AWS error stays internal", &smithy.GenericAPIError{Code: "ValidationException", Message: "bad key"}, 500, "internal"},
		{"a plain fault stays internal", errors.New("nil map"), 500, "internal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rt := NewRouter(slog.New(slog.NewJSONHandler(io.Discard, nil)))
			rt.Handle("GET /x", func(http.ResponseWriter, *http.Request) error { return c.err })
			w := httptest.NewRecorder()
			rt.ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			if code, _ := errorOf(t, w.Body.String()); code != c.code {
				t.Fatalf("code %q, want %q", code, c.code)
			}
			if retry := w.Header().Get("Retry-After"); (c.status == 503) != (retry != "") {
				t.Fatalf("Retry-After %q on a %d", retry, c.status)
			}
			if strings.Contains(w.Body.String(), "Rate exceeded") || strings.Contains(w.Body.String(), "bad key") {
				t.Fatalf("the cause leaked: %s", w.Body)
			}
		})
	}
}
