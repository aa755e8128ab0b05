package chatwebhook

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/domain/conversation"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// Zendesk messaging (web and mobile messaging, WhatsApp, Instagram, Messenger…) is
// answered as Support tickets. The trigger sellchat creates for it calls the same
// Support webhook as a chat ticket's, with a body that only names the ticket; the
// ticket (its channel and status), its requester and the requester's identities,
// and its conversation log are read here, server-side, with the account's Zendesk
// connection, and the conversation goes through the durable ingest as a chat
// (conversation.Read), so the stream, Sell's pace, redaction, erasure and retention apply
// to it unchanged (shared/domain/conversation). A conversation that cannot be read
// now waits in the table for the chat poll (wait below).

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
	// While earlier conversations wait for Zendesk, a new one waits behind them: read
	// now, it would spend the account's minute out of turn (and most likely be
	// refused), and the poll reads waiting tickets oldest first.
	if waiting, err := h.deps.Store.HasTicketWaits(r.Context(), account); err != nil {
		return true, err
	} else if waiting {
		return true, h.wait(w, r, account, ticket, errBehindWaits, log)
	}
	t, err := conversation.Open(r.Context(), zc, ticket)
	var notSolved *conversation.NotSolvedError
	switch {
	case errors.Is(err, conversation.ErrNotMessaging):
		return false, nil
	case errors.As(err, &notSolved):
		log.Info("support webhook ignored", "reason", "ticket not solved", "status", notSolved.Status)
		httpx.WriteJSON(w, http.StatusAccepted, supportAnswer{TicketID: ticket, Status: "ignored",
			Reason: "The ticket is " + notSolved.Status + ", not solved: its conversation is read once it is solved."})
		return true, nil
	case err != nil:
		// The ticket could not be read (Zendesk's limit for the account, an outage):
		// it waits like a conversation the log refused. If it turns out not to be a
		// messaging ticket the poll drops it; a chat ticket's chat comes with the
		// Chat export anyway.
		return true, h.wait(w, r, account, ticket, err, log)
	}
	log = log.With("channel", t.Ticket.Via.Channel)
	st, _, err := h.deps.Store.Settings(r.Context(), account)
	if err != nil {
		return true, err
	}
	raw, events, err := conversation.Read(r.Context(), zc, t, st.MessagingInternalNotes)
	if err != nil {
		return true, h.wait(w, r, account, ticket, err, log)
	}
	id, outcome, err := h.keeper.Keep(r.Context(), account, raw, h.now())
	if err != nil {
		return true, err
	}
	if outcome == conversation.Stored || outcome == conversation.Revised {
		log.Info("chat "+string(outcome), "chat_id", id, "via", "support webhook", "messages", events)
	}
	httpx.WriteJSON(w, http.StatusAccepted, supportAnswer{TicketID: ticket, Status: "accepted", Chats: []accepted{{
		ChatID: id, Status: "accepted",
		Duplicate: outcome == conversation.Duplicate || outcome == conversation.Erased, Revised: outcome == conversation.Revised,
	}}})
	return true, nil
}

// errBehindWaits is why a conversation waits when others of its account wait already.
var errBehindWaits = errors.New("earlier conversations of the account wait for Zendesk")

// wait keeps a solved messaging ticket whose conversation could not be read now
// (the conversation log's limit of about 100 requests a minute, Zendesk unavailable)
// waiting for the chat poll, which reads it once Zendesk allows, and answers 202
// "queued". Zendesk retries a webhook only a few times, and only after a short
// Retry-After (assumptions.go), so its retries are no queue to rely on; only when
// the wait itself cannot be kept is Zendesk asked to retry.
func (h *handler) wait(w http.ResponseWriter, r *http.Request, account string, ticket int64, readErr error, log *slog.Logger) error {
	now := h.now()
	var hold time.Time
	var limited *zendesk.RateLimited
	if errors.As(readErr, &limited) {
		hold = now.Add(max(limited.RetryAfter, time.Second))
	}
	if err := h.deps.Store.WaitForTicket(r.Context(), account, ticket, readErr.Error(), hold, now); err != nil {
		log.Error("conversation not queued", "err", err)
		return ticketAPIError(w, readErr)
	}
	log.Warn("conversation queued", "reason", readErr.Error())
	httpx.WriteJSON(w, http.StatusAccepted, supportAnswer{TicketID: ticket, Status: "queued",
		Reason: "Zendesk could not give the conversation now; sellchat reads it again within a few minutes."})
	return nil
}

// ticketAPIError words a failed read of the ticket when it cannot even wait. A 429
// asks Zendesk to retry, as chatAPIError's does.
func ticketAPIError(w http.ResponseWriter, err error) error {
	return retryableError(w, err, &httpx.Error{Status: http.StatusBadGateway, Code: "zendesk_unavailable",
		Message: "The ticket's conversation could not be read from Zendesk; try again later.", Err: err})
}
