package leads

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

func TestAnEmailClaim(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	now := time.Now()
	soon := func() time.Time { return time.Now().Add(5 * time.Second) }
	// request is one request for email under its own key: it claims the key, as the
	// handler does, and the email if it can.
	request := func(t *testing.T, account, email, key string, at time.Time) *emailClaim {
		t.Helper()
		ikey := idemKey(account, "361", key)
		if taken, err := takeKey(ctx, s, ikey, "h-"+key, at); err != nil || !taken {
			t.Fatalf("key %s: %v %v", key, taken, err)
		}
		c := newEmailClaim(s, account, email, ikey, "h-"+key)
		if err := c.try(ctx, at); err != nil {
			t.Fatal(err)
		}
		return c
	}
	created := func(t *testing.T, c *emailClaim, lead Lead, at time.Time) {
		t.Helper()
		c.keep()
		if err := finish(ctx, s, c.answer, c.body, http.StatusCreated, Created{Lead: lead}, at); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("is one per normalised email and account", func(t *testing.T) {
		if first := request(t, "acme", "nina@example.com", "n-0", now); !first.held {
			t.Fatal("the first request did not take the claim")
		}
		for i, spelling := range []string{"Nina@Example.com", " NINA@EXAMPLE.COM\t"} {
			if other := request(t, "acme", spelling, fmt.Sprint("n-", i+1), now); other.held {
				t.Fatalf("%q took the claim on nina@example.com", spelling)
			}
		}
		if globex := request(t, "globex", "nina@example.com", "n-3", now); !globex.held {
			t.Fatal("another account's request for the email did not take its own claim")
		}
	})

	t.Run("a waiter gets the lead its holder created", func(t *testing.T) {
		holder := request(t, "acme", "vera@example.com", "v-0", now)
		waiter := request(t, "acme", "vera@example.com", "v-1", now)
		got := make(chan *existingRecord, 1)
		go func() {
			lead, err := waiter.await(ctx, soon())
			if err != nil {
				t.Error(err)
			}
			got <- lead
		}()
		created(t, holder, Lead{ID: 42, Name: "Vera Visitor", OwnerID: 1}, time.Now())
		if lead := <-got; lead == nil || *lead != (existingRecord{"lead", 42, "Vera Visitor"}) {
			t.Fatalf("waiter got %+v, want lead 42", lead)
		}
		holder.release(ctx) // kept: gives nothing back
		late := request(t, "acme", "Vera@example.com", "v-2", time.Now())
		if lead, err := late.await(ctx, time.Now()); err != nil || lead == nil || lead.ID != 42 {
			t.Fatalf("a request after the lead was created: %+v %v, want lead 42", lead, err)
		}
	})

	t.Run("a waiter takes over when the holder fails", func(t *testing.T) {
		holder := request(t, "acme", "fay@example.com", "f-0", now)
		waiter := request(t, "acme", "fay@example.com", "f-1", now)
		done := make(chan error, 1)
		go func() {
			lead, err := waiter.await(ctx, soon())
			if err == nil && lead != nil {
				err = errors.New("got a lead")
			}
			done <- err
		}()
		release(ctx, s, holder.answer)
		holder.release(ctx)
		if err := <-done; err != nil || !waiter.held {
			t.Fatalf("waiter: held %v, err %v", waiter.held, err)
		}
		holder.held = true // as if its release were late, after the waiter took over
		holder.release(ctx)
		if again := request(t, "acme", "fay@example.com", "f-2", now); again.held {
			t.Fatal("a holder that lost its claim gave back the new holder's")
		}
	})

	t.Run("a live claim makes a waiter retry later", func(t *testing.T) {
		request(t, "acme", "liv@example.com", "l-0", now)
		_, err := request(t, "acme", "liv@example.com", "l-1", now).await(ctx, time.Now().Add(100*time.Millisecond))
		var he *httpx.Error
		if !errors.As(err, &he) || he.Status != 409 || he.Code != "request_in_progress" {
			t.Fatalf("%v, want 409 request_in_progress", err)
		}
	})

	t.Run("an answer for another body is not the claim's lead", func(t *testing.T) {
		// A retry whose key was used for another visitor claimed this email a moment
		// before it heard so.
		first := request(t, "acme", "other@example.com", "o-0", now)
		created(t, first, Lead{ID: 5, Name: "Other"}, now)
		retry := newEmailClaim(s, "acme", "oona@example.com", first.answer, "h-another-body")
		if err := retry.try(ctx, now); err != nil || !retry.held {
			t.Fatalf("retry's claim: %v %v", retry.held, err)
		}
		lead, err := request(t, "acme", "oona@example.com", "o-1", now).await(ctx, time.Now().Add(100*time.Millisecond))
		if lead != nil || err == nil {
			t.Fatalf("got %+v %v, want no lead (another visitor's)", lead, err)
		}
	})

	t.Run("a claim left by a dead request runs out", func(t *testing.T) {
		request(t, "acme", "dan@example.com", "d-0", now.Add(-EmailClaimLease-time.Minute))
		next := request(t, "acme", "dan@example.com", "d-1", now)
		if !next.held {
			t.Fatal("a claim past its lease was not taken again")
		}
	})

	t.Run("a created lead is told about only until the lease ends", func(t *testing.T) {
		old := now.Add(-EmailClaimLease - time.Minute)
		created(t, request(t, "acme", "otto@example.com", "ot-0", old), Lead{ID: 9, Name: "Otto"}, old)
		next := request(t, "acme", "otto@example.com", "ot-1", now)
		if lead, err := next.await(ctx, soon()); err != nil || lead != nil || !next.held {
			t.Fatalf("a lead past the lease: %+v %v, want the claim taken (Sell's search decides)", lead, err)
		}
	})
}

// A retry that meets its key held by the first request must not keep the email
// claim it took meanwhile: the first request would wait for the email while the
// retry waits for the first request's answer, and both would run out of time.
func TestARetryWaitingForItsKeyHoldsNoEmailClaim(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.ConnectForAllAgents(t, "acme")
	tok := env.AgentToken(t, "acme", "361", "rex@example.com")
	ctx := context.Background()
	s := env.Deps.Store
	h := &handler{deps: DepsOf(env), wait: 5 * time.Second, now: time.Now}
	rt := httpx.NewRouter(env.Deps.Logger)
	rt.Handle("POST /leads", env.Deps.Verifier.Require(h.create))

	// The first request has claimed the key and not yet the email.
	body := `{"lastName":"Rae","email":"rae@example.com"}`
	req := Request{LastName: "Rae", Email: "rae@example.com"}
	ikey, hash := idemKey("acme", "361", "k-rae"), bodyHash(req)
	if taken, err := takeKey(ctx, s, ikey, hash, time.Now()); err != nil || !taken {
		t.Fatalf("first request's key: %v %v", taken, err)
	}
	// Its retry arrives and, with nobody on the email, takes the email claim too.
	retry := make(chan apptest.Response, 1)
	go func() {
		retry <- apptest.Do(t, rt, apptest.Request{Method: "POST", Path: "/leads", Token: tok, Body: body,
			Header: map[string]string{"Idempotency-Key": "k-rae"}})
	}()
	// Seeing the retry's claim makes the check below certain; it may have come and
	// gone before the first read.
	for until := time.Now().Add(time.Second); time.Now().Before(until); {
		if _, err := s.Get(ctx, emailClaimKey("acme", req.Email), &emailClaimRecord{}); err == nil {
			break
		}
	}
	// The first request goes on to the email: the retry, which waits on the key, must
	// have given it back.
	first := newEmailClaim(s, "acme", req.Email, ikey, hash)
	if lead, err := first.await(ctx, time.Now().Add(2*time.Second)); err != nil || lead != nil || !first.held {
		t.Fatalf("the key's holder could not take the email: %+v %v", lead, err)
	}
	answer := Created{Lead: Lead{ID: 77, Name: "Rae"}}
	if err := finish(ctx, s, ikey, hash, http.StatusCreated, answer, time.Now()); err != nil {
		t.Fatal(err)
	}
	res := <-retry
	var got Created
	res.JSON(t, &got)
	if res.Status != http.StatusCreated || res.Header.Get("Idempotent-Replayed") != "true" || got != answer {
		t.Fatalf("retry: %d %s, want the first answer replayed", res.Status, res.Body)
	}
}
