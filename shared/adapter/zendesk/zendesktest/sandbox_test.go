package zendesktest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
)

var (
	appKey     = sync.OnceValue(zendesktest.GenerateKey)
	foreignKey = sync.OnceValue(zendesktest.GenerateKey)
)

// start is the clock of these tests: the demo chats end a day before it.
var start = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// newSandbox starts a demo sandbox on a fake clock, without rate limits unless set.
func newSandbox(t *testing.T, opts zendesktest.Options) (*zendesktest.Server, *zendesktest.Clock) {
	t.Helper()
	clk := zendesktest.NewClock(start)
	if opts.RateLimit == 0 {
		opts.RateLimit = -1
	}
	if opts.ExportRateLimit == 0 {
		opts.ExportRateLimit = -1
	}
	opts.AppKey, opts.Now = appKey(), clk.Now
	return zendesktest.NewServer(t, opts), clk
}

// get calls the sandbox with a bearer token and returns the status, headers and body.
func get(t *testing.T, srv *zendesktest.Server, token, path string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// exportPage is the export's body.
type exportPage struct {
	Chats    []map[string]any `json:"chats"`
	Count    int              `json:"count"`
	EndTime  int64            `json:"end_time"`
	EndID    string           `json:"end_id"`
	NextPage string           `json:"next_page"`
}

func export(t *testing.T, srv *zendesktest.Server, token, query string) exportPage {
	t.Helper()
	status, _, body := get(t, srv, token, zendesk.ExportPath+"?"+query)
	if status != http.StatusOK {
		t.Fatalf("export %s: %d %s", query, status, body)
	}
	var p exportPage
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func ids(p exportPage) string {
	var out []string
	for _, c := range p.Chats {
		out = append(out, c["id"].(string))
	}
	return strings.Join(out, ",")
}

func TestExportOrderAndUpdates(t *testing.T) {
	t.Parallel()
	srv, clk := newSandbox(t, zendesktest.Options{})
	token := srv.ChatToken(zendesktest.DemoAdaID).AccessToken
	all := zendesktest.DemoVeraChatID + "," + zendesktest.DemoLiamChatID + "," + zendesktest.DemoPaulChatID

	t.Run("chats come in update order", func(t *testing.T) {
		if got := ids(export(t, srv, token, "start_time=0&fields=chats(*)")); got != all {
			t.Fatalf("ids = %s, want %s", got, all)
		}
	})
	t.Run("without fields only ids come back", func(t *testing.T) {
		p := export(t, srv, token, "start_time=0")
		if len(p.Chats[0]) != 1 || p.Chats[0]["id"] == nil {
			t.Fatalf("chat = %v", p.Chats[0])
		}
	})
	t.Run("a chosen field list is projected", func(t *testing.T) {
		p := export(t, srv, token, "start_time=0&fields=chats(id,update_timestamp)")
		if len(p.Chats[0]) != 2 || p.Chats[0]["update_timestamp"] == nil {
			t.Fatalf("chat = %v", p.Chats[0])
		}
	})
	t.Run("a chat tagged later comes again, last", func(t *testing.T) {
		clk.Advance(time.Hour)
		upd, ok := srv.UpdateChat(zendesktest.DemoVeraChatID, map[string]any{"tags": []string{"pricing", "vip"}})
		if !ok || !upd.UpdateTimestamp.Equal(clk.Now()) {
			t.Fatalf("UpdateChat = %+v, %v", upd, ok)
		}
		clk.Advance(zendesk.ExportMinAge + time.Second)
		p := export(t, srv, token, "start_time=0&fields=chats(*)")
		want := zendesktest.DemoLiamChatID + "," + zendesktest.DemoPaulChatID + "," + zendesktest.DemoVeraChatID
		if got := ids(p); got != want {
			t.Fatalf("ids = %s, want %s", got, want)
		}
		since := export(t, srv, token, "fields=chats(*)&start_time="+strconv.FormatInt(upd.UpdateTimestamp.Unix(), 10))
		if ids(since) != zendesktest.DemoVeraChatID || !strings.Contains(since.Chats[0]["tags"].([]any)[1].(string), "vip") {
			t.Fatalf("since the update: %+v", since)
		}
	})
}

func TestExportPaging(t *testing.T) {
	t.Parallel()
	srv, clk := newSandbox(t, zendesktest.Options{Seed: &zendesktest.Seed{
		Users: zendesktest.DemoSeed().Users, OwnerID: zendesktest.DemoAdaID,
	}})
	token := srv.ChatToken(zendesktest.DemoAdaID).AccessToken
	// Five chats updated in the same second: only start_id can page through them.
	var added []string
	for range 5 {
		added = append(added, srv.AddChat(map[string]any{"visitor": map[string]any{"name": "V"}}).ID)
	}
	clk.Advance(zendesk.ExportMinAge)

	seen := []string{}
	next := srv.URL + zendesk.ExportPath + "?start_time=0&limit=2&fields=" + url.QueryEscape(zendesk.ExportFields)
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		u, _ := url.Parse(next)
		p := export(t, srv, token, u.RawQuery)
		for _, c := range p.Chats {
			seen = append(seen, c["id"].(string))
		}
		if p.Count != len(p.Chats) || !strings.Contains(p.NextPage, "start_id="+url.QueryEscape(p.EndID)) {
			t.Fatalf("page = %+v", p)
		}
		if p.Count < 2 {
			break
		}
		next = p.NextPage
	}
	if strings.Join(seen, ",") != strings.Join(added, ",") {
		t.Fatalf("seen %v, want each of %v once, in order", seen, added)
	}
	t.Run("an empty page echoes its cursor", func(t *testing.T) {
		p := export(t, srv, token, "start_time="+strconv.FormatInt(start.Unix(), 10)+"&start_id="+added[4])
		if p.Count != 0 || p.EndID != added[4] || p.EndTime != start.Unix() {
			t.Fatalf("page = %+v", p)
		}
	})
}

func TestExportFiveMinuteRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		minAge time.Duration
		age    time.Duration
		status int
	}{
		{"a start time four minutes old is refused", 0, 4 * time.Minute, zendesk.TooRecentStatus},
		{"a start time five minutes old is served", 0, 5 * time.Minute, http.StatusOK},
		{"a start time in the future is refused", 0, -time.Minute, zendesk.TooRecentStatus},
		{"MinAge shortens the rule for demos", 10 * time.Second, 11 * time.Second, http.StatusOK},
		{"a negative MinAge lifts the rule", -1, 0, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, clk := newSandbox(t, zendesktest.Options{MinAge: tt.minAge})
			q := "start_time=" + strconv.FormatInt(clk.Now().Add(-tt.age).Unix(), 10)
			status, _, body := get(t, srv, srv.ChatToken(zendesktest.DemoAdaID).AccessToken, zendesk.ExportPath+"?"+q)
			if status != tt.status {
				t.Fatalf("status %d, want %d (%s)", status, tt.status, body)
			}
			if status != http.StatusOK && !strings.Contains(string(body), zendesk.TooRecentDescription) {
				t.Errorf("body = %s", body)
			}
		})
	}
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	srv, clk := newSandbox(t, zendesktest.Options{ExportRateLimit: 2, RateLimit: 3})
	chatTok := srv.ChatToken(zendesktest.DemoAdaID).AccessToken

	t.Run("the export answers 429 with Retry-After past its allowance", func(t *testing.T) {
		for range 2 {
			export(t, srv, chatTok, "start_time=0")
		}
		status, h, body := get(t, srv, chatTok, zendesk.ExportPath+"?start_time=0")
		secs, _ := strconv.Atoi(h.Get("Retry-After"))
		if status != http.StatusTooManyRequests || secs < 1 || secs > 60 || string(body) != zendesk.RateLimitedText {
			t.Fatalf("status %d, Retry-After %q, body %s", status, h.Get("Retry-After"), body)
		}
		clk.Advance(time.Duration(secs) * time.Second)
		export(t, srv, chatTok, "start_time=0")
	})
	t.Run("each token has its own allowance", func(t *testing.T) {
		export(t, srv, srv.ChatToken(zendesktest.DemoAdaID).AccessToken, "start_time=0")
	})
	t.Run("other calls have the API allowance", func(t *testing.T) {
		tok := srv.SupportToken(zendesktest.DemoRexID).AccessToken
		for range 3 {
			if status, _, body := get(t, srv, tok, "/api/v2/users/me.json"); status != http.StatusOK {
				t.Fatalf("status %d %s", status, body)
			}
		}
		if status, _, _ := get(t, srv, tok, "/api/v2/users/me.json"); status != http.StatusTooManyRequests {
			t.Fatalf("status %d, want 429", status)
		}
	})
}

// post sends a JSON body to the sandbox and returns the status and the answer.
func post(t *testing.T, srv *zendesktest.Server, path, body string) (int, []byte) {
	t.Helper()
	resp, err := srv.Client().Post(srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// postToken posts a token request as JSON, the way Zendesk documents it.
func postToken(t *testing.T, srv *zendesktest.Server, path string, body map[string]string) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	status, answer := post(t, srv, path, string(b))
	var m map[string]any
	_ = json.Unmarshal(answer, &m)
	return status, m
}

func TestSupportPKCE(t *testing.T) {
	t.Parallel()
	srv, _ := newSandbox(t, zendesktest.Options{})
	cfg := srv.SupportOAuthConfig("https://app.example/cb")
	verifier := oauth2.GenerateVerifier()
	exchange := func(code, verifier string, withSecret bool) (int, map[string]any) {
		body := map[string]string{"grant_type": "authorization_code", "code": code, "client_id": cfg.ClientID,
			"redirect_uri": cfg.RedirectURL, "code_verifier": verifier}
		if withSecret {
			body["client_secret"] = cfg.ClientSecret
		}
		return postToken(t, srv, zendesk.SupportTokenPath, body)
	}

	t.Run("a wrong verifier is refused even with the client secret", func(t *testing.T) {
		q := srv.Authorize(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
		if status, m := exchange(q.Get("code"), oauth2.GenerateVerifier(), true); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
			t.Fatalf("%d %v", status, m)
		}
	})
	t.Run("the right verifier is enough without a secret, in a JSON body", func(t *testing.T) {
		q := srv.Authorize(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
		status, m := exchange(q.Get("code"), verifier, false)
		if status != http.StatusOK || m["token_type"] != "bearer" || m["refresh_token"] == "" {
			t.Fatalf("%d %v", status, m)
		}
	})
	t.Run("without PKCE the secret is required", func(t *testing.T) {
		q := srv.Authorize(t, cfg.AuthCodeURL("s"))
		if status, m := exchange(q.Get("code"), "", false); status != http.StatusUnauthorized || m["error"] != "invalid_client" {
			t.Fatalf("%d %v", status, m)
		}
	})
	t.Run("a plain challenge is refused at the authorize page", func(t *testing.T) {
		q := srv.Authorize(t, cfg.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", verifier), oauth2.SetAuthURLParam("code_challenge_method", "plain")))
		if q.Get("error") != "invalid_request" || q.Get("code") != "" {
			t.Fatalf("redirect query = %v", q)
		}
	})
	t.Run("a code expires after 120 seconds", func(t *testing.T) {
		clk := zendesktest.NewClock(start)
		srv := zendesktest.NewServer(t, zendesktest.Options{AppKey: appKey(), Now: clk.Now})
		cfg := srv.SupportOAuthConfig("https://app.example/cb")
		q := srv.Authorize(t, cfg.AuthCodeURL("s"))
		clk.Advance(121 * time.Second)
		_, err := cfg.Exchange(context.WithValue(context.Background(), oauth2.HTTPClient, srv.Client()), q.Get("code"))
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("DenyAuthorization denies", func(t *testing.T) {
		srv.DenyAuthorization(true)
		defer srv.DenyAuthorization(false)
		if q := srv.Authorize(t, cfg.AuthCodeURL("s")); q.Get("error") != "access_denied" || q.Get("state") != "s" {
			t.Fatalf("redirect query = %v", q)
		}
	})
}

func TestChatAuthorizeNeedsTheSubdomain(t *testing.T) {
	t.Parallel()
	srv, _ := newSandbox(t, zendesktest.Options{})
	cfg := srv.ChatOAuthConfig("https://app.example/cb")
	cfg.Endpoint.AuthURL = srv.URL + zendesk.ChatAuthorizePath + "?subdomain=other"
	resp, err := srv.Client().Get(cfg.AuthCodeURL("s"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400 for another account", resp.StatusCode)
	}
}

// verify parses a signed app token as a verifier would: RS256, the public key Zendesk
// serves for the app, the account as issuer and the installation as audience.
func verify(token string, key any, installationID int64, now time.Time) (*zendesk.AppTokenClaims, error) {
	var claims zendesk.AppTokenClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer(zendesk.AppTokenIssuer(zendesktest.DemoSubdomain)),
		jwt.WithAudience(zendesk.AppTokenAudience(zendesktest.DemoSubdomain, installationID)),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }))
	return &claims, err
}

func TestZAFTokens(t *testing.T) {
	t.Parallel()
	srv, clk := newSandbox(t, zendesktest.Options{})
	key, err := srv.SupportAPI(zendesktest.DemoAdaID).AppPublicKey(context.Background(), zendesktest.DemoAppID)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a token verifies with the key from public_key.pem and names the user and location", func(t *testing.T) {
		c, err := verify(srv.ZAFToken(zendesktest.DemoRexID, "chat", "chat_sidebar"), key, zendesktest.DemoInstallationID, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if c.Subject != "361" || c.Context != (zendesk.AppTokenContext{Product: "chat", Location: "chat_sidebar"}) ||
			c.Cnf == nil || c.Cnf.JKU != zendesk.AppTokenKeyURL(zendesktest.DemoSubdomain, zendesktest.DemoAppID) || len(c.QSH) != 64 {
			t.Fatalf("claims = %+v", c)
		}
		if got := c.ExpiresAt.Sub(c.IssuedAt.Time); got != zendesk.AppTokenLifetime {
			t.Errorf("lifetime %v", got)
		}
	})
	t.Run("aud is a single string, as Zendesk writes it", func(t *testing.T) {
		payload := strings.Split(srv.ZAFToken(zendesktest.DemoRexID, "sell", "lead_card"), ".")[1]
		b, _ := jwt.NewParser().DecodeSegment(payload)
		if !strings.Contains(string(b), `"aud":"https://acme.zendesk.com/api/v2/apps/installations/360004567890.json"`) {
			t.Fatalf("payload = %s", b)
		}
	})
	t.Run("a token signed with another key does not verify", func(t *testing.T) {
		foreign := zendesktest.SignZAFToken(foreignKey(), srv.ZAFClaims(zendesktest.DemoRexID, "chat", "chat_sidebar"))
		if _, err := verify(foreign, key, zendesktest.DemoInstallationID, clk.Now()); !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
			t.Fatalf("err = %v, want a bad signature", err)
		}
	})
	t.Run("a token of another installation does not verify", func(t *testing.T) {
		claims := srv.ZAFClaims(zendesktest.DemoRexID, "chat", "chat_sidebar")
		claims.Audience = zendesk.AppTokenAudience(zendesktest.DemoSubdomain, 999)
		other := zendesktest.SignZAFToken(appKey(), claims)
		if _, err := verify(other, key, zendesktest.DemoInstallationID, clk.Now()); !errors.Is(err, jwt.ErrTokenInvalidAudience) {
			t.Fatalf("err = %v, want a bad audience", err)
		}
	})
	t.Run("a token is dead after five minutes", func(t *testing.T) {
		tok := srv.ZAFToken(zendesktest.DemoRexID, "chat", "chat_sidebar")
		if _, err := verify(tok, key, zendesktest.DemoInstallationID, clk.Now().Add(zendesk.AppTokenLifetime+time.Second)); !errors.Is(err, jwt.ErrTokenExpired) {
			t.Fatalf("err = %v, want expired", err)
		}
	})
	t.Run("the local endpoint hands out the same kind of token", func(t *testing.T) {
		status, body := post(t, srv, "/sandbox/zaf-token", `{"userId":362,"product":"sell","location":"lead_card"}`)
		var out struct{ Token string }
		if err := json.Unmarshal(body, &out); err != nil || status != http.StatusOK {
			t.Fatalf("%d %s", status, body)
		}
		if c, err := verify(out.Token, key, zendesktest.DemoInstallationID, clk.Now()); err != nil || c.Subject != "362" {
			t.Fatalf("claims %+v, %v", c, err)
		}
	})
	t.Run("the local endpoint refuses an unknown user", func(t *testing.T) {
		if status, _ := post(t, srv, "/sandbox/zaf-token", `{"userId":4242,"product":"chat","location":"chat_sidebar"}`); status != http.StatusNotFound {
			t.Fatalf("status %d", status)
		}
	})
}

func TestPostedChatsReachTheExport(t *testing.T) {
	t.Parallel()
	srv, clk := newSandbox(t, zendesktest.Options{MinAge: -1})
	status, body := post(t, srv, "/sandbox/chats", `{"visitor":{"name":"Nina New","email":"nina@example.com"},"history":[{"type":"chat.msg","nick":"visitor","msg":"Hi"}]}`)
	ch, err := zendesk.DecodeExportedChat(body)
	if err != nil || status != http.StatusCreated || !ch.Ended() || !ch.UpdateTimestamp.Equal(clk.Now()) {
		t.Fatalf("%d %+v %v", status, ch, err)
	}
	p := export(t, srv, srv.ChatToken(zendesktest.DemoAdaID).AccessToken, "fields=chats(*)&start_time="+strconv.FormatInt(clk.Now().Unix(), 10))
	if ids(p) != ch.ID || p.Chats[0]["visitor"].(map[string]any)["email"] != "nina@example.com" {
		t.Fatalf("export = %+v", p)
	}
	if status, _ := post(t, srv, "/sandbox/chats", `[1]`); status != http.StatusBadRequest {
		t.Fatalf("a non-object answered %d", status)
	}
}

func TestWebhooksVerifyWithTheReceiversCheck(t *testing.T) {
	t.Parallel()
	srv, clk := newSandbox(t, zendesktest.Options{})
	const secret = "dGhlLXNpZ25pbmctc2VjcmV0"
	body := []byte(`{"ticket_id":83,"chat_id":"` + zendesktest.DemoVeraChatID + `"}`)
	verified := make(chan error, 1)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		verified <- chatwebhook.Verify([]byte(secret), r.Header.Get(zendesktest.WebhookTimestampHeader), r.Header.Get(zendesktest.WebhookSignatureHeader), b, clk.Now())
		w.WriteHeader(http.StatusAccepted)
	}))
	defer receiver.Close()

	resp, err := srv.SendWebhook(receiver.URL, secret, body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-verified; resp.StatusCode != http.StatusAccepted || err != nil {
		t.Fatalf("status %d, verification: %v", resp.StatusCode, err)
	}
	req, err := srv.WebhookRequest(context.Background(), receiver.URL, "another-secret", body)
	if err != nil {
		t.Fatal(err)
	}
	if chatwebhook.Verify([]byte(secret), req.Header.Get(zendesktest.WebhookTimestampHeader), req.Header.Get(zendesktest.WebhookSignatureHeader), body, clk.Now()) == nil {
		t.Fatal("a delivery signed with another secret verified")
	}
	if ts := req.Header.Get(zendesktest.WebhookTimestampHeader); ts != clk.Now().Format(time.RFC3339) {
		t.Errorf("timestamp %q", ts)
	}
}

func TestAPIGuards(t *testing.T) {
	t.Parallel()
	srv, _ := newSandbox(t, zendesktest.Options{})
	support := srv.SupportToken(zendesktest.DemoAdaID).AccessToken
	chat := srv.ChatToken(zendesktest.DemoAdaID).AccessToken
	tests := []struct {
		name, token, path string
		status            int
	}{
		{"no token is 401", "", "/api/v2/users/me.json", 401},
		{"a Support token on the Chat API is 401", support, "/api/v2/chat/account", 401},
		{"a Chat token on the Support API is 401", chat, "/api/v2/users/me.json", 401},
		{"users are served without .json too", support, "/api/v2/users/361", 200},
		{"an unknown path is 404", support, "/api/v2/nothing", 404},
		{"an agent may not read the chat export", srv.ChatToken(zendesktest.DemoRexID).AccessToken, zendesk.ExportPath, 403},
		{"a token without a read scope may not read users", srv.SupportToken(zendesktest.DemoAdaID, "write").AccessToken, "/api/v2/users/me.json", 403},
		{"a users:read scope reads users", srv.SupportToken(zendesktest.DemoAdaID, "users:read").AccessToken, "/api/v2/users/1.json", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, _, body := get(t, srv, tt.token, tt.path); status != tt.status {
				t.Fatalf("status %d, want %d (%s)", status, tt.status, body)
			}
		})
	}
	t.Run("the chat account shows billing to the owner only", func(t *testing.T) {
		_, _, owner := get(t, srv, chat, "/api/v2/chat/account")
		srv.AddUser(zendesk.User{ID: 77, Name: "Other Admin", Email: "oa@example.com", Role: zendesk.RoleAdmin, Active: true})
		_, _, other := get(t, srv, srv.ChatToken(77).AccessToken, "/api/v2/chat/account")
		if !strings.Contains(string(owner), `"billing"`) || strings.Contains(string(other), `"billing"`) {
			t.Fatalf("owner %s / other admin %s", owner, other)
		}
	})
}

func TestFaultsAndCallLog(t *testing.T) {
	t.Parallel()
	srv, _ := newSandbox(t, zendesktest.Options{})
	tok := srv.SupportToken(zendesktest.DemoRexID).AccessToken
	srv.FailNext(2, http.StatusServiceUnavailable)
	for _, want := range []int{503, 503, 200} {
		if status, _, _ := get(t, srv, tok, "/api/v2/users/me.json"); status != want {
			t.Fatalf("status %d, want %d", status, want)
		}
	}
	srv.SetFaults(zendesktest.Faults{ErrorRate: 1, ErrorStatus: http.StatusBadGateway})
	if status, _, _ := get(t, srv, tok, "/api/v2/users/me.json"); status != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", status)
	}
	srv.SetFaults(zendesktest.Faults{})
	calls := srv.Calls()
	if len(calls) != 4 || calls[3].Status != http.StatusBadGateway || srv.CallCount("GET /api/v2/users/me.json") != 4 {
		t.Fatalf("calls = %v", calls)
	}
}

func TestStateFileSurvivesRestart(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "zendesk-sandbox.json")
	clk := zendesktest.NewClock(start)
	opts := zendesktest.Options{StateFile: file, RateLimit: -1, ExportRateLimit: -1, MinAge: -1, Now: clk.Now}

	first := zendesktest.NewServer(t, opts) // generates its own key: the file must keep it
	tok := first.ChatToken(zendesktest.DemoAdaID)
	added := first.AddChat(map[string]any{"visitor": map[string]any{"name": "Kept"}})
	first.SetChatPlan("enterprise")
	pubBefore := first.PublicKeyPEM(zendesktest.DemoAppID)
	zaf := first.ZAFToken(zendesktest.DemoRexID, "chat", "chat_sidebar")
	first.Close()

	second := zendesktest.NewServer(t, opts)
	if !bytes.Equal(second.PublicKeyPEM(zendesktest.DemoAppID), pubBefore) {
		t.Fatal("the app's key changed across the restart")
	}
	pub, err := second.SupportAPI(zendesktest.DemoAdaID).AppPublicKey(context.Background(), zendesktest.DemoAppID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify(zaf, pub, zendesktest.DemoInstallationID, clk.Now()); err != nil {
		t.Fatalf("a token signed before the restart: %v", err)
	}
	before, err := zendesk.New(zendesk.Options{BaseURL: second.URL, TokenSource: oauth2.StaticTokenSource(tok), HTTPClient: second.Client()})
	if err != nil {
		t.Fatal(err)
	}
	a, err := before.ChatAccount(context.Background())
	if err != nil || a.Plan.Name != "enterprise" {
		t.Fatalf("with the token issued before the restart: %+v, %v", a, err)
	}
	page, err := second.ChatAPI(zendesktest.DemoAdaID).ChatExport(context.Background(), zendesk.ExportRequest{})
	if err != nil || page.Chats[len(page.Chats)-1].ID != added.ID {
		t.Fatalf("export after the restart: %+v, %v", page, err)
	}
}
