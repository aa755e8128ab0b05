package sell_test

import (
	"context"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
)

func BenchmarkClientGetLead(b *testing.B) {
	srv := newServer(b, selltest.Options{})
	c := clientFor(b, srv, selltest.DemoAdminEmail)
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.Lead(ctx, selltest.DemoVeraLeadID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFind models a panel lookup with 40 ms per Sell round trip: the
// time per op should stay close to one round trip, and sell-calls/op at 2.
func BenchmarkFind(b *testing.B) {
	srv := newServer(b, selltest.Options{})
	srv.SetFaults(selltest.Faults{Latency: 40 * time.Millisecond})
	c := clientFor(b, srv, selltest.DemoAdminEmail)
	ctx := context.Background()
	srv.ResetCalls()
	for b.Loop() {
		if _, err := c.Find(ctx, visitor(selltest.DemoVeraEmail, "+1 415 555 0100")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(srv.TotalCalls())/float64(b.N), "sell-calls/op")
}
