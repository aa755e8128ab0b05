package zendesk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Messaging conversations (web and mobile messaging, WhatsApp, Instagram, Messenger…)
// are answered as Support tickets in Agent Workspace. What sellchat reads of one: the
// ticket (its requester and channel), the requester's identities, and the ticket's
// conversation log, the documented transcript source for messaging tickets (ticket
// comments and events stay nearly empty for them).

// Ticket is what sellchat reads of a Support ticket (Tickets API,
// https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#show-ticket:
// GET /api/v2/tickets/{id} answers {"ticket": {...}}).
type Ticket struct {
	ID          int64     `json:"id"`
	Status      string    `json:"status"` // new, open, pending, hold, solved, closed
	RequesterID int64     `json:"requester_id"`
	Subject     string    `json:"subject,omitempty"`
	Via         TicketVia `json:"via"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// TicketVia is how the ticket was created; Channel is the via type's name
// (https://developer.zendesk.com/documentation/ticketing/reference-guides/via-types/),
// e.g. "whatsapp" or "native_messaging".
type TicketVia struct {
	Channel string `json:"channel"`
}

// Identity is one of a user's identities (User Identities API,
// https://developer.zendesk.com/api-reference/ticketing/users/user_identities/:
// GET /api/v2/users/{user_id}/identities answers {"identities": [...]}, cursor pages).
// Type is "email", "phone_number", "twitter", "facebook", "google", "agent_forwarding",
// "messaging", ...; Value the address, number or handle.
type Identity struct {
	ID        int64  `json:"id"`
	UserID    int64  `json:"user_id"`
	Type      string `json:"type"`
	Value     string `json:"value"`
	Verified  bool   `json:"verified"`
	Primary   bool   `json:"primary"`
	CreatedAt string `json:"created_at,omitempty"`
}

// Identity types sellchat matches Sell records by.
const (
	IdentityEmail = "email"
	IdentityPhone = "phone_number"
)

// LogEvent is one event of a ticket's conversation log (Ticket Conversation Log API,
// https://developer.zendesk.com/api-reference/ticketing/tickets/conversation_log/:
// GET /api/v2/tickets/{ticket_id}/conversation_log answers {"events": [...],
// "links": {"next", "prev"}, "meta": {"after_cursor", "before_cursor", "has_more"}},
// cursor pages of at most 100 events, page[size] / page[after], sort=created_at).
type LogEvent struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"` // "Messaging::ConversationMessage", "Comment", ...
	Reference   string          `json:"reference,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	Author      LogAuthor       `json:"author"`
	Content     LogContent      `json:"content"`
	Attachments []LogAttachment `json:"attachments,omitempty"`
	Metadata    LogMetadata     `json:"metadata"`
}

// Conversation log event types sellchat reads; others are kept out of transcripts.
const (
	LogConversationMessage = "Messaging::ConversationMessage"
	LogComment             = "Comment"
)

// LogAuthor is an event's author: Type is "user" (the end user), "agent" or "bot".
type LogAuthor struct {
	Type          string `json:"type"`
	DisplayName   string `json:"display_name"`
	SupportUserID int64  `json:"zen:support:user_id,omitempty"`
	SuncoUserID   string `json:"zen:sunco:user_id,omitempty"`
}

// Conversation log author types.
const (
	AuthorUser  = "user"
	AuthorAgent = "agent"
	AuthorBot   = "bot"
)

// LogContent is an event's content: a message's {"type":"text","text":…} (or another
// message type, e.g. "image", "file"), a comment's {"type":"html","body":…}.
type LogContent struct {
	Type string `json:"type"`
	Text string `json:"text,omitempty"`
	Body string `json:"body,omitempty"`
	// Raw keeps the content as it came, for types sellchat does not read (a bot's
	// actions, a carousel, a form…): UnmarshalJSON fills it in.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON reads the known fields and keeps the whole object as Raw. null leaves
// the content empty.
func (c *LogContent) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	var v struct {
		Type string `json:"type"`
		Text string `json:"text"`
		Body string `json:"body"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("conversation log content: %w", err)
	}
	*c = LogContent{Type: v.Type, Text: v.Text, Body: v.Body, Raw: append(json.RawMessage(nil), b...)}
	return nil
}

// MarshalJSON writes the content back as it came, or its known fields when it did not
// come from JSON.
func (c LogContent) MarshalJSON() ([]byte, error) {
	if len(c.Raw) > 0 {
		return c.Raw, nil
	}
	type known LogContent // without the methods
	return json.Marshal(known(c))
}

// LogAttachment is a file attached to an event.
type LogAttachment struct {
	FileName    string `json:"file_name,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	ContentURL  string `json:"content_url,omitempty"`
	Size        int64  `json:"size,omitempty"`
}

// LogMetadata is an event's metadata; Public is false for an internal note.
type LogMetadata struct {
	Public bool `json:"public"`
}

// Contact returns the email and phone number to match the user in a CRM by: their
// email identities (the primary one first, then the user's own email) and their
// phone number identities, in that order. Emails and phones exist only if the user
// gave them (a form, authentication, an agent): either may be empty.
func (u User) Contact(ids []Identity) (email, phone string) {
	ids = slices.Clone(ids)
	slices.SortStableFunc(ids, func(a, b Identity) int {
		switch {
		case a.Primary == b.Primary:
			return 0
		case a.Primary:
			return -1
		}
		return 1
	})
	for _, id := range ids {
		v := strings.TrimSpace(id.Value)
		switch {
		case id.Type == IdentityEmail && email == "" && v != "":
			email = v
		case id.Type == IdentityPhone && phone == "" && v != "":
			phone = v
		}
	}
	if email == "" {
		email = strings.TrimSpace(u.Email)
	}
	return email, phone
}
