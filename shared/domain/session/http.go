package session

import (
	"context"
	"errors"
	"net/http"

	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// Answer maps an Exchange error to the HTTP contract: 401 invalid_token for any token
// that does not verify, 403 for a user who is not staff, 409 when the account's
// Zendesk is not connected, 503 when Zendesk is rate limiting or down.
func Answer(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrInvalidToken):
		return &httpx.Error{Status: http.StatusUnauthorized, Code: "invalid_token",
			Message: "The Zendesk token is missing, expired, or not from an installation of sellchat's apps that this account connected.", Err: err}
	case errors.Is(err, ErrNotStaff):
		return &httpx.Error{Status: http.StatusForbidden, Code: "forbidden", Message: "Only Zendesk agents and admins can use sellchat.", Err: err}
	case errors.Is(err, ErrNotConnected):
		return &httpx.Error{Status: http.StatusConflict, Code: "zendesk_not_connected",
			Message: "An admin must connect Zendesk on sellchat's settings page (Sign in with Zendesk) before agents can use the apps.", Err: err}
	case errors.Is(err, ErrUnavailable):
		return &httpx.Error{Status: http.StatusServiceUnavailable, Code: "zendesk_unavailable",
			Message: "Zendesk did not answer who you are. Try again in a moment.", Err: err}
	}
	return err
}

// ForPage is Exchange as a page's signed entry needs it (webpage.SignedEntry): the
// session token, or the contract's error.
func (x *Exchanger) ForPage(ctx context.Context, zendeskToken string) (string, error) {
	s, err := x.Exchange(ctx, zendeskToken)
	if err != nil {
		return "", Answer(err)
	}
	return s.Token, nil
}
