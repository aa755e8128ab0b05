package leads

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// IdempotencyTTL is how long a first answer is kept for retries: long enough for a
// flaky connection or a reloaded iframe, short enough not to pile up.
const IdempotencyTTL = 24 * time.Hour

// record is the stored fate of one Idempotency-Key.
type record struct {
	BodyHash string          `json:"bodyHash"`
	Status   string          `json:"status"` // pending or done
	Code     int             `json:"code,omitempty"`
	Response json.RawMessage `json:"response,omitempty"`
	Created  time.Time       `json:"created"`
}

// leadOnce holds one POST /leads request's once-only steps: its claim on the
// Idempotency-Key (a retry replays the first answer) and, unless the agent chose
// createAnyway, its claim on the visitor's email (requests for one new email under
// different keys create one lead; emailclaim.go). Begin them, Replay, and once the
// lead exists Finish; Release, deferred, gives back whatever a request that ends
// without a lead still holds, so a retry can succeed.
type leadOnce struct {
	s        *store.Store
	key      store.Key
	hash     string
	started  time.Time
	deadline time.Time // for waiting on another request's claim
	email    *emailClaim

	claims           errgroup.Group
	keyErr, emailErr error
	keyHeld, created bool
}

// beginOnce starts claiming the key and the email in the background, so that the
// caller's own reads run alongside; Replay waits for the claims.
func beginOnce(ctx context.Context, s *store.Store, account, userID, key string, req Request, now time.Time, wait time.Duration) *leadOnce {
	o := &leadOnce{s: s, key: idemKey(account, userID, key), hash: bodyHash(req), started: now, deadline: time.Now().Add(wait)}
	if !req.CreateAnyway && req.Email != "" {
		o.email = newEmailClaim(s, account, req.Email, o.key, o.hash)
	}
	o.claims.Go(func() error { o.keyHeld, o.keyErr = takeKey(ctx, s, o.key, o.hash, o.started); return nil })
	if o.email != nil {
		o.claims.Go(func() error { o.emailErr = o.email.try(ctx, o.started); return nil })
	}
	return o
}

// Replay waits for the claims. It returns the stored answer of an earlier request
// with this key, to send again; nil when this request holds the key and the email
// and goes on to create the lead; 409 already_exists when another request has just
// created a lead with the email.
func (o *leadOnce) Replay(ctx context.Context) (*record, error) {
	_ = o.claims.Wait()
	if o.keyErr != nil {
		return nil, o.keyErr
	}
	if !o.keyHeld {
		// Another request has this key: its answer is this one's. An email claim taken
		// meanwhile goes back first, so the request that holds the key never waits on
		// the email for its own retry.
		o.email.release(ctx)
		prior, err := awaitAnswer(ctx, o.s, o.key, o.hash, o.started, o.deadline)
		if err != nil || prior != nil {
			return prior, err
		}
		o.keyHeld = true // the first request failed and gave the key back
	}
	if o.emailErr != nil {
		return nil, o.emailErr
	}
	winner, err := o.email.await(ctx, o.deadline)
	if err != nil {
		return nil, err
	}
	if winner != nil {
		return nil, alreadyExists("Another request has just created a lead with this email. Open it, or create the lead anyway.", []existingRecord{*winner})
	}
	return nil, nil
}

// Finish stores the created lead as the key's answer and keeps the email claim,
// through which the email's other requests find the lead.
func (o *leadOnce) Finish(ctx context.Context, created Created) {
	o.created = true
	o.email.keep()
	if err := finish(ctx, o.s, o.key, o.hash, http.StatusCreated, created, o.started); err != nil {
		// The lead exists; the agent must hear so. Until the claim's lease ends a
		// retry with this key (or another request for the email) is told the request
		// is in progress; after it, the retry meets this lead in the duplicate check
		// (409 already_exists).
		httpx.LoggerFrom(ctx).Error("store idempotent answer", "err", err.Error(), "lead", created.Lead.ID)
	}
}

// Release gives back the claims of a request that ends without a lead (refused,
// failed or panicking), so a retry can try again. After Finish it gives back nothing.
func (o *leadOnce) Release(ctx context.Context) {
	_ = o.claims.Wait() // a panic may leave them in flight
	if o.keyHeld && !o.created {
		release(ctx, o.s, o.key)
	}
	o.email.release(ctx)
}

// replay sends a stored answer again, marked as replayed.
func (rec *record) replay(w http.ResponseWriter) {
	w.Header().Set("Idempotent-Replayed", "true")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(rec.Code)
	_, _ = w.Write(append(rec.Response, '\n'))
}

// maxPollPause caps the pause between reads of a claim held by another request.
const maxPollPause = 400 * time.Millisecond

// poll paces the reads of a request waiting on another's claim: jittered pauses
// that double from 25 ms up to maxPollPause, so that many waiters' reads do not
// outweigh the work they wait on, and never past the waiter's deadline.
type poll struct{ pause time.Duration }

func (p *poll) wait(ctx context.Context, deadline time.Time) error {
	if p.pause == 0 {
		p.pause = 25 * time.Millisecond
	}
	d := min(p.pause/2+rand.N(p.pause/2+1), time.Until(deadline)+time.Millisecond)
	p.pause = min(2*p.pause, maxPollPause)
	return sell.Sleep(ctx, d)
}

const (
	recPending = "pending"
	recDone    = "done"
)

func idemKey(account, userID, key string) store.Key {
	// Keys are chosen by clients: hash them with the agent so one agent's key never
	// meets another's, and so the sort key stays short and plain.
	sum := sha256.Sum256([]byte(userID + "\x00" + key))
	return store.Key{Account: account, SK: "IDEMP#lead#" + hex.EncodeToString(sum[:16])}
}

// ClaimLease is how long a pending claim holds its key. A request that took the
// claim and died (its Lambda timed out or was stopped between claim and answer)
// cannot release it, so the claim expires by itself: after the lease a retry takes
// the key again rather than hearing "in progress" for a day. It is far above the
// function's timeout (template.yaml), so a live holder never loses its claim.
const ClaimLease = 2 * time.Minute

// claim reserves key for a request with body hash h. It returns a stored answer to
// replay, or nil when the caller holds the claim and must do the work.
func claim(ctx context.Context, s *store.Store, key store.Key, h string, now time.Time, wait time.Duration) (*record, error) {
	taken, err := takeKey(ctx, s, key, h, now)
	if err != nil || taken {
		return nil, err
	}
	return awaitAnswer(ctx, s, key, h, now, time.Now().Add(wait))
}

// takeKey is claim's first step alone: one conditional write, true when the caller
// now holds the key.
func takeKey(ctx context.Context, s *store.Store, key store.Key, h string, now time.Time) (bool, error) {
	err := s.Create(ctx, key, record{BodyHash: h, Status: recPending, Created: now.UTC()}, now.Add(ClaimLease))
	if errors.Is(err, store.ErrExists) {
		return false, nil
	}
	return err == nil, err
}

// awaitAnswer is claim's second step, for a key someone used before or is using
// right now: it waits for their answer rather than doing the work twice, until
// deadline. The reads back off: many retries of one key polling at a fixed pace
// would load the table more than the work they wait on.
func awaitAnswer(ctx context.Context, s *store.Store, key store.Key, h string, now, deadline time.Time) (*record, error) {
	var p poll
	for {
		var rec record
		if _, err := s.Get(ctx, key, &rec); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				// The first attempt failed and released the key: try to take it.
				return claim(ctx, s, key, h, now, time.Until(deadline))
			}
			return nil, err
		}
		if rec.BodyHash != h {
			return nil, &httpx.Error{Status: http.StatusConflict, Code: "idempotency_key_reused",
				Message: "This Idempotency-Key was already used for a different lead. Use a new key for a new lead."}
		}
		if rec.Status == recDone {
			return &rec, nil
		}
		if time.Now().After(deadline) {
			return nil, &httpx.Error{Status: http.StatusConflict, Code: "request_in_progress",
				Message: "The same request is still being processed. Retry in a moment with the same Idempotency-Key."}
		}
		if err := p.wait(ctx, deadline); err != nil {
			return nil, err
		}
	}
}

// finish stores the answer for later retries. The lead exists by now, so it tries
// a few times, and even when the caller has gone: a lost answer would leave the
// retries of this key nothing to replay once the claim's lease ran out.
func finish(ctx context.Context, s *store.Store, key store.Key, h string, code int, response any, created time.Time) error {
	raw, err := json.Marshal(response)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	rec := record{BodyHash: h, Status: recDone, Code: code, Response: raw, Created: created.UTC()}
	ctx = context.WithoutCancel(ctx)
	for attempt := 1; ; attempt++ {
		// The item is replaced whole, so the expiry is written again with it.
		err = s.PutWithTTL(ctx, key, rec, created.Add(IdempotencyTTL))
		if err == nil || attempt == 3 {
			return err
		}
		time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
	}
}

// release forgets a claim whose work failed, so a retry can try again.
func release(ctx context.Context, s *store.Store, key store.Key) {
	if err := s.Delete(context.WithoutCancel(ctx), key); err != nil {
		httpx.LoggerFrom(ctx).Warn("release idempotency key", "err", err.Error())
	}
}

func bodyHash(v any) string {
	raw, _ := json.Marshal(v)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}
