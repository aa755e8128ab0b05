package tokens_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// newVault is a fresh deployment and the vault its functions keep Sell tokens in.
func newVault(t *testing.T) (*apptest.Env, *tokens.Vault) {
	t.Helper()
	env := apptest.New(t)
	return env, env.Deps.Vault
}

// save stores tok for holder of acme, as a sign-in does.
func save(t *testing.T, v *tokens.Vault, holder tokens.Holder, tok *oauth2.Token, u tokens.SellUser) {
	t.Helper()
	if err := v.Save(context.Background(), "acme", holder, tok, u); err != nil {
		t.Fatal(err)
	}
}

func TestTokensAreSealedAndBoundToTheirItem(t *testing.T) {
	t.Parallel()
	env, v := newVault(t)
	ctx := context.Background()
	admin := env.Sell.TokenFor("ada@example.com")
	rep := env.Sell.TokenFor("rex@example.com")
	save(t, v, tokens.Admin(), admin, tokens.SellUser{ID: selltest.DemoAdminID, Name: "Ada Admin"})
	save(t, v, tokens.Agent("361"), rep, tokens.SellUser{ID: 1002, Name: "Rex Rep"})

	t.Run("no token is in the table in clear", func(t *testing.T) {
		dump := fmt.Sprint(storetest.Snapshot(t, env.Deps.Store))
		for _, secret := range []string{admin.AccessToken, admin.RefreshToken, rep.AccessToken, rep.RefreshToken} {
			if secret != "" && strings.Contains(dump, secret) {
				t.Fatalf("found a token in clear in %s", dump)
			}
		}
	})
	t.Run("a stored token opens for its holder", func(t *testing.T) {
		got, rec, err := v.Load(ctx, "acme", tokens.Agent("361"))
		if err != nil || got.AccessToken != rep.AccessToken || rec.SellUserID != 1002 {
			t.Fatalf("got %v %+v %v", got, rec, err)
		}
	})
	t.Run("a token copied onto another agent's item does not open", func(t *testing.T) {
		var rec tokens.Record
		if _, err := env.Deps.Store.Get(ctx, store.Key{Account: "acme", SK: "TOKEN#agent#361"}, &rec); err != nil {
			t.Fatal(err)
		}
		if err := env.Deps.Store.Put(ctx, store.Key{Account: "acme", SK: "TOKEN#agent#999"}, rec); err != nil {
			t.Fatal(err)
		}
		if _, _, err := v.Load(ctx, "acme", tokens.Agent("999")); err == nil {
			t.Fatal("a swapped token opened")
		}
		if err := env.Deps.Store.Put(ctx, store.Key{Account: "globex", SK: "TOKEN#agent#361"}, rec); err != nil {
			t.Fatal(err)
		}
		if _, _, err := v.Load(ctx, "globex", tokens.Agent("361")); err == nil {
			t.Fatal("a token moved to another account opened")
		}
	})
	t.Run("a tampered token does not open", func(t *testing.T) {
		var rec tokens.Record
		key := store.Key{Account: "acme", SK: "TOKEN#admin"}
		if _, err := env.Deps.Store.Get(ctx, key, &rec); err != nil {
			t.Fatal(err)
		}
		rec.Sealed[len(rec.Sealed)-1] ^= 1
		if err := env.Deps.Store.Put(ctx, store.Key{Account: "acme", SK: "TOKEN#agent#tampered"}, rec); err != nil {
			t.Fatal(err)
		}
		if _, _, err := v.Load(ctx, "acme", tokens.Agent("tampered")); err == nil {
			t.Fatal("a tampered token opened")
		}
	})
}

func TestARefreshedTokenIsSavedForTheNextLambda(t *testing.T) {
	t.Parallel()
	env, v := newVault(t)
	ctx := context.Background()
	tok := env.Sell.TokenFor("ada@example.com")
	save(t, v, tokens.Admin(), tok, tokens.SellUser{ID: selltest.DemoAdminID})
	env.Sell.ExpireToken(tok.AccessToken)
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	save(t, v, tokens.Admin(), &expired, tokens.SellUser{ID: selltest.DemoAdminID})

	c, _, err := v.Client(ctx, "acme", tokens.Admin())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Self(ctx); err != nil {
		t.Fatalf("a call with an expired token: %v", err)
	}
	saved, _, err := v.Load(ctx, "acme", tokens.Admin())
	if err != nil || saved.AccessToken == tok.AccessToken || !saved.Valid() {
		t.Fatalf("the refreshed token was not saved: %+v %v", saved, err)
	}
	// A second "Lambda" builds its client from the table and needs no refresh.
	before := env.Sell.Grants("refresh_token")
	c2, _, _ := v.Client(ctx, "acme", tokens.Admin())
	if _, err := c2.Self(ctx); err != nil || env.Sell.Grants("refresh_token") != before {
		t.Fatalf("second client: %v, refreshes %d → %d", err, before, env.Sell.Grants("refresh_token"))
	}
}

func TestARevokedTokenIsMarkedBroken(t *testing.T) {
	t.Parallel()
	env, v := newVault(t)
	ctx := context.Background()
	tok := env.Sell.TokenFor("rex@example.com")
	save(t, v, tokens.Agent("361"), tok, tokens.SellUser{ID: 1002})
	env.Sell.RevokeToken(tok.AccessToken)
	env.Sell.RevokeToken(tok.RefreshToken)
	c, _, err := v.Client(ctx, "acme", tokens.Agent("361"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Self(ctx)
	if !tokens.IsRefused(err) {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if err := v.MarkBroken(ctx, "acme", tokens.Agent("361"), "refused"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.Load(ctx, "acme", tokens.Agent("361")); !errors.Is(err, tokens.ErrBroken) {
		t.Fatalf("err = %v, want ErrBroken", err)
	}
}

func TestTheChatConnectionRefreshesItsTokenAndKeepsItApartFromZendesks(t *testing.T) {
	t.Parallel()
	env, v := newVault(t)
	ctx := context.Background()
	tok := env.Zendesk.ChatToken(zendesktest.DemoAdaID, "read", "chat")
	env.Zendesk.ExpireToken(tok.AccessToken)
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	if err := v.SaveChat(ctx, "acme", &expired, "1", "Ada Admin", zendesktest.DemoAdaEmail); err != nil {
		t.Fatal(err)
	}
	c, err := v.ChatClient(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ChatAccount(ctx); err != nil {
		t.Fatalf("a Chat call with an expired token: %v", err)
	}
	saved, rec, err := v.Load(ctx, "acme", tokens.Chat())
	if err != nil || saved.AccessToken == tok.AccessToken || !saved.Valid() || rec.ZendeskUserID != "1" {
		t.Fatalf("the refreshed Chat token was not saved: %+v %+v %v", saved, rec, err)
	}
	if _, _, err := v.Load(ctx, "acme", tokens.Zendesk()); !errors.Is(err, tokens.ErrNoToken) {
		t.Fatalf("the Zendesk connection: %v, want none", err)
	}
	// Sealed for the Chat holder: copied onto the Zendesk item, it does not open.
	if err := env.Deps.Store.Put(ctx, tokens.Key("acme", tokens.Zendesk()), rec); err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.Load(ctx, "acme", tokens.Zendesk()); err == nil {
		t.Fatal("a Chat token opened as the Zendesk connection")
	}
}
