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

	"github.com/sellchat/sellchat/shared/httpx"
	"github.com/sellchat/sellchat/shared/store"
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

// maxPollPause caps the pause between reads of a claim held by another request.
const maxPollPause = 400 * time.Millisecond

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
	pause := 25 * time.Millisecond
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
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(pause/2+rand.N(pause/2+1), time.Until(deadline)+time.Millisecond)):
		}
		pause = min(2*pause, maxPollPause)
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
