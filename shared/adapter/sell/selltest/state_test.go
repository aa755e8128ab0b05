package selltest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// call makes an API call with a bearer token and decodes the answer.
func call(t *testing.T, srv *selltest.Server, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("User-Agent", "selltest-test")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

func dataID(t *testing.T, m map[string]any) int64 {
	t.Helper()
	d, _ := m["data"].(map[string]any)
	id, _ := d["id"].(float64)
	if id == 0 {
		t.Fatalf("no data.id in %v", m)
	}
	return int64(id)
}

// TestStateFileSurvivesRestart is the local stack's restart in miniature: a sandbox
// with a StateFile, closed and opened again on the same file, still knows the tokens
// it issued, the records written through the API, where a pool's rotation stands and
// which ids it handed out.
func TestStateFileSurvivesRestart(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "sell-sandbox.json")
	opts := selltest.Options{StateFile: file, RateLimit: -1}

	srv := selltest.NewServer(opts)
	// The token comes from the OAuth token endpoint, as the stack gets it.
	code := authorize(t, srv, selltest.DemoAdminEmail)
	tok, err := srv.OAuthConfig("http://127.0.0.1/cb").Exchange(t.Context(), code)
	if err != nil {
		t.Fatal(err)
	}
	status, m := call(t, srv, tok.AccessToken, "POST", "/v2/leads", `{"data":{"last_name":"Kept","email":"kept@example.com"}}`)
	if status != 200 {
		t.Fatalf("create lead: %d %v", status, m)
	}
	leadID := dataID(t, m)
	status, m = call(t, srv, tok.AccessToken, "POST", "/v2/leads", `{"data":{"last_name":"Pooled","owner_id":1004}}`)
	if status != 200 {
		t.Fatalf("create pooled lead: %d %v", status, m)
	}
	firstMember := m["data"].(map[string]any)["owner_id"]
	// A note created and deleted holds the highest id handed out: the next id
	// must come from the saved counter, not from the records left.
	status, m = call(t, srv, tok.AccessToken, "POST", "/v2/notes", `{"data":{"resource_type":"lead","resource_id":`+itoa(leadID)+`,"content":"gone"}}`)
	if status != 200 {
		t.Fatalf("create note: %d %v", status, m)
	}
	lastID := dataID(t, m)
	if status, m = call(t, srv, tok.AccessToken, "DELETE", "/v2/notes/"+itoa(lastID), ""); status != 204 {
		t.Fatalf("delete note: %d %v", status, m)
	}
	// A crash (kill -9) skips Close: what the API answered must be on disk already.
	if crashed, err := selltest.Open(opts); err != nil {
		t.Fatal(err)
	} else if _, ok := crashed.Lead(leadID); !ok {
		t.Fatal("a lead created through the API was not saved until Close")
	}
	srv.Close()

	srv = selltest.NewServer(opts)
	t.Cleanup(srv.Close)
	t.Run("the access token issued before the restart still works", func(t *testing.T) {
		if status, m := call(t, srv, tok.AccessToken, "GET", "/v2/users/self", ""); status != 200 {
			t.Fatalf("GET /v2/users/self: %d %v", status, m)
		}
	})
	t.Run("the lead created before the restart is there", func(t *testing.T) {
		status, m := call(t, srv, tok.AccessToken, "GET", "/v2/leads/"+itoa(leadID), "")
		if status != 200 || m["data"].(map[string]any)["email"] != "kept@example.com" {
			t.Fatalf("GET lead: %d %v", status, m)
		}
	})
	t.Run("the refresh token still refreshes", func(t *testing.T) {
		tok2, err := srv.OAuthConfig("http://127.0.0.1/cb").TokenSource(t.Context(), expired(tok)).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if status, _ := call(t, srv, tok2.AccessToken, "GET", "/v2/users/self", ""); status != 200 {
			t.Fatalf("refreshed token: %d", status)
		}
	})
	t.Run("new ids follow the ones handed out, and the pool rotation goes on", func(t *testing.T) {
		status, m := call(t, srv, tok.AccessToken, "POST", "/v2/leads", `{"data":{"last_name":"Pooled again","owner_id":1004}}`)
		if status != 200 {
			t.Fatalf("create: %d %v", status, m)
		}
		if id := dataID(t, m); id <= lastID {
			t.Errorf("new lead id %d reuses an id handed out before the restart (last %d)", id, lastID)
		}
		if owner := m["data"].(map[string]any)["owner_id"]; owner == firstMember {
			t.Errorf("the pool gave the lead to %v again: its rotation restarted", owner)
		}
	})
	t.Run("writes leave no temporary files behind", func(t *testing.T) {
		entries, _ := os.ReadDir(filepath.Dir(file))
		if len(entries) != 1 {
			t.Errorf("state folder holds %v, want only the state file", entries)
		}
	})
}

func TestStateFileErrors(t *testing.T) {
	t.Parallel()
	t.Run("a damaged state file is an error that says what to do", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "sell-sandbox.json")
		if err := os.WriteFile(file, []byte(`{"version":1,`), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := selltest.Open(selltest.Options{StateFile: file})
		if err == nil || !strings.Contains(err.Error(), "delete it") {
			t.Fatalf("Open: %v", err)
		}
	})
	t.Run("a state file of another version is refused", func(t *testing.T) {
		t.Parallel()
		file := filepath.Join(t.TempDir(), "sell-sandbox.json")
		if err := os.WriteFile(file, []byte(`{"version":99}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := selltest.Open(selltest.Options{StateFile: file}); err == nil {
			t.Fatal("Open accepted version 99")
		}
	})
}

// authorize runs the sandbox's authorize page for the user with that email and
// returns the code it hands back.
func authorize(t *testing.T, srv *selltest.Server, email string) string {
	t.Helper()
	u := srv.OAuthConfig("http://127.0.0.1/cb").AuthCodeURL("st") + "&login_hint=" + url.QueryEscape(email)
	status, loc := apptest.Redirect(t, u)
	if loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %q", status, loc)
	}
	return loc.Query().Get("code")
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// expired returns tok with its access token out of date, so a token source
// refreshes it.
func expired(tok *oauth2.Token) *oauth2.Token {
	cp := *tok
	cp.AccessToken = ""
	return &cp
}
