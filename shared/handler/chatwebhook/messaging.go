package chatwebhook

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// Zendesk messaging (web and mobile messaging, WhatsApp, Instagram, Messenger…) is
// answered as Support tickets. The trigger sellchat creates for it calls the same
// Support webhook as a chat ticket's, with a body that only names the ticket; the
// ticket (its channel and status), its requester and the requester's identities,
// and its conversation log are read here, server-side, with the account's Zendesk
// connection, and the conversation goes through the durable ingest as a chat
// (transcript.go), so the stream, Sell's pace, redaction, erasure and retention apply
// to it unchanged.

// receiveMessaging answers the notification if ticket is a messaging ticket (done),
// and leaves it to the chat path otherwise: a ticket the Zendesk connection cannot
// read, or one of another channel.
func (h *handler) receiveMessaging(w http.ResponseWriter, r *http.Request, account string, ticket int64, log *slog.Logger) (done bool, err error) {
	if h.deps.Vault == nil {
		return false, nil
	}
	zc, err := h.deps.Vault.ZendeskClient(r.Context(), account)
	if errors.Is(err, tokens.ErrNoToken) || errors.Is(err, tokens.ErrBroken) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	t, err := zc.Ticket(r.Context(), ticket)
	switch {
	case errors.Is(err, zendesk.ErrNotFound):
		return false, nil
	case err != nil:
		return true, ticketAPIError(w, err)
	case !zendesk.IsMessaging(t.Via.Channel, nil):
		return false, nil
	}
	log = log.With("channel", t.Via.Channel)
	answer := supportAnswer{TicketID: ticket, Status: "ignored"}
	if t.Status != "solved" && t.Status != "closed" {
		// A notification is a hint, never the truth: only a solved conversation is read.
		answer.Reason = "The ticket is " + t.Status + ", not solved: its conversation is read once it is solved."
		log.Info("support webhook ignored", "reason", "ticket not solved", "status", t.Status)
		httpx.WriteJSON(w, http.StatusAccepted, answer)
		return true, nil
	}
	requester, err := zc.User(r.Context(), t.RequesterID)
	if err != nil {
		return true, ticketAPIError(w, err)
	}
	ids, err := zc.Identities(r.Context(), t.RequesterID)
	if err != nil {
		return true, ticketAPIError(w, err)
	}
	events, err := zc.ConversationLog(r.Context(), t.ID)
	if err != nil {
		return true, ticketAPIError(w, err)
	}
	st, _, err := h.deps.Store.Settings(r.Context(), account)
	if err != nil {
		return true, err
	}
	raw, err := transcript(t, requester, ids, events, st.MessagingInternalNotes)
	if err != nil {
		return true, err
	}
	c, err := h.chats.Ingest(r.Context(), account, raw, h.now())
	switch {
	case errors.Is(err, chatstore.ErrErased):
		answer.Status = "accepted"
		answer.Chats = append(answer.Chats, accepted{ChatID: c.ID, Status: "accepted", Duplicate: true})
	case errors.Is(err, chatstore.ErrExists):
		// Delivered again, or the ticket was reopened and solved again: a
		// conversation that changed replaces the stored one and is processed again,
		// which updates its notes (one per record, as before).
		revised, err := h.revise(r, account, raw)
		if err != nil {
			return true, err
		}
		answer.Status = "accepted"
		answer.Chats = append(answer.Chats, accepted{ChatID: c.ID, Status: "accepted", Duplicate: !revised, Revised: revised})
		if revised {
			log.Info("chat revised", "chat_id", c.ID, "via", "support webhook", "messages", len(events))
		}
	case err != nil:
		return true, err
	default:
		log.Info("chat stored", "chat_id", c.ID, "via", "support webhook", "messages", len(events))
		answer.Status = "accepted"
		answer.Chats = append(answer.Chats, accepted{ChatID: c.ID, Status: "accepted"})
	}
	httpx.WriteJSON(w, http.StatusAccepted, answer)
	return true, nil
}

// ticketAPIError words a failed read of the ticket, its requester or its
// conversation log. The conversation log has a limit of its own (100 requests a
// minute per account): its 429 asks Zendesk to retry, as chatAPIError's does.
func ticketAPIError(w http.ResponseWriter, err error) error {
	return retryableError(w, err, &httpx.Error{Status: http.StatusBadGateway, Code: "zendesk_unavailable",
		Message: "The ticket's conversation could not be read from Zendesk; try again later.", Err: err})
}

// revise replaces the stored conversation by raw if it changed, and queues it for
// the drain, which processes it again (the stream only passes new chats).
func (h *handler) revise(r *http.Request, account string, raw []byte) (bool, error) {
	c, revised, err := h.chats.ReviseChat(r.Context(), account, raw, h.now())
	if errors.Is(err, store.ErrConflict) {
		// Another delivery revised it at this moment: that one queues it.
		return true, nil
	}
	if err != nil || !revised {
		return false, err
	}
	if _, err := h.deps.Store.Enqueue(r.Context(), account, []string{c.ID}, h.now()); err != nil {
		return true, err
	}
	return true, nil
}
