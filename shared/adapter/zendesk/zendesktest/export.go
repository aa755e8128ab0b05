package zendesktest

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/zendesk"
)

// chatRecord is a stored chat: the Chat API JSON, plus the two fields the export
// orders by, read from it.
type chatRecord struct {
	ID      string          `json:"id"`
	Updated time.Time       `json:"updated"`
	Raw     json.RawMessage `json:"raw"`
}

func newChatRecord(raw json.RawMessage) (*chatRecord, error) {
	ch, err := zendesk.DecodeExportedChat(raw)
	if err != nil {
		return nil, err
	}
	return &chatRecord{ID: ch.ID, Updated: ch.UpdateTimestamp.Truncate(time.Second), Raw: ch.Raw}, nil
}

// exportOrder is the export's order: by update timestamp to the second, then by id.
func exportOrder(a, b *chatRecord) int {
	return cmp.Or(a.Updated.Compare(b.Updated), strings.Compare(a.ID, b.ID))
}

// after reports whether c comes after the cursor (start, startID): start is inclusive
// unless startID names a chat of that second to continue after.
func (c *chatRecord) after(start int64, startID string) bool {
	sec := c.Updated.Unix()
	return sec > start || sec == start && (startID == "" || c.ID > startID)
}

// exportChats answers GET /api/v2/chat/incremental/chats: chats updated since
// start_time in update order, limit at a time, with end_time, end_id and next_page
// to continue; start_time must be MinAge old.
func (s *Sandbox) exportChats(w http.ResponseWriter, r *http.Request) {
	start, limit, ok := adminPage(w, r, "start_time", zendesk.ExportMaxLimit)
	if !ok {
		return
	}
	if s.now().Sub(time.Unix(start, 0)) < s.opts.MinAge {
		writeError(w, zendesk.TooRecentStatus, zendesk.TooRecentCode, zendesk.TooRecentDescription)
		return
	}
	limit = min(limit, zendesk.ExportMaxLimit)
	q := r.URL.Query()
	startID := q.Get("start_id")
	page, endTime, endID := s.pageOf(start, startID, limit)
	chats := make([]json.RawMessage, len(page))
	for i, c := range page {
		chats[i] = project(c.Raw, q.Get("fields"))
	}
	next := url.Values{"start_time": {strconv.FormatInt(endTime, 10)}, "limit": {strconv.FormatInt(limit, 10)}}
	if f := q.Get("fields"); f != "" {
		next.Set("fields", f)
	}
	if endID != "" {
		next.Set("start_id", endID)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"chats": chats, "count": len(chats), "end_time": endTime, "end_id": endID,
		"next_page": baseOf(r) + zendesk.ExportPath + "?" + next.Encode(),
	})
}

// pageOf selects up to limit chats after the cursor; an empty page echoes the cursor.
func (s *Sandbox) pageOf(start int64, startID string, limit int64) (page []*chatRecord, endTime int64, endID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := slices.SortedFunc(maps.Values(s.st.Chats), exportOrder)
	for _, c := range all {
		if int64(len(page)) < limit && c.after(start, startID) {
			page = append(page, c)
		}
	}
	if len(page) == 0 {
		return nil, start, startID
	}
	last := page[len(page)-1]
	return page, last.Updated.Unix(), last.ID
}

// project applies the fields parameter: chats(*) is the whole chat, chats(a,b) those
// keys, and no fields only the id (Zendesk's resource expansion).
func project(raw json.RawMessage, fields string) json.RawMessage {
	if fields == zendesk.ExportFields {
		return raw
	}
	keys := []string{"id"}
	if inner, ok := strings.CutPrefix(fields, "chats("); ok {
		keys = strings.Split(strings.TrimSuffix(inner, ")"), ",")
	}
	var all map[string]json.RawMessage
	if json.Unmarshal(raw, &all) != nil {
		return raw
	}
	out := map[string]json.RawMessage{}
	for _, k := range keys {
		if v, ok := all[strings.TrimSpace(k)]; ok {
			out[strings.TrimSpace(k)] = v
		}
	}
	b, _ := json.Marshal(out)
	return b
}

// AddChat stores a Chat API chat object as a chat that has just ended: it gets an id
// when it has none, type "chat", a start timestamp and an end_timestamp of now when it
// has none, and an update_timestamp of now, so the export delivers it (again, when its
// id was already stored). chat is anything that marshals to a JSON object. It panics
// when it does not: a test helper (POST /sandbox/chats reports the error instead).
func (s *Sandbox) AddChat(chat any) zendesk.ExportedChat {
	ch, err := s.addChat(chat, nil)
	if err != nil {
		panic("zendesktest: AddChat: " + err.Error())
	}
	return ch
}

// UpdateChat changes fields of a stored chat (e.g. {"tags": ["vip"]}) and sets its
// update_timestamp to now, as tagging or rating a finished chat does, so the export
// delivers it again. False when no chat has that id.
func (s *Sandbox) UpdateChat(id string, fields map[string]any) (zendesk.ExportedChat, bool) {
	s.mu.Lock()
	rec, ok := s.st.Chats[id]
	s.mu.Unlock()
	if !ok {
		return zendesk.ExportedChat{}, false
	}
	ch, err := s.addChat(rec.Raw, fields)
	return ch, err == nil
}

// addChat merges fields into chat, fills in what AddChat promises and stores it.
func (s *Sandbox) addChat(chat any, fields map[string]any) (zendesk.ExportedChat, error) {
	b, err := json.Marshal(chat)
	if err != nil {
		return zendesk.ExportedChat{}, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return zendesk.ExportedChat{}, errors.New("a chat must be a JSON object")
	}
	maps.Copy(m, fields)
	defer s.changed()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC().Truncate(time.Second).Format(zendesk.ChatTimestampLayout)
	if id, _ := m["id"].(string); id == "" {
		m["id"] = fmt.Sprintf("%s.%d.Sb%s", s.now().UTC().Format("0601"), s.newIDLocked(), randomHex(6))
	}
	setDefault(m, "type", "chat")
	setDefault(m, "timestamp", now)
	if m["type"] != "offline_msg" { // offline messages never end
		setDefault(m, "end_timestamp", now)
	}
	m["update_timestamp"] = now
	raw, _ := json.Marshal(m)
	rec, err := newChatRecord(raw)
	if err != nil {
		return zendesk.ExportedChat{}, err
	}
	s.st.Chats[rec.ID] = rec
	return zendesk.DecodeExportedChat(rec.Raw)
}

func setDefault(m map[string]any, key string, v any) {
	if m[key] == nil || m[key] == "" {
		m[key] = v
	}
}

// Chats returns every stored chat in export order.
func (s *Sandbox) Chats() []zendesk.ExportedChat {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []zendesk.ExportedChat
	for _, c := range slices.SortedFunc(maps.Values(s.st.Chats), exportOrder) {
		ch, _ := zendesk.DecodeExportedChat(c.Raw)
		out = append(out, ch)
	}
	return out
}

// postChat answers POST /sandbox/chats (local only): AddChat over HTTP, 201 with the
// stored chat.
func (s *Sandbox) postChat(w http.ResponseWriter, r *http.Request) {
	var chat map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&chat); err != nil || chat == nil {
		writeError(w, http.StatusBadRequest, "InvalidValue", "the body must be a Chat API chat object")
		return
	}
	ch, err := s.addChat(chat, nil)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidValue", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(ch.Raw)
}
