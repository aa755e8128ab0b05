package panel

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// Beside a Support ticket (a chat answered in Agent Workspace, or a messaging
// conversation: WhatsApp, web messaging…) the visitor is the ticket's requester. The
// page names the ticket (ticketId); the requester, their name, email and phone number,
// is then read here, server-side, with the account's Zendesk connection (the ticket,
// GET /api/v2/users/{id} and the user's identities), never taken from the browser.
// Without a Zendesk connection, or for a ticket the connection cannot find, the
// page's own details are used, as in Chat: the page may ask for any email or phone
// anyway, so a made-up ticket id gains nothing, while a real ticket's requester is
// Zendesk's own.

// ticketOf reads the ticketId parameter: absent is 0.
func ticketOf(q string) (int64, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(q, 10, 64)
	if err != nil || id <= 0 {
		return 0, httpx.Invalid("ticketId", "invalid_value", "ticketId must be a ticket's id, a positive whole number.")
	}
	return id, nil
}

// requester returns the visitor of ticket read through the account's Zendesk
// connection; ok is false when the account has none.
func (h *handler) requester(ctx context.Context, account string, ticket int64) (v Visitor, ok bool, err error) {
	if h.deps.Zendesk == nil {
		return Visitor{}, false, nil
	}
	zc, err := h.deps.Zendesk(ctx, account)
	if errors.Is(err, tokens.ErrNoToken) || errors.Is(err, tokens.ErrBroken) {
		return Visitor{}, false, nil
	}
	if err != nil {
		return Visitor{}, false, err
	}
	t, err := zc.Ticket(ctx, ticket)
	if errors.Is(err, zendesk.ErrNotFound) {
		return Visitor{}, false, nil
	}
	if err != nil {
		return Visitor{}, false, zendeskReadError(err)
	}
	u, err := zc.User(ctx, t.RequesterID)
	if err != nil {
		return Visitor{}, false, zendeskReadError(err)
	}
	ids, err := zc.Identities(ctx, t.RequesterID)
	if err != nil {
		return Visitor{}, false, zendeskReadError(err)
	}
	email, phone := u.Contact(ids)
	return Visitor{Email: email, Phone: phone, Name: strings.TrimSpace(u.Name)}, true, nil
}

// zendeskReadError words a failed read of the ticket or its requester.
func zendeskReadError(err error) error {
	var limited *zendesk.RateLimited
	switch {
	case errors.As(err, &limited):
		return &httpx.Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
			Message: "Zendesk asked us to slow down; try again shortly.", Err: err}
	default:
		return &httpx.Error{Status: http.StatusBadGateway, Code: "zendesk_unavailable",
			Message: "The ticket's requester could not be read from Zendesk; try again in a moment.", Err: err}
	}
}
