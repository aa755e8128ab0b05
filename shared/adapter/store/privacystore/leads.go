package privacystore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/store"
)

// What the leads function keeps about a lead it created, read here as it writes it
// (shared/handler/leads: idempotency.go, emailclaim.go; a handler package, which no
// adapter may import). Both expire by themselves within a day:
//
//	IDEMP#lead#<hash of agent and key>   the first answer of a POST /leads: the lead's id and name (24 h)
//	LEADEMAIL#<sha256 of the email>      the claim on a new lead's email, naming that answer (2 min)
//
// Neither holds the visitor's email or phone in clear: a visitor's records are the
// claim of their email and the answers that name it or name one of the visitor's
// leads. The erasure's test drives the real leads function, so a change of its
// layout fails there.
const (
	idempotencyPrefix = "IDEMP#lead#"
	emailClaimPrefix  = "LEADEMAIL#"
)

// Kinds of lead-creation record.
const (
	LeadIdempotency = "idempotency"
	LeadEmailClaim  = "email_claim"
)

// LeadCreation is one record the leads function kept about a lead it created for
// the visitor.
type LeadCreation struct {
	Kind      string    `json:"kind"` // LeadIdempotency or LeadEmailClaim
	Status    string    `json:"status,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	LeadID    int64     `json:"leadId,omitempty"`
	LeadName  string    `json:"leadName,omitempty"`
	sk        string
}

// idempotencyRecord and emailClaimRecord are the leads function's items, as far as
// they are read here.
type idempotencyRecord struct {
	Status   string          `json:"status"`
	Response json.RawMessage `json:"response,omitempty"`
	Created  time.Time       `json:"created"`
}

type emailClaimRecord struct {
	Answer  string    `json:"answer"`
	Created time.Time `json:"created"`
}

// emailClaimSK is the leads function's key of the claim on email.
func emailClaimSK(email string) string {
	sum := sha256.Sum256([]byte(sell.NormalizeEmail(email)))
	return emailClaimPrefix + hex.EncodeToString(sum[:16])
}

// LeadCreations returns the lead-creation records of account naming sub: the claim
// on its email and the answer it names, and every answer whose lead is one of
// leadIDs (the visitor's leads: those their chats are in, those Sell matches).
func (ps *Store) LeadCreations(ctx context.Context, account string, sub Subject, leadIDs []int64) ([]LeadCreation, error) {
	var out []LeadCreation
	answer := ""
	if sub.Kind == KindEmail {
		var c emailClaimRecord
		sk := emailClaimSK(sub.Value)
		_, err := ps.s.Get(ctx, store.Key{Account: account, SK: sk}, &c)
		switch {
		case err == nil:
			answer = c.Answer
			out = append(out, LeadCreation{Kind: LeadEmailClaim, CreatedAt: c.Created, sk: sk})
		case !errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("read the lead email claim of %s: %w", account, err)
		}
	}
	items, err := ps.s.QueryPrefix(ctx, account, idempotencyPrefix, 0, false)
	if err != nil {
		return nil, fmt.Errorf("read the lead answers of %s: %w", account, err)
	}
	for _, it := range items {
		var rec idempotencyRecord
		if err := it.Decode(&rec); err != nil {
			return nil, err
		}
		var created struct {
			Lead struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"lead"`
		}
		_ = json.Unmarshal(rec.Response, &created) // a pending claim has no answer yet
		if it.SK != answer && (created.Lead.ID == 0 || !slices.Contains(leadIDs, created.Lead.ID)) {
			continue
		}
		out = append(out, LeadCreation{Kind: LeadIdempotency, Status: rec.Status, CreatedAt: rec.Created,
			LeadID: created.Lead.ID, LeadName: created.Lead.Name, sk: it.SK})
	}
	return out, nil
}

// ClearLeadCreation deletes lc and counts it on job id; false when it was gone
// already (it expired, or another worker cleared it).
func (ps *Store) ClearLeadCreation(ctx context.Context, account, id string, lc LeadCreation) (bool, error) {
	upd := ps.touch(expression.Add(expression.Name("idempotencyRecordsCleared"), expression.Value(1)))
	return ps.deleteCounted(ctx, store.Key{Account: account, SK: lc.sk}, store.ErasureKey(account, id), upd)
}
