package feed

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// errChatNotFound answers for a chat that does not exist, belongs to another
// account, or is not in the named record's feed: the three look the same, so the
// route tells nobody which chat ids exist.
var errChatNotFound = &httpx.Error{Status: http.StatusNotFound, Code: "chat_not_found",
	Message: "This chat is not in this record's chat history."}

// messagesPage is one page of a chat's transcript.
type messagesPage struct {
	HistoryVisible bool   `json:"historyVisible"`
	ChatID         string `json:"chatId"`
	// MessageCount is the whole transcript's; Offset the index of Messages[0] in it.
	MessageCount int               `json:"messageCount"`
	Offset       int               `json:"offset"`
	Messages     []json.RawMessage `json:"messages"`
	NextCursor   string            `json:"nextCursor,omitempty"`
}

// messages serves GET /feed/chats/{chatId}/messages?resourceType=&resourceId=&cursor=:
// the transcript of a chat in that record's feed, in order, from the start or from
// the cursor (a feed item's messagesCursor, or a previous page's nextCursor). It
// checks what GET /feed checks (signed in to the account, history on) and that the
// chat is in the record's feed, so it opens no chat the feed would not show.
func (h *handler) messages(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	q := r.URL.Query()
	rec, err := record(q)
	if err != nil {
		return err
	}
	chatID := r.PathValue("chatId")
	if chatID == "" || len(chatID) > chats.MaxIDLength {
		return errChatNotFound
	}
	from := 0
	if s := q.Get("cursor"); s != "" {
		c, err := readCursor(s, id.Account, rec)
		if err != nil || c.After != "" || c.Chat != chatID || c.Index < 0 {
			return errBadCursor
		}
		from = c.Index
	}
	if shown, err := h.historyShown(w, r, id.Account, messagesPage{ChatID: chatID, Messages: []json.RawMessage{}}); !shown {
		return err
	}
	c, err := decodeChat(h.chats.FeedChat(r.Context(), id.Account, rec, chatID))
	if errors.Is(err, chatstore.ErrNotFound) {
		return errChatNotFound
	}
	if err != nil {
		return err
	}
	all := transcript(c.Chat)
	if from > len(all) {
		return errBadCursor // the stored chat never changes, so ours never point past it
	}
	out := messagesPage{HistoryVisible: true, ChatID: chatID, MessageCount: len(all), Offset: from, Messages: []json.RawMessage{}}
	rest := all[from:]
	n := fit(rest, h.lim.messagesPage, h.lim.pageBytes, envelopeReserve, true)
	for _, m := range rest[:n] {
		b, _ := json.Marshal(m)
		out.Messages = append(out.Messages, b)
	}
	if from+n < len(all) {
		out.NextCursor = encodeCursor(cursor{Account: id.Account, Record: rec.String(), Chat: chatID, Index: from + n})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}
