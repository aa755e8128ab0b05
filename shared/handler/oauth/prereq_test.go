package oauth

import (
	"reflect"
	"testing"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

func codes(cs []Check) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.Code)
		if c.Message == "" {
			panic("a check without a message")
		}
	}
	return out
}

func TestPrerequisites(t *testing.T) {
	t.Parallel()
	ok := Facts{
		Account:  "acme",
		SellAcct: sell.Account{ZendeskSubdomain: "acme"},
		SellUser: sell.User{Role: "admin"},
		Chat:     auth.ChatFacts{Phase: 4, Plan: "team", Role: "owner"},
	}
	with := func(change func(*Facts)) Facts { f := ok; change(&f); return f }
	cases := []struct {
		name  string
		facts Facts
		want  []string
	}{
		{"a phase 4 owner with a Sell admin passes", ok, []string{}},
		{"a phase 3 Chat admin who is a Support admin passes", with(func(f *Facts) {
			f.Chat = auth.ChatFacts{Phase: 3, Plan: "professional", Role: "admin", SupportRole: "admin"}
		}), []string{}},
		{"a legacy Sell account must migrate", with(func(f *Facts) { f.SellAcct.ZendeskSubdomain = "" }), []string{"legacy_sell_account"}},
		{"Sell on another subdomain is a mismatch", with(func(f *Facts) { f.SellAcct.ZendeskSubdomain = "globex" }), []string{"subdomain_mismatch"}},
		{"a Sell user who is not admin cannot install", with(func(f *Facts) { f.SellUser.Role = "user" }), []string{"not_sell_admin"}},
		{"the Lite plan is too low", with(func(f *Facts) { f.Chat.Plan = "lite" }), []string{"chat_plan_too_low"}},
		{"an unknown plan is not assumed high enough", with(func(f *Facts) { f.Chat.Plan = "" }), []string{"chat_plan_too_low"}},
		{"phase 2 is unsupported", with(func(f *Facts) { f.Chat.Phase = 2 }), []string{"chat_phase_unsupported"}},
		{"a phase 4 admin who is not owner is refused", with(func(f *Facts) { f.Chat.Role = "admin" }), []string{"not_account_owner"}},
		{"phase 3 needs a Chat admin", with(func(f *Facts) { f.Chat = auth.ChatFacts{Phase: 3, Plan: "team", Role: "agent", SupportRole: "admin"} }), []string{"missing_chat_admin"}},
		{"phase 3 needs a Support admin", with(func(f *Facts) { f.Chat = auth.ChatFacts{Phase: 3, Plan: "team", Role: "admin", SupportRole: "agent"} }), []string{"missing_support_admin"}},
		{"every failed check is listed", Facts{Account: "acme", Chat: auth.ChatFacts{Phase: 3}}, []string{"legacy_sell_account", "not_sell_admin", "chat_plan_too_low", "missing_chat_admin", "missing_support_admin"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := codes(Prerequisites(c.facts)); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}
