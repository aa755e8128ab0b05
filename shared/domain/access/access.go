// Package access decides, for an agent's request from the Sell app in Chat, whether
// the agent may see Sell data and with whose Sell token (access mode, troubleshooting):
// the element must be on; in "sell_users" mode the agent's own Sell sign-in is used,
// so Sell decides what they see; in "all_agents" mode the admin's token is.
package access

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/sync/errgroup"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/domain/owners"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/domain/widgets"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// NoSellAccessMessage is the troubleshooting message: it tells the agent who can fix it.
const NoSellAccessMessage = "You don't have access to Sell data from Chat. In sell_users mode every agent must sign in " +
	"with their own Sell user; otherwise ask your Zendesk admin to check the Access setting of the Sell integration " +
	"(Settings › Access: \"all agents\" lets every Chat agent see Sell data)."

// Errors of the agent routes, worded once.
var (
	ErrAppDisabled = &httpx.Error{Status: http.StatusForbidden, Code: "app_disabled",
		Message: "The Sell app in Chat is switched off for this account. Ask your Zendesk admin to enable it."}
	ErrNoSellAccess = &httpx.Error{Status: http.StatusForbidden, Code: "no_sell_access", Message: NoSellAccessMessage}
	ErrNotConnected = &httpx.Error{Status: http.StatusConflict, Code: "sell_not_connected",
		Message: "Sell is not connected for this account yet. Ask your Zendesk admin to connect it on the settings page."}
)

// Session is what an agent's request may use.
type Session struct {
	Identity    auth.Identity
	Settings    settings.Settings
	Integration settings.Integration
	// Widgets holds the displays of the widgets Open was asked for.
	Widgets map[widgets.Name]widgets.State
	Sell    *sell.Client
	Holder  tokens.Holder
	// AgentSellUser is the agent's own Sell user when they signed in with Sell.
	AgentSellUser *tokens.SellUser
	// Credential names the stored token Sell is called with (its holder and a hash
	// of its sealed bytes, which change whenever the token does): two sessions
	// with the same Credential see exactly the same Sell data.
	Credential string

	// gate is kept so the session's later steps (a refused token, the owner list)
	// reach the same store and vault without the caller handing them back.
	gate Gate
}

// Gate opens sessions: it holds the table and the token vault, built once per
// function and shared by its requests.
type Gate struct {
	Store *store.Store
	Vault *tokens.Vault
}

func credential(h tokens.Holder, rec tokens.Record) string {
	sum := sha256.Sum256(rec.Sealed)
	return fmt.Sprintf("%v/%x", h, sum[:12])
}

// Open resolves the session for the caller. Everything it needs (settings,
// integration, both tokens, and the displays of the widgets ws) is read in one batch:
// each read is a round trip to DynamoDB, and the panel's budget is a few milliseconds
// over Sell's own latency.
func (g Gate) Open(ctx context.Context, id auth.Identity, ws ...widgets.Name) (*Session, error) {
	s := &Session{Identity: id, gate: g}
	var agentRec, adminRec tokens.Record
	wAgent := &store.Wanted{Key: tokens.Key(id.Account, tokens.Agent(id.UserID)), Out: &agentRec}
	wAdmin := &store.Wanted{Key: tokens.Key(id.Account, tokens.Admin()), Out: &adminRec}
	cfg, err := g.Store.ReadConfig(ctx, id.Account, ws, wAgent, wAdmin)
	if err != nil {
		return nil, err
	}
	s.Settings, s.Integration, s.Widgets = cfg.Settings, cfg.Integration, cfg.Widgets
	// Elements switch on only once installed, but an account switched on before
	// that rule (or whose stored state says otherwise) must not reach Sell either.
	if !s.Integration.Installed || !s.Integration.Enabled(settings.SellAppInChat) {
		return nil, ErrAppDisabled
	}
	agentClient, agentRec, agentErr := g.Vault.FromRecord(ctx, id.Account, tokens.Agent(id.UserID), agentRec, wAgent.Found)
	if agentErr == nil {
		s.AgentSellUser = &tokens.SellUser{ID: agentRec.SellUserID, Name: agentRec.SellUserName, Email: agentRec.SellEmail}
	} else if !errors.Is(agentErr, tokens.ErrNoToken) && !errors.Is(agentErr, tokens.ErrBroken) {
		return nil, agentErr
	}
	switch s.Settings.Access {
	case settings.AccessAllAgents:
		c, _, err := g.Vault.FromRecord(ctx, id.Account, tokens.Admin(), adminRec, wAdmin.Found)
		if errors.Is(err, tokens.ErrNoToken) || errors.Is(err, tokens.ErrBroken) {
			return nil, ErrNotConnected
		}
		if err != nil {
			return nil, err
		}
		s.Sell, s.Holder, s.Credential = c, tokens.Admin(), credential(tokens.Admin(), adminRec)
	default: // sell_users, and anything unknown: the cautious mode
		if agentErr != nil {
			return nil, ErrNoSellAccess
		}
		s.Sell, s.Holder, s.Credential = agentClient, tokens.Agent(id.UserID), credential(tokens.Agent(id.UserID), agentRec)
	}
	return s, nil
}

// SellError maps a Sell failure in an agent's request to the contract. A token Sell
// refuses is marked broken, so the next request answers at once instead of trying
// again; the agent gets no_sell_access (their own token) or sell_not_connected (the
// admin's).
func (s *Session) SellError(ctx context.Context, err error) error {
	if tokens.IsRefused(err) {
		if mErr := s.gate.Vault.MarkBroken(ctx, s.Identity.Account, s.Holder, "refused by Sell"); mErr != nil {
			httpx.LoggerFrom(ctx).Warn("mark token broken", "err", mErr.Error())
		}
		if s.Holder == tokens.Admin() {
			return ErrNotConnected
		}
		return ErrNoSellAccess
	}
	var apiErr *sell.APIError
	if errors.As(err, &apiErr) && apiErr.Kind == sell.KindForbidden {
		return ErrNoSellAccess
	}
	return &httpx.Error{Status: http.StatusBadGateway, Code: "sell_unavailable", Message: "Sell could not be reached. Try again in a moment.", Err: err}
}

// OwnerOptions returns the owners the session's agent may pick (owner fallback). The panel
// offers them and lead creation checks the agent's choice against the same answer.
func (s *Session) OwnerOptions(ctx context.Context) (owners.Options, error) {
	var (
		users []sell.User
		pools []settings.Pool
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { users, err = s.Sell.Users(gctx); return })
	g.Go(func() (err error) { pools, err = s.gate.Store.Pools(gctx, s.Identity.Account); return })
	if err := g.Wait(); err != nil {
		return owners.Options{}, err
	}
	in := owners.Inputs{Settings: s.Settings, Pools: pools, SuperiorManager: s.Integration.SuperiorManager}
	for _, u := range users {
		in.Users = append(in.Users, owners.User{ID: u.ID, Name: u.Name, Active: u.IsActive()})
	}
	if a := s.AgentSellUser; a != nil {
		in.AgentSellUser = &owners.User{ID: a.ID, Name: a.Name, Active: true}
	}
	return owners.For(in), nil
}
