// Package owners holds the owner fallback rule (docs/design.md): which Sell users and
// distribution pools an agent may choose as the owner of a lead created from a chat,
// and who owns it when nothing is configured. It knows nothing of HTTP, DynamoDB or
// how Sell is called.
package owners

import (
	"fmt"
	"sort"

	"github.com/sellchat/sellchat/shared/domain/settings"
)

// Choice is an owner an agent may pick.
type Choice struct {
	Type settings.OwnerType `json:"type"`
	ID   int64              `json:"id"`
	Name string             `json:"name"`
}

// Options is what the agent is offered.
type Options struct {
	// Choices are the owners the agent may pick from; when not empty they must pick one.
	Choices    []Choice `json:"choices"`
	MustChoose bool     `json:"mustChoose"`
	// Default owns the lead when there is nothing to choose.
	Default *Choice `json:"default,omitempty"`
	// Explanation says, in a sentence, how the owner is decided.
	Explanation string `json:"explanation"`
}

// User is a Sell user as far as ownership cares.
type User struct {
	ID     int64
	Name   string
	Active bool
}

// Inputs are the facts the owner fallback looks at.
type Inputs struct {
	Settings        settings.Settings
	Users           []User          // every Sell user the calling token sees
	Pools           []settings.Pool // users the admin marked as pool phantoms
	AgentSellUser   *User           // the agent's own Sell user, when signed in
	SuperiorManager *settings.SellUser
}

// For returns the agent's options.
func For(in Inputs) Options {
	users := map[int64]User{}
	for _, u := range in.Users {
		users[u.ID] = u
	}
	pools := map[int64]settings.Pool{}
	for _, p := range in.Pools {
		pools[p.SellUserID] = p
	}
	if in.Settings.AllowAgentsAssignAnyOwner {
		var choices []Choice
		for _, u := range in.Users {
			if _, isPool := pools[u.ID]; u.Active && !isPool {
				choices = append(choices, Choice{Type: settings.OwnerUser, ID: u.ID, Name: u.Name})
			}
		}
		sort.Slice(choices, func(i, j int) bool { return choices[i].Name < choices[j].Name })
		for _, p := range in.Pools {
			choices = append(choices, Choice{Type: settings.OwnerPool, ID: p.SellUserID, Name: p.Name})
		}
		return Options{Choices: nonNil(choices), MustChoose: len(choices) > 0, Explanation: "Choose any Sell user or distribution pool as the owner."}
	}
	if len(in.Settings.Owners) > 0 {
		var choices []Choice
		for _, o := range in.Settings.Owners {
			switch o.Type {
			case settings.OwnerPool:
				if p, ok := pools[o.ID]; ok {
					choices = append(choices, Choice{Type: o.Type, ID: o.ID, Name: p.Name})
				}
			case settings.OwnerUser:
				// A user deactivated in Sell since the admin chose them is left out:
				// Sell would refuse them as an owner.
				if u, ok := users[o.ID]; ok && u.Active {
					choices = append(choices, Choice{Type: o.Type, ID: o.ID, Name: u.Name})
				}
			}
		}
		if len(choices) > 0 {
			return Options{Choices: choices, MustChoose: true, Explanation: "Choose one of the owners your admin set up."}
		}
	}
	if in.Settings.Access == settings.AccessSellUsers && in.AgentSellUser != nil {
		me := &Choice{Type: settings.OwnerUser, ID: in.AgentSellUser.ID, Name: in.AgentSellUser.Name}
		return Options{Choices: []Choice{}, Default: me, Explanation: fmt.Sprintf("The lead will be owned by your Sell user, %s.", me.Name)}
	}
	if in.SuperiorManager != nil {
		sm := &Choice{Type: settings.OwnerUser, ID: in.SuperiorManager.ID, Name: in.SuperiorManager.Name}
		return Options{Choices: []Choice{}, Default: sm, Explanation: fmt.Sprintf("The lead will be owned by %s, the Sell user who installed the integration.", sm.Name)}
	}
	return Options{Choices: []Choice{}, Explanation: "Sell will choose the owner (the integration has no superior manager yet)."}
}

// Reason codes of Resolve's errors.
const (
	CodeRequired   = "owner_required"
	CodeNotAllowed = "owner_not_allowed"
)

// Error says why a chosen owner cannot be used.
type Error struct{ Code, Message string }

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Resolve returns the owner of the lead: the agent's choice, which must be among the
// options, or the default when there is nothing to choose. ok is false when Sell
// should pick (no owner at all).
func (o Options) Resolve(chosen *settings.Owner) (Choice, bool, error) {
	if chosen == nil {
		if o.MustChoose {
			return Choice{}, false, &Error{CodeRequired, "Choose an owner for the lead."}
		}
		if o.Default != nil {
			return *o.Default, true, nil
		}
		return Choice{}, false, nil
	}
	for _, c := range o.Choices {
		if c.Type == chosen.Type && c.ID == chosen.ID {
			return c, true, nil
		}
	}
	if !o.MustChoose && o.Default != nil && o.Default.Type == chosen.Type && o.Default.ID == chosen.ID {
		return *o.Default, true, nil
	}
	return Choice{}, false, &Error{CodeNotAllowed, "You can't assign the lead to that owner; pick one of the owners offered."}
}

func nonNil(c []Choice) []Choice {
	if c == nil {
		return []Choice{}
	}
	return c
}
