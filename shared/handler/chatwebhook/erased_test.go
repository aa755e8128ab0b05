package chatwebhook_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/store/privacystore"
	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// A chat of a visitor erased within the tombstone window is answered as a
// redelivery and not stored again; another visitor's chat is stored as ever.
func TestAChatOfAnErasedVisitorIsNotStoredAgain(t *testing.T) {
	t.Parallel()
	env := setup(t)
	ps := privacystore.New(env.Deps.Store, env.Deps.Box)
	sub, _ := privacystore.EmailSubject("Vera@Example.com")
	if _, _, err := ps.Start(context.Background(), "acme", "er-1", sub, "1"); err != nil {
		t.Fatal(err)
	}
	h := chatwebhook.New(env.IngestDeps())
	res := apptest.Do(t, h, delivery{body: chatBody("after-erasure")}.request())
	if res.Status != 202 || !strings.Contains(string(res.Body), `"duplicate":true`) {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	if _, err := chatstore.New(env.Deps.Store).Chat(context.Background(), "acme", "after-erasure"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the erased visitor's chat was stored: %v", err)
	}
	other := strings.Replace(chatBody("someone-else"), "vera@example.com", "paul@acme.example", 1)
	if res := apptest.Do(t, h, delivery{body: other}.request()); res.Status != 202 || strings.Contains(string(res.Body), "duplicate") {
		t.Fatalf("another visitor: %d %s", res.Status, res.Body)
	}
}
