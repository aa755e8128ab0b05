package privacy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/store/privacystore"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// An access answer is bounded three ways, and says so (truncated, with a cursor
// for the rest): in chats read, since finding a visitor's chats reads every chat
// of the account (privacystore.ScanChats); in the visitor's chats given; and in
// bytes as Lambda carries them (httpx.LambdaBytes), since each chat comes whole.
type limits struct {
	scan  int // chats read per answer
	chats int // the visitor's chats per answer
	bytes int // httpx.LambdaBytes of one answer
}

var defaultLimits = limits{scan: MaxScan, chats: MaxChats, bytes: httpx.MaxAnswerBytes}

const (
	// MaxScan is how many of the account's chats one answer reads at most.
	MaxScan = 1000
	// MaxChats is how many of the visitor's chats one answer gives at most.
	MaxChats = 50
	// envelopeReserve is what an answer holds besides its chats, entries and notes:
	// the visitor, the lead-creation records (a day's worth at most), counts, cursor.
	envelopeReserve = 64 << 10
	// timeReserve stops a scan while the request's budget still has room to answer:
	// the rest comes with the cursor instead of a 503.
	timeReserve = 3 * time.Second
)

// visitorAnswer is GET /privacy/visitors's answer: everything sellchat holds about
// the visitor, found in this page of the account's chats.
type visitorAnswer struct {
	Visitor       map[string]string           `json:"visitor"` // {"email": …} or {"phone": …}, normalised
	Chats         []chatView                  `json:"chats"`
	Entries       []entryView                 `json:"entries"`
	Notes         []noteView                  `json:"notes"`
	LeadCreations []privacystore.LeadCreation `json:"leadCreations"`
	// Scanned is how many of the account's chats this answer read.
	Scanned int `json:"scanned"`
	// Truncated says the account has chats this answer did not read; Cursor reads on.
	Truncated bool   `json:"truncated"`
	Cursor    string `json:"cursor,omitempty"`
}

// chatView is one stored chat of the visitor, with the chat object as received.
type chatView struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Start      time.Time       `json:"start"`
	ReceivedAt time.Time       `json:"receivedAt"`
	Status     string          `json:"status"`
	Records    []string        `json:"records"` // the Sell records whose feeds show it ("lead:2001")
	Chat       json.RawMessage `json:"chat,omitempty"`
	// ContentOmitted: the chat alone is larger than an answer may be, so its object
	// is left out (it is erased all the same).
	ContentOmitted bool `json:"contentOmitted,omitempty"`
}

// entryView is one feed entry: the chat shown in one Sell record's feed.
type entryView struct {
	Record    string    `json:"record"`
	ChatID    string    `json:"chatId"`
	NoteID    int64     `json:"noteId,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// noteView is a Sell note sellchat created for an entry.
type noteView struct {
	ID     int64  `json:"id"`
	Record string `json:"record"`
	ChatID string `json:"chatId"`
}

// visitor answers GET /privacy/visitors?email=…|phone=…[&cursor=…].
func (h *handler) visitor(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, _ := auth.From(ctx)
	q := r.URL.Query()
	sub, err := h.subject(q.Get("email"), q.Get("phone"))
	if err != nil {
		return err
	}
	ans := visitorAnswer{Visitor: map[string]string{sub.Kind: sub.Value}, Chats: []chatView{}, Entries: []entryView{}, Notes: []noteView{}}
	used := envelopeReserve
	var leadIDs []int64
	next, err := h.privacy.ScanChats(ctx, id.Account, q.Get("cursor"), h.limits.scan, func(it store.Item) (bool, error) {
		if ans.Scanned > 0 && late(ctx) {
			return false, nil
		}
		var item chatstore.ChatItem
		if err := it.Decode(&item); err != nil {
			return false, err
		}
		c, err := item.Chat()
		if err != nil || !sub.Matches(c.Visitor, h.deps.ReadPhone) {
			ans.Scanned++
			return true, nil // an unreadable chat names nobody
		}
		if len(ans.Chats) == h.limits.chats {
			return false, nil
		}
		page, err := h.chatPage(ctx, id.Account, item, c)
		if err != nil {
			return false, err
		}
		size := page.size()
		if used+size > h.limits.bytes {
			if len(ans.Chats) > 0 {
				return false, nil // the next answer starts with it
			}
			page.chat.Chat, page.chat.ContentOmitted = nil, true
			size = page.size()
		}
		used += size
		ans.Scanned++
		ans.Chats = append(ans.Chats, page.chat)
		ans.Entries = append(ans.Entries, page.entries...)
		ans.Notes = append(ans.Notes, page.notes...)
		leadIDs = append(leadIDs, page.leads...)
		return true, nil
	})
	if errors.Is(err, privacystore.ErrBadCursor) {
		return &httpx.Error{Status: http.StatusBadRequest, Code: "invalid_cursor", Message: "cursor is not one this route handed out; leave it out to start from the first chat."}
	}
	if err != nil {
		return err
	}
	ans.Truncated, ans.Cursor = next != "", next
	if ans.LeadCreations, err = h.privacy.LeadCreations(ctx, id.Account, sub, leadIDs); err != nil {
		return err
	}
	if ans.LeadCreations == nil {
		ans.LeadCreations = []privacystore.LeadCreation{}
	}
	httpx.WriteJSON(w, http.StatusOK, ans)
	return nil
}

// late reports whether the request's budget is nearly spent.
func late(ctx context.Context) bool {
	deadline, ok := ctx.Deadline()
	return ok && time.Until(deadline) < timeReserve
}

// chatPage is what one chat of the visitor adds to an answer.
type chatPage struct {
	chat    chatView
	entries []entryView
	notes   []noteView
	leads   []int64 // the leads whose feeds show it
}

// size is the page's httpx.LambdaBytes in an answer.
func (p chatPage) size() int {
	raw, _ := json.Marshal(struct {
		C chatView
		E []entryView
		N []noteView
	}{p.chat, p.entries, p.notes})
	return httpx.LambdaBytes(raw)
}

// chatPage reads the chat's entries (one per record in its feed) and their notes.
func (h *handler) chatPage(ctx context.Context, account string, item chatstore.ChatItem, c chats.Chat) (chatPage, error) {
	p := chatPage{chat: chatView{ID: item.ChatID, Type: item.Type, Start: item.Start, ReceivedAt: item.ReceivedAt, Status: item.Status,
		Records: append([]string{}, item.Records...), Chat: c.Raw}}
	for _, s := range item.Records {
		r, ok := chats.ParseRecord(s)
		if !ok {
			continue
		}
		if r.Type == chats.ResourceLead {
			p.leads = append(p.leads, r.ID)
		}
		e, err := h.chats.Entry(ctx, account, chats.FeedKey(r, chats.Chat{ID: item.ChatID, Start: item.Start}))
		if errors.Is(err, chatstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return chatPage{}, fmt.Errorf("read the feed entry of chat %s in %s: %w", item.ChatID, s, err)
		}
		p.entries = append(p.entries, entryView{Record: s, ChatID: item.ChatID, NoteID: e.NoteID, CreatedAt: e.CreatedAt})
		if e.NoteID != 0 {
			p.notes = append(p.notes, noteView{ID: e.NoteID, Record: s, ChatID: item.ChatID})
		}
	}
	return p, nil
}
