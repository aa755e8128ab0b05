package conversation

import (
	"encoding/json"
	"html"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/domain/chats"
)

// A messaging conversation becomes a chat of the same transcript model as Zendesk
// Chat's: transcript builds, from the ticket, its requester (and their identities)
// and its conversation log, a chat object the durable ingest stores, redacts and
// processes like any other, under the id messagingChatID gives the ticket.

// messagingChatPrefix starts the chat id of a messaging ticket's conversation: the
// ticket, not a Chat API id, names it, and no Chat id starts so.
const messagingChatPrefix = "zdmsg-"

func messagingChatID(ticket int64) string {
	return messagingChatPrefix + strconv.FormatInt(ticket, 10)
}

// transcriptLine is one entry of the chat object's history, as Parse reads it.
type transcriptLine struct {
	Type      string `json:"type"`
	Nick      string `json:"nick"`
	Name      string `json:"name,omitempty"`
	Msg       string `json:"msg,omitempty"`
	Filename  string `json:"filename,omitempty"`
	Timestamp string `json:"timestamp"`
}

// transcript builds the chat object of ticket t's conversation. The visitor is the
// requester, with the first of their email identities (the primary one first) and
// of their phone numbers; messages by the end user, agents and bots become lines
// (bots named as such), an attachment a line that names the file, and internal notes
// stay out unless internal is true. It fails only if the object cannot be encoded.
func transcript(t zendesk.Ticket, requester zendesk.User, ids []zendesk.Identity, events []zendesk.LogEvent, internal bool) ([]byte, error) {
	email, phone := requester.Contact(ids)
	events = slices.Clone(events)
	slices.SortStableFunc(events, func(a, b zendesk.LogEvent) int { return a.CreatedAt.Compare(b.CreatedAt) })
	var (
		lines  []transcriptLine
		agents []string
	)
	for _, e := range events {
		if e.Type != zendesk.LogConversationMessage && e.Type != zendesk.LogComment {
			continue // ticket events that are not something said
		}
		if e.Type == zendesk.LogComment && !e.Metadata.Public && !internal {
			continue
		}
		nick, name := speaker(e.Author, requester)
		if e.Author.Type == zendesk.AuthorAgent && name != "" && !slices.Contains(agents, name) {
			agents = append(agents, name)
		}
		at := e.CreatedAt.UTC().Format(time.RFC3339)
		text := strings.TrimSpace(e.Content.Text)
		if e.Content.Type == "html" {
			text = plainText(e.Content.Body)
		}
		if e.Type == zendesk.LogComment && !e.Metadata.Public && text != "" {
			text = "(internal note) " + text
		}
		if text != "" {
			lines = append(lines, transcriptLine{Type: "chat.msg", Nick: nick, Name: name, Msg: text, Timestamp: at})
		}
		for _, a := range e.Attachments {
			lines = append(lines, transcriptLine{Type: "chat.file", Nick: nick, Name: name, Filename: orUnnamed(a.FileName), Timestamp: at})
		}
		if text == "" && len(e.Attachments) == 0 && e.Content.Type != "" && e.Content.Type != "text" && e.Content.Type != "html" {
			// An image, a file, a carousel… sent without a name we can show.
			lines = append(lines, transcriptLine{Type: "chat.file", Nick: nick, Name: name, Filename: "(" + e.Content.Type + ")", Timestamp: at})
		}
	}
	obj := map[string]any{
		"id":                messagingChatID(t.ID),
		"type":              chats.TypeChat,
		"visitor":           map[string]string{"id": strconv.FormatInt(requester.ID, 10), "name": requester.Name, "email": email, "phone": phone},
		"agent_names":       agents,
		"history":           lines,
		"zendesk_ticket_id": t.ID,
		chats.ChannelField:  t.Via.Channel,
	}
	if len(events) > 0 {
		obj["timestamp"] = events[0].CreatedAt.UTC().Format(time.RFC3339)
		obj["end_timestamp"] = events[len(events)-1].CreatedAt.UTC().Format(time.RFC3339)
	} else if !t.CreatedAt.IsZero() {
		obj["timestamp"] = t.CreatedAt.UTC().Format(time.RFC3339)
	}
	return json.Marshal(obj)
}

// speaker is a line's nick and name: the end user is the visitor, an agent
// "agent:<id>", a bot BotNick with "(bot)" after its name.
func speaker(a zendesk.LogAuthor, requester zendesk.User) (nick, name string) {
	name = strings.TrimSpace(a.DisplayName)
	switch a.Type {
	case zendesk.AuthorUser:
		if name == "" {
			name = requester.Name
		}
		return "visitor", name
	case zendesk.AuthorAgent:
		return "agent:" + strconv.FormatInt(a.SupportUserID, 10), name
	default:
		if name == "" {
			name = "Bot"
		}
		return chats.BotNick, name + " (bot)"
	}
}

var (
	blockTags = regexp.MustCompile(`(?i)<\s*(br|/p|/div|/li)\s*/?>`)
	anyTag    = regexp.MustCompile(`<[^>]*>`)
	blankRuns = regexp.MustCompile(`[ \t]*\n[ \t\n]*`)
)

// plainText is a comment's HTML body as plain text: tags dropped (line breaks kept
// where blocks end), entities decoded.
func plainText(body string) string {
	s := blockTags.ReplaceAllString(body, "\n")
	s = anyTag.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	s = blankRuns.ReplaceAllString(s, "\n")
	return strings.TrimSpace(s)
}

func orUnnamed(name string) string {
	if strings.TrimSpace(name) == "" {
		return "(unnamed file)"
	}
	return name
}
