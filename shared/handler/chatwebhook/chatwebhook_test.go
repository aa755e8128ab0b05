package chatwebhook_test

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

const secret = "zendesk-signing-secret-1"

// setup returns an env whose account acme has a signing secret.
func setup(t *testing.T) *apptest.Env {
	t.Helper()
	env := apptest.New(t)
	SetSecret(t, env, "acme", secret)
	return env
}

// SetSecret stores account's webhook signing secret as PUT /integration/webhook does.
func SetSecret(t testing.TB, env *apptest.Env, account, s string) {
	t.Helper()
	sealed := env.Deps.Box.Seal([]byte(s), secrets.AAD(account, "webhook_secret"))
	if _, err := env.Deps.Store.UpdateIntegration(context.Background(), account, func(in *settings.Integration) error {
		in.WebhookSecret = sealed
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func chatBody(id string) string {
	return `{"id":"` + id + `","type":"chat","timestamp":"2026-11-20T14:02:11Z","visitor":{"name":"Vera Visitor","email":"vera@example.com","phone":"+1 415 555 0100"},` +
		`"history":[{"type":"chat.msg","nick":"visitor","name":"Vera Visitor","msg":"Hi!","timestamp":"2026-11-20T14:02:15Z"}],"some_new_field":[1,2]}`
}

// delivery is one webhook call, signed with sig's secret at ts unless overridden.
type delivery struct {
	account, body string
	secret        string
	ts            string
	sig           string // used as is when set
	omitSig       bool
	omitTS        bool
}

func (d delivery) request() apptest.Request {
	if d.account == "" {
		d.account = "acme"
	}
	if d.secret == "" {
		d.secret = secret
	}
	if d.ts == "" {
		d.ts = time.Now().UTC().Format(time.RFC3339)
	}
	sig := d.sig
	if sig == "" {
		sig = chatwebhook.Sign([]byte(d.secret), d.ts, []byte(d.body))
	}
	h := map[string]string{}
	if !d.omitSig {
		h[chatwebhook.HeaderSignature] = sig
	}
	if !d.omitTS {
		h[chatwebhook.HeaderTimestamp] = d.ts
	}
	return apptest.Request{Method: "POST", Path: "/webhooks/chat/" + d.account, Body: d.body, Header: h}
}

func TestASignedChatIsStoredOnceAndAcknowledged(t *testing.T) {
	t.Parallel()
	env := setup(t)
	h := chatwebhook.New(env.IngestDeps())
	res := apptest.Do(t, h, delivery{body: chatBody("c-1")}.request())
	if res.Status != 202 {
		t.Fatalf("status %d: %s", res.Status, res.Body)
	}
	var ack map[string]any
	res.JSON(t, &ack)
	if ack["chatId"] != "c-1" || ack["status"] != "accepted" || ack["duplicate"] != nil {
		t.Fatalf("ack %v", ack)
	}
	it, err := chatstore.New(env.Deps.Store).Chat(context.Background(), "acme", "c-1")
	if err != nil {
		t.Fatal(err)
	}
	c, err := it.Chat()
	if err != nil || it.Status != chats.StatusReceived || c.Visitor.Email != "vera@example.com" || !strings.Contains(string(c.Raw), "some_new_field") {
		t.Fatalf("stored %+v / %+v, %v", it, c, err)
	}
	if n := env.Sell.TotalCalls(); n != 0 {
		t.Fatalf("the webhook called Sell %d times; the ack must never wait on Sell", n)
	}

	t.Run("a redelivery is a duplicate and changes nothing", func(t *testing.T) {
		before := storetest.Snapshot(t, env.Deps.Store)
		res := apptest.Do(t, h, delivery{body: chatBody("c-1")}.request())
		var ack map[string]any
		res.JSON(t, &ack)
		if res.Status != 202 || ack["duplicate"] != true {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if after := storetest.Snapshot(t, env.Deps.Store); !reflect.DeepEqual(before, after) {
			t.Fatal("a duplicate delivery changed the table")
		}
	})
}

func TestChatsAreStoredWhileHistoryIsDisabled(t *testing.T) {
	t.Parallel()
	env := setup(t)
	in, _ := env.Deps.Store.Integration(context.Background(), "acme")
	if in.Enabled(settings.ChatHistoryInSell) {
		t.Fatal("history should start disabled")
	}
	res := apptest.Do(t, chatwebhook.New(env.IngestDeps()), delivery{body: `{"id":"off-1","type":"offline_msg","timestamp":1795183331,"visitor":{"email":"liam@example.org"},"message":"Call me"}`}.request())
	if res.Status != 202 {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	it, err := chatstore.New(env.Deps.Store).Chat(context.Background(), "acme", "off-1")
	if err != nil || it.Type != chats.TypeOffline {
		t.Fatalf("%+v %v", it, err)
	}
}

func TestBadDeliveriesAreRefusedAndStoreNothing(t *testing.T) {
	t.Parallel()
	env := setup(t)
	SetSecret(t, env, "globex", "globex-secret-123")
	if _, err := env.Deps.Store.UpdateIntegration(context.Background(), "nosecret", func(in *settings.Integration) error {
		in.SellConnected = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h := chatwebhook.New(env.IngestDeps())
	body := chatBody("c-bad")
	now := time.Now().UTC()
	good := chatwebhook.Sign([]byte(secret), now.Format(time.RFC3339), []byte(body))
	huge := `{"id":"big","visitor":{},"pad":"` + strings.Repeat("x", 1<<20) + `"}`
	cases := []struct {
		name   string
		d      delivery
		status int
		code   string
		field  string
	}{
		{"a wrong secret", delivery{body: body, secret: "not-the-secret"}, 401, "invalid_signature", ""},
		{"an altered body", delivery{body: body + " ", sig: good, ts: now.Format(time.RFC3339)}, 401, "invalid_signature", ""},
		{"a stale timestamp", delivery{body: body, ts: now.Add(-6 * time.Minute).Format(time.RFC3339)}, 401, "invalid_signature", ""},
		{"a future timestamp", delivery{body: body, ts: now.Add(6 * time.Minute).Format(time.RFC3339)}, 401, "invalid_signature", ""},
		{"a timestamp that is no time", delivery{body: body, ts: "soon"}, 401, "invalid_signature", ""},
		{"no signature header", delivery{body: body, omitSig: true}, 401, "invalid_signature", ""},
		{"no timestamp header", delivery{body: body, omitTS: true}, 401, "invalid_signature", ""},
		{"a signature that is not base64", delivery{body: body, sig: "%%%"}, 401, "invalid_signature", ""},
		{"another account's secret", delivery{body: body, secret: "globex-secret-123"}, 401, "invalid_signature", ""},
		{"an unknown account", delivery{account: "initech", body: body}, 401, "invalid_signature", ""},
		{"an account without a secret", delivery{account: "nosecret", body: body}, 401, "invalid_signature", ""},
		{"an account that is no subdomain", delivery{account: "ACME..", body: body}, 401, "invalid_signature", ""},
		{"a body over 1 MiB", delivery{body: huge}, 413, "body_too_large", ""},
		{"signed malformed JSON", delivery{body: `{"id":`}, 400, "malformed_json", ""},
		{"a signed JSON list", delivery{body: `[1]`}, 400, "malformed_json", ""},
		{"a signed empty body", delivery{body: ``}, 400, "malformed_json", ""},
		{"a chat without an id", delivery{body: `{"visitor":{"name":"x"}}`}, 422, "required", "id"},
		{"a chat without a visitor", delivery{body: `{"id":"v"}`}, 422, "required", "visitor"},
		{"a chat id with control characters", delivery{body: `{"id":"a\u0000b","visitor":{}}`}, 422, "invalid_value", "id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := storetest.Snapshot(t, env.Deps.Store)
			res := apptest.Do(t, h, c.d.request())
			if res.Status != c.status || res.ErrorCode() != c.code {
				t.Fatalf("status %d %s, want %d %s", res.Status, res.Body, c.status, c.code)
			}
			var e struct {
				Error struct{ Code, Message, Field string } `json:"error"`
			}
			res.JSON(t, &e)
			if e.Error.Message == "" || e.Error.Field != c.field {
				t.Fatalf("error %+v, want field %q", e.Error, c.field)
			}
			if after := storetest.Snapshot(t, env.Deps.Store); !reflect.DeepEqual(before, after) {
				t.Fatal("a refused delivery changed the table")
			}
		})
	}
	t.Run("every refusal of trust reads the same", func(t *testing.T) {
		a := apptest.Do(t, h, delivery{account: "initech", body: body}.request())
		b := apptest.Do(t, h, delivery{body: body, secret: "wrong-secret"}.request())
		if string(a.Body) != string(b.Body) {
			t.Fatalf("an unknown account answers %s but a bad signature %s", a.Body, b.Body)
		}
	})
}

func TestTimestampsInEpochSecondsAreAccepted(t *testing.T) {
	t.Parallel()
	env := setup(t)
	res := apptest.Do(t, chatwebhook.New(env.IngestDeps()), delivery{body: chatBody("c-epoch"), ts: strconv.FormatInt(time.Now().Unix(), 10)}.request())
	if res.Status != 202 {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
}

func TestConcurrentDeliveriesStoreOneChat(t *testing.T) {
	t.Parallel()
	env := setup(t)
	h := chatwebhook.New(env.IngestDeps())
	var wg sync.WaitGroup
	var acks apptest.WebhookAcks
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acks.Count(t, apptest.Do(t, h, delivery{body: chatBody("c-race")}.request()))
		}()
	}
	wg.Wait()
	if acks.Stored != 1 || acks.Duplicates != 4 {
		t.Fatalf("%d stored and %d duplicates, want 1 and 4", acks.Stored, acks.Duplicates)
	}
	n := 0
	for _, it := range storetest.Snapshot(t, env.Deps.Store) {
		if strings.HasPrefix(fmt.Sprint(it["sk"]), "CHAT#") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d chat items, want 1", n)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	key := []byte("s3cret-value")
	body := []byte(`{"id":"1"}`)
	ts := now.Format(time.RFC3339)
	// Computed with: printf '%s%s' "$TS" "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
	if got := chatwebhook.Sign(key, ts, body); got != "O/kbC6H/TYYDKZJfmPwi146rE1gJLG9KjIKC6lSl77M=" {
		t.Fatalf("signature %s does not match openssl's", got)
	}
	if err := chatwebhook.Verify(key, ts, chatwebhook.Sign(key, ts, body), body, now.Add(4*time.Minute)); err != nil {
		t.Fatalf("a fresh, correct signature was refused: %v", err)
	}
	if err := chatwebhook.Verify(nil, ts, chatwebhook.Sign(nil, ts, body), body, now); err == nil {
		t.Fatal("an empty secret verified")
	}
}

// FuzzVerify: only the exact signature of the exact timestamp and body verifies.
func FuzzVerify(f *testing.F) {
	f.Add([]byte("secret"), "2026-11-20T14:00:00Z", []byte(`{"id":"1","visitor":{}}`), uint(0), byte(1))
	f.Add([]byte("k"), "1795183331", []byte(""), uint(3), byte(0x80))
	f.Fuzz(func(t *testing.T, secret []byte, ts string, body []byte, pos uint, flip byte) {
		now, ok := time.Time{}, false
		if t0, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			now, ok = t0, true
		} else if n, err := strconv.ParseInt(ts, 10, 64); err == nil && n > 0 && n < 1<<40 {
			now, ok = time.Unix(n, 0), true
		}
		sig := chatwebhook.Sign(secret, ts, body)
		err := chatwebhook.Verify(secret, ts, sig, body, now)
		if ok && len(secret) > 0 && len(ts) <= 64 && err != nil {
			t.Fatalf("a correct signature was refused: %v", err)
		}
		if !ok && err == nil {
			t.Fatal("an unreadable timestamp verified")
		}
		if flip != 0 && len(body) > 0 {
			altered := append([]byte(nil), body...)
			altered[pos%uint(len(altered))] ^= flip
			if chatwebhook.Verify(secret, ts, sig, altered, now) == nil {
				t.Fatal("an altered body verified")
			}
		}
		if chatwebhook.Verify(append(append([]byte(nil), secret...), 'x'), ts, sig, body, now) == nil {
			t.Fatal("another secret verified")
		}
	})
}

func TestANewSecretWorksAtOnceAndTheOldOneStops(t *testing.T) {
	t.Parallel()
	env := setup(t)
	h := chatwebhook.New(env.IngestDeps())
	if res := apptest.Do(t, h, delivery{body: chatBody("s-1")}.request()); res.Status != 202 {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	SetSecret(t, env, "acme", "the-rotated-secret")
	if res := apptest.Do(t, h, delivery{body: chatBody("s-2"), secret: "the-rotated-secret"}.request()); res.Status != 202 {
		t.Fatalf("the new secret was refused: %d %s", res.Status, res.Body)
	}
	if res := apptest.Do(t, h, delivery{body: chatBody("s-3")}.request()); res.Status != 401 {
		t.Fatalf("the old secret still works: %d %s", res.Status, res.Body)
	}
}
