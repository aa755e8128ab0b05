package chatstore_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/redact"
	"github.com/sellchat/sellchat/shared/domain/settings"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var now = time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)

func chatWith(id, msg string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"type":"chat","timestamp":"2026-11-20T13:00:00Z","visitor":{"name":"Vera","email":"vera@example.com","phone":"+1 415 555 0100"},`+
		`"history":[{"type":"chat.msg","nick":"visitor","name":"Vera","msg":%q,"timestamp":"2026-11-20T13:00:05Z"}]}`, id, msg)
}

// storedText returns the chat as stored, decompressed.
func storedText(t *testing.T, cs *chatstore.Store, account, id string) (string, chatstore.ChatItem) {
	t.Helper()
	it, err := cs.Chat(context.Background(), account, id)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(it.Raw))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw), it
}

// newChatStore is a chat store over a fresh table, with the table's store for what a
// test sets up or reads beside the chat store (settings, raw items).
func newChatStore(t *testing.T) (*store.Store, *chatstore.Store) {
	t.Helper()
	s := storetest.New(t)
	return s, chatstore.New(s)
}

func TestCardNumbersAreMaskedBeforeTheChatIsStored(t *testing.T) {
	t.Parallel()
	cs := chatstore.New(storetest.New(t))
	c, err := cs.Ingest(context.Background(), "acme", chatWith("c-card", "my card is 4111 1111 1111 1111, exp 12/27"), now)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.History[0].Msg; got != "my card is •••• 1111, exp 12/27" {
		t.Fatalf("the chat handed back reads %q", got)
	}
	raw, it := storedText(t, cs, "acme", "c-card")
	if strings.Contains(raw, "4111 1111 1111 1111") || !strings.Contains(raw, `"msg":"my card is •••• 1111, exp 12/27"`) {
		t.Fatalf("stored %s", raw)
	}
	if len(it.Redactions) != 1 || it.Redactions[redact.CardRule] != 1 {
		t.Fatalf("redactions %v", it.Redactions)
	}
	// What matching reads stays as it came.
	if c.Visitor.Email != "vera@example.com" || c.Visitor.Phone != "+1 415 555 0100" || c.ID != "c-card" {
		t.Fatalf("%+v", c.Visitor)
	}
	// A chat with nothing to mask is stored as it came, with no counts.
	if _, err := cs.Ingest(context.Background(), "acme", chatWith("c-plain", "hello"), now); err != nil {
		t.Fatal(err)
	}
	if raw, it := storedText(t, cs, "acme", "c-plain"); raw != string(chatWith("c-plain", "hello")) || it.Redactions != nil {
		t.Fatalf("stored %s with %v", raw, it.Redactions)
	}
}

func TestTheAdminsRulesApplyToChatsReceivedAtMostRulesTTLAfterTheyChange(t *testing.T) {
	t.Parallel()
	s, cs := newChatStore(t)
	ctx := context.Background()
	msg := "acct 12345678, card 4111111111111111"
	if _, err := cs.Ingest(ctx, "acme", chatWith("c-before", msg), now); err != nil {
		t.Fatal(err)
	}
	storetest.ChangeSettings(t, s, "acme", func(st *settings.Settings) {
		st.Redaction = settings.Redaction{CardNumbersOff: true, Patterns: []redact.Pattern{{Name: "acct", Pattern: `acct \d{8}`}}}
	})
	// Within RulesTTL of the last read, the rules read then still apply…
	if _, err := cs.Ingest(ctx, "acme", chatWith("c-cached", msg), now.Add(chatstore.RulesTTL-time.Second)); err != nil {
		t.Fatal(err)
	}
	// …and after it, the new ones.
	if _, err := cs.Ingest(ctx, "acme", chatWith("c-after", msg), now.Add(chatstore.RulesTTL)); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{
		"c-before": "acct 12345678, card •••• 1111",
		"c-cached": "acct 12345678, card •••• 1111",
		"c-after":  "••••, card 4111111111111111",
	} {
		raw, it := storedText(t, cs, "acme", id)
		c, err := chats.Parse([]byte(raw))
		if err != nil || c.History[0].Msg != want {
			t.Errorf("%s stored %q (%v), want %q", id, c.History[0].Msg, err, want)
		}
		if id == "c-after" && (it.Redactions["acct"] != 1 || len(it.Redactions) != 1) {
			t.Errorf("%s counts %v", id, it.Redactions)
		}
	}
	// Another account's rules are its own.
	if _, err := cs.Ingest(ctx, "globex", chatWith("c-other", msg), now.Add(chatstore.RulesTTL)); err != nil {
		t.Fatal(err)
	}
	if raw, _ := storedText(t, cs, "globex", "c-other"); !strings.Contains(raw, "acct 12345678, card •••• 1111") {
		t.Fatalf("globex stored %s", raw)
	}
}

func TestNothingIsStoredWhenTheRulesCannotBeRead(t *testing.T) {
	t.Parallel()
	s, cs := newChatStore(t)
	ctx := context.Background()
	// A settings item that does not decode, and rules saved around Apply's checks.
	if err := s.Put(ctx, store.Key{Account: "acme", SK: "SETTINGS"}, map[string]any{"redaction": "not an object"}); err != nil {
		t.Fatal(err)
	}
	storetest.ChangeSettings(t, s, "globex", func(st *settings.Settings) {
		st.Redaction = settings.Redaction{Patterns: []redact.Pattern{{Name: "all", Pattern: `a*`}}}
	})
	for _, account := range []string{"acme", "globex"} {
		_, err := cs.Ingest(ctx, account, chatWith("c-1", "card 4111 1111 1111 1111"), now)
		if err == nil || chats.Invalid(err) || errors.Is(err, chatstore.ErrExists) || errors.Is(err, chatstore.ErrTooLarge) {
			t.Fatalf("%s: err = %v, want an error worth retrying", account, err)
		}
		if _, err := cs.Chat(ctx, account, "c-1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: the chat was stored (%v)", account, err)
		}
	}
}

func TestABodyThatIsNoChatIsStillRefusedAsBefore(t *testing.T) {
	t.Parallel()
	cs := chatstore.New(storetest.New(t))
	for body, want := range map[string]string{`[1]`: "malformed", `{"id":"c"} x`: "malformed", `{"visitor":{}}`: "id", `{"id":"c","history":"4111111111111111"}`: "visitor"} {
		_, err := cs.Ingest(context.Background(), "acme", []byte(body), now)
		var fe *chats.FieldError
		if !chats.Invalid(err) || (want == "malformed") != errors.Is(err, chats.ErrMalformed) || (want != "malformed" && (!errors.As(err, &fe) || fe.Field != want)) {
			t.Errorf("%s: err = %v", body, err)
		}
	}
}
