package privacystore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/store"
)

// Erased reports whether a chat of a visitor with this email or phone must not be
// stored: an erasure of either began within TombstoneWindow. It is the ingest's
// check (chatstore.Ingest), made before a chat is stored, so a chat of an erased
// visitor that arrives again (a webhook's redelivery, the poll reading the export
// again) is not stored again. Either may be empty. It costs one read of the table per
// identifier given and links no phone library: a phone is named by its digits, which
// is how the erasure names the phones it met (see TombstonePhone). The ingest should
// treat an error as a failed store (retry), not as "not erased".
func (ps *Store) Erased(ctx context.Context, account, email, phone string) (bool, error) {
	if ps.box == nil {
		return false, ErrNoKey
	}
	var inputs []string
	if e := sell.NormalizeEmail(email); e != "" {
		inputs = append(inputs, KindEmail+":"+e)
	}
	if d := digits(phone); d != "" {
		inputs = append(inputs, KindPhone+":"+d)
	}
	for _, in := range inputs {
		hash := hex.EncodeToString(ps.box.KeyedHash(hashPurpose, []byte(in)))
		_, err := ps.s.Get(ctx, tombstoneKey(account, hash), &tombstone{})
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return false, fmt.Errorf("read erasure tombstone of %s: %w", account, err)
		}
	}
	return false, nil
}

// TombstonePhone adds a tombstone, for the rest of the job's window, for a phone
// number as an erased chat's visitor typed it ("(415) 555-0100"). The job's own
// tombstone names the number's E.164 digits; a visitor who typed it without the
// country code has other digits, which Erased, reading no phone metadata, would not
// recognise on a redelivery without this one.
func (ps *Store) TombstonePhone(ctx context.Context, account string, j Job, raw string) error {
	d := digits(raw)
	if d == "" || ps.box == nil {
		return nil
	}
	hash := hex.EncodeToString(ps.box.KeyedHash(hashPurpose, []byte(KindPhone+":"+d)))
	if hash == j.Hash {
		return nil // the job's own tombstone
	}
	ts := tombstone{Kind: KindPhone, JobID: j.ID, ErasedAt: j.RequestedAt}
	if err := ps.s.PutWithTTL(ctx, tombstoneKey(account, hash), ts, j.RequestedAt.Add(TombstoneWindow)); err != nil {
		return fmt.Errorf("tombstone a phone of erasure %s of %s: %w", j.ID, account, err)
	}
	return nil
}
