package oauth

import (
	"strings"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// Check is one failed install prerequisite: a stable code and what to do about it.
type Check struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Facts are what the install checks look at: Sell's own answers (asked with the
// installer's Sell token) and the Chat facts: from Zendesk's APIs for a session that
// came from Zendesk (FromAPI; the phase as the installer stated it), or as a local
// /dev/token carries them.
type Facts struct {
	Account  string // the Zendesk subdomain of the caller's token
	SellAcct sell.Account
	SellUser sell.User
	Chat     auth.ChatFacts
	// FromAPI says the Chat facts were read from Zendesk; PhaseStated that the
	// installer stated the phase (no API tells it).
	FromAPI, PhaseStated bool
}

// plansTooLow are Chat plans below Team; unknown names are given the benefit of the
// doubt only when they are not in this list and not empty.
var plansTooLow = map[string]bool{"lite": true, "basic": true, "free": true}

// Prerequisites returns every failed check of the install prerequisites, in a fixed
// order; none means the integration can be installed. Each message says what the
// person should do.
func Prerequisites(f Facts) []Check {
	var failed []Check
	fail := func(code, msg string) { failed = append(failed, Check{Code: code, Message: msg}) }

	switch sub := strings.ToLower(f.SellAcct.ZendeskSubdomain); {
	case sub == "":
		fail("legacy_sell_account", "This Sell account is not on the Zendesk platform. Migrate it to a Zendesk Sell account first, then install again.")
	case sub != f.Account:
		fail("subdomain_mismatch", "Sell is on the Zendesk account \""+sub+"\" but Chat is on \""+f.Account+"\". Sell and Chat must share one Zendesk subdomain: install from the account where both live.")
	}
	if !f.SellUser.IsAdmin() {
		fail("not_sell_admin", "You signed in to Sell as a user without admin rights. Ask a Sell admin to install the integration, or to make you an admin.")
	}

	plan := strings.ToLower(f.Chat.Plan)
	switch {
	case plan == "" || plansTooLow[plan]:
		fail("chat_plan_too_low", "The integration needs Zendesk Chat on the Team plan or higher. Upgrade the Chat plan, then install again.")
	}
	switch f.Chat.Phase {
	case 3:
		if f.Chat.Role != "admin" && f.Chat.Role != "owner" {
			fail("missing_chat_admin", "On a phase 3 Chat account the installer must be a Chat admin. Ask a Chat admin to install, or to give you admin rights.")
		}
		if f.Chat.SupportRole != "admin" {
			fail("missing_support_admin", "On a phase 3 Chat account the installer must also be a Zendesk Support admin. Ask a Support admin to install, or to give you admin rights.")
		}
	case 4:
		if f.Chat.Role != "owner" {
			fail("not_account_owner", "On a phase 4 Chat account only the Chat account owner can install. Ask the account owner to install the integration.")
		}
	case 0:
		if f.FromAPI && !f.PhaseStated {
			fail("chat_phase_not_stated", "Zendesk's APIs do not tell which phase your Chat account is on. State it (3 or 4, under Chat › Settings › Account) when you run the install checks.")
			break
		}
		fail("chat_phase_unsupported", "The integration needs a Zendesk Chat account on phase 3 or phase 4. Chat accounts on other phases (and Zendesk messaging) are not supported.")
	default:
		fail("chat_phase_unsupported", "The integration needs a Zendesk Chat account on phase 3 or phase 4. Chat accounts on other phases (and Zendesk messaging) are not supported.")
	}
	return failed
}
