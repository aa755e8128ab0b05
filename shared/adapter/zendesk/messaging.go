package zendesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
)

// Reading a messaging conversation (tickets.go has the types): the ticket, its
// requester's identities and its conversation log, each with a Support token. The
// notification that a conversation ended is the same trigger-and-webhook pair as for
// chat tickets (notify.go), with the messaging channels' via ids as conditions.

// DefaultMessagingChannels are the via channels (ticket.via.channel) whose solved
// tickets sellchat reads as conversations: web and mobile messaging, the social
// messaging channels and conversations opened through the Sunshine Conversations API.
// assumptions.go has their via ids and the doubt about them.
var DefaultMessagingChannels = []string{
	"native_messaging", "whatsapp", "instagram_dm", "sunshine_conversations_facebook_messenger",
	"line", "wechat", "telegram", "viber", "twilio_sms", "messagebird_sms", "apple_business_chat",
	"google_business_messages", "google_rcs", "kakaotalk", "sunshine_conversations_api",
	"sunshine_conversations_twitter_dm",
}

// ViaID returns the numeric via_id of a messaging channel, as a trigger condition
// writes it ("74" for whatsapp); false for a channel assumptions.go does not know.
func ViaID(channel string) (string, bool) {
	id, ok := messagingViaIDs[channel]
	return id, ok
}

// IsMessaging reports whether channel (a ticket's via.channel) is one of allowed, or of
// DefaultMessagingChannels when allowed is empty.
func IsMessaging(channel string, allowed []string) bool {
	if len(allowed) == 0 {
		allowed = DefaultMessagingChannels
	}
	return channel != "" && slices.Contains(allowed, channel)
}

// MessagingNotificationTrigger is the trigger that calls webhookID when a messaging
// ticket of one of channels (DefaultMessagingChannels when empty) is solved: status
// changed to solved, and any of the channels' via ids. Channels without a known via id
// are left out. It sends NotificationBody, the ticket id alone, like
// NotificationTrigger: the conversation is read with ConversationLog.
func MessagingNotificationTrigger(webhookID string, channels []string) Trigger {
	if len(channels) == 0 {
		channels = DefaultMessagingChannels
	}
	anyOf := []Condition{}
	for _, ch := range channels {
		if id, ok := ViaID(ch); ok && !slices.ContainsFunc(anyOf, func(c Condition) bool { return c.Value == id }) {
			anyOf = append(anyOf, Condition{Field: "via_id", Operator: "is", Value: id})
		}
	}
	return Trigger{
		Title:       "sellchat: messaging conversation solved",
		Description: "Created by sellchat. Deleting it stops messaging conversations from reaching Zendesk Sell.",
		Active:      true,
		Conditions: Conditions{All: []Condition{
			{Field: "status", Operator: TriggerChangedToOperator, Value: "solved"},
		}, Any: anyOf},
		Actions: []Action{{Field: TriggerWebhookAction, Value: []string{webhookID, NotificationBody}}},
	}
}

// Ticket reads ticket id (GET /api/v2/tickets/{id},
// https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#show-ticket,
// answering {"ticket": {...}}); ErrNotFound when there is none. Zendesk allows it to
// agents.
func (c *Client) Ticket(ctx context.Context, id int64) (Ticket, error) {
	var env struct {
		Ticket Ticket `json:"ticket"`
	}
	if err := c.getJSON(ctx, c.endpoint(ticketPath(id), nil), &env); err != nil {
		return Ticket{}, fmt.Errorf("read ticket %d: %w", id, err)
	}
	return env.Ticket, nil
}

// maxIdentityPages bounds Identities: a thousand identities is beyond any user.
const maxIdentityPages = 10

// Identities lists every identity of user userID (GET /api/v2/users/{id}/identities,
// https://developer.zendesk.com/api-reference/ticketing/users/user_identities/), in
// cursor pages of 100. The endpoint refuses tokens scoped only users:read
// (assumptions.go).
func (c *Client) Identities(ctx context.Context, userID int64) ([]Identity, error) {
	path := "/api/v2/users/" + strconv.FormatInt(userID, 10) + "/identities"
	all, err := cursorList[Identity](ctx, c, path, url.Values{}, "identities", maxIdentityPages)
	if err != nil {
		return nil, fmt.Errorf("list identities of user %d: %w", userID, err)
	}
	return all, nil
}

// maxLogPages bounds ConversationLog: 300 pages of 100 are 30,000 events, the most
// messages a Sunshine Conversations conversation can hold (its API answers 423 beyond
// that). A log that still has more is an error rather than a transcript cut short.
const maxLogPages = 300

// ConversationLog returns every event of ticket ticketID's conversation log, oldest
// first (GET /api/v2/tickets/{id}/conversation_log?page[size]=100&sort=created_at,
// https://developer.zendesk.com/api-reference/ticketing/tickets/conversation_log/): the
// transcript of a messaging ticket, whose comments and ticket events stay nearly empty.
// The endpoint has its own limit, 100 requests a minute per account
// (assumptions.go): a 429 comes back as *RateLimited with Zendesk's Retry-After, and
// nothing read before it is returned, for the caller to queue the ticket and read it
// again later. ErrNotFound when the ticket does not exist.
func (c *Client) ConversationLog(ctx context.Context, ticketID int64) ([]LogEvent, error) {
	q := url.Values{"sort": {ConversationLogDefaultSort}}
	all, err := cursorList[LogEvent](ctx, c, ticketPath(ticketID)+"/conversation_log", q, "events", maxLogPages)
	if err != nil {
		return nil, fmt.Errorf("read the conversation log of ticket %d: %w", ticketID, err)
	}
	return all, nil
}

// TicketAndRequester reads ticket id with its users side-loaded
// (GET /api/v2/tickets/{id}?include=users,
// https://developer.zendesk.com/documentation/ticketing/using-the-zendesk-api/side_loading/:
// the related users under a top-level "users"), so the requester costs no request
// of its own. found is false when the answer does not hold the requester: the
// caller reads it with User. ErrNotFound when there is no such ticket.
func (c *Client) TicketAndRequester(ctx context.Context, id int64) (t Ticket, requester User, found bool, err error) {
	var env struct {
		Ticket Ticket `json:"ticket"`
		Users  []User `json:"users"`
	}
	if err := c.getJSON(ctx, c.endpoint(ticketPath(id), url.Values{"include": {"users"}}), &env); err != nil {
		return Ticket{}, User{}, false, fmt.Errorf("read ticket %d: %w", id, err)
	}
	for _, u := range env.Users {
		if u.ID != 0 && u.ID == env.Ticket.RequesterID {
			return env.Ticket, u, true, nil
		}
	}
	return env.Ticket, User{}, false, nil
}

func ticketPath(id int64) string { return "/api/v2/tickets/" + strconv.FormatInt(id, 10) }

// cursorPageSize is what Identities and ConversationLog ask for: the most a page of
// Zendesk's cursor pagination holds.
const cursorPageSize = ConversationLogMaxPageSize

// cursorPage is one page of Zendesk's cursor pagination
// (https://developer.zendesk.com/api-reference/introduction/pagination/#using-cursor-pagination):
// the list under its resource's key, links {next, prev} and meta {has_more,
// after_cursor, before_cursor}.
type cursorPage struct {
	raw  map[string]json.RawMessage
	meta struct {
		HasMore     bool   `json:"has_more"`
		AfterCursor string `json:"after_cursor"`
	}
	links struct {
		Next string `json:"next"`
	}
}

// items decodes the page's list under key into out; a page without it is an error.
func (p *cursorPage) items(key string, out any) error {
	raw, ok := p.raw[key]
	if !ok {
		return fmt.Errorf("zendesk: the page has no %q", key)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("zendesk: decode %s: %w", key, err)
	}
	return nil
}

// next is the cursor of the following page: meta.after_cursor, or else the page[after]
// of links.next. Only the cursor is taken from the link: the request is built on the
// client's own host, as it carries the token.
func (p *cursorPage) next() string {
	if p.meta.AfterCursor != "" {
		return p.meta.AfterCursor
	}
	if u, err := url.Parse(p.links.Next); err == nil {
		return u.Query().Get("page[after]")
	}
	return ""
}

// cursorList reads every item under key of path's cursor pages (eachCursorPage),
// at most maxPages of them: the identities of a user, the events of a log.
func cursorList[T any](ctx context.Context, c *Client, path string, q url.Values, key string, maxPages int) ([]T, error) {
	var all []T
	err := c.eachCursorPage(ctx, path, q, maxPages, func(p *cursorPage) error {
		var page []T
		if err := p.items(key, &page); err != nil {
			return err
		}
		all = append(all, page...)
		return nil
	})
	return all, err
}

// eachCursorPage reads path with query q in cursor pages of cursorPageSize, at most
// maxPages of them, handing each to fn, while meta.has_more says there are more.
func (c *Client) eachCursorPage(ctx context.Context, path string, q url.Values, maxPages int, fn func(*cursorPage) error) error {
	q.Set("page[size]", strconv.Itoa(cursorPageSize))
	seen := map[string]bool{}
	for range maxPages {
		p := &cursorPage{}
		if err := c.getJSON(ctx, c.endpoint(path, q), &p.raw); err != nil {
			return err
		}
		for key, into := range map[string]any{"meta": &p.meta, "links": &p.links} {
			if raw, ok := p.raw[key]; ok {
				if err := json.Unmarshal(raw, into); err != nil {
					return fmt.Errorf("zendesk: decode %s of GET %s: %w", key, path, err)
				}
			}
		}
		if err := fn(p); err != nil {
			return err
		}
		if !p.meta.HasMore {
			return nil
		}
		// A server that says "more" without a new cursor must not keep us looping.
		next := p.next()
		if next == "" || seen[next] {
			return errors.New("zendesk: has_more without a new cursor")
		}
		seen[next] = true
		q.Set("page[after]", next)
	}
	return fmt.Errorf("zendesk: more than %d pages of %d", maxPages, cursorPageSize)
}
