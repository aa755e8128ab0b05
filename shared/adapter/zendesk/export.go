package zendesk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The Chat API's incremental chat export
// (https://developer.zendesk.com/api-reference/live-chat/chat-api/incremental_export/):
// chats ordered by update timestamp, a chat updated again (tagged, rated) comes again,
// start_time in Unix seconds and "more than five minutes in the past", limit up to
// 1000, and fields=chats(*) for whole chats (otherwise only ids come back).
const (
	ExportPath     = "/api/v2/chat/incremental/chats"
	ExportMinAge   = 5 * time.Minute
	ExportMaxLimit = 1000
	ExportFields   = "chats(*)"
)

// ExportRequest says where an export page starts: at StartTime (the zero time is the
// beginning; to resume inside the second of a previous page's end, add StartID), or at
// a previous page's NextPage URL, which wins when set.
type ExportRequest struct {
	StartTime time.Time
	StartID   string
	NextPage  string
	// Limit is 1 to ExportMaxLimit; ExportMaxLimit when zero. Ignored with NextPage,
	// which carries its own.
	Limit int
}

// ExportPage is one page of the export. A page shorter than the limit asked for means
// the export has caught up; store EndTime and EndID (or NextPage) as the cursor and ask
// again later.
type ExportPage struct {
	Chats    []ExportedChat
	Count    int
	EndTime  time.Time
	EndID    string
	NextPage string
}

// ExportedChat is one chat of a page: the fields needed to keep or skip it, and the
// whole chat as Zendesk sent it, unknown fields included.
type ExportedChat struct {
	ID   string
	Type string // "chat" or "offline_msg"
	// UpdateTimestamp is when the chat last changed; the same chat comes again with a
	// later one after every change, so (ID, UpdateTimestamp) is what identifies a
	// delivery.
	UpdateTimestamp time.Time
	// EndTimestamp is zero while the chat goes on (and for offline messages).
	EndTimestamp time.Time
	Raw          json.RawMessage
}

// Ended reports whether the chat is over, the only kind sellchat ingests.
func (c ExportedChat) Ended() bool { return !c.EndTimestamp.IsZero() }

// Key identifies this version of the chat for deduplication.
func (c ExportedChat) Key() string {
	return c.ID + "@" + strconv.FormatInt(c.UpdateTimestamp.Unix(), 10)
}

// ChatExport fetches one page of the chat export. A start time (or next_page) younger
// than ExportMinAge is refused by Zendesk with ErrStartTimeTooRecent: not a failure,
// the same request will work later. It needs a Chat token of an admin.
func (c *Client) ChatExport(ctx context.Context, req ExportRequest) (*ExportPage, error) {
	u, err := c.exportURL(req)
	if err != nil {
		return nil, err
	}
	var raw struct {
		Chats    []json.RawMessage `json:"chats"`
		Count    int               `json:"count"`
		EndTime  json.RawMessage   `json:"end_time"`
		EndID    string            `json:"end_id"`
		NextPage string            `json:"next_page"`
	}
	if err := c.getJSON(ctx, u, &raw); err != nil {
		if tooRecent(err) {
			err = fmt.Errorf("%w: %w", ErrStartTimeTooRecent, err)
		}
		return nil, fmt.Errorf("export chats (%s): %w", u.RawQuery, err)
	}
	page := &ExportPage{Count: raw.Count, EndID: raw.EndID, NextPage: raw.NextPage, Chats: make([]ExportedChat, 0, len(raw.Chats))}
	if page.EndTime, err = ParseTimestamp(raw.EndTime); err != nil {
		return nil, fmt.Errorf("export chats: end_time: %w", err)
	}
	for i, rc := range raw.Chats {
		ch, err := DecodeExportedChat(rc)
		if err != nil {
			return nil, fmt.Errorf("export chats: chat %d of the page: %w", i, err)
		}
		page.Chats = append(page.Chats, ch)
	}
	return page, nil
}

// exportURL builds the request of req. A next_page URL is only followed to this
// client's own host and the export's path: it comes from a response, and the request
// carries our token.
func (c *Client) exportURL(req ExportRequest) (*url.URL, error) {
	if req.NextPage != "" {
		u, err := url.Parse(req.NextPage)
		if err != nil || u.Scheme != c.base.Scheme || u.Host != c.base.Host || u.Path != c.endpoint(ExportPath, nil).Path {
			return nil, fmt.Errorf("zendesk: export: next_page %q is not this account's chat export", req.NextPage)
		}
		return u, nil
	}
	limit := req.Limit
	if limit == 0 {
		limit = ExportMaxLimit
	}
	if limit < 1 || limit > ExportMaxLimit {
		return nil, fmt.Errorf("zendesk: export: limit %d is not between 1 and %d", req.Limit, ExportMaxLimit)
	}
	start := int64(0) // a zero StartTime is the beginning, Zendesk's default
	if !req.StartTime.IsZero() {
		start = req.StartTime.Unix()
	}
	if start < 0 {
		return nil, errors.New("zendesk: export: start time before 1970")
	}
	q := url.Values{
		"start_time": {strconv.FormatInt(start, 10)},
		"fields":     {ExportFields},
		"limit":      {strconv.Itoa(limit)},
	}
	if req.StartID != "" {
		q.Set("start_id", req.StartID)
	}
	return c.endpoint(ExportPath, q), nil
}

// tooRecent reports whether err is the export refusing its start time (see
// TooRecentStatus): a 400 or 422 whose text names start_time.
func tooRecent(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) || (ae.Status != TooRecentStatus && ae.Status != http.StatusBadRequest) {
		return false
	}
	return strings.Contains(strings.ToLower(ae.Code+" "+ae.Description), "start_time")
}

// DecodeExportedChat reads one Chat API chat object, of an export page or from
// anywhere else (a webhook's re-fetch, a test): the fields needed to keep or skip it,
// and the whole object as Raw.
func DecodeExportedChat(raw json.RawMessage) (ExportedChat, error) {
	var v struct {
		ID     string          `json:"id"`
		Type   string          `json:"type"`
		Update json.RawMessage `json:"update_timestamp"`
		End    json.RawMessage `json:"end_timestamp"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return ExportedChat{}, err
	}
	if v.ID == "" {
		return ExportedChat{}, errors.New("chat without an id")
	}
	ch := ExportedChat{ID: v.ID, Type: v.Type, Raw: raw}
	var err error
	if ch.UpdateTimestamp, err = ParseTimestamp(v.Update); err != nil {
		return ExportedChat{}, fmt.Errorf("chat %s: update_timestamp: %w", v.ID, err)
	}
	if ch.EndTimestamp, err = ParseTimestamp(v.End); err != nil {
		return ExportedChat{}, fmt.Errorf("chat %s: end_timestamp: %w", v.ID, err)
	}
	return ch, nil
}

// ParseTimestamp reads a Chat API timestamp: an RFC 3339 string, as documented, or
// Unix seconds as a number or a numeric string, as some exports send (see
// ChatTimestampLayout). null, "" and absence are the zero time.
func ParseTimestamp(raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return time.Time{}, nil
	}
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return time.Time{}, err
		}
		if text == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339Nano, text); err == nil {
			return t.UTC(), nil
		}
	}
	secs, err := strconv.ParseFloat(text, 64)
	if err != nil || secs < 0 || secs > 1<<40 || math.IsNaN(secs) {
		return time.Time{}, fmt.Errorf("%s is neither RFC 3339 nor Unix seconds", raw)
	}
	whole, frac := math.Modf(secs)
	return time.Unix(int64(whole), int64(frac*1e9)).UTC(), nil
}
