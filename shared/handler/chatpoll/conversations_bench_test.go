package chatpoll_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
)

// BenchmarkConversationsPerMinute measures how many messaging conversations one
// account gets read per minute against the Conversation Log API's limit (about 100
// requests a minute per account, zendesk.ConversationLogRateLimitPerMinute): with
// every conversation one page of log, the bound is that many conversations a minute.
//
// Conversations are solved at one and a half times the bound for arrivalMinutes on
// the sandbox's clock, each notified through the Support webhook, which reads what
// the log allows at once and leaves the rest waiting; the chat poll runs at each
// minute's end, as EventBridge invokes it, until nothing waits. The figure is the
// conversations read over the minutes from the first solve to the last read, on
// the sandbox's clock (the log's limit is per minute of Zendesk's time; the
// benchmark's own wall time is reported beside it).
func BenchmarkConversationsPerMinute(b *testing.B) {
	const (
		arrivalMinutes = 4
		perMinute      = zendesk.ConversationLogRateLimitPerMinute * 3 / 2
	)
	for b.Loop() {
		w := newMessagingWorld(b, zendesk.ConversationLogRateLimitPerMinute)
		p := w.poller()
		start := w.clock.Now()
		wall := time.Now()
		var queued, n int
		var tickets []int64
		for range arrivalMinutes {
			for range perMinute {
				w.clock.Advance(time.Minute / perMinute)
				tk := w.conversation(fmt.Sprintf("conversation %d", n))
				tickets = append(tickets, tk)
				code, a := w.notify(b, tk)
				if code != http.StatusAccepted || (a.Status != "accepted" && a.Status != "queued") {
					b.Fatalf("notification %d: %d %+v", n, code, a)
				}
				if a.Status == "queued" {
					queued++
				}
				n++
			}
			if _, err := p.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		last := w.clock.Now()
		for {
			rep, err := p.Run(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if rep.Conversations > 0 {
				last = w.clock.Now()
			}
			if rep.ConversationsWaiting == 0 {
				break
			}
			w.clock.Advance(time.Minute)
		}
		cs := chatstore.New(w.env.Deps.Store)
		for _, tk := range tickets {
			if _, err := cs.Chat(context.Background(), "acme", fmt.Sprintf("zdmsg-%d", tk)); err != nil {
				b.Fatalf("conversation of ticket %d: %v", tk, err)
			}
		}
		// The bound: what the account's two minutes allow, with the requests a
		// conversation was measured to take (answered ones; 429s cost nothing).
		var logCalls, apiCalls int
		for _, c := range w.env.Zendesk.Calls() {
			if c.Status == http.StatusOK {
				apiCalls++ // the conversation log counts toward the account's limit too
				if strings.HasSuffix(c.Path, "/conversation_log") {
					logCalls++
				}
			}
		}
		bound := min(zendesk.ConversationLogRateLimitPerMinute/(float64(logCalls)/float64(n)),
			zendesk.RateLimitPerMinute/(float64(apiCalls)/float64(n)))
		minutes := last.Sub(start).Minutes()
		rate := float64(n) / minutes
		b.ReportMetric(rate, "conversations/min")
		b.ReportMetric(bound, "bound-conversations/min")
		b.ReportMetric(rate/bound, "conversations/bound")
		b.ReportMetric(float64(apiCalls)/float64(n), "zendesk-calls/conversation")
		b.ReportMetric(float64(queued)/float64(n), "queued-share")
		b.ReportMetric(time.Since(wall).Seconds()/float64(n)*1000, "wall-ms/conversation")
	}
}
