package panel_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/handler/panel"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// BenchmarkLookup measures a warm panel lookup with 40 ms of latency on every Sell
// call, side by side with one Sell round trip under the same latency. Targets
// (issue 6): p50 ≤ 1.15 × one round trip, ≤ 2 Sell calls per warm lookup; p99 is
// reported beside them, without a target. Run with `make bench`; the figures are
// reported as custom metrics.
func BenchmarkLookup(b *testing.B) {
	for _, c := range []struct{ name, query string }{
		{"lead", "email=vera@example.com"},
		{"person-with-deals", "email=paul@acme.example"},
	} {
		b.Run(c.name, func(b *testing.B) {
			env := apptest.New(b)
			env.ConnectForAllAgents(b, "acme")
			ctx := context.Background()
			h := panel.New(env.PanelDeps())
			tok := env.AgentToken(b, "acme", "361", "")
			req := apptest.Request{Method: "GET", Path: "/panel?" + c.query, Token: tok}
			if res := apptest.Do(b, h, req); res.Status != http.StatusOK { // warms the metadata cache
				b.Fatalf("%d %s", res.Status, res.Body)
			}
			env.Sell.SetFaults(selltest.Faults{Latency: 40 * time.Millisecond})

			client := env.AdminClient(b, "acme")
			roundTrip := apptest.PacedMedian(b, 15, apptest.SellPace, func(int) error {
				_, err := client.Lead(ctx, selltest.DemoVeraLeadID)
				return err
			})

			env.Sell.ResetCalls()
			took := apptest.TimeRequests(b, h, http.StatusOK, func() apptest.Request {
				time.Sleep(apptest.SellPace)
				return req
			})
			p50, p99 := apptest.Median(took), apptest.Percentile(took, 99)
			b.ReportMetric(apptest.Millis(p50), "p50-ms")
			b.ReportMetric(apptest.Millis(p99), "p99-ms")
			b.ReportMetric(apptest.Millis(roundTrip), "sell-roundtrip-ms")
			b.ReportMetric(float64(p50)/float64(roundTrip), "p50/roundtrip")
			b.ReportMetric(float64(p99)/float64(roundTrip), "p99/roundtrip")
			b.ReportMetric(float64(env.Sell.TotalCalls())/float64(b.N), "sell-calls/op")
			if testing.Verbose() {
				b.Logf("Sell calls by route over %d lookups: %v", b.N, env.Sell.CallCounts())
			}
		})
	}
}
