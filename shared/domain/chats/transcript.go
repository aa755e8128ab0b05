package chats

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Message is one line of the transcript as the feed shows it: plain text, never markup.
type Message struct {
	At   time.Time `json:"at"`
	From string    `json:"from"`
	Text string    `json:"text"`
}

// Messages returns what was said, in order: chat messages and files (by name), or an
// offline message's text. Joins, leaves and other events are left out.
func (c Chat) Messages() []Message {
	out := []Message{}
	for _, e := range c.History {
		from := e.Name
		if from == "" {
			from = c.speaker(e.Nick)
		}
		switch e.Type {
		case "chat.msg":
			if e.Msg != "" {
				out = append(out, Message{At: e.At, From: from, Text: e.Msg})
			}
		case "chat.file":
			out = append(out, Message{At: e.At, From: from, Text: "sent a file: " + e.Filename})
		}
	}
	if len(out) == 0 && c.Message != "" {
		out = append(out, Message{At: c.Start, From: c.visitorName(), Text: c.Message})
	}
	return out
}

func (c Chat) speaker(nick string) string {
	if nick == "visitor" {
		return c.visitorName()
	}
	if strings.HasPrefix(nick, "agent:") {
		return "Agent"
	}
	if nick == BotNick {
		return "Bot"
	}
	return "Someone"
}

// BotNick is the nick of a bot's lines in a messaging conversation's transcript.
const BotNick = "bot"

// channelLabels name the messaging channels as people know them.
var channelLabels = map[string]string{
	"native_messaging": "web and mobile messaging", "whatsapp": "WhatsApp", "instagram_dm": "Instagram",
	"sunshine_conversations_facebook_messenger": "Messenger", "line": "LINE", "wechat": "WeChat",
	"telegram": "Telegram", "viber": "Viber", "twilio_sms": "SMS", "messagebird_sms": "SMS",
	"apple_business_chat": "Apple Messages for Business", "google_business_messages": "Google Business Messages",
	"google_rcs": "RCS", "kakaotalk": "KakaoTalk", "sunshine_conversations_api": "Conversations API",
	"sunshine_conversations_twitter_dm": "X",
}

// ChannelLabel is a messaging channel's name as people know it (the via channel's
// own name for one sellchat does not know).
func ChannelLabel(channel string) string {
	if l, ok := channelLabels[channel]; ok {
		return l
	}
	return channel
}

func (c Chat) visitorName() string {
	if c.Visitor.Name != "" {
		return c.Visitor.Name
	}
	return "Visitor"
}

// Resource types of feed entries, as Sell names them in notes (people and companies
// are both contacts).
const (
	ResourceLead    = "lead"
	ResourceContact = "contact"
	ResourceDeal    = "deal"
)

// ValidResource reports whether t is a resource type the feed knows.
func ValidResource(t string) bool {
	return t == ResourceLead || t == ResourceContact || t == ResourceDeal
}

// Record names one Sell record.
type Record struct {
	Type string `json:"type"`
	ID   int64  `json:"id"`
}

func (r Record) String() string { return r.Type + ":" + strconv.FormatInt(r.ID, 10) }

// ParseRecord reads a Record back from its String form ("lead:2001").
func ParseRecord(s string) (Record, bool) {
	typ, id, ok := strings.Cut(s, ":")
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || err != nil || n <= 0 || !ValidResource(typ) {
		return Record{}, false
	}
	return Record{Type: typ, ID: n}, true
}

// FeedPrefix is the key prefix of every feed entry of one record. Entries sort by the
// chat's start time, so a reverse query reads the feed newest first.
func FeedPrefix(r Record) string { return "FEED#" + r.Type + "#" + strconv.FormatInt(r.ID, 10) + "#" }

// FeedKey is the key of the entry of chat c in r's feed. The same chat and record
// always give the same key, so writing an entry twice is detectable.
func FeedKey(r Record, c Chat) string {
	return FeedPrefix(r) + KeyTime(c.Start) + "#" + c.ID
}

// KeyTime formats t for a sort key: fixed width, UTC, so keys sort by time.
func KeyTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// Marker is the text a mirrored note carries so that we can recognise it in Sell
// again (a retry after a crash looks for it before creating a second note).
func Marker(chatID string) string { return markerStart + chatID + "]" }

const markerStart = "[sellchat chat "

// MarkedChat is the chat a note's content carries the Marker of (a note sellchat
// mirrored ends with it); false when it carries none.
func MarkedChat(content string) (chatID string, ok bool) {
	i := strings.LastIndex(content, markerStart)
	if i < 0 || !strings.HasSuffix(content, "]") {
		return "", false
	}
	return content[i+len(markerStart) : len(content)-1], true
}

// MaxNoteLength bounds a note's content; Sell documents no limit, so we stay modest.
const MaxNoteLength = 50_000

// NoteContent is the note mirrored into Sell for chat c: a plain-text transcript that
// ends with the chat's marker.
func NoteContent(c Chat) string {
	var b strings.Builder
	kind := "Zendesk Chat transcript"
	switch {
	case c.Channel != "":
		kind = "Zendesk messaging conversation (" + ChannelLabel(c.Channel) + ")"
	case c.Type == TypeOffline:
		kind = "Zendesk Chat offline message"
	}
	fmt.Fprintf(&b, "%s, %s", kind, c.Start.UTC().Format("2006-01-02 15:04 UTC"))
	if c.Duration > 0 {
		fmt.Fprintf(&b, " (%s)", c.Duration.Round(time.Second))
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "Visitor: %s", c.visitorName())
	if c.Visitor.Email != "" {
		fmt.Fprintf(&b, " <%s>", c.Visitor.Email)
	}
	if c.Visitor.Phone != "" {
		fmt.Fprintf(&b, " %s", c.Visitor.Phone)
	}
	b.WriteString("\n")
	if len(c.Agents) > 0 {
		fmt.Fprintf(&b, "Agents: %s\n", strings.Join(c.Agents, ", "))
	}
	if c.Department != "" {
		fmt.Fprintf(&b, "Department: %s\n", c.Department)
	}
	if c.Rating != "" || c.Comment != "" {
		fmt.Fprintf(&b, "Rating: %s %s\n", c.Rating, c.Comment)
	}
	if len(c.Tags) > 0 {
		fmt.Fprintf(&b, "Tags: %s\n", strings.Join(c.Tags, ", "))
	}
	b.WriteString("\n")
	marker := "\n" + Marker(c.ID)
	const shortened = "… (transcript shortened; the full chat is in the Chat app)\n"
	for _, m := range c.Messages() {
		line := fmt.Sprintf("%s %s: %s\n", m.At.UTC().Format("15:04:05"), m.From, m.Text)
		if b.Len()+len(line)+len(marker)+len(shortened) > MaxNoteLength {
			b.WriteString(shortened)
			break
		}
		b.WriteString(line)
	}
	b.WriteString(marker)
	return b.String()
}
