package soak_test

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/sellchat/sellchat/infra/soak"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
)

// -soak runs the scenarios at full size and prints the figures (make soak).
var full = flag.Bool("soak", false, "run the scenarios at full size and print the figures")

func TestMain(m *testing.M) { storetest.Main(m) }

func size() soak.Size {
	if *full {
		return soak.Full()
	}
	return soak.Small()
}

// budget bounds a scenario: it stops by itself (the context ends every request and
// the stream handler), and the test fails, rather than hanging.
func budget(t *testing.T, small, big time.Duration) context.Context {
	d := small
	if *full {
		d = big
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

type figures interface {
	Check() error
	String() string
}

func report(t *testing.T, f figures, err error) {
	t.Helper()
	if *full {
		fmt.Println(f.String()) // the figures are the point of make soak
	} else {
		t.Log("\n" + f.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentSettingsPatchesLoseNoUpdate(t *testing.T) {
	ctx := budget(t, 2*time.Minute, 10*time.Minute)
	f, err := soak.Settings(ctx, t, size().Patches)
	report(t, f, err)
}

func TestConcurrentLeadRetriesCreateOneLeadPerKey(t *testing.T) {
	ctx := budget(t, 2*time.Minute, 10*time.Minute)
	s := size()
	f, err := soak.Leads(ctx, t, s.Leads, s.LeadKeys)
	report(t, f, err)
}

// The flood scenario runs before the webhook one, whose stream would slow DynamoDB
// Local under its latency figures (see below).
func TestAFloodedAccountLosesNothingAndDoesNotDelayTheOthers(t *testing.T) {
	ctx := budget(t, 3*time.Minute, 20*time.Minute)
	f, err := soak.Flood(ctx, t, size())
	report(t, f, err)
}

func TestMessagingConversationsPastTheLogLimitAreNeitherLostNorDoubled(t *testing.T) {
	ctx := budget(t, 3*time.Minute, 20*time.Minute)
	f, err := soak.Messaging(ctx, t, size().Messaging)
	report(t, f, err)
}

// The webhook scenario runs last: its table's stream (tens of thousands of records,
// kept by DynamoDB Local after the table is dropped, as DynamoDB keeps a stream for a
// day) slows the engine's single SQLite queue for whatever runs after it.
func TestWebhookDeliveriesThroughAFaultySellAreNeitherLostNorDoubled(t *testing.T) {
	ctx := budget(t, 4*time.Minute, 20*time.Minute)
	f, err := soak.Webhooks(ctx, t, size().Webhooks)
	report(t, f, err)
}
