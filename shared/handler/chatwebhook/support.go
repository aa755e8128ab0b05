package chatwebhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// POST /webhooks/zendesk/{account}: Zendesk's Support webhook, created by
// POST /integration/zendesk/notifications, called by its trigger when a chat ticket is
// solved (Agent Workspace). The body only names the ticket ({"ticket_id":"83"},
// zendesk.NotificationBody); nothing else in it is read or trusted. The ticket's chats
// are then read from the Chat API with the account's Chat connection, and each ended
// one goes through the same durable ingest as every other chat, so a chat the export
// brings as well is stored once.

// supportAnswer is the route's 202.
type supportAnswer struct {
	TicketID int64 `json:"ticketId"`
	// Status is "accepted" when the ticket's ended chats are stored (or were already),
	// "pending" when none could be taken now (the export poll brings them later),
	// "queued" when a messaging conversation could not be read now (the chat poll reads
	// it later, messaging.go), and
	// "ignored" when the account does not keep chat history.
	Status string     `json:"status"`
	Reason string     `json:"reason,omitempty"`
	Chats  []accepted `json:"chats,omitempty"`
}

var errNoTicket = httpx.Invalid("ticket_id", "invalid_value", `The body must be {"ticket_id": "<the solved ticket's id>"}.`)

func (h *handler) receiveSupport(w http.ResponseWriter, r *http.Request) error {
	r, account, body, err := h.verified(r, zendeskSender)
	if err != nil {
		return err
	}
	ticket, err := ticketOf(body)
	if err != nil {
		return err
	}
	log := httpx.LoggerFrom(r.Context()).With("ticket_id", ticket)
	in, err := h.deps.Store.Integration(r.Context(), account)
	if err != nil {
		return err
	}
	answer := supportAnswer{TicketID: ticket, Status: "pending"}
	if in.Installed && in.Enabled(settings.ChatHistoryInSell) && in.Zendesk.Connected {
		// A messaging ticket's conversation is read with the Zendesk connection
		// (messaging.go); any other ticket is a chat's, read from the Chat API.
		if done, err := h.receiveMessaging(w, r, account, ticket, log); done || err != nil {
			return err
		}
	}
	if !in.PollsChat() {
		answer.Status, answer.Reason = "ignored", "Chat history in Sell is off, or Chat is not connected: the export poll brings the chat once it is on."
		log.Info("support webhook ignored", "reason", "history off")
		httpx.WriteJSON(w, http.StatusAccepted, answer)
		return nil
	}
	if h.deps.Vault == nil {
		return httpx.ErrUnavailable
	}
	client, err := h.deps.Vault.ChatClient(r.Context(), account)
	if errors.Is(err, tokens.ErrNoToken) || errors.Is(err, tokens.ErrBroken) {
		answer.Reason = "Chat is not connected: connect Chat on the settings page."
		httpx.WriteJSON(w, http.StatusAccepted, answer)
		return nil
	}
	if err != nil {
		return err
	}
	ids, err := client.TicketChatIDs(r.Context(), ticket)
	if err != nil {
		return chatAPIError(w, err)
	}
	for _, id := range ids {
		ch, err := client.Chat(r.Context(), id)
		if errors.Is(err, zendesk.ErrNotFound) {
			continue
		}
		if err != nil {
			return chatAPIError(w, err)
		}
		if !ch.Ended() {
			continue // still going on: the export brings it once it ends
		}
		c, err := h.chats.Ingest(r.Context(), account, ch.Raw, h.now())
		switch {
		case errors.Is(err, chatstore.ErrExists):
			answer.Chats = append(answer.Chats, accepted{ChatID: c.ID, Status: "accepted", Duplicate: true})
		case err != nil:
			// A chat Zendesk itself sent that we cannot store: logged, left to the export.
			log.Warn("support webhook: chat not stored", "chat_id", id, "err", err.Error())
		default:
			log.Info("chat stored", "chat_id", c.ID, "via", "support webhook")
			answer.Chats = append(answer.Chats, accepted{ChatID: c.ID, Status: "accepted"})
		}
	}
	if len(answer.Chats) > 0 {
		answer.Status = "accepted"
	} else {
		answer.Reason = "No ended chat of this ticket could be read yet: the export poll brings it."
	}
	httpx.WriteJSON(w, http.StatusAccepted, answer)
	return nil
}

// ticketOf reads the ticket id of a notification: a positive whole number, written
// as a string (the trigger's placeholder renders inside quotes) or a number.
func ticketOf(body []byte) (int64, error) {
	var b struct {
		TicketID json.RawMessage `json:"ticket_id"`
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return 0, errNoTicket
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return 0, httpx.ErrMalformed
	}
	raw := string(bytes.Trim(b.TicketID, `"`))
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, errNoTicket
	}
	return id, nil
}

// chatAPIError words a failed Chat API read.
func chatAPIError(w http.ResponseWriter, err error) error {
	return retryableError(w, err, &httpx.Error{Status: http.StatusBadGateway, Code: "chat_unavailable",
		Message: "The Chat API could not be read; the export poll brings the chat later.", Err: err})
}

// retryableError is otherwise for a failed Zendesk read, except for a 429: Zendesk
// retries a webhook that answers 503 with a short Retry-After, so that is what a 429
// becomes.
func retryableError(w http.ResponseWriter, err error, otherwise *httpx.Error) error {
	var limited *zendesk.RateLimited
	if errors.As(err, &limited) {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(limited.RetryAfter.Seconds()))))
		return &httpx.Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Message: "Zendesk asked us to slow down; try again shortly.", Err: err}
	}
	return otherwise
}
