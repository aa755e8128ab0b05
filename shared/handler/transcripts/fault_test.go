package transcripts_test

import (
	"context"
	"fmt"
	"math/rand/v2"
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
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// TestAThousandChatsThroughAFaultySellEndInTheFeedOnceOrFailedThenReplayed: Sell
// fails 30 % of calls and answers slowly; 1,000 chats (and 100 redeliveries) go
// through the webhook, the real stream and the handler with Lambda's retry rules,
// and (those beyond the account's Sell pace) its backlog and the drain.
// Every chat ends up in the feed of each of its records exactly once with exactly one
// note, or failed with a reason; a replay with Sell healthy puts all into the feed.
func TestAThousandChatsThroughAFaultySellEndInTheFeedOnceOrFailedThenReplayed(t *testing.T) {
	t.Parallel()
	const chatsN, leadsN = 1000, 60
	env := apptest.New(t)
	sb := selltest.NewServer(selltest.Options{RateLimit: -1})
	t.Cleanup(sb.Close)
	ctx := context.Background()
	if _, err := env.Deps.Store.UpdateIntegration(ctx, "acme", func(in *settings.Integration) error {
		in.SellConnected = true
		in.Elements = map[settings.Element]settings.ElementState{settings.ChatHistoryInSell: {Enabled: true}}
		in.WebhookSecret = env.Deps.Box.Seal([]byte("fault-secret"), secrets.AAD("acme", "webhook_secret"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Visitors: a lead each for most, Paul (a contact with two deals) for some,
	// nobody for the rest.
	want := map[string][]string{} // chat id → its records
	leadIDs := make([]int64, leadsN)
	for i := range leadIDs {
		leadIDs[i] = sb.AddLead(sell.Lead{LastName: fmt.Sprintf("Fault %d", i), Email: fmt.Sprintf("lead%d@fault.example", i), OwnerID: selltest.DemoAdminID}).ID
	}
	rng := rand.New(rand.NewPCG(1, 2))
	bodies := make([]string, 0, chatsN+100)
	for i := 0; i < chatsN; i++ {
		id := fmt.Sprintf("f-%04d", i)
		email := ""
		switch r := rng.IntN(10); {
		case r < 7:
			l := rng.IntN(leadsN)
			email = fmt.Sprintf("lead%d@fault.example", l)
			want[id] = []string{fmt.Sprintf("lead:%d", leadIDs[l])}
		case r < 9:
			email = "paul@acme.example"
			want[id] = []string{"contact:3002", "deal:4001", "deal:4002"}
		default:
			email = fmt.Sprintf("stranger%d@nowhere.example", i)
			want[id] = nil
		}
		bodies = append(bodies, chatJSON(id, email, "", start.Add(time.Duration(i)*time.Minute)))
	}
	for i := 0; i < 100; i++ { // redeliveries
		bodies = append(bodies, bodies[rng.IntN(chatsN)])
	}
	rng.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })

	began := time.Now()
	webhook := chatwebhook.New(env.IngestDeps())
	var acks apptest.WebhookAcks
	work := make(chan string)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range work {
				ts := time.Now().UTC().Format(time.RFC3339)
				acks.Count(t, apptest.Do(t, webhook, apptest.Request{Method: "POST", Path: "/webhooks/chat/acme", Body: body, Header: map[string]string{
					chatwebhook.HeaderTimestamp: ts, chatwebhook.HeaderSignature: chatwebhook.Sign([]byte("fault-secret"), ts, []byte(body))}}))
			}
		}()
	}
	for _, b := range bodies {
		work <- b
	}
	close(work)
	wg.Wait()
	if acks.Stored != chatsN || acks.Duplicates != 100 {
		t.Fatalf("stored %d (duplicates %d), want %d and 100", acks.Stored, acks.Duplicates, chatsN)
	}
	ingested := time.Since(began)

	sb.SetFaults(selltest.Faults{ErrorRate: 0.3, ErrorStatus: 503, Latency: 2 * time.Millisecond})
	p := transcripts.NewWith(env.TranscriptsDeps(), transcripts.Options{ReadPhone: phone.E164, Sell: fastSell(sb), Workers: 32, Attempts: 1, Backoff: func(int) time.Duration { return 2 * time.Millisecond }})
	recs := streamed(t, env, chatsN)
	dead, err := streams.Deliver(ctx, p.Handle, recs, 100, 1)
	if err != nil {
		t.Fatal(err)
	}
	// What the webhook stored beyond the account's Sell pace waits in its backlog
	// (and what the stream handed over while it was open joined it): the drain
	// takes it, as the schedule runs it.
	var drained transcripts.DrainReport
	for {
		rep, err := p.Drain(ctx, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		drained.Processed += rep.Processed
		drained.Failed += rep.Failed
		if rep.Left == 0 {
			break
		}
	}
	processed := time.Since(began) - ingested

	cs := chatstore.New(env.Deps.Store)
	check := func(phase string) (inFeed, unmatched, failed int) {
		t.Helper()
		byRecord := entries(t, env, "acme")
		perChat := map[string]map[string]int{}
		for rec, es := range byRecord {
			for _, e := range es {
				if perChat[e.ChatID] == nil {
					perChat[e.ChatID] = map[string]int{}
				}
				perChat[e.ChatID][rec]++
			}
		}
		notes := map[string]int{} // "chat|record" → notes in Sell
		for _, n := range sb.Notes() {
			if id, ok := chats.MarkedChat(n.Content); ok {
				notes[fmt.Sprintf("%s|%s:%d", id, n.ResourceType, n.ResourceID)]++
			}
		}
		for id, recsWanted := range want {
			it, err := cs.Chat(ctx, "acme", id)
			if err != nil {
				t.Fatalf("%s: chat %s: %v", phase, id, err)
			}
			switch it.Status {
			case chats.StatusMatched:
				inFeed++
				for _, r := range recsWanted {
					if perChat[id][r] != 1 || notes[id+"|"+r] != 1 {
						t.Fatalf("%s: chat %s in %s's feed %d times with %d notes", phase, id, r, perChat[id][r], notes[id+"|"+r])
					}
				}
				if len(perChat[id]) != len(recsWanted) {
					t.Fatalf("%s: chat %s in feeds %v, want %v", phase, id, perChat[id], recsWanted)
				}
			case chats.StatusUnmatched:
				unmatched++
				if len(recsWanted) != 0 {
					t.Fatalf("%s: chat %s unmatched, want %v", phase, id, recsWanted)
				}
			case chats.StatusFailed:
				failed++
				if it.Reason == "" {
					t.Fatalf("%s: chat %s failed without a reason", phase, id)
				}
			default:
				t.Fatalf("%s: chat %s left %q", phase, id, it.Status)
			}
			for r, n := range perChat[id] { // also while failed: never twice
				if n != 1 {
					t.Fatalf("%s: chat %s in %s's feed %d times", phase, id, r, n)
				}
			}
		}
		for k, n := range notes {
			if n != 1 {
				t.Fatalf("%s: %d notes for %s", phase, n, k)
			}
		}
		return
	}
	inFeed, unmatched, failed := check("with faults")
	t.Logf("with 30%% Sell faults: %d chats (+100 redeliveries) ingested in %v, processed in %v: %d in the feed, %d unmatched, %d failed (%d stream records dead-lettered), %d Sell calls",
		chatsN, ingested.Round(time.Millisecond), processed.Round(time.Millisecond), inFeed, unmatched, failed, len(dead), sb.TotalCalls())
	if failed != countFailed(dead)+drained.Failed {
		t.Errorf("%d chats marked failed but %d chat records dead-lettered and %d failed in the drain", failed, countFailed(dead), drained.Failed)
	}

	sb.SetFaults(selltest.Faults{})
	sum, err := p.Replay(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	inFeed, unmatched, failed = check("after replay")
	t.Logf("replay: replayed %d, now in feed %d, still failing %d; totals: %d in the feed, %d unmatched, %d failed", sum.Replayed, sum.InFeed, sum.StillFailing, inFeed, unmatched, failed)
	if failed != 0 || sum.StillFailing != 0 {
		t.Fatalf("%d chats still failing after replay", failed)
	}
}

func countFailed(dead []events.DynamoDBEventRecord) int {
	n := 0
	for _, r := range dead {
		if strings.HasPrefix(r.Change.Keys["sk"].String(), "CHAT#") {
			n++
		}
	}
	return n
}
