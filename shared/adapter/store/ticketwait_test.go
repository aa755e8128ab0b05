package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
)

func mustTicketWaits(t *testing.T, s *store.Store, account string) store.TicketWaits {
	t.Helper()
	w, err := s.TicketWaits(context.Background(), account)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestAWaitingTicketIsListedOnceUntilRead(t *testing.T) {
	t.Parallel()
	s, ctx := storetest.New(t), context.Background()
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	if w := mustTicketWaits(t, s, "acme"); w.N != 0 || len(w.Tickets) != 0 {
		t.Fatalf("a fresh table has waits: %+v", w)
	}
	hold := t0.Add(40 * time.Second)
	// The same ticket twice at once (a redelivered webhook), and another one.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := s.WaitForTicket(ctx, "acme", 10, "rate limited", hold, t0); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := s.WaitForTicket(ctx, "acme", 9, "zendesk unavailable", time.Time{}, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	w := mustTicketWaits(t, s, "acme")
	if len(w.Tickets) != 2 || w.Tickets[0].Ticket != 9 || w.Tickets[1].Ticket != 10 {
		t.Fatalf("tickets = %+v; want 9 then 10", w.Tickets)
	}
	if w.Tickets[1].Attempts != 2 || !w.Tickets[1].Since.Equal(t0) || w.Tickets[1].LastError != "rate limited" {
		t.Fatalf("ticket 10 = %+v; want 2 attempts since t0", w.Tickets[1])
	}
	if !w.NotBefore.Equal(hold) {
		t.Fatalf("hold = %v; a wait without one must keep %v", w.NotBefore, hold)
	}
	accounts, err := s.TicketWaitAccounts(ctx)
	if err != nil || len(accounts) != 1 || accounts[0] != "acme" {
		t.Fatalf("accounts = %v, %v; want [acme]", accounts, err)
	}

	// A ticket notified again while it was read (its attempts moved on) stays.
	if err := s.WaitForTicket(ctx, "acme", 10, "queued behind", time.Time{}, t0); err != nil {
		t.Fatal(err)
	}
	if ended, err := s.TicketRead(ctx, "acme", w.Tickets[1]); err != nil || ended {
		t.Fatalf("TicketRead of a ticket notified again = %v, %v; want it kept", ended, err)
	}
	// A wait that comes in after the reader looked keeps the list open.
	if ended, err := s.TicketRead(ctx, "acme", w.Tickets[0]); err != nil || !ended {
		t.Fatalf("TicketRead(9) = %v, %v", ended, err)
	}
	again := mustTicketWaits(t, s, "acme")
	if len(again.Tickets) != 1 || again.Tickets[0].Attempts != 3 {
		t.Fatalf("waits = %+v; want ticket 10 with 3 attempts", again.Tickets)
	}
	if ended, err := s.TicketRead(ctx, "acme", again.Tickets[0]); err != nil || !ended {
		t.Fatalf("TicketRead(10) = %v, %v", ended, err)
	}
	if err := s.WaitForTicket(ctx, "acme", 11, "rate limited", time.Time{}, t0); err != nil {
		t.Fatal(err)
	}
	if closed, err := s.CloseTicketWaits(ctx, "acme", w.N); err != nil || closed {
		t.Fatalf("CloseTicketWaits after a new wait = %v, %v; want it kept open", closed, err)
	}
	w = mustTicketWaits(t, s, "acme")
	if len(w.Tickets) != 1 || w.Tickets[0].Ticket != 11 {
		t.Fatalf("tickets = %+v; want 11", w.Tickets)
	}
	if ended, err := s.TicketRead(ctx, "acme", w.Tickets[0]); err != nil || !ended {
		t.Fatalf("TicketRead(11) = %v, %v", ended, err)
	}
	if closed, err := s.CloseTicketWaits(ctx, "acme", w.N); err != nil || !closed {
		t.Fatalf("CloseTicketWaits = %v, %v; want closed", closed, err)
	}
	if accounts, err := s.TicketWaitAccounts(ctx); err != nil || len(accounts) != 0 {
		t.Fatalf("accounts after closing = %v, %v", accounts, err)
	}
	// A hold on a closed list does not reopen it.
	if err := s.HoldTicketWaits(ctx, "acme", hold); err != nil {
		t.Fatal(err)
	}
	if accounts, _ := s.TicketWaitAccounts(ctx); len(accounts) != 0 {
		t.Fatalf("a hold reopened the list: %v", accounts)
	}
}

func TestWaitingTicketsStayInTheirAccount(t *testing.T) {
	t.Parallel()
	s, ctx := storetest.New(t), context.Background()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	if err := s.WaitForTicket(ctx, "acme", 7, "rate limited", time.Time{}, now); err != nil {
		t.Fatal(err)
	}
	if w := mustTicketWaits(t, s, "globex"); len(w.Tickets) != 0 || w.N != 0 {
		t.Fatalf("globex sees acme's waits: %+v", w)
	}
	// Reading another account's ticket of the same id ends nothing of acme's.
	if _, err := s.TicketRead(ctx, "globex", store.TicketWait{Ticket: 7, Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	if w := mustTicketWaits(t, s, "acme"); len(w.Tickets) != 1 {
		t.Fatalf("acme's wait went: %+v", w)
	}
}
