package security_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// TestWebhookDeliveriesAreVerifiedBeforeAnythingIsStored is the webhook's own rows:
// it takes no JWT, so its columns are the ways a delivery can fail to prove it comes
// from Zendesk for this account. shared/handler/chatwebhook's tests go through more
// malformed inputs (bodies, ids, sizes, epoch timestamps, secret rotation); here each
// refusal is checked against a full Scan of a table holding two accounts, and replays
// are checked end to end.
func TestWebhookDeliveriesAreVerifiedBeforeAnythingIsStored(t *testing.T) {
	w := newWorld(t)
	fn := w.served["POST /webhooks/chat/{account}"]
	now := time.Now()
	body := chatJSON("hook-1", "Vera Visitor")
	good := signed(victim, secretA, body, now)
	without := func(req apptest.Request, header string) apptest.Request {
		h := map[string]string{}
		for k, v := range req.Header {
			if k != header {
				h[k] = v
			}
		}
		req.Header = h
		return req
	}
	altered := good
	altered.Body = strings.Replace(body, "Hi!", "Hi?", 1)
	toB := good
	toB.Path = "/webhooks/chat/" + other

	refused := []struct {
		name string
		req  apptest.Request
	}{
		{"no signature headers", apptest.Request{Method: "POST", Path: good.Path, Body: body}},
		{"no signature header", without(good, chatwebhook.HeaderSignature)},
		{"no timestamp header", without(good, chatwebhook.HeaderTimestamp)},
		{"a forged signature (another secret)", signed(victim, "not-the-secret", body, now)},
		{"a body changed after signing", altered},
		{"a stale timestamp (6 minutes old, limit 5)", signed(victim, secretA, body, now.Add(-6*time.Minute))},
		{"a timestamp 6 minutes ahead", signed(victim, secretA, body, now.Add(6*time.Minute))},
		{"signed with B's secret, sent to A", signed(victim, secretB, body, now)},
		{"A's delivery sent to B's URL", toB},
		{"an account that does not exist", signed("initech", secretA, body, now)},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			before := scan(t, w)
			res := apptest.Do(t, fn, c.req)
			if res.Status != http.StatusUnauthorized || res.ErrorCode() != "invalid_signature" {
				t.Fatalf("got %d %s; want 401 invalid_signature", res.Status, res.Body)
			}
			checkErrorShape(t, res)
			if d := changed(before, scan(t, w)); len(d) > 0 {
				t.Fatalf("a refused delivery changed the table: %v", d)
			}
		})
	}

	t.Run("a good delivery stores its chat in A's partition only", func(t *testing.T) {
		before := scan(t, w)
		res := apptest.Do(t, fn, good)
		if res.Status != http.StatusAccepted || strings.Contains(string(res.Body), "duplicate") {
			t.Fatalf("got %d %s; want 202, new", res.Status, res.Body)
		}
		if d := changed(before, scan(t, w)); len(d) != 1 || d[0] != partition(victim)+"CHAT#hook-1" {
			t.Fatalf("changes %v; want only A's chat hook-1", d)
		}
	})
	replays := []struct {
		name string
		req  apptest.Request
	}{
		{"the same delivery again (a replay within 5 minutes)", good},
		{"the same chat signed again later (Zendesk's retry)", signed(victim, secretA, body, now.Add(time.Minute))},
	}
	for _, c := range replays {
		t.Run(c.name+" is a duplicate and changes nothing", func(t *testing.T) {
			before := scan(t, w)
			res := apptest.Do(t, fn, c.req)
			var ack struct {
				ChatID    string `json:"chatId"`
				Duplicate bool   `json:"duplicate"`
			}
			res.JSON(t, &ack)
			if res.Status != http.StatusAccepted || !ack.Duplicate || ack.ChatID != "hook-1" {
				t.Fatalf("got %d %s; want 202 duplicate", res.Status, res.Body)
			}
			if d := changed(before, scan(t, w)); len(d) > 0 {
				t.Fatalf("a duplicate changed the table: %v", d)
			}
		})
	}
	t.Run("a captured delivery replayed 6 minutes later is refused", func(t *testing.T) {
		later := chatwebhook.NewWithClock(w.env.IngestDeps(), func() time.Time { return time.Now().Add(6 * time.Minute) })
		captured := signed(victim, secretA, chatJSON("hook-2", "Vera Visitor"), now)
		before := scan(t, w)
		res := apptest.Do(t, later, captured)
		if res.Status != http.StatusUnauthorized || res.ErrorCode() != "invalid_signature" {
			t.Fatalf("got %d %s; want 401 invalid_signature", res.Status, res.Body)
		}
		if d := changed(before, scan(t, w)); len(d) > 0 {
			t.Fatalf("a stale replay changed the table: %v", d)
		}
	})
}

// TestTheWebhookUsesOnlyWhatTemplateYAMLGrantsIt runs deliveries of every outcome
// through a DynamoDB client that records each call: the webhook function may only
// GetItem and PutItem (template.yaml's ChatwebhookFunction policy, checked in
// infra/template). A code change that needs more fails here, not in production.
func TestTheWebhookUsesOnlyWhatTemplateYAMLGrantsIt(t *testing.T) {
	env := apptest.New(t)
	calls := map[string]int{}
	var mu sync.Mutex
	record := func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("record", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			mu.Lock()
			calls[awsmiddleware.GetOperationName(ctx)]++
			mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
	}
	client := dynamodb.New(env.Deps.Store.Client().Options(), func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, record) })
	w := &world{env: env}
	w.env.SealWebhookSecret(t, victim, secretA)
	deps := env.IngestDeps()
	deps.Store = store.New(client, env.Deps.Store.Table())
	fn := chatwebhook.New(deps)
	body := chatJSON("ops-1", "Vera Visitor")
	for _, c := range []struct {
		req    apptest.Request
		status int
	}{
		{signed(victim, secretA, body, time.Now()), 202},                     // stored
		{signed(victim, secretA, body, time.Now()), 202},                     // duplicate
		{signed(victim, "wrong-secret", body, time.Now()), 401},              // refused
		{signed("initech", secretA, body, time.Now()), 401},                  // no such account
		{signed(victim, secretA, `{"id":"x"}`, time.Now()), 422},             // no visitor
		{signed(victim, secretA, `{"id":`, time.Now().Add(-time.Hour)), 401}, // stale
	} {
		if res := apptest.Do(t, fn, c.req); res.Status != c.status {
			t.Fatalf("%s: %d %s; want %d", c.req.Path, res.Status, res.Body, c.status)
		}
	}
	if calls["GetItem"] == 0 || calls["PutItem"] == 0 {
		t.Fatalf("the recorder saw %v: it does not see the webhook's calls", calls)
	}
	// template.yaml grants it BatchGetItem, GetItem, PutItem and UpdateItem (a
	// transaction needs the actions inside it, puts and updates here).
	for op := range calls {
		if !slices.Contains([]string{"BatchGetItem", "GetItem", "PutItem", "UpdateItem", "TransactWriteItems"}, op) {
			t.Errorf("the webhook called %s, which template.yaml does not grant it (calls: %v)", op, calls)
		}
	}
}
