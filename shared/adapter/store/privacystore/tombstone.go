package privacystore

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/domain/chats"
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
	gone, err := ps.ErasedAll(ctx, account, []chats.Visitor{{Email: email, Phone: phone}})
	if err != nil {
		return false, err
	}
	return gone[0], nil
}

// ErasedAll is Erased for the visitors of many chats (a page of the chat export):
// one batch read of up to 100 identifiers instead of a read each
// (chatstore.ErasedFunc).
func (ps *Store) ErasedAll(ctx context.Context, account string, visitors []chats.Visitor) ([]bool, error) {
	if ps.box == nil {
		return nil, ErrNoKey
	}
	hashes := make([][]string, len(visitors)) // each visitor's identifiers, hashed
	var wants []*store.Wanted
	asked := map[string]*store.Wanted{}
	for i, v := range visitors {
		var inputs []string
		if e := sell.NormalizeEmail(v.Email); e != "" {
			inputs = append(inputs, KindEmail+":"+e)
		}
		if d := digits(v.Phone); d != "" {
			inputs = append(inputs, KindPhone+":"+d)
		}
		for _, in := range inputs {
			hash := hex.EncodeToString(ps.box.KeyedHash(hashPurpose, []byte(in)))
			hashes[i] = append(hashes[i], hash)
			if asked[hash] == nil {
				asked[hash] = &store.Wanted{Key: tombstoneKey(account, hash), Out: &tombstone{}}
				wants = append(wants, asked[hash])
			}
		}
	}
	for start := 0; start < len(wants); start += store.MaxBatch {
		if err := ps.s.GetBatch(ctx, wants[start:min(start+store.MaxBatch, len(wants))]); err != nil {
			return nil, fmt.Errorf("read erasure tombstones of %s: %w", account, err)
		}
	}
	gone := make([]bool, len(visitors))
	for i, hs := range hashes {
		for _, h := range hs {
			gone[i] = gone[i] || asked[h].Found
		}
	}
	return gone, nil
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
