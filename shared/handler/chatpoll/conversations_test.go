package chatpoll_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
	"github.com/sellchat/sellchat/shared/handler/chatpoll"
	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

const messagingSecret = "zendesk-webhook-secret-of-the-messaging-trigger"

// messagingWorld is an account that keeps chat history, with Zendesk connected and
// its Support webhook's secret stored, over a Zendesk sandbox whose conversation log
// allows logPerMinute requests a minute, on a clock the test moves.
type messagingWorld struct {
	env     *apptest.Env
	clock   *zendesktest.Clock
	webhook http.Handler
}

func newMessagingWorld(t testing.TB, logPerMinute float64) *messagingWorld {
	t.Helper()
	clock := zendesktest.NewClock(time.Now().UTC().Truncate(time.Second))
	env := apptest.NewWith(t, apptest.Options{Zendesk: zendesktest.Options{Now: clock.Now, ConversationLogPerMinute: logPerMinute}})
	env.Connect(t, "acme")
	env.SetHistory(t, "acme", true)
	env.ConnectZendesk(t, "acme")
	env.ConnectNotifications(t, "acme", messagingSecret)
	return &messagingWorld{env: env, clock: clock, webhook: chatwebhook.NewWithClock(env.IngestDeps(), clock.Now)}
}

// notify delivers the trigger's notification of ticket, signed as Zendesk signs it.
func (w *messagingWorld) notify(t testing.TB, ticket int64) (int, apptest.SupportAnswer) {
	t.Helper()
	rec, a := w.env.NotifySupport(t, w.webhook, "acme", messagingSecret, fmt.Sprintf(`{"ticket_id":"%d"}`, ticket))
	return rec.Code, a
}

func (w *messagingWorld) conversation(text string) int64 {
	return w.env.Zendesk.AddMessagingTicket(zendesktest.Messaging{
		Requester: zendesktest.Requester{Name: "Wendy Whats", Email: "wendy@whats.example", Phone: "+14155550123"},
		Channel:   "whatsapp",
		Messages:  []zendesktest.Message{{Author: "user", Text: text}, {Author: "agent", Text: "Noted."}},
	})
}

func (w *messagingWorld) poller() *chatpoll.Poller {
	d := w.env.PollDeps()
	d.Now = w.clock.Now
	return chatpoll.New(d)
}

// Past the conversation log's limit a solved conversation is not lost to Zendesk's
// few webhook retries: it waits in the table, the poll reads it once Zendesk's
// Retry-After has passed, and it is stored once however often it is notified.
func TestAConversationTheLogRefusesWaitsAndIsReadOnceLater(t *testing.T) {
	t.Parallel()
	w := newMessagingWorld(t, 1) // one log request a minute
	ctx := context.Background()
	first, second := w.conversation("A quote for 40 seats"), w.conversation("And one for 12 more")
	if code, a := w.notify(t, first); code != http.StatusAccepted || a.Status != "accepted" {
		t.Fatalf("first conversation: %d %+v", code, a)
	}
	// The minute's one request is spent: the second waits, twice notified; the
	// second time (and a third conversation) behind the waiting one, without
	// spending the account's Zendesk minute.
	for i := range 2 {
		calls := len(w.env.Zendesk.Calls())
		if code, a := w.notify(t, second); code != http.StatusAccepted || a.Status != "queued" {
			t.Fatalf("second conversation past the limit: %d %+v; want 202 queued", code, a)
		}
		if n := len(w.env.Zendesk.Calls()) - calls; i == 1 && n != 0 {
			t.Fatalf("a notification behind a waiting ticket called Zendesk %d times", n)
		}
	}
	waits, err := w.env.Deps.Store.TicketWaits(ctx, "acme")
	if err != nil || len(waits.Tickets) != 1 || waits.Tickets[0].Ticket != second || waits.NotBefore.IsZero() {
		t.Fatalf("waits = %+v, %v; want ticket %d held until Retry-After", waits, err, second)
	}
	chatID := fmt.Sprintf("zdmsg-%d", second)
	cs := chatstore.New(w.env.Deps.Store)
	if _, err := cs.Chat(ctx, "acme", chatID); err == nil {
		t.Fatal("the waiting conversation is stored before it was read")
	}

	// Before Retry-After the poll leaves it waiting and asks Zendesk nothing.
	calls := len(w.env.Zendesk.Calls())
	if rep := run(t, w.poller()); rep.Conversations != 0 || rep.ConversationsWaiting != 1 {
		t.Fatalf("poll before Retry-After: %+v", rep)
	}
	if n := len(w.env.Zendesk.Calls()); n != calls {
		t.Fatalf("the poll called Zendesk %d times while held back", n-calls)
	}

	w.clock.Advance(time.Minute)
	if rep := run(t, w.poller()); rep.Conversations != 1 || rep.ConversationsWaiting != 0 {
		t.Fatalf("poll after Retry-After: %+v", rep)
	}
	it, err := cs.Chat(ctx, "acme", chatID)
	if err != nil || it.Revision != 0 {
		t.Fatalf("stored conversation: %+v, %v", it, err)
	}
	if body, _ := it.Body(); !strings.Contains(string(body), "12 more") {
		t.Fatalf("stored transcript: %s", body)
	}
	if accounts, _ := w.env.Deps.Store.TicketWaitAccounts(ctx); len(accounts) != 0 {
		t.Fatalf("accounts still listed as waiting: %v", accounts)
	}
	// A late retry of Zendesk's, once the log allows again, is a duplicate.
	w.clock.Advance(time.Minute)
	if code, a := w.notify(t, second); code != http.StatusAccepted || len(a.Chats) != 1 || !a.Chats[0].Duplicate {
		t.Fatalf("late redelivery: %d %+v", code, a)
	}
}

// A waiting ticket that is no longer a solved conversation (reopened) ends its wait
// unread: solved again, Zendesk notifies it again. While chat history is off the
// tickets keep waiting, unread, and nothing is lost by switching it off.
func TestWaitingTicketsFollowTheTicketAndTheSwitch(t *testing.T) {
	t.Parallel()
	w := newMessagingWorld(t, 1)
	ctx := context.Background()
	spent := w.conversation("spends the minute")
	if code, _ := w.notify(t, spent); code != http.StatusAccepted {
		t.Fatal(code)
	}
	reopened, kept := w.conversation("will be reopened"), w.conversation("stays solved")
	for _, id := range []int64{reopened, kept} {
		if code, a := w.notify(t, id); a.Status != "queued" {
			t.Fatalf("ticket %d: %d %+v", id, code, a)
		}
	}
	if !w.env.Zendesk.Reopen(reopened) {
		t.Fatalf("no ticket %d to reopen", reopened)
	}
	w.env.SetHistory(t, "acme", false)
	w.clock.Advance(time.Minute)
	if rep := run(t, w.poller()); rep.Conversations != 0 || rep.ConversationsWaiting != 2 {
		t.Fatalf("poll with history off: %+v", rep)
	}
	w.env.SetHistory(t, "acme", true)
	if rep := run(t, w.poller()); rep.Conversations != 1 || rep.ConversationsWaiting != 0 {
		t.Fatalf("poll with history on: %+v", rep)
	}
	cs := chatstore.New(w.env.Deps.Store)
	if _, err := cs.Chat(ctx, "acme", fmt.Sprintf("zdmsg-%d", kept)); err != nil {
		t.Fatalf("the solved ticket's conversation: %v", err)
	}
	if _, err := cs.Chat(ctx, "acme", fmt.Sprintf("zdmsg-%d", reopened)); err == nil {
		t.Fatal("a reopened ticket's conversation was stored")
	}
	if waits, _ := w.env.Deps.Store.TicketWaits(ctx, "acme"); len(waits.Tickets) != 0 {
		t.Fatalf("waits left: %+v", waits)
	}
}

// A waiting ticket Zendesk fails to give (a 500 of its own) keeps waiting, and the
// tickets behind it are read all the same: one bad ticket holds up no other.
func TestAWaitingTicketZendeskFailsHoldsUpNoOther(t *testing.T) {
	t.Parallel()
	w := newMessagingWorld(t, 1)
	ctx := context.Background()
	if code, _ := w.notify(t, w.conversation("spends the minute")); code != http.StatusAccepted {
		t.Fatal(code)
	}
	first, second := w.conversation("first in line"), w.conversation("second in line")
	for _, id := range []int64{first, second} {
		if _, a := w.notify(t, id); a.Status != "queued" {
			t.Fatalf("ticket %d: %+v", id, a)
		}
	}
	w.clock.Advance(time.Minute)
	w.env.Zendesk.FailNext(1, http.StatusInternalServerError) // the first ticket's read
	if rep := run(t, w.poller()); rep.Conversations != 1 || rep.ConversationsWaiting != 1 {
		t.Fatalf("poll with the first ticket failing: %+v", rep)
	}
	waits, err := w.env.Deps.Store.TicketWaits(ctx, "acme")
	if err != nil || len(waits.Tickets) != 1 || waits.Tickets[0].Ticket != first || waits.Tickets[0].Attempts != 2 {
		t.Fatalf("waits = %+v, %v; want the first ticket, failed twice", waits, err)
	}
	w.clock.Advance(time.Minute)
	if rep := run(t, w.poller()); rep.Conversations != 1 || rep.ConversationsWaiting != 0 {
		t.Fatalf("poll once Zendesk gives it: %+v", rep)
	}
	cs := chatstore.New(w.env.Deps.Store)
	for _, id := range []int64{first, second} {
		if _, err := cs.Chat(ctx, "acme", fmt.Sprintf("zdmsg-%d", id)); err != nil {
			t.Fatalf("conversation of ticket %d: %v", id, err)
		}
	}
}
