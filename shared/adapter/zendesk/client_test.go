package zendesk_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
)

func TestUsers(t *testing.T) {
	t.Parallel()
	srv := newServer(t, zendesktest.Options{})
	ctx := context.Background()

	t.Run("the token's user is read with name, email and role", func(t *testing.T) {
		u, err := srv.SupportAPI(zendesktest.DemoRexID).Me(ctx)
		if err != nil || u.ID != zendesktest.DemoRexID || u.Email != zendesktest.DemoRexEmail || u.Role != zendesk.RoleAgent || !u.IsStaff() || u.IsAdmin() {
			t.Fatalf("Me = %+v, %v", u, err)
		}
	})
	t.Run("a signed token's subject is read by id", func(t *testing.T) {
		u, err := srv.SupportAPI(zendesktest.DemoRitaID).User(ctx, zendesktest.DemoAdaID)
		if err != nil || u.Name != "Ada Admin" || !u.IsAdmin() || !strings.HasSuffix(u.URL, "/api/v2/users/1.json") {
			t.Fatalf("User = %+v, %v", u, err)
		}
	})
	t.Run("an end user may read only themselves", func(t *testing.T) {
		c := srv.SupportAPI(zendesktest.DemoVeraID)
		if u, err := c.Me(ctx); err != nil || u.Role != zendesk.RoleEndUser || u.IsStaff() {
			t.Fatalf("Me = %+v, %v", u, err)
		}
		if _, err := c.User(ctx, zendesktest.DemoRexID); !errors.Is(err, zendesk.ErrForbidden) {
			t.Fatalf("err = %v, want ErrForbidden", err)
		}
	})
	t.Run("a missing user is not found", func(t *testing.T) {
		if _, err := srv.SupportAPI(zendesktest.DemoAdaID).User(ctx, 424242); !errors.Is(err, zendesk.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
	t.Run("a Chat token cannot read Support users", func(t *testing.T) {
		if _, err := srv.ChatAPI(zendesktest.DemoAdaID).Me(ctx); !errors.Is(err, zendesk.ErrUnauthorized) {
			t.Fatalf("err = %v, want ErrUnauthorized", err)
		}
	})
	t.Run("an expired token is unauthorized", func(t *testing.T) {
		tok := srv.SupportToken(zendesktest.DemoAdaID)
		srv.ExpireToken(tok.AccessToken)
		if _, err := clientWith(t, srv, tok).Me(ctx); !errors.Is(err, zendesk.ErrUnauthorized) {
			t.Fatalf("err = %v, want ErrUnauthorized", err)
		}
	})
}

func TestApps(t *testing.T) {
	t.Parallel()
	ctx, srv, admin := supportAs(t, zendesktest.Options{}, zendesktest.DemoAdaID)

	t.Run("the app's installation is listed", func(t *testing.T) {
		ins, err := admin.Installations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		in, ok := zendesk.InstallationOf(ins, zendesktest.DemoAppID)
		if !ok || in.ID != zendesktest.DemoInstallationID || !in.Enabled {
			t.Fatalf("installations = %+v", ins)
		}
	})
	t.Run("the app's public key is the key its tokens are signed with", func(t *testing.T) {
		key, err := admin.AppPublicKey(ctx, zendesktest.DemoAppID)
		if err != nil || !key.Equal(&appKey().PublicKey) {
			t.Fatalf("AppPublicKey = %v, %v", key, err)
		}
	})
	t.Run("an unknown app has no key", func(t *testing.T) {
		if _, err := admin.AppPublicKey(ctx, 1); !errors.Is(err, zendesk.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
	t.Run("a key that is not RSA is refused", func(t *testing.T) {
		ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = pem.Encode(w, &pem.Block{Type: "PUBLIC KEY", Bytes: der})
		}))
		defer other.Close()
		c := clientWith(t, srv, srv.SupportToken(zendesktest.DemoAdaID), func(o *zendesk.Options) { o.BaseURL, o.HTTPClient = other.URL, other.Client() })
		if key, err := c.AppPublicKey(ctx, zendesktest.DemoAppID); err == nil || key != nil {
			t.Fatalf("AppPublicKey = %v, %v; want an error", key, err)
		}
	})
	t.Run("an agent may not read apps", func(t *testing.T) {
		if _, err := srv.SupportAPI(zendesktest.DemoRexID).Installations(ctx); !errors.Is(err, zendesk.ErrForbidden) {
			t.Fatalf("err = %v, want ErrForbidden", err)
		}
	})
}

func TestChatAccountAndOwner(t *testing.T) {
	t.Parallel()
	ctx, srv, admin := chatAs(t, zendesktest.Options{}, zendesktest.DemoAdaID)

	t.Run("the plan is read and ranked", func(t *testing.T) {
		a, err := admin.ChatAccount(ctx)
		if err != nil || a.Plan.Name != zendesktest.DemoChatPlan || !a.Plan.AtLeast("team") || a.Plan.AtLeast("enterprise") {
			t.Fatalf("ChatAccount = %+v, %v", a, err)
		}
		if !strings.Contains(string(a.Plan.Raw), `"max_agents"`) {
			t.Errorf("the plan's other fields were dropped: %s", a.Plan.Raw)
		}
	})
	t.Run("plan names compare without case and unknown ones rank nowhere", func(t *testing.T) {
		for name, want := range map[string]bool{"Enterprise": true, "TEAM": true, "lite": false, "galactic": false} {
			if got := (zendesk.ChatPlan{Name: name}).AtLeast("team"); got != want {
				t.Errorf("%q at least team = %v", name, got)
			}
		}
	})
	t.Run("the owner is the agent Chat marks as owner", func(t *testing.T) {
		o, err := admin.AccountOwner(ctx)
		if err != nil || o.ID != zendesktest.DemoAdaID || o.Email != zendesktest.DemoAdaEmail || !o.Roles.Administrator {
			t.Fatalf("AccountOwner = %+v, %v", o, err)
		}
	})
	t.Run("an agent reads their own chat agent but not the account", func(t *testing.T) {
		rex := srv.ChatAPI(zendesktest.DemoRexID)
		if a, err := rex.ChatAgentMe(ctx); err != nil || a.ID != zendesktest.DemoRexID || a.Roles.Owner || a.Roles.Administrator {
			t.Fatalf("ChatAgentMe = %+v, %v", a, err)
		}
		if _, err := rex.ChatAccount(ctx); !errors.Is(err, zendesk.ErrForbidden) {
			t.Fatalf("err = %v, want ErrForbidden", err)
		}
	})
}

func TestAccountOwnerPagesThroughAgents(t *testing.T) {
	t.Parallel()
	srv := newServer(t, zendesktest.Options{})
	var last zendesk.User
	for range 2*zendesk.ChatAgentsPageLimit + 5 {
		last = srv.AddUser(zendesk.User{Name: "Extra Agent", Email: "extra@example.com", Active: true})
	}
	srv.SetOwner(last.ID)
	srv.ResetCalls()
	c := srv.ChatAPI(zendesktest.DemoAdaID)
	agents, err := c.ChatAgents(context.Background())
	if err != nil || len(agents) != 2*zendesk.ChatAgentsPageLimit+5+3 {
		t.Fatalf("ChatAgents = %d agents, %v", len(agents), err)
	}
	o, err := c.AccountOwner(context.Background())
	if err != nil || o.ID != last.ID {
		t.Fatalf("AccountOwner = %+v, %v", o, err)
	}
	if n := srv.CallCount("GET /api/v2/chat/agents"); n != 6 {
		t.Errorf("agent pages fetched = %d, want 3 per listing", n)
	}
}

func TestChatExport(t *testing.T) {
	t.Parallel()
	clk := zendesktest.NewClock(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC))
	ctx, srv, c := chatAs(t, zendesktest.Options{Now: clk.Now}, zendesktest.DemoAdaID)

	t.Run("the demo chats come whole, in update order", func(t *testing.T) {
		page, err := c.ChatExport(ctx, zendesk.ExportRequest{StartTime: time.Unix(0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, ch := range page.Chats {
			ids = append(ids, ch.ID)
		}
		want := []string{zendesktest.DemoVeraChatID, zendesktest.DemoLiamChatID, zendesktest.DemoPaulChatID}
		if strings.Join(ids, ",") != strings.Join(want, ",") || page.Count != 3 || page.EndID != zendesktest.DemoPaulChatID {
			t.Fatalf("page = %+v", page)
		}
		vera := page.Chats[0]
		if !vera.Ended() || vera.UpdateTimestamp.Before(vera.EndTimestamp) || !strings.Contains(string(vera.Raw), `"history"`) {
			t.Errorf("vera's chat = %+v", vera)
		}
		if page.Chats[1].Ended() {
			t.Errorf("an offline message was reported ended")
		}
		if !page.EndTime.Equal(page.Chats[2].UpdateTimestamp) {
			t.Errorf("end_time %v is not the last chat's update %v", page.EndTime, page.Chats[2].UpdateTimestamp)
		}
	})
	t.Run("next_page continues after the last chat", func(t *testing.T) {
		first, err := c.ChatExport(ctx, zendesk.ExportRequest{StartTime: time.Unix(0, 0), Limit: 2})
		if err != nil || len(first.Chats) != 2 {
			t.Fatalf("first page = %+v, %v", first, err)
		}
		second, err := c.ChatExport(ctx, zendesk.ExportRequest{NextPage: first.NextPage})
		if err != nil || len(second.Chats) != 1 || second.Chats[0].ID != zendesktest.DemoPaulChatID {
			t.Fatalf("second page = %+v, %v", second, err)
		}
	})
	t.Run("a start time under five minutes old is ErrStartTimeTooRecent", func(t *testing.T) {
		_, err := c.ChatExport(ctx, zendesk.ExportRequest{StartTime: clk.Now().Add(-4 * time.Minute)})
		if !errors.Is(err, zendesk.ErrStartTimeTooRecent) || !errors.Is(err, zendesk.ErrBadRequest) {
			t.Fatalf("err = %v, want ErrStartTimeTooRecent", err)
		}
	})
	t.Run("a next_page of another host is refused without a request", func(t *testing.T) {
		srv.ResetCalls()
		_, err := c.ChatExport(ctx, zendesk.ExportRequest{NextPage: "https://evil.example/api/v2/chat/incremental/chats?start_time=0"})
		if err == nil || len(srv.Calls()) != 0 {
			t.Fatalf("err = %v after %d calls", err, len(srv.Calls()))
		}
	})
	t.Run("a limit above a thousand is refused", func(t *testing.T) {
		if _, err := c.ChatExport(ctx, zendesk.ExportRequest{Limit: 1001}); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("a Support token cannot export chats", func(t *testing.T) {
		_, err := srv.SupportAPI(zendesktest.DemoAdaID).ChatExport(ctx, zendesk.ExportRequest{})
		if !errors.Is(err, zendesk.ErrUnauthorized) {
			t.Fatalf("err = %v, want ErrUnauthorized", err)
		}
	})
}

func TestErrors(t *testing.T) {
	t.Parallel()
	ctx, srv, c := supportAs(t, zendesktest.Options{}, zendesktest.DemoAdaID)

	t.Run("a 429 carries Zendesk's Retry-After and is not retried", func(t *testing.T) {
		srv.FailNext(1, http.StatusTooManyRequests)
		srv.ResetCalls()
		_, err := c.Me(ctx)
		var rl *zendesk.RateLimited
		if !errors.As(err, &rl) || rl.RetryAfter != time.Second || !errors.Is(err, zendesk.ErrRateLimited) {
			t.Fatalf("err = %v, want *RateLimited of 1s", err)
		}
		if n := len(srv.Calls()); n != 1 {
			t.Errorf("%d calls, want 1: the client must not retry", n)
		}
	})
	t.Run("a 5xx is ErrServer", func(t *testing.T) {
		srv.FailNext(1, http.StatusServiceUnavailable)
		if _, err := c.Me(ctx); !errors.Is(err, zendesk.ErrServer) {
			t.Fatalf("err = %v, want ErrServer", err)
		}
	})
	t.Run("an error says where it happened but not Zendesk's text", func(t *testing.T) {
		_, err := c.User(ctx, 424242)
		var ae *zendesk.APIError
		if !errors.As(err, &ae) || ae.Code != zendesk.CodeNotFound || ae.Description == "" || strings.Contains(err.Error(), ae.Description) {
			t.Fatalf("err = %v (%+v)", err, ae)
		}
		if !strings.Contains(err.Error(), "read user 424242") {
			t.Errorf("err = %v, want the operation in it", err)
		}
	})
	t.Run("a response over the size bound is an error", func(t *testing.T) {
		small := clientWith(t, srv, srv.ChatToken(zendesktest.DemoAdaID), func(o *zendesk.Options) { o.MaxResponseBytes = 512 })
		if _, err := small.ChatExport(ctx, zendesk.ExportRequest{}); err == nil || !strings.Contains(err.Error(), "larger than 512 bytes") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a cancelled context stops the call", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := c.Me(cctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestSupportOAuthWithPKCE(t *testing.T) {
	t.Parallel()
	ctx, srv, cfg := oauthSandbox(t, (*zendesktest.Server).SupportOAuthConfig, "https://app.example/oauth/zendesk")

	t.Run("the code comes back for the state and the verifier gets a working token", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		q := srv.Authorize(t, cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier)))
		if q.Get("state") != "state-1" || q.Get("code") == "" {
			t.Fatalf("redirect query = %v", q)
		}
		tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil || tok.RefreshToken == "" || tok.Extra("scope") != strings.Join(zendesk.SupportScopes, " ") {
			t.Fatalf("Exchange = %+v, %v", tok, err)
		}
		if u, err := clientWith(t, srv, tok).Me(ctx); err != nil || u.ID != zendesktest.DemoAdaID {
			t.Fatalf("Me = %+v, %v", u, err)
		}
	})
	t.Run("a wrong verifier gets invalid_grant", func(t *testing.T) {
		q := srv.Authorize(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		_, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("err = %v, want invalid_grant", err)
		}
	})
	t.Run("the approver can be chosen", func(t *testing.T) {
		srv.SetApprover(zendesktest.DemoRitaID)
		defer srv.SetApprover(0)
		tok := approved(ctx, t, srv, cfg)
		if u, err := clientWith(t, srv, tok).Me(ctx); err != nil || u.ID != zendesktest.DemoRitaID {
			t.Fatalf("Me = %+v, %v", u, err)
		}
	})
	t.Run("a refresh rotates the refresh token", func(t *testing.T) {
		tok := approved(ctx, t, srv, cfg)
		stale := &oauth2.Token{RefreshToken: tok.RefreshToken}
		fresh, err := cfg.TokenSource(ctx, stale).Token()
		if err != nil || fresh.RefreshToken == tok.RefreshToken {
			t.Fatalf("refresh = %+v, %v", fresh, err)
		}
		if _, err := cfg.TokenSource(ctx, stale).Token(); err == nil {
			t.Fatal("the old refresh token still works")
		}
		if _, err := clientWith(t, srv, tok).Me(ctx); !errors.Is(err, zendesk.ErrUnauthorized) {
			t.Fatalf("the old access token: err = %v, want ErrUnauthorized", err)
		}
	})
}

func TestChatOAuth(t *testing.T) {
	t.Parallel()
	ctx, srv, cfg := oauthSandbox(t, (*zendesktest.Server).ChatOAuthConfig, "https://app.example/oauth/chat")

	t.Run("the authorize URL names the account", func(t *testing.T) {
		prod := zendesk.ChatOAuthConfig("", "acme", "id", "secret", "https://app.example/cb", nil)
		u := prod.AuthCodeURL("s")
		if !strings.HasPrefix(u, "https://www.zopim.com/oauth2/authorizations/new?subdomain=acme&") || prod.Endpoint.TokenURL != "https://www.zopim.com/oauth2/token" {
			t.Fatalf("AuthCodeURL = %s, token URL %s", u, prod.Endpoint.TokenURL)
		}
	})
	t.Run("a Chat token reads chats and nothing of Support", func(t *testing.T) {
		tok := approved(ctx, t, srv, cfg)
		c := clientWith(t, srv, tok)
		if _, err := c.ChatExport(ctx, zendesk.ExportRequest{}); err != nil {
			t.Fatalf("ChatExport: %v", err)
		}
		if _, err := c.Me(ctx); !errors.Is(err, zendesk.ErrUnauthorized) {
			t.Fatalf("Me: err = %v, want ErrUnauthorized", err)
		}
	})
	t.Run("an end user has no Chat seat to grant", func(t *testing.T) {
		q := srv.Authorize(t, cfg.AuthCodeURL("s", oauth2.SetAuthURLParam("login_hint", zendesktest.DemoVeraEmail)))
		if q.Get("error") != "access_denied" {
			t.Fatalf("redirect query = %v", q)
		}
	})
}

func TestParseTimestamp(t *testing.T) {
	t.Parallel()
	want := time.Date(2021, 4, 27, 15, 9, 17, 0, time.UTC)
	tests := []struct {
		name, raw string
		want      time.Time
		err       bool
	}{
		{"an RFC 3339 string is read", `"2021-04-27T15:09:17Z"`, want, false},
		{"an offset is read as UTC", `"2021-04-27T17:09:17+02:00"`, want, false},
		{"epoch seconds as a number are read", `1619536157`, want, false},
		{"epoch seconds as a string are read", `"1619536157"`, want, false},
		{"fractional seconds keep their fraction", `1619536157.5`, want.Add(500 * time.Millisecond), false},
		{"null is no time", `null`, time.Time{}, false},
		{"an empty string is no time", `""`, time.Time{}, false},
		{"prose is an error", `"yesterday"`, time.Time{}, true},
		{"a negative number is an error", `-5`, time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := zendesk.ParseTimestamp(json.RawMessage(tt.raw))
			if (err != nil) != tt.err || !got.Equal(tt.want) {
				t.Fatalf("ParseTimestamp(%s) = %v, %v", tt.raw, got, err)
			}
		})
	}
}

func TestNewNeedsAnAccount(t *testing.T) {
	t.Parallel()
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"})
	for name, opts := range map[string]zendesk.Options{
		"without a token source":       {Subdomain: "acme"},
		"without subdomain or URL":     {TokenSource: ts},
		"with a subdomain in capitals": {Subdomain: "Acme", TokenSource: ts},
		"with a relative base URL":     {BaseURL: "/api", TokenSource: ts},
	} {
		t.Run("a client is refused "+name, func(t *testing.T) {
			if _, err := zendesk.New(opts); err == nil {
				t.Fatal("no error")
			}
		})
	}
	if u, err := zendesk.BaseURL("acme"); err != nil || u != "https://acme.zendesk.com" {
		t.Fatalf("BaseURL = %q, %v", u, err)
	}
}
