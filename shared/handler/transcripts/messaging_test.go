package transcripts_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

const messagingSecret = "zendesk-webhook-secret-of-the-messaging-trigger"

// messagingAccount is acme keeping chat history, with Zendesk connected and its
// Support webhook's secret stored, and a Sell lead Wendy whose conversations the
// tests solve.
func messagingAccount(t *testing.T) (*apptest.Env, sell.Lead) {
	t.Helper()
	env := historyAccount(t)
	env.ConnectZendesk(t, "acme")
	env.ConnectNotifications(t, "acme", messagingSecret)
	return env, env.Sell.AddLead(sell.Lead{FirstName: "Wendy", LastName: "Whats", Email: "wendy@whats.example", OwnerID: selltest.DemoAdminID})
}

// leadNotes are the Sell notes on lead leadID.
func leadNotes(env *apptest.Env, leadID int64) []sell.Note {
	var out []sell.Note
	for _, n := range env.Sell.Notes() {
		if n.ResourceType == sell.ResourceLead && n.ResourceID == leadID {
			out = append(out, n)
		}
	}
	return out
}

// A WhatsApp conversation solved in Zendesk reaches the Sell lead of its requester
// once, as one note that names the channel; solving it again after a reopen
// updates that note instead of adding one, and a redelivered notification changes
// nothing.
func TestAMessagingConversationReachesSellOnceAndASecondSolveUpdatesItsNote(t *testing.T) {
	t.Parallel()
	env, lead := messagingAccount(t)
	p := transcripts.NewWith(env.TranscriptsDeps(), transcripts.Options{Sell: fastSell(env.Sell), ReadPhone: phone.E164})
	webhook := chatwebhook.New(env.IngestDeps())
	notify := func(ticket int64) (int, apptest.SupportAnswer) {
		t.Helper()
		w, a := env.NotifySupport(t, webhook, "acme", messagingSecret, fmt.Sprintf(`{"ticket_id":"%d"}`, ticket))
		return w.Code, a
	}
	notes := func() []sell.Note { return leadNotes(env, lead.ID) }

	ticket := env.Zendesk.AddMessagingTicket(zendesktest.Messaging{
		Requester: zendesktest.Requester{Name: "Wendy Whats", Email: "wendy@whats.example", Phone: "+14155550123"},
		Channel:   "whatsapp",
		Messages: []zendesktest.Message{
			{Author: "user", Text: "Hi, I would like a quote for 40 seats"},
			{Author: "bot", Text: "An agent will be with you shortly."},
			{Author: "agent", Text: "Happy to help, Wendy."},
		},
	})
	code, a := notify(ticket)
	chatID := fmt.Sprintf("zdmsg-%d", ticket)
	if code != http.StatusAccepted || a.Status != "accepted" || len(a.Chats) != 1 || a.Chats[0].ChatID != chatID || a.Chats[0].Duplicate {
		t.Fatalf("first notification: %d %+v", code, a)
	}
	if resp := handle(t, p, budgetInserts(streamed(t, env, 1), []string{chatID})); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures: %+v", resp.BatchItemFailures)
	}
	ns := notes()
	if len(ns) != 1 || !strings.HasPrefix(ns[0].Content, "Zendesk messaging conversation (WhatsApp)") ||
		!strings.Contains(ns[0].Content, "40 seats") || !strings.Contains(ns[0].Content, "(bot)") {
		t.Fatalf("notes on the lead after the first solve: %+v", ns)
	}
	first := ns[0]

	// A redelivery of the same notification: nothing changes.
	if code, a := notify(ticket); code != http.StatusAccepted || len(a.Chats) != 1 || !a.Chats[0].Duplicate || a.Chats[0].Revised {
		t.Fatalf("redelivery: %d %+v", code, a)
	}

	// Reopened by a new message, answered and solved again: the trigger fires again.
	env.Zendesk.ReopenAndSolve(context.Background(), ticket, []zendesktest.Message{
		{Author: "user", Text: "Could you add 10 more seats?"},
		{Author: "agent", Text: "Done: 50 seats."},
	})
	if code, a := notify(ticket); code != http.StatusAccepted || len(a.Chats) != 1 || !a.Chats[0].Revised {
		t.Fatalf("after the second solve: %d %+v", code, a)
	}
	if rep, err := p.Drain(context.Background(), 20*time.Second); err != nil || rep.Processed != 1 || rep.Failed != 0 {
		t.Fatalf("drain of the revised conversation: %+v, %v", rep, err)
	}
	ns = notes()
	if len(ns) != 1 || ns[0].ID != first.ID || !strings.Contains(ns[0].Content, "50 seats") || !strings.Contains(ns[0].Content, "40 seats") {
		t.Fatalf("notes on the lead after the second solve: %+v (first was %d)", ns, first.ID)
	}
	entries := entries(t, env, "acme")
	if n := len(entries[fmt.Sprintf("lead:%d", lead.ID)]); n != 1 {
		t.Fatalf("the lead's feed holds the conversation %d times", n)
	}
	it, err := chatstore.New(env.Deps.Store).Chat(context.Background(), "acme", chatID)
	if err != nil || it.Status != chats.StatusMatched || it.Revision != 1 {
		t.Fatalf("stored conversation: %+v, %v", it, err)
	}
	// The drain ran it once: running again finds nothing, and the note stays.
	if rep, _ := p.Drain(context.Background(), time.Second); rep.Processed != 0 {
		t.Fatalf("a second drain processed %d", rep.Processed)
	}
	if body, _ := it.Body(); strings.Contains(string(body), "internal note") {
		t.Fatalf("an internal note reached the transcript without the admin's opt-in: %s", body)
	}

	// The admin opts in: the next conversation's internal note is in its transcript.
	env.SetSettings(t, "acme", func(s *settings.Settings) { s.MessagingInternalNotes = true })
	next := env.Zendesk.AddMessagingTicket(zendesktest.Messaging{
		Requester: zendesktest.Requester{Name: "Wendy Whats", Email: "wendy@whats.example"},
		Channel:   "whatsapp", Messages: []zendesktest.Message{{Author: "user", Text: "One more thing"}},
	})
	if code, a := notify(next); code != http.StatusAccepted || len(a.Chats) != 1 {
		t.Fatalf("with internal notes: %d %+v", code, a)
	}
	it, err = chatstore.New(env.Deps.Store).Chat(context.Background(), "acme", fmt.Sprintf("zdmsg-%d", next))
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := it.Body(); !strings.Contains(string(body), "(internal note) Conversation with Wendy Whats") {
		t.Fatalf("the opted-in internal note is missing: %s", body)
	}
}

// A note whose creation answer was lost (Sell made it, the client saw a 502) shows
// the conversation as it was then. Solved again, the conversation finds that note
// by its marker and brings it up to date: still one note, now with the new messages.
func TestANoteFoundByItsMarkerIsBroughtUpToTheRevisedConversation(t *testing.T) {
	t.Parallel()
	env, lead := messagingAccount(t)
	// Sell behind a proxy that loses the answer of the first note it creates.
	target, err := url.Parse(env.Sell.URL)
	if err != nil {
		t.Fatal(err)
	}
	var lost atomic.Bool
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(res *http.Response) error {
		if res.Request.Method == http.MethodPost && res.Request.URL.Path == "/v2/notes" && lost.CompareAndSwap(false, true) {
			return errors.New("the answer is lost on the way back")
		}
		return nil
	}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	tok := env.Sell.TokenFor(selltest.DemoAdminEmail)
	viaProxy := func(ctx context.Context, account string) (*sell.Client, error) {
		return sell.New(sell.Options{BaseURL: front.URL, TokenSource: oauth2.StaticTokenSource(tok), Key: account,
			Limiters: sell.NewLimiters(0, 0), Backoff: func(int) time.Duration { return time.Millisecond }})
	}
	p := transcripts.NewWith(env.TranscriptsDeps(), transcripts.Options{Sell: viaProxy, ReadPhone: phone.E164, Attempts: 1})
	webhook := chatwebhook.New(env.IngestDeps())
	notify := func(ticket int64) apptest.SupportAnswer {
		t.Helper()
		w, a := env.NotifySupport(t, webhook, "acme", messagingSecret, fmt.Sprintf(`{"ticket_id":"%d"}`, ticket))
		if w.Code != http.StatusAccepted || len(a.Chats) != 1 {
			t.Fatalf("notification: %d %s", w.Code, w.Body)
		}
		return a
	}
	notes := func() []sell.Note { return leadNotes(env, lead.ID) }

	ticket := env.Zendesk.AddMessagingTicket(zendesktest.Messaging{
		Requester: zendesktest.Requester{Name: "Wendy Whats", Email: "wendy@whats.example"},
		Channel:   "whatsapp",
		Messages:  []zendesktest.Message{{Author: "user", Text: "A quote for 40 seats, please"}, {Author: "agent", Text: "Coming."}},
	})
	chatID := notify(ticket).Chats[0].ChatID
	handle(t, p, budgetInserts(streamed(t, env, 1), []string{chatID})) // the note's answer is lost: the chat fails
	if ns := notes(); !lost.Load() || len(ns) != 1 || strings.Contains(ns[0].Content, "50 seats") {
		t.Fatalf("after the lost answer: lost %v, notes %+v", lost.Load(), ns)
	}

	env.Zendesk.ReopenAndSolve(context.Background(), ticket, []zendesktest.Message{
		{Author: "user", Text: "Make it 50 seats"}, {Author: "agent", Text: "Done: 50 seats."}})
	if a := notify(ticket); !a.Chats[0].Revised {
		t.Fatalf("second solve: %+v", a)
	}
	if rep, err := p.Drain(context.Background(), 20*time.Second); err != nil || rep.Processed != 1 || rep.Failed != 0 {
		t.Fatalf("drain of the revised conversation: %+v, %v", rep, err)
	}
	if ns := notes(); len(ns) != 1 || !strings.Contains(ns[0].Content, "50 seats") || !strings.Contains(ns[0].Content, "40 seats") {
		t.Fatalf("notes on the lead after the second solve: %+v; want one, showing both solves", ns)
	}
}
