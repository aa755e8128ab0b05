package oauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// installRequest is POST /integration/install's optional body: what the installer
// states because no Zendesk API answers it (the install prerequisites rule).
type installRequest struct {
	// ChatPhase is the Chat account's phase, 3 or 4: Zendesk's APIs do not expose it
	// (zendesk.ChatPhaseExposed).
	ChatPhase int `json:"chatPhase"`
}

func readInstallRequest(r *http.Request) (installRequest, error) {
	var req installRequest
	raw, err := io.ReadAll(io.LimitReader(r.Body, 4<<10+1))
	if err != nil || len(raw) > 4<<10 {
		return req, &httpx.Error{Status: http.StatusBadRequest, Code: "unreadable_body", Message: "The request body could not be read."}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return req, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || !httpx.AtEnd(dec) {
		return req, httpx.ErrMalformed
	}
	if req.ChatPhase != 0 && req.ChatPhase != 3 && req.ChatPhase != 4 {
		return req, httpx.Invalid("chatPhase", "invalid_value", "chatPhase is 3 or 4: the phase of your Zendesk Chat account (Chat › Settings › Account).")
	}
	return req, nil
}

// chatFacts are the Chat facts the install checks look at for an installer whose
// session came from Zendesk, which carries none: the Support role from the users API
// (the account's Zendesk connection), the plan from the Chat account and the
// installer's Chat role from the Chat agents' roles (the account's Chat connection;
// a Chat agent's id is their Support user id, zendesk.ChatAgentIDIsUserID), and the
// phase as the installer stated it. A missing connection is a failed check of its
// own, saying what to connect.
func (h *handler) chatFacts(ctx context.Context, id auth.Identity, statedPhase int) (auth.ChatFacts, []Check, error) {
	facts := auth.ChatFacts{Phase: statedPhase}
	var failed []Check
	zd, err := h.deps.Vault.ZendeskClient(ctx, id.Account)
	switch {
	case errors.Is(err, tokens.ErrNoToken) || errors.Is(err, tokens.ErrBroken):
		failed = append(failed, Check{Code: "zendesk_not_connected", Message: "Sign in with Zendesk on the settings page, so the install checks can read your Zendesk role."})
	case err != nil:
		return facts, nil, err
	default:
		n, _ := strconv.ParseInt(id.UserID, 10, 64)
		u, err := zd.User(ctx, n)
		if err != nil {
			return facts, nil, zendeskUnavailable(err)
		}
		facts.SupportRole = u.Role
	}
	chat, err := h.deps.Vault.ChatClient(ctx, id.Account)
	switch {
	case errors.Is(err, tokens.ErrNoToken) || errors.Is(err, tokens.ErrBroken):
		failed = append(failed, Check{Code: "chat_not_connected", Message: "Connect Chat on the settings page, so the install checks can read the Chat plan and your Chat role."})
		return facts, failed, nil
	case err != nil:
		return facts, nil, err
	}
	acct, err := chat.ChatAccount(ctx)
	if err != nil {
		return facts, nil, zendeskUnavailable(err)
	}
	facts.Plan = acct.Plan.Name
	agents, err := chat.ChatAgents(ctx)
	if err != nil {
		return facts, nil, zendeskUnavailable(err)
	}
	facts.Role = "agent"
	for _, a := range agents {
		if strconv.FormatInt(a.ID, 10) != id.UserID {
			continue
		}
		switch {
		case a.Roles.Owner:
			facts.Role = "owner"
		case a.Roles.Administrator:
			facts.Role = "admin"
		}
	}
	return facts, failed, nil
}

func zendeskUnavailable(err error) error {
	return &httpx.Error{Status: http.StatusBadGateway, Code: "zendesk_unavailable", Message: "Zendesk did not answer the install checks' questions. Try again in a moment.", Err: err}
}
