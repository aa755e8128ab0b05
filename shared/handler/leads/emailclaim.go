package leads

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// One lead per new email.
//
// Sell keeps no unique constraint on a lead's email, so the duplicate check (search
// Sell, then create) races: requests for one new email under different keys all
// search, all find nothing and all create. So before its search a request claims the
// visitor's email for the account with a conditional write. Whoever holds the claim
// searches and creates; the others wait for its outcome. The claim names the
// holder's Idempotency-Key record, where the holder stores its answer anyway: the
// lead it created, which the others name in 409 already_exists, with no further
// write. If the holder fails it gives the claim back, and the next one takes it and
// goes on as usual.

// EmailClaimLease is how long an email claim holds the email. Like ClaimLease, it is
// far above the function's timeout (template.yaml), so a live holder never loses
// its claim, while a holder that died blocks the email only this long. A claim whose
// holder created a lead stays until then too: requests for that email meanwhile are
// told about the lead without asking Sell, whose search may not show a lead that
// new yet.
const EmailClaimLease = ClaimLease

// emailClaimRecord is the stored claim on one normalised email.
type emailClaimRecord struct {
	Holder  string    `json:"holder"`   // the holding request's random token
	Answer  string    `json:"answer"`   // sort key of the holder's Idempotency-Key record
	Body    string    `json:"bodyHash"` // the holder's body, as that record has it
	Created time.Time `json:"created"`  // when it was taken
}

// holderAttr is emailClaimRecord.Holder's stored name, for writes conditional on it.
const holderAttr = "holder"

// emailClaim is one request's claim on an email. A nil claim (no email, or the
// agent chose createAnyway) does nothing.
type emailClaim struct {
	s      *store.Store
	key    store.Key
	answer store.Key // the request's own Idempotency-Key record
	body   string    // and its body hash
	token  string
	held   bool // the claim is this request's
	kept   bool // it led to a lead: it stays until its lease ends
}

func emailClaimKey(account, email string) store.Key {
	// Hashed: the sort key stays short and plain and holds no personal data.
	sum := sha256.Sum256([]byte(sell.NormalizeEmail(email)))
	return store.Key{Account: account, SK: "LEADEMAIL#" + hex.EncodeToString(sum[:16])}
}

func newEmailClaim(s *store.Store, account, email string, answer store.Key, body string) *emailClaim {
	return &emailClaim{s: s, key: emailClaimKey(account, email), answer: answer, body: body, token: rand.Text()}
}

// try takes the claim if nobody holds it (one conditional write). Held or not is
// in c.held; an error is the table's.
func (c *emailClaim) try(ctx context.Context, now time.Time) error {
	if c == nil {
		return nil
	}
	rec := emailClaimRecord{Holder: c.token, Answer: c.answer.SK, Body: c.body, Created: now.UTC()}
	err := c.s.Create(ctx, c.key, rec, now.Add(EmailClaimLease))
	switch {
	case err == nil:
		c.held = true
		return nil
	case errors.Is(err, store.ErrExists):
		return nil
	default:
		return fmt.Errorf("claim lead email: %w", err)
	}
}

// await waits, until deadline, for another request's claim on the email to end. It
// returns the lead that request created, or nil once the claim is this request's
// (the other request failed and gave it back, or its lease ran out).
func (c *emailClaim) await(ctx context.Context, deadline time.Time) (*existingRecord, error) {
	if c == nil {
		return nil, nil
	}
	var p poll
	for !c.held {
		var claim emailClaimRecord
		_, err := c.s.Get(ctx, c.key, &claim)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if err := c.try(ctx, time.Now()); err != nil {
				return nil, err
			}
			continue // taken, or another waiter was quicker: read its claim
		case err != nil:
			return nil, fmt.Errorf("read lead email claim: %w", err)
		case claim.Holder == c.token:
			// try's write landed but its answer was lost, and the SDK's retry of it
			// met the claim: it is this request's own.
			c.held = true
			continue
		}
		// The holder's answer lives in its Idempotency-Key record, in this account:
		// the claim names only the sort key.
		var answer record
		_, err = c.s.Get(ctx, store.Key{Account: c.key.Account, SK: claim.Answer}, &answer)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("read the answer of the lead email's holder: %w", err)
		}
		// Not found: the holder failed and gave its key back; its claim goes next.
		// Another body: the holder is a retry that met its key used for another
		// lead (409 idempotency_key_reused), and gives the claim back at once.
		if err == nil && answer.Status == recDone && answer.BodyHash == claim.Body {
			var won Created
			if err := json.Unmarshal(answer.Response, &won); err != nil {
				return nil, fmt.Errorf("decode the answer of the lead email's holder: %w", err)
			}
			return &existingRecord{"lead", won.Lead.ID, won.Lead.Name}, nil
		}
		if time.Now().After(deadline) {
			return nil, &httpx.Error{Status: http.StatusConflict, Code: "request_in_progress",
				Message: "A lead with this email is being created by another request. Retry in a moment."}
		}
		if err := p.wait(ctx, deadline); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// keep leaves the claim in place once its request created a lead: the lead is
// found through it until the lease ends.
func (c *emailClaim) keep() {
	if c != nil {
		c.kept = true
	}
}

// release gives back a claim whose request did not create a lead, so the next
// request for the email goes on at once. Only this request's own claim is deleted.
func (c *emailClaim) release(ctx context.Context) {
	if c == nil || !c.held || c.kept {
		return
	}
	c.held = false
	err := c.s.DeleteIf(context.WithoutCancel(ctx), c.key, holderAttr, c.token)
	if err != nil && !errors.Is(err, store.ErrConflict) {
		// The claim then blocks the email until its lease ends.
		httpx.LoggerFrom(ctx).Warn("release lead email claim", "err", err.Error())
	}
}
