package feed

import (
	"encoding/json"
	"time"

	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// Answers are bounded as Lambda carries them: see httpx.MaxAnswerBytes and
// httpx.LambdaBytes for the limit and how a body is counted.
const (
	// MaxPageBytes bounds one answer of GET /feed or GET /feed/chats/{chatId}/messages,
	// counted as httpx.LambdaBytes: two thirds of Lambda's 6 MB, leaving room for the
	// headers, the envelope and any misjudgement.
	MaxPageBytes = httpx.MaxAnswerBytes
	// MaxItemBytes bounds one chat in a feed page (httpx.LambdaBytes): a single chat always
	// fits in a page, and even PageSize chats this large (5 MiB) stay under Lambda's
	// limit; MaxPageBytes stops such a page earlier still.
	MaxItemBytes = 256 << 10
	// PreviewMessages is how many of a chat's messages a feed page shows at most; the
	// rest come from GET /feed/chats/{chatId}/messages.
	PreviewMessages = 100
	// MessagesPageSize is how many messages one page of GET /feed/chats/{chatId}/messages
	// holds at most.
	MessagesPageSize = 500
	// MaxMessageText bounds one message's text (bytes of UTF-8). We found no
	// documented limit on a Chat message and the webhook takes chats of up to 1 MiB,
	// so a single message could
	// otherwise outgrow any page; longer texts are cut and marked textTruncated.
	// At 7 bytes a byte in the worst case (see httpx.LambdaBytes) a message stays far
	// under MaxPageBytes, so every page of messages holds at least one.
	MaxMessageText = 64 << 10
)

// Limits on the short fields of a chat, which Chat fills with names, addresses and
// labels: they only matter against a sender who stuffs them, and bounding them keeps
// a chat's fields (without its messages) well inside MaxItemBytes.
const (
	maxShortField = 256  // a name, email, phone, department, rating, agent, tag, speaker
	maxComment    = 4096 // the visitor's rating comment
	maxListItems  = 20   // agents and tags
	// envelopeReserve is what a page's body holds besides its items or messages:
	// the braces, historyVisible, chatId, counts and a cursor (a few hundred bytes).
	envelopeReserve = 4 << 10
)

// limits bound what one answer carries. New uses the constants above; tests shrink
// them to see pages stop early without storing megabytes.
type limits struct {
	pageItems       int // chats per feed page
	pageBytes       int // httpx.LambdaBytes of one answer
	itemBytes       int // httpx.LambdaBytes of one chat in a feed page
	previewMessages int // messages of a chat in a feed page
	messagesPage    int // messages per page of a chat's messages
}

var defaultLimits = limits{
	pageItems: PageSize, pageBytes: MaxPageBytes, itemBytes: MaxItemBytes,
	previewMessages: PreviewMessages, messagesPage: MessagesPageSize,
}

func clipped(s string, max int) string {
	out, _ := httpx.Clip(s, max)
	return out
}

func clipList(list []string) []string {
	if len(list) > maxListItems {
		list = list[:maxListItems]
	}
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = clipped(s, maxShortField)
	}
	return out
}

// transcript is every message of c as the feed shows them, each bounded.
func transcript(c chats.Chat) []Message {
	msgs := c.Messages()
	out := make([]Message, len(msgs))
	for i, m := range msgs {
		text, cut := httpx.Clip(m.Text, MaxMessageText)
		out[i] = Message{At: m.At.UTC(), From: clipped(m.From, maxShortField), Text: text, TextTruncated: cut}
	}
	return out
}

// head is the chat's item without messages: every field bounded, so that it takes
// a small part of MaxItemBytes whatever the chat holds.
func head(c chats.Chat, start time.Time) Item {
	it := Item{
		ChatID: c.ID, Type: c.Type, Start: start.UTC(), DurationSeconds: int64(c.Duration / time.Second),
		Visitor: chats.Visitor{
			Name: clipped(c.Visitor.Name, maxShortField), Email: clipped(c.Visitor.Email, maxShortField),
			Phone: clipped(c.Visitor.Phone, maxShortField),
		},
		Agents: clipList(c.Agents), Department: clipped(c.Department, maxShortField),
		Rating: clipped(c.Rating, maxShortField), Comment: clipped(c.Comment, maxComment),
		Tags: clipList(c.Tags), Messages: []Message{},
	}
	if c.Channel != "" {
		it.Channel, it.ChannelLabel = c.Channel, chats.ChannelLabel(c.Channel)
	}
	if !c.End.IsZero() {
		end := c.End.UTC()
		it.End = &end
	}
	return it
}

// fit counts how many of msgs, from the first, fit in count messages and budget
// httpx.LambdaBytes, each encoded message plus its comma counted; fixed is what the rest
// of the answer costs. With atLeastOne the first message is taken whatever it costs,
// so that paging through a transcript always moves on (MaxMessageText keeps it
// under MaxPageBytes).
func fit(msgs []Message, count, budget, fixed int, atLeastOne bool) int {
	used, n := fixed, 0
	for _, m := range msgs {
		if n == count {
			break
		}
		b, _ := json.Marshal(m) // a Message always marshals
		cost := httpx.LambdaBytes(b) + 1
		if used+cost > budget && !(atLeastOne && n == 0) {
			break
		}
		used += cost
		n++
	}
	return n
}
