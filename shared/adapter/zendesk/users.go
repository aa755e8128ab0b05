package zendesk

import (
	"context"
	"fmt"
	"strconv"
)

// Support user roles (https://developer.zendesk.com/api-reference/ticketing/users/users/).
const (
	RoleEndUser = "end-user"
	RoleAgent   = "agent"
	RoleAdmin   = "admin"
)

// User is a Support user, the fields sellchat reads of
// https://developer.zendesk.com/api-reference/ticketing/users/users/. Whether a user
// owns the account is not among them: see AccountOwner.
type User struct {
	ID    int64  `json:"id"`
	URL   string `json:"url,omitempty"`
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
	// Role is end-user, agent or admin. An agent in a custom role is "agent" with a
	// CustomRoleID.
	Role         string `json:"role"`
	RoleType     *int   `json:"role_type,omitempty"`
	CustomRoleID *int64 `json:"custom_role_id,omitempty"`
	Active       bool   `json:"active"`
	Suspended    bool   `json:"suspended"`
	ChatOnly     bool   `json:"chat_only"`
	CreatedAt    string `json:"created_at,omitempty"`
	UpdatedAt    string `json:"updated_at,omitempty"`
}

// IsAdmin reports whether u administers Support.
func (u User) IsAdmin() bool { return u.Role == RoleAdmin }

// IsStaff reports whether u is an agent or an admin, i.e. can use an agent's app.
func (u User) IsStaff() bool { return u.Role == RoleAgent || u.Role == RoleAdmin }

// userEnvelope is {"user": {…}}, the body of both user endpoints.
type userEnvelope struct {
	User User `json:"user"`
}

// User returns the user of that id (GET /api/v2/users/{id}.json). It is how a signed
// app token's sub becomes a role and an email: the token carries neither.
func (c *Client) User(ctx context.Context, id int64) (User, error) {
	var env userEnvelope
	if err := c.getJSON(ctx, c.endpoint("/api/v2/users/"+strconv.FormatInt(id, 10)+".json", nil), &env); err != nil {
		return User{}, fmt.Errorf("read user %d: %w", id, err)
	}
	return env.User, nil
}

// Me returns the user the token belongs to (GET /api/v2/users/me.json).
func (c *Client) Me(ctx context.Context) (User, error) {
	var env userEnvelope
	if err := c.getJSON(ctx, c.endpoint("/api/v2/users/me.json", nil), &env); err != nil {
		return User{}, fmt.Errorf("read the token's user: %w", err)
	}
	return env.User, nil
}
