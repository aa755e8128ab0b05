package selltest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
)

// get calls the sandbox as the admin and decodes the JSON answer.
func get(t *testing.T, srv *selltest.Server, method, path, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.TokenFor(selltest.DemoAdminEmail).AccessToken)
	req.Header.Set("User-Agent", "selltest-test")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: body is not JSON: %s", method, path, b)
		}
	}
	return resp, m
}

func newServer(t *testing.T, opts selltest.Options) *selltest.Server {
	opts.RateLimit = -1
	srv := selltest.NewServer(opts)
	t.Cleanup(srv.Close)
	return srv
}

func errorCode(m map[string]any) string {
	errs, _ := m["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	e, _ := errs[0].(map[string]any)["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestWireShapes(t *testing.T) {
	t.Parallel()
	srv := newServer(t, selltest.Options{})
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"a single resource comes in a data envelope", "GET", "/v2/leads/2001", "", 200, ""},
		{"per_page above 100 is an invalid_param", "GET", "/v2/leads?per_page=200", "", 400, "invalid_param"},
		{"per_page of zero is an invalid_param", "GET", "/v2/leads?per_page=0", "", 400, "invalid_param"},
		{"an unsupported filter is an invalid_param", "GET", "/v2/contacts?phone=1", "", 400, "invalid_param"},
		{"a bad sort direction is an invalid_param", "GET", "/v2/leads?sort_by=id:sideways", "", 400, "invalid_param"},
		{"an unknown path is not_found", "GET", "/v2/nothing", "", 404, "not_found"},
		{"a malformed body is invalid_payload", "POST", "/v2/leads", "{", 400, "invalid_payload"},
		{"an unknown attribute is a 422 unknown", "POST", "/v2/leads", `{"data":{"last_name":"X","shoe":1}}`, 422, "unknown"},
		{"a wrongly typed attribute is a 422 invalid_type", "POST", "/v2/leads", `{"data":{"last_name":7}}`, 422, "invalid_type"},
		{"deleting a missing note is not_found", "DELETE", "/v2/notes/1", "", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, m := get(t, srv, tt.method, tt.path, tt.body)
			if resp.StatusCode != tt.status || errorCode(m) != tt.code {
				t.Fatalf("status %d code %q, want %d %q (%v)", resp.StatusCode, errorCode(m), tt.status, tt.code, m)
			}
			rid := resp.Header.Get("X-Request-Id")
			if len(rid) != 23 {
				t.Errorf("X-Request-Id = %q", rid)
			}
			if tt.code != "" {
				meta := m["meta"].(map[string]any)
				if meta["logref"] != rid || meta["type"] != "errors" || meta["http_status"] != fmt.Sprintf("%d %s", tt.status, http.StatusText(tt.status)) {
					t.Errorf("error meta = %v", meta)
				}
			} else if m["meta"].(map[string]any)["type"] != "lead" {
				t.Errorf("meta = %v", m["meta"])
			}
		})
	}
}

func TestPaginationLinks(t *testing.T) {
	t.Parallel()
	srv := newServer(t, selltest.Options{})
	_, m := get(t, srv, "GET", "/v2/users?per_page=2&page=2&sort_by=id:desc", "")
	items := m["items"].([]any)
	meta := m["meta"].(map[string]any)
	links := meta["links"].(map[string]any)
	if len(items) != 2 || meta["count"] != 2.0 || links["next_page"] == nil || links["prev_page"] == nil {
		t.Fatalf("page 2 = %v", m)
	}
	first := items[0].(map[string]any)["data"].(map[string]any)["id"]
	if first != 1003.0 {
		t.Errorf("first id of page 2 sorted desc = %v, want 1003", first)
	}
	_, m = get(t, srv, "GET", "/v2/users?per_page=2&page=3", "")
	if l := m["meta"].(map[string]any)["links"].(map[string]any); l["next_page"] != nil {
		t.Errorf("last page has next_page %v", l["next_page"])
	}
}

func TestSearchAPI(t *testing.T) {
	t.Parallel()
	srv := newServer(t, selltest.Options{})
	body := `{"items":[{"data":{"query":{"projection":[{"name":"display_name"},{"name":"email"}],
		"filter":{"filter":{"attribute":{"name":"email"},"parameter":{"eq":"VERA@example.com"}}}}}}]}`
	resp, m := get(t, srv, "POST", "/v3/leads/search", body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %v", resp.StatusCode, m)
	}
	res := m["items"].([]any)[0].(map[string]any)
	hits := res["items"].([]any)
	if res["successful"] != true || len(hits) != 1 {
		t.Fatalf("result = %v", res)
	}
	data := hits[0].(map[string]any)["data"].(map[string]any)
	if data["display_name"] != "Vera Visitor" || data["id"] != 2001.0 || data["version"] == nil {
		t.Errorf("data = %v", data)
	}

	t.Run("an unknown projection attribute is refused", func(t *testing.T) {
		resp, _ := get(t, srv, "POST", "/v3/leads/search", `{"items":[{"data":{"query":{"projection":[{"name":"shoe"}]}}}]}`)
		if resp.StatusCode != 400 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("a plan without search gets a 403", func(t *testing.T) {
		srv := newServer(t, selltest.Options{DisableSearchAPI: true})
		resp, m := get(t, srv, "POST", "/v3/leads/search", body)
		if resp.StatusCode != 403 || errorCode(m) != "insufficient_scope" {
			t.Errorf("status %d %v", resp.StatusCode, m)
		}
	})
}

func TestFaults(t *testing.T) {
	t.Parallel()

	t.Run("closing the sandbox releases hanging requests", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, selltest.Options{})
		srv.SetFaults(selltest.Faults{HangRate: 1, MaxHang: time.Minute})
		done := make(chan int)
		go func() {
			resp, _ := get(t, srv, "GET", "/v2/users/self", "")
			done <- resp.StatusCode
		}()
		// Whether the request arrives before or after Close, it must not
		// wait out the minute.
		srv.Sandbox.Close()
		if status := <-done; status != http.StatusGatewayTimeout {
			t.Errorf("status %d, want 504", status)
		}
	})
	t.Run("an error rate of one fails every call with the chosen status", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, selltest.Options{})
		srv.SetFaults(selltest.Faults{ErrorRate: 1, ErrorStatus: 503})
		for range 3 {
			if resp, m := get(t, srv, "GET", "/v2/users/self", ""); resp.StatusCode != 503 || errorCode(m) != "temporarily_unavailable" {
				t.Fatalf("status %d %v", resp.StatusCode, m)
			}
		}
	})
	t.Run("latency delays the answer", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t, selltest.Options{})
		srv.SetFaults(selltest.Faults{Latency: 30 * time.Millisecond})
		start := time.Now()
		get(t, srv, "GET", "/v2/users/self", "")
		if d := time.Since(start); d < 30*time.Millisecond {
			t.Errorf("answered after %v", d)
		}
	})
}

func TestRateLimitAnswer(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	srv := selltest.NewServer(selltest.Options{RateLimit: 10, Now: func() time.Time { return now }})
	t.Cleanup(srv.Close)
	tok := srv.TokenFor(selltest.DemoAdminEmail).AccessToken
	var last *http.Response
	for range 11 {
		req, _ := http.NewRequest("GET", srv.URL+"/v2/users/self", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("User-Agent", "t")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		last = resp
	}
	if last.StatusCode != 429 || last.Header.Get("Retry-After") != "1" {
		t.Fatalf("11th call in one second: %d Retry-After %q", last.StatusCode, last.Header.Get("Retry-After"))
	}
}
