package zendesk

import (
	"context"
	"errors"
	"fmt"
	"net/url"
)

// ChatPath is where one chat is read: GET /api/v2/chat/chats/{chat_id}
// (https://developer.zendesk.com/api-reference/live-chat/chat-api/chats/), the chat
// object the export carries.
const ChatPath = "/api/v2/chat/chats/"

// ChatSearchPath is the Chat API's chat search (assumptions.go, ChatTicketSearchField).
const ChatSearchPath = "/api/v2/chat/chats/search"

// maxTicketChats bounds the chats read for one ticket: a ticket is one chat, a few if
// the visitor came back to it.
const maxTicketChats = 10

// Chat reads one chat; ErrNotFound when no chat has that id.
func (c *Client) Chat(ctx context.Context, id string) (ExportedChat, error) {
	body, err := c.get(ctx, c.endpoint(ChatPath+url.PathEscape(id), nil), "application/json")
	if err != nil {
		return ExportedChat{}, fmt.Errorf("read chat %s: %w", id, err)
	}
	ch, err := DecodeExportedChat(body)
	if err != nil {
		return ExportedChat{}, fmt.Errorf("read chat %s: %w", id, err)
	}
	return ch, nil
}

// TicketChatIDs returns the ids of the chats that became ticketID (Agent Workspace),
// at most maxTicketChats, from the chat search's first page.
func (c *Client) TicketChatIDs(ctx context.Context, ticketID int64) ([]string, error) {
	var env struct {
		Results []struct {
			ID string `json:"id"`
		} `json:"results"`
	}
	q := url.Values{"q": {ChatTicketQuery(ticketID)}}
	if err := c.getJSON(ctx, c.endpoint(ChatSearchPath, q), &env); err != nil {
		return nil, fmt.Errorf("search chats of ticket %d: %w", ticketID, err)
	}
	var ids []string
	for _, r := range env.Results {
		if r.ID != "" && len(ids) < maxTicketChats {
			ids = append(ids, r.ID)
		}
	}
	return ids, nil
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
