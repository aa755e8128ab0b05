// Package chats holds a finished Zendesk Chat conversation as sellchat understands it:
// parsing the Chat API chat object that the webhook carries, the plain-text transcript
// shown in the feed and mirrored into Sell as a note, and the keys of feed entries.
// It knows nothing of HTTP, DynamoDB or Sell's API.
package chats

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Chat types as Chat names them.
const (
	TypeChat    = "chat"
	TypeOffline = "offline_msg"
)

// Status of a stored chat.
const (
	StatusReceived  = "received"  // stored, not yet matched
	StatusMatched   = "matched"   // in the feed of at least one Sell record
	StatusUnmatched = "unmatched" // the visitor matched nothing in Sell; kept for a later lead
	StatusFailed    = "failed"    // the last attempt failed; Reason says why (the local DLQ)
)

// Visitor is who started the chat.
type Visitor struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// Event is one entry of the chat's history. Types other than messages and files are
// kept (Raw) but not shown.
type Event struct {
	Type      string          `json:"type"`
	Name      string          `json:"name,omitempty"`
	Nick      string          `json:"nick,omitempty"`
	Msg       string          `json:"msg,omitempty"`
	Filename  string          `json:"filename,omitempty"`
	NewRating string          `json:"new_rating,omitempty"`
	At        time.Time       `json:"at"`
	Raw       json.RawMessage `json:"-"`
}

// Chat is a finished chat or an offline message. Raw keeps the object exactly as it
// arrived, unknown fields included.
type Chat struct {
	ID         string
	Type       string
	Start      time.Time
	End        time.Time
	Duration   time.Duration
	Visitor    Visitor
	Agents     []string
	Department string
	Tags       []string
	Rating     string
	Comment    string
	Message    string // an offline message's text
	// Channel is the messaging channel of a conversation read from a Support
	// messaging ticket ("whatsapp", "native_messaging", …: the ticket's via
	// channel), written by sellchat into the transcript it builds as ChannelField;
	// empty for a Zendesk Chat chat.
	Channel string
	History []Event
	Raw     json.RawMessage
}

// Limits on what we accept from the webhook. The chat id becomes part of table keys.
const (
	MaxIDLength = 128
)

// ErrMalformed means the body is not a JSON object.
var ErrMalformed = errors.New("chats: the body is not a JSON object")

// FieldError says which required field is missing or unusable.
type FieldError struct {
	Field   string
	Code    string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Invalid reports whether err is Parse refusing the object (ErrMalformed or a
// *FieldError): the same chat will never parse, so it is not worth another try.
func Invalid(err error) bool {
	var fe *FieldError
	return errors.Is(err, ErrMalformed) || errors.As(err, &fe)
}

// Parse reads a Chat API chat object. Fields of an unexpected type are ignored rather
// than refused: Chat's exports are not consistent, and a chat we can store is worth
// more than a strict schema. Only the id and the visitor are required.
func Parse(raw []byte) (Chat, error) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return Chat{}, ErrMalformed
	}
	// Decoder.More answers false before a stray "]" or "}", so one more token must
	// be io.EOF: anything after the one chat object makes the delivery malformed.
	if _, err := dec.Token(); err != io.EOF {
		return Chat{}, ErrMalformed
	}
	c := Chat{Raw: append(json.RawMessage(nil), bytes.TrimSpace(raw)...)}
	c.ID = strings.TrimSpace(looseString(obj["id"]))
	if c.ID == "" {
		return Chat{}, &FieldError{"id", "required", "The chat has no id."}
	}
	if !validID(c.ID) {
		return Chat{}, &FieldError{"id", "invalid_value", fmt.Sprintf("The chat id must be 1 to %d printable characters.", MaxIDLength)}
	}
	var vis map[string]json.RawMessage
	if json.Unmarshal(obj["visitor"], &vis) != nil || vis == nil {
		return Chat{}, &FieldError{"visitor", "required", "The chat has no visitor object."}
	}
	c.Visitor = Visitor{
		ID:    looseString(vis["id"]),
		Name:  strings.TrimSpace(looseString(vis["name"])),
		Email: strings.TrimSpace(looseString(vis["email"])),
		Phone: strings.TrimSpace(looseString(vis["phone"])),
	}
	c.Type = looseString(obj["type"])
	if c.Type != TypeOffline {
		c.Type = TypeChat
	}
	c.Start = looseTime(obj["timestamp"])
	c.End = looseTime(obj["end_timestamp"])
	if d, ok := looseNumber(obj["duration"]); ok && d >= 0 && d < 1e9 {
		c.Duration = time.Duration(d * float64(time.Second))
	}
	c.Agents = looseStrings(obj["agent_names"])
	c.Department = looseString(obj["department_name"])
	c.Tags = looseStrings(obj["tags"])
	c.Rating = looseString(obj["rating"])
	c.Comment = looseString(obj["comment"])
	c.Message = looseString(obj["message"])
	if ch := strings.TrimSpace(looseString(obj[ChannelField])); validChannel(ch) {
		c.Channel = ch
	}
	var hist []json.RawMessage
	if json.Unmarshal(obj["history"], &hist) == nil {
		for _, h := range hist {
			var e map[string]json.RawMessage
			if json.Unmarshal(h, &e) != nil || e == nil {
				continue
			}
			c.History = append(c.History, Event{
				Type: looseString(e["type"]), Name: looseString(e["name"]), Nick: looseString(e["nick"]),
				Msg: looseString(e["msg"]), Filename: looseString(e["filename"]),
				NewRating: looseString(e["new_rating"]), At: looseTime(e["timestamp"]), Raw: h,
			})
		}
	}
	c.fillTimes()
	return c, nil
}

// fillTimes derives what the chat object left out, so every stored chat has a start
// (its position in the feed) and, where it can be known, an end and a duration.
func (c *Chat) fillTimes() {
	first, last := time.Time{}, time.Time{}
	for _, e := range c.History {
		if e.At.IsZero() {
			continue
		}
		if first.IsZero() || e.At.Before(first) {
			first = e.At
		}
		if e.At.After(last) {
			last = e.At
		}
	}
	if c.Start.IsZero() {
		c.Start = first
	}
	if c.End.IsZero() {
		switch {
		case c.Duration > 0 && !c.Start.IsZero():
			c.End = c.Start.Add(c.Duration)
		case !last.IsZero():
			c.End = last
		}
	}
	if c.Duration == 0 && !c.Start.IsZero() && c.End.After(c.Start) {
		c.Duration = c.End.Sub(c.Start)
	}
}

// ChannelField is the field of sellchat's own that carries a messaging
// conversation's channel in the chat object sellchat builds from a ticket's
// conversation log. Zendesk Chat sends no such field; a chat that has one is shown
// as a conversation of that channel.
const ChannelField = "sellchat_channel"

// validChannel accepts a via channel name: lower-case letters, digits and
// underscores, at most 64.
func validChannel(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

func validID(id string) bool {
	if len(id) > MaxIDLength || !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// looseString reads a string, a number (ids are sometimes numbers) or null.
func looseString(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func looseStrings(raw json.RawMessage) []string {
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		if s := looseString(raw); s != "" {
			return []string{s}
		}
		return nil
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		if s := strings.TrimSpace(looseString(v)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func looseNumber(raw json.RawMessage) (float64, bool) {
	s := looseString(raw)
	if s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// looseTime reads RFC 3339 strings and epoch numbers (seconds; values too large to be
// seconds are read as milliseconds, as some exports send). Anything else is zero.
func looseTime(raw json.RawMessage) time.Time {
	s := strings.TrimSpace(looseString(raw))
	if s == "" {
		return time.Time{}
	}
	return ParseTime(s)
}

// ParseTime reads one timestamp in either form; the zero time when it is neither.
func ParseTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return sane(t)
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
		return time.Time{}
	}
	if f > 1e11 { // later than year 5138 in seconds: milliseconds
		f /= 1000
	}
	sec, frac := math.Modf(f)
	return sane(time.Unix(int64(sec), int64(frac*1e9)))
}

// sane keeps times in the years a chat can have happened, so keys and JSON stay
// well-formed whatever a sender puts in a timestamp.
func sane(t time.Time) time.Time {
	if t.Year() < 1990 || t.Year() > 9999 {
		return time.Time{}
	}
	return t.UTC()
}
