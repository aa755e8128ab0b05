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

// Where a failed check's fact came from, for a session from Zendesk: the page says
// which verdicts rest on the installer's word, which a wrong answer would flip.
const (
	SourceStated     = "stated"      // the installer stated it: no Zendesk API exposes it
	SourceZendeskAPI = "zendesk_api" // read from Zendesk's APIs
)

// Stated are the facts the install checks took on the installer's word.
type Stated struct {
	ChatPhase int `json:"chatPhase,omitempty"`
}

// statedOf is what the installer stated and the checks used; nil for a session that
// carries its Chat facts (nothing was stated) or when nothing was.
func statedOf(f Facts) *Stated {
	if !f.FromAPI || !f.PhaseStated {
		return nil
	}
	return &Stated{ChatPhase: f.Chat.Phase}
}

// sourcedCheck is a failed check as POST /integration/install lists it.
type sourcedCheck struct {
	Check
	Source string  `json:"source,omitempty"`
	Stated *Stated `json:"stated,omitempty"`
}

// sourced marks each failed check of a session from Zendesk with where its fact came
// from. The role checks only apply on the phase the installer stated, so they rest on
// it (their roles are read, but a wrong phase asks for the wrong role); the plan is
// read, unless Chat is not connected and there was nothing to read. Sell's checks and
// the connections' are about no Chat fact and stay unmarked.
func sourced(checks []Check, f Facts) []sourcedCheck {
	out := make([]sourcedCheck, len(checks))
	for i, c := range checks {
		out[i] = sourcedCheck{Check: c}
		if !f.FromAPI {
			continue
		}
		switch c.Code {
		case "missing_chat_admin", "missing_support_admin", "not_account_owner":
			out[i].Source, out[i].Stated = SourceStated, statedOf(f)
		case "chat_plan_too_low":
			if f.Chat.Plan != "" {
				out[i].Source = SourceZendeskAPI
			}
		}
	}
	return out
}
