package privacystore

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/sellchat/sellchat/shared/adapter/store"
)

// Finding a visitor's chats.
//
// A stored chat keeps its visitor only inside its compressed body, and chats are
// keyed by id, so the chats of one visitor are found by reading every chat of the
// account and comparing each one's visitor: one Query page after another over the
// CHAT# items (at most 1 MB each, so a page holds a few dozen chats), every body
// decompressed and parsed. That costs read capacity for every byte of the account's
// history, once per access page or erasure pass. It is fine while erasures are rare
// and histories modest; an index by visitor (a keyed hash on each chat) is what would
// make it cheap.

// ErrBadCursor is a cursor ScanChats did not hand out.
var ErrBadCursor = errors.New("privacystore: not a cursor of this scan")

// scanPage is how many chats one Query asks for; DynamoDB's 1 MB page ends most
// pages earlier.
const scanPage = 50

// ScanChats hands the account's stored chats, in key order after cursor ("" from
// the first), to visit, which answers whether it took the chat: false stops the scan
// before that chat, which the returned cursor then starts with. The scan also stops
// once visit took max chats (0: no limit). The cursor is "" when every chat was
// seen. Items decode as chatstore.ChatItem.
func (ps *Store) ScanChats(ctx context.Context, account, cursor string, max int, visit func(store.Item) (took bool, err error)) (string, error) {
	after, err := afterKey(cursor)
	if err != nil {
		return "", err
	}
	prefix := store.ChatKey("", "").SK
	if after == "" {
		after = prefix // sorts before every chat: a cursor that starts at the first
	}
	taken := 0
	for {
		// The prefix itself names no chat: as a start key it means "from the first".
		start := after
		if start == prefix {
			start = ""
		}
		items, err := ps.s.QueryPage(ctx, account, prefix, start, scanPage, false)
		if err != nil {
			return "", err
		}
		if len(items) == 0 {
			return "", nil
		}
		for _, it := range items {
			took, err := visit(it)
			if err != nil {
				return "", err
			}
			if !took {
				return cursorOf(after), nil
			}
			after = it.SK
			if taken++; max > 0 && taken >= max {
				return cursorOf(after), nil
			}
		}
	}
}

// cursorOf is the cursor that continues a scan after the chat at sort key sk.
func cursorOf(sk string) string { return base64.RawURLEncoding.EncodeToString([]byte(sk)) }

// afterKey reads a cursor back into the sort key to continue after.
func afterKey(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	prefix := store.ChatKey("", "").SK
	if err != nil || len(raw) > 256 || !strings.HasPrefix(string(raw), prefix) {
		return "", ErrBadCursor
	}
	return string(raw), nil
}
