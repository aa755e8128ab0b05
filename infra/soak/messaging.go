package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sellchat/sellchat/infra/streams"
	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/chatpoll"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// The messaging scenario: Zendesk messaging conversations (WhatsApp, Instagram, web
// messaging) solved faster than the conversation log lets them be read, their
// notifications delivered through the gateway with redeliveries, a share reopened and
// solved again, processed through a Sell that fails. Nothing may be lost or doubled:
// each conversation is stored once, in the feed of each record it matches once, with
// one Sell note per record, and a conversation solved again has that note updated.
const (
	// MessagingLogPerMinute is the conversation log's limit in the scenario (Zendesk's
	// is about 100 a minute): low, so that most conversations wait for the chat poll.
	MessagingLogPerMinute = 20
	// MessagingReopenShare of the conversations are reopened and solved again once
	// processed.
	MessagingReopenShare = 0.1
)

var messagingChannels = []string{"whatsapp", "instagram_dm", "native_messaging"}

const messagingSecret = "soak-messaging-secret"

// MessagingFigures is what the messaging scenario counted.
type MessagingFigures struct {
	Conversations int
	Deliveries    int // notifications sent, redeliveries and second solves included
	Accepted      int // answered 202 accepted (read at once; duplicates included)
	Queued        int // answered 202 queued: the log refused, the poll reads it
	Refused       int // any other answer after retries (must be 0)
	PollRuns      int // chat poll runs, a minute apart on the sandbox's clock
	ReadByPoll    int // conversations the poll read
	LogRefusals   int // the conversation log's 429s
	Reopened      int // conversations solved a second time
	Updated       int // of those, whose note on each record shows the second solve, and only one note
	Drained       int
	SellCalls     int
	SellFaults    int
	LostAnswers   int
	Faulty, Final phase
	FeedChats     int
	FeedWanted    int
	Took          time.Duration
	Lost, Doubled int
	problems      problems
}

// Check is nil when nothing was lost, doubled, refused or left failing, and the
// scenario did exercise the wait (some conversations were queued).
func (f *MessagingFigures) Check() error {
	var bad []string
	if f.Lost != 0 || f.Doubled != 0 || f.Refused != 0 {
		bad = append(bad, fmt.Sprintf("%d lost, %d doubled, %d refused", f.Lost, f.Doubled, f.Refused))
	}
	if f.Final.Failed != 0 {
		bad = append(bad, fmt.Sprintf("%d conversations still failed after replay", f.Final.Failed))
	}
	if f.Queued == 0 || f.LogRefusals == 0 {
		bad = append(bad, "the conversation log never refused: the scenario did not test the wait")
	}
	if f.Updated != f.Reopened {
		bad = append(bad, fmt.Sprintf("%d of %d conversations solved again have their note updated", f.Updated, f.Reopened))
	}
	if f.FeedChats != f.FeedWanted {
		bad = append(bad, fmt.Sprintf("GET /feed shows %d conversation entries, want %d", f.FeedChats, f.FeedWanted))
	}
	if bad == nil {
		return nil
	}
	return fmt.Errorf("messaging: %s\n%s", strings.Join(bad, "; "), f.problems.String())
}

func (f *MessagingFigures) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "messaging: %d conversations, %d notifications (%d accepted at once, %d queued, %d refused), conversation log at %d/min refused %d reads\n",
		f.Conversations, f.Deliveries, f.Accepted, f.Queued, f.Refused, MessagingLogPerMinute, f.LogRefusals)
	fmt.Fprintf(&b, "  chat poll: %d runs a minute apart read %d waiting conversations\n", f.PollRuns, f.ReadByPoll)
	fmt.Fprintf(&b, "  Sell: %d calls, %d injected faults, %d answers lost; drained %d\n", f.SellCalls, f.SellFaults, f.LostAnswers, f.Drained)
	fmt.Fprintf(&b, "  with faults: %d in feed, %d unmatched, %d failed; after replay: %d in feed, %d unmatched, %d failed\n",
		f.Faulty.InFeed, f.Faulty.Unmatched, f.Faulty.Failed, f.Final.InFeed, f.Final.Unmatched, f.Final.Failed)
	fmt.Fprintf(&b, "  solved again: %d, notes updated: %d; GET /feed shows %d of %d entries\n", f.Reopened, f.Updated, f.FeedChats, f.FeedWanted)
	fmt.Fprintf(&b, "  lost %d, doubled %d, took %v\n", f.Lost, f.Doubled, round(f.Took))
	return b.String()
}

// Messaging runs the scenario with n conversations.
func Messaging(ctx context.Context, t testing.TB, n int) (*MessagingFigures, error) {
	t.Helper()
	began := time.Now()
	clock := zendesktest.NewClock(time.Now().UTC().Truncate(time.Second))
	s := newStackWith(t, apptest.Options{Zendesk: zendesktest.Options{
		Now: clock.Now, ConversationLogPerMinute: MessagingLogPerMinute, RateLimit: -1}})
	env := s.env
	f := &MessagingFigures{Conversations: n}
	defer func() { f.problems.logged = s.errs.summary(); f.Took = time.Since(began) }()

	sb := selltest.New(selltest.Options{RateLimit: -1})
	loser := &answerLoser{next: sb, rng: rand.New(rand.NewPCG(9, 10))}
	sellSrv := httptest.NewServer(loser)
	t.Cleanup(func() { sb.Close(); sellSrv.Close() })
	env.ConnectZendesk(t, account)
	sealed := env.Deps.Box.Seal([]byte(messagingSecret), secrets.AAD(account, settings.NotificationsSecretKind))
	if _, err := env.Deps.Store.UpdateIntegration(ctx, account, func(in *settings.Integration) error {
		in.SellConnected, in.Installed = true, true
		in.Elements = map[settings.Element]settings.ElementState{
			settings.ChatHistoryInSell: {Enabled: true}, settings.ChatAppInSell: {Enabled: true}}
		in.Zendesk.Notifications = settings.ZendeskNotifications{WebhookID: "01SOAK", TriggerID: 1, Secret: sealed}
		return nil
	}); err != nil {
		return f, err
	}

	// Requesters: four in five are leads (a few conversations each), the rest nobody.
	leadsN := max(n/8, 4)
	leadIDs := make([]int64, leadsN)
	for i := range leadIDs {
		leadIDs[i] = sb.AddLead(sell.Lead{LastName: fmt.Sprintf("Messaging %d", i), Email: fmt.Sprintf("msg-lead%d@soak.example", i), OwnerID: selltest.DemoAdminID}).ID
	}
	rng := rand.New(rand.NewPCG(3, 4))
	want := map[string][]string{}
	tickets := make([]int64, n)
	for i := range tickets {
		req := zendesktest.Requester{Name: fmt.Sprintf("Stranger %d", i), Email: fmt.Sprintf("msg-stranger%d@nowhere.example", i)}
		var records []string
		if rng.IntN(5) < 4 {
			l := rng.IntN(leadsN)
			req = zendesktest.Requester{Name: fmt.Sprintf("Lead %d", l), Email: fmt.Sprintf("msg-lead%d@soak.example", l)}
			records = []string{fmt.Sprintf("lead:%d", leadIDs[l])}
		}
		tickets[i] = env.Zendesk.AddMessagingTicket(zendesktest.Messaging{Requester: req, Channel: messagingChannels[i%len(messagingChannels)],
			Messages: []zendesktest.Message{
				{Author: "user", Text: fmt.Sprintf("Conversation %d: a quote, please", i)},
				{Author: "bot", Text: "An agent will be with you shortly."},
				{Author: "agent", Text: "Here it is."},
			}})
		want[fmt.Sprintf("zdmsg-%d", tickets[i])] = records
	}
	ids := make([]string, 0, n)
	for _, tk := range tickets {
		ids = append(ids, fmt.Sprintf("zdmsg-%d", tk))
	}

	// Every conversation notified, a fifth twice, in any order.
	sends := append([]int64(nil), tickets...)
	for range n / 5 {
		sends = append(sends, tickets[rng.IntN(n)])
	}
	rng.Shuffle(len(sends), func(i, j int) { sends[i], sends[j] = sends[j], sends[i] })
	if err := s.notifyAll(ctx, f, sends); err != nil {
		return f, err
	}
	if f.Refused > 0 {
		return f, fmt.Errorf("notifications refused: %s", f.problems.String())
	}
	poller := chatpoll.New(func() chatpoll.Deps { d := env.PollDeps(); d.Now = clock.Now; return d }())
	if err := s.pollUntilRead(ctx, f, clock, poller); err != nil {
		return f, err
	}

	// Process: the stream, the transcripts handler, and the drain, with Sell failing.
	recs, err := streams.ReadAll(ctx, env.Deps.Store.Client(), env.Deps.Store.Table(), func(rs []events.DynamoDBEventRecord) bool {
		return chatInserts(rs) >= n
	})
	if err != nil {
		return f, fmt.Errorf("read the stream (%d conversation inserts of %d): %w", chatInserts(recs), n, err)
	}
	sb.SetFaults(selltest.Faults{ErrorRate: SellErrorRate, ErrorStatus: SellErrorStatus, Latency: SellLatency})
	loser.setRate(LostAnswerRate)
	p := transcripts.NewWith(env.TranscriptsDeps(), transcripts.Options{Sell: fastSell(sb, sellSrv.URL), ReadPhone: phone.E164, Workers: 16, Attempts: 1,
		Backoff: func(int) time.Duration { return 2 * time.Millisecond }})
	dead, err := streams.Deliver(ctx, p.Handle, recs, 100, 1)
	if err != nil {
		return f, fmt.Errorf("stream handler: %w", err)
	}
	if err := drainAll(ctx, p, &f.Drained); err != nil {
		return f, err
	}

	// A share is reopened, answered and solved again: notified again, read (now or
	// by the poll) and processed again, which must update, not add, their notes.
	second := map[string]string{}
	var again []int64
	for i, tk := range tickets {
		if rng.Float64() < MessagingReopenShare {
			text := fmt.Sprintf("Second solve of conversation %d", i)
			env.Zendesk.ReopenAndSolve(ctx, tk, []zendesktest.Message{{Author: "user", Text: text}, {Author: "agent", Text: "Updated."}})
			second[fmt.Sprintf("zdmsg-%d", tk)] = text
			again = append(again, tk)
		}
	}
	f.Reopened = len(again)
	clock.Advance(time.Minute) // the log's minute starts over
	if err := s.notifyAll(ctx, f, again); err != nil {
		return f, err
	}
	if err := s.pollUntilRead(ctx, f, clock, poller); err != nil {
		return f, err
	}
	if err := drainAll(ctx, p, &f.Drained); err != nil {
		return f, err
	}
	f.SellCalls, f.SellFaults, f.LostAnswers = sb.TotalCalls(), loser.faults(), loser.lostCount()
	f.Faulty, err = s.check(ctx, sb, ids, want, nil, "with faults", &f.problems, &f.Lost, &f.Doubled)
	if err != nil {
		return f, err
	}
	f.Faulty.DeadLettered = chatInserts(dead)

	// Replay with Sell healthy, as make replay does.
	sb.SetFaults(selltest.Faults{})
	loser.setRate(0)
	if _, err := p.Replay(ctx, nil); err != nil {
		return f, fmt.Errorf("replay: %w", err)
	}
	lost, doubled := 0, 0
	f.Final, err = s.check(ctx, sb, ids, want, nil, "after replay", &f.problems, &lost, &doubled)
	if err != nil {
		return f, err
	}
	f.Lost, f.Doubled = max(f.Lost, lost), max(f.Doubled, doubled)
	f.Updated = updatedNotes(sb, want, second, &f.problems)
	f.FeedChats, f.FeedWanted, err = s.checkFeeds(ctx, want, &f.problems, &f.Doubled)
	return f, err
}

// notifyAll delivers the trigger's notification of each ticket through the gateway,
// 16 at once, and counts the answers.
func (s *stack) notifyAll(ctx context.Context, f *MessagingFigures, tickets []int64) error {
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		failure error
		work    = make(chan int64)
	)
	for range 16 {
		wg.Go(func() {
			for tk := range work {
				status, err := s.notifyTicket(ctx, tk)
				mu.Lock()
				f.Deliveries++
				switch {
				case err != nil:
					failure = err
				case status == "accepted":
					f.Accepted++
				case status == "queued":
					f.Queued++
				default:
					f.Refused++
					f.problems.add("notification of ticket %d: %s", tk, status)
				}
				mu.Unlock()
			}
		})
	}
	for _, tk := range tickets {
		work <- tk
	}
	close(work)
	wg.Wait()
	return failure
}

// notifyTicket posts the notification of ticket, as the trigger's webhook does, and
// returns the answer's status ("accepted", "queued"), or what else came back; a
// 5xx is tried again, as Zendesk retries.
func (s *stack) notifyTicket(ctx context.Context, ticket int64) (string, error) {
	body := fmt.Appendf(nil, `{"ticket_id":"%d"}`, ticket)
	answer := ""
	for range 3 {
		req, err := signedRequest(ctx, s.url+"/webhooks/zendesk/"+account, messagingSecret, body)
		if err != nil {
			return "", err
		}
		res, err := s.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			answer = err.Error()
			continue
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		answer = fmt.Sprintf("%d %s", res.StatusCode, raw)
		if res.StatusCode >= 500 {
			continue
		}
		var a struct{ Status string }
		if res.StatusCode == http.StatusAccepted && json.Unmarshal(raw, &a) == nil && (a.Status == "accepted" || a.Status == "queued") {
			return a.Status, nil
		}
		break
	}
	return answer, nil
}

// pollUntilRead runs the chat poll a minute apart on the sandbox's clock until no
// conversation waits.
func (s *stack) pollUntilRead(ctx context.Context, f *MessagingFigures, clock *zendesktest.Clock, p *chatpoll.Poller) error {
	for range 200 {
		accounts, err := s.env.Deps.Store.TicketWaitAccounts(ctx)
		if err != nil {
			return err
		}
		if len(accounts) == 0 {
			return nil
		}
		clock.Advance(time.Minute)
		rep, err := p.Run(ctx)
		if err != nil {
			return fmt.Errorf("chat poll: %w", err)
		}
		f.PollRuns++
		f.ReadByPoll += rep.Conversations
		f.LogRefusals += rep.RateLimited
	}
	return fmt.Errorf("conversations still wait after 200 poll runs")
}

// drainAll drains the backlogs until none is left.
func drainAll(ctx context.Context, p *transcripts.Processor, drained *int) error {
	for {
		rep, err := p.Drain(ctx, 30*time.Second)
		if err != nil {
			return fmt.Errorf("drain: %w", err)
		}
		*drained += rep.Processed
		if rep.Left == 0 {
			return nil
		}
	}
}

// updatedNotes counts the conversations solved again whose notes show the second
// solve: exactly one note per matched record, holding the new text.
func updatedNotes(sb *selltest.Sandbox, want map[string][]string, second map[string]string, pr *problems) int {
	notes := map[string][]string{} // "chat|record" → contents
	for _, n := range sb.Notes() {
		if id, ok := chats.MarkedChat(n.Content); ok {
			k := fmt.Sprintf("%s|%s:%d", id, n.ResourceType, n.ResourceID)
			notes[k] = append(notes[k], n.Content)
		}
	}
	updated := 0
	for id, text := range second {
		ok := true
		for _, r := range want[id] {
			got := notes[id+"|"+r]
			if len(got) != 1 || !strings.Contains(got[0], text) {
				ok = false
				pr.add("conversation %s solved again: %d notes on %s, updated %v", id, len(got), r, len(got) == 1 && strings.Contains(got[0], text))
			}
		}
		if ok {
			updated++
		}
	}
	return updated
}
