package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sellchat/sellchat/shared/domain/audit"
)

// The audit trail: one item per recorded change, AUDIT#<time>#<random> in the
// account's partition, so a reverse query of the prefix reads it newest first. Items
// have no TTL: the trail lasts as long as the account's data.
const auditPrefix = "AUDIT#"

// auditTimeLayout sorts as text in time order (fixed width, UTC).
const auditTimeLayout = "20060102T150405.000000000Z"

// ErrBadCursor is a cursor this store did not hand out.
var ErrBadCursor = errors.New("store: not a cursor of this list")

// RecordAudit stores e (its ID and At are filled in when empty) and returns it.
func (s *Store) RecordAudit(ctx context.Context, account string, e audit.Entry) (audit.Entry, error) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = e.At.UTC()
	if e.ID == "" {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		e.ID = e.At.Format(auditTimeLayout) + "#" + hex.EncodeToString(b)
	}
	if err := s.Create(ctx, Key{Account: account, SK: auditPrefix + e.ID}, e, time.Time{}); err != nil {
		return e, fmt.Errorf("record audit %s of %s: %w", e.Action, account, err)
	}
	return e, nil
}

// AuditPage returns up to limit entries, newest first, after the entry the cursor
// names ("" for the newest), and the cursor of the next page ("" at the end).
func (s *Store) AuditPage(ctx context.Context, account, cursor string, limit int) ([]audit.Entry, string, error) {
	after := ""
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !strings.HasPrefix(string(raw), auditPrefix) || len(raw) > 128 {
			return nil, "", ErrBadCursor
		}
		after = string(raw)
	}
	items, err := s.QueryPage(ctx, account, auditPrefix, after, limit+1, true)
	if err != nil {
		return nil, "", fmt.Errorf("audit of %s: %w", account, err)
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(items[limit-1].SK))
	}
	out := make([]audit.Entry, 0, len(items))
	for _, it := range items {
		var e audit.Entry
		if err := it.Decode(&e); err != nil {
			return nil, "", err
		}
		out = append(out, e)
	}
	return out, next, nil
}
