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

	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
)

// streamBatchSize is the transcripts function's stream BatchSize (template.yaml):
// the most chats one invocation sees.
const streamBatchSize = 25

// BenchmarkSellCallsPerChat counts the Sell calls it takes to process typical
// chats with faults off (issue 16): half a lead's visitor (a quarter of them
// known by phone only), three in ten a contact's with two deals, the rest
// nobody's. The same mix goes once through the per-chat path (Process for each
// chat, as the stream handler did before batches were matched together) and
// once through Handle in stream batches of streamBatchSize. Target: Sell calls
// per chat <= notes per chat + 0.2, batched (the note per record is the floor:
// Sell has no bulk note create). Run with `make bench`; the figures are custom
// metrics, per processed chat.
func BenchmarkSellCallsPerChat(b *testing.B) {
	const perPhase = 4 * streamBatchSize
	env := historyAccount(b)
	sb := selltest.NewServer(selltest.Options{RateLimit: -1}) // calls, not pacing, are measured
	b.Cleanup(sb.Close)
	p := transcripts.NewWith(env.TranscriptsDeps(), transcripts.Options{Sell: fastSell(sb), ReadPhone: phone.E164})
	visitor := typicalVisitors(sb)
	ctx := context.Background()
	var before, after tally
	stored := 0
	for it := range b.N {
		rng := rand.New(rand.NewPCG(uint64(it), 16))
		for _, phase := range []string{"a", "b"} {
			for k := range perPhase {
				email, number := visitor(rng)
				storeChat(b, env, "acme", chatJSON(fmt.Sprintf("%s-%d-%03d", phase, it, k), email, number, start.Add(time.Duration(stored)*time.Minute)))
				stored++
			}
		}
		recs := streamed(b, env, stored)
		perChat, batched := chatRecords(recs, fmt.Sprintf("a-%d-", it)), chatRecords(recs, fmt.Sprintf("b-%d-", it))

		sb.ResetCalls()
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8) // the handler's Workers
		for _, rec := range perChat {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				if err := p.Process(ctx, "acme", store.DecodeStreamRecord(rec).ChatID); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		before.add(sb, len(perChat))

		sb.ResetCalls()
		for from := 0; from < len(batched); from += streamBatchSize {
			resp := handle(b, p, batched[from:min(from+streamBatchSize, len(batched))])
			if len(resp.BatchItemFailures) != 0 {
				b.Fatalf("failures: %+v", resp.BatchItemFailures)
			}
		}
		after.add(sb, len(batched))
		if testing.Verbose() {
			b.Logf("Sell calls by route, batched, %d chats: %v", len(batched), sb.CallCounts())
		}
	}
	b.ReportMetric(before.callsPerChat(), "per-chat-calls/chat")
	b.ReportMetric(before.notesPerChat(), "per-chat-notes/chat")
	b.ReportMetric(after.callsPerChat(), "batched-calls/chat")
	b.ReportMetric(after.notesPerChat(), "batched-notes/chat")
	b.ReportMetric(after.callsPerChat()-after.notesPerChat(), "batched-calls-over-notes/chat")
	b.ReportMetric(before.callsPerChat()-before.notesPerChat(), "per-chat-calls-over-notes/chat")
}

// typicalVisitors seeds sb with 20 leads (every other with a mobile) and 5
// person contacts with two deals each, and returns a picker of visitors.
func typicalVisitors(sb *selltest.Server) func(*rand.Rand) (email, number string) {
	type person struct{ email, number string }
	var leads, contacts []person
	for i := range 20 {
		l := sell.Lead{LastName: fmt.Sprintf("Typical %d", i), Email: fmt.Sprintf("lead%d@typical.example", i), OwnerID: selltest.DemoAdminID}
		if i%2 == 0 {
			l.Mobile = fmt.Sprintf("+1 212 555 %04d", i)
		}
		sb.AddLead(l)
		leads = append(leads, person{l.Email, l.Mobile})
	}
	for i := range 5 {
		ct := sb.AddContact(sell.Contact{FirstName: "Typical", LastName: fmt.Sprint(i), Email: fmt.Sprintf("contact%d@typical.example", i), OwnerID: selltest.DemoAdminID})
		for d := range 2 {
			sb.AddDeal(sell.Deal{Name: fmt.Sprintf("Deal %d of %d", d, i), ContactID: ct.ID, OwnerID: selltest.DemoAdminID})
		}
		contacts = append(contacts, person{email: ct.Email})
	}
	return func(rng *rand.Rand) (string, string) {
		switch r := rng.IntN(10); {
		case r < 5:
			l := leads[rng.IntN(len(leads))]
			if l.number != "" && rng.IntN(4) == 0 {
				return "", l.number
			}
			return l.email, ""
		case r < 8:
			return contacts[rng.IntN(len(contacts))].email, ""
		default:
			return fmt.Sprintf("stranger%d@nowhere.example", rng.Int()), ""
		}
	}
}

// chatRecords are the chat inserts of recs whose chat id starts with prefix.
func chatRecords(recs []events.DynamoDBEventRecord, prefix string) []events.DynamoDBEventRecord {
	var out []events.DynamoDBEventRecord
	for _, r := range recs {
		if c := store.DecodeStreamRecord(r); c.Kind == store.ChangeChat && c.Inserted && strings.HasPrefix(c.ChatID, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// tally adds up one path's Sell calls, notes and chats.
type tally struct{ calls, notes, chats int }

func (t *tally) add(sb *selltest.Server, chats int) {
	t.calls += sb.TotalCalls()
	t.notes += sb.Calls("POST /v2/notes")
	t.chats += chats
}

func (t tally) callsPerChat() float64 { return float64(t.calls) / float64(t.chats) }
func (t tally) notesPerChat() float64 { return float64(t.notes) / float64(t.chats) }
