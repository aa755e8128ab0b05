package owners

import (
	"errors"
	"testing"

	"github.com/sellchat/sellchat/shared/domain/settings"
)

var (
	ada   = User{ID: 1, Name: "Ada", Active: true}
	rex   = User{ID: 2, Name: "Rex", Active: true}
	ivan  = User{ID: 5, Name: "Ivan", Active: false}
	ghost = User{ID: 4, Name: "Pool: Inbound", Active: true}
	pool  = settings.Pool{SellUserID: 4, Name: "Inbound"}
	sm    = &settings.SellUser{ID: 1, Name: "Ada"}
)

func inputs(change func(*Inputs)) Inputs {
	in := Inputs{Settings: settings.Defaults(), Users: []User{ada, rex, ivan, ghost}, Pools: []settings.Pool{pool}, SuperiorManager: sm}
	change(&in)
	return in
}

func TestConfiguredOwnersMustBeChosenFrom(t *testing.T) {
	t.Parallel()
	o := For(inputs(func(in *Inputs) {
		in.Settings.Owners = []settings.Owner{{Type: settings.OwnerUser, ID: 2}, {Type: settings.OwnerPool, ID: 4}, {Type: settings.OwnerUser, ID: 5}}
	}))
	if !o.MustChoose || len(o.Choices) != 2 || o.Choices[1].Name != "Inbound" {
		t.Fatalf("%+v", o)
	}
	if _, _, err := o.Resolve(nil); !isCode(err, CodeRequired) {
		t.Fatalf("no choice: %v", err)
	}
	if _, _, err := o.Resolve(&settings.Owner{Type: settings.OwnerUser, ID: 1}); !isCode(err, CodeNotAllowed) {
		t.Fatalf("an unlisted owner: %v", err)
	}
	if _, _, err := o.Resolve(&settings.Owner{Type: settings.OwnerUser, ID: 5}); !isCode(err, CodeNotAllowed) {
		t.Fatalf("an inactive configured owner: %v", err)
	}
	if _, _, err := o.Resolve(&settings.Owner{Type: settings.OwnerUser, ID: 4}); !isCode(err, CodeNotAllowed) {
		t.Fatalf("a pool given as a user: %v", err)
	}
	c, ok, err := o.Resolve(&settings.Owner{Type: settings.OwnerPool, ID: 4})
	if err != nil || !ok || c.ID != 4 {
		t.Fatalf("the pool: %+v %v", c, err)
	}
}

func TestAnyOwnerOffersActiveUsersAndPools(t *testing.T) {
	t.Parallel()
	o := For(inputs(func(in *Inputs) { in.Settings.AllowAgentsAssignAnyOwner = true }))
	var names []string
	for _, c := range o.Choices {
		names = append(names, string(c.Type)+":"+c.Name)
	}
	if got := names; len(got) != 3 || got[0] != "user:Ada" || got[1] != "user:Rex" || got[2] != "pool:Inbound" {
		t.Fatalf("choices %v (the inactive user and the phantom must not be offered as users)", got)
	}
}

func TestNothingConfigured(t *testing.T) {
	t.Parallel()
	t.Run("in sell_users mode the agent's own Sell user owns the lead", func(t *testing.T) {
		o := For(inputs(func(in *Inputs) { in.AgentSellUser = &rex }))
		c, ok, err := o.Resolve(nil)
		if err != nil || !ok || c.ID != rex.ID || o.MustChoose {
			t.Fatalf("%+v %v", o, err)
		}
	})
	t.Run("in all_agents mode the superior manager owns it", func(t *testing.T) {
		o := For(inputs(func(in *Inputs) { in.Settings.Access = settings.AccessAllAgents; in.AgentSellUser = &rex }))
		c, ok, err := o.Resolve(nil)
		if err != nil || !ok || c.ID != sm.ID {
			t.Fatalf("%+v %v", o, err)
		}
		if _, _, err := o.Resolve(&settings.Owner{Type: settings.OwnerUser, ID: rex.ID}); !isCode(err, CodeNotAllowed) {
			t.Fatalf("picking someone else: %v", err)
		}
	})
}

func isCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
