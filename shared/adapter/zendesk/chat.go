package zendesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The Chat API's paths on an integrated account's host
// (https://developer.zendesk.com/api-reference/live-chat/introduction). They need a
// Chat token.
const (
	chatAccountPath = "/api/v2/chat/account"
	chatAgentsPath  = "/api/v2/chat/agents"
)

// ChatAccount is the Chat account (GET /api/v2/chat/account,
// https://developer.zendesk.com/api-reference/live-chat/chat-api/accounts/). It says
// nothing of the Chat phase (see ChatPhaseExposed).
type ChatAccount struct {
	AccountKey string   `json:"account_key"`
	Status     string   `json:"status"`
	CreateDate string   `json:"create_date,omitempty"`
	Plan       ChatPlan `json:"plan"`
}

// ChatPlan is the account's package. Only its name matters to sellchat; the rest
// (limits and features, Singer's account schema lists them) is kept raw.
type ChatPlan struct {
	Name string `json:"name"`
	Raw  json.RawMessage
}

// UnmarshalJSON keeps the whole plan object besides its name.
func (p *ChatPlan) UnmarshalJSON(b []byte) error {
	var v struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("chat plan: %w", err)
	}
	p.Name, p.Raw = v.Name, append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON writes the plan back as it came, or just its name.
func (p ChatPlan) MarshalJSON() ([]byte, error) {
	if len(p.Raw) > 0 {
		return p.Raw, nil
	}
	return json.Marshal(struct {
		Name string `json:"name"`
	}{p.Name})
}

// Rank is the plan's place in ChatPlans (0 for lite), or -1 for a name we do not know.
func (p ChatPlan) Rank() int {
	return slices.Index(ChatPlans, strings.ToLower(strings.TrimSpace(p.Name)))
}

// AtLeast reports whether the plan is name or above; an unknown plan is not.
func (p ChatPlan) AtLeast(name string) bool {
	want := slices.Index(ChatPlans, strings.ToLower(name))
	return want >= 0 && p.Rank() >= want
}

// ChatAccount reads the Chat account. Zendesk allows it to Chat admins.
func (c *Client) ChatAccount(ctx context.Context) (ChatAccount, error) {
	var a ChatAccount
	if err := c.getJSON(ctx, c.endpoint(chatAccountPath, nil), &a); err != nil {
		return ChatAccount{}, fmt.Errorf("read the chat account: %w", err)
	}
	return a, nil
}

// ChatAgent is a Chat agent (https://developer.zendesk.com/api-reference/live-chat/chat-api/agents/).
// Roles is documented as deprecated but is the one place the API names the account
// owner.
type ChatAgent struct {
	ID          int64          `json:"id"`
	Email       string         `json:"email"`
	DisplayName string         `json:"display_name"`
	FirstName   string         `json:"first_name,omitempty"`
	LastName    string         `json:"last_name,omitempty"`
	Enabled     int            `json:"enabled"`
	RoleID      int64          `json:"role_id,omitempty"`
	Roles       ChatAgentRoles `json:"roles"`
	CreateDate  string         `json:"create_date,omitempty"`
}

// ChatAgentRoles are the agent's special privileges.
type ChatAgentRoles struct {
	Owner         bool `json:"owner"`
	Administrator bool `json:"administrator"`
}

// ErrNoOwner is AccountOwner finding no agent marked as the owner.
var ErrNoOwner = fmt.Errorf("zendesk: no chat agent is the account owner: %w", ErrNotFound)

// ChatAgentMe returns the Chat agent the token belongs to (GET /api/v2/chat/agents/me).
func (c *Client) ChatAgentMe(ctx context.Context) (ChatAgent, error) {
	var a ChatAgent
	if err := c.getJSON(ctx, c.endpoint(chatAgentsPath+"/me", nil), &a); err != nil {
		return ChatAgent{}, fmt.Errorf("read the token's chat agent: %w", err)
	}
	return a, nil
}

// maxAgentPages bounds ChatAgents: ten thousand agents is beyond any account sellchat
// serves, and a server that kept answering full pages must not keep us looping.
const maxAgentPages = 100

// ChatAgents lists every Chat agent, by id. The list is cursor-paged: since_id is the
// first id of a page and a short page is the last.
func (c *Client) ChatAgents(ctx context.Context) ([]ChatAgent, error) {
	var all []ChatAgent
	since := int64(0)
	for range maxAgentPages {
		q := url.Values{"since_id": {strconv.FormatInt(since, 10)}, "limit": {strconv.Itoa(ChatAgentsPageLimit)}}
		var page []ChatAgent
		if err := c.getJSON(ctx, c.endpoint(chatAgentsPath, q), &page); err != nil {
			return nil, fmt.Errorf("list chat agents from id %d: %w", since, err)
		}
		all = append(all, page...)
		if len(page) < ChatAgentsPageLimit || page[len(page)-1].ID < since {
			return all, nil
		}
		since = page[len(page)-1].ID + 1
	}
	return nil, errors.New("zendesk: list chat agents: more pages than an account can have")
}

// AccountOwner returns the Chat agent marked as the account owner, the one person the
// phase-4 install rule lets install. Support does not say who owns the account (see
// assumptions.go); match the agent to a Support user by id or email.
func (c *Client) AccountOwner(ctx context.Context) (ChatAgent, error) {
	agents, err := c.ChatAgents(ctx)
	if err != nil {
		return ChatAgent{}, err
	}
	for _, a := range agents {
		if a.Roles.Owner {
			return a, nil
		}
	}
	return ChatAgent{}, ErrNoOwner
}
