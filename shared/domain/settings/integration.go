package settings

import (
	"errors"
	"slices"
	"time"
)

// Element is one of the integration's three parts, each switched on and off alone.
type Element string

// The three elements (element switches in docs/design.md).
const (
	ChatAppInSell     Element = "chat_app_in_sell"
	SellAppInChat     Element = "sell_app_in_chat"
	ChatHistoryInSell Element = "chat_history_in_sell"
)

// Elements lists the elements in the order the settings page shows them.
var Elements = []Element{ChatAppInSell, SellAppInChat, ChatHistoryInSell}

// ParseElement returns the element named s.
func ParseElement(s string) (Element, bool) {
	if e := Element(s); slices.Contains(Elements, e) {
		return e, true
	}
	return "", false
}

// ElementState is an element's switch and options.
type ElementState struct {
	Enabled      bool `json:"enabled"`
	SignInOnLoad bool `json:"signInOnLoad,omitempty"` // chat_app_in_sell only
}

// SellUser names a Sell user.
type SellUser struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Integration is the account's connection state: the elements, whether Sell is
// connected and by whom, and the chat webhook's signing secret (sealed).
type Integration struct {
	Elements        map[Element]ElementState `json:"elements"`
	SellConnected   bool                     `json:"sellConnected"`
	SuperiorManager *SellUser                `json:"superiorManager,omitempty"`
	// WebhookSecret is sealed by package secrets; it never leaves the backend.
	WebhookSecret []byte `json:"webhookSecret,omitempty"`
	// HistoryConfirmedBy records who accepted that every agent with Sell access will
	// see past chats, and when: the confirmation is a decision worth keeping.
	HistoryConfirmedBy string    `json:"historyConfirmedBy,omitempty"`
	HistoryConfirmedAt time.Time `json:"historyConfirmedAt,omitzero"`
	// Zendesk is the account's Zendesk connection and the apps it has installed.
	Zendesk ZendeskLink `json:"zendesk"`
	// Chat is the account's Chat API connection, through which finished chats are
	// read from the Chat API's export (the token is sealed in the token vault).
	Chat ChatLink `json:"chat"`
	// Installed is set once the install checks passed (POST /integration/install).
	Installed   bool      `json:"installed,omitempty"`
	InstalledBy string    `json:"installedBy,omitempty"`
	InstalledAt time.Time `json:"installedAt,omitzero"`
}

// ZendeskLink is what sellchat knows of the account's Zendesk: whether an admin
// connected it (the token itself is sealed in the token vault) and sellchat's apps as
// installed there, whose keys verify the tokens Zendesk signs for them.
type ZendeskLink struct {
	Connected   bool         `json:"connected"`
	ConnectedBy string       `json:"connectedBy,omitempty"` // Zendesk user id
	ConnectedAt time.Time    `json:"connectedAt,omitzero"`
	Apps        []ZendeskApp `json:"apps,omitempty"`
}

// ChatLink is what sellchat knows of the account's Chat API connection: whether an
// admin connected it, who (their Zendesk user id, which is their Chat agent id) and
// when.
type ChatLink struct {
	Connected   bool      `json:"connected"`
	ConnectedBy string    `json:"connectedBy,omitempty"`
	ConnectedAt time.Time `json:"connectedAt,omitzero"`
}

// ZendeskApp is one of sellchat's app packages as installed in the account: Zendesk
// signs the app's tokens with one key per app, and names the installation in them.
type ZendeskApp struct {
	AppID          int64  `json:"appId"`
	InstallationID int64  `json:"installationId"`
	PublicKey      string `json:"publicKey"` // PEM, as Zendesk publishes it
}

// State returns the element's state; a never-touched element is disabled.
func (in Integration) State(e Element) ElementState { return in.Elements[e] }

// Enabled reports whether element e is on.
func (in Integration) Enabled(e Element) bool { return in.Elements[e].Enabled }

// PollsChat reports whether finished chats are read from the account's Chat API
// export: the integration is installed, chat history in Sell is on and Chat is
// connected. While it is not, the export's cursor stays where it stopped, so
// switching history back on catches up on what was missed (as far back as the
// export keeps chats).
func (in Integration) PollsChat() bool {
	return in.Installed && in.Enabled(ChatHistoryInSell) && in.Chat.Connected
}

// ElementChange is a request to switch an element.
type ElementChange struct {
	Enabled      *bool `json:"enabled"`
	Confirm      *bool `json:"confirm"`
	SignInOnLoad *bool `json:"signInOnLoad"`
}

// HistoryWarning is what the admin must accept before chat history is shown in Sell.
const HistoryWarning = "Showing chat history in Sell makes every past chat visible to every Chat agent who has Sell access, " +
	"whatever Chat's own data-access settings say. Send \"confirm\": true to enable it."

// ErrNotInstalled refuses to switch an element on before the install checks passed:
// the checks (a Zendesk Sell account, the Chat plan and phase, the installer's
// rights) are what make the elements safe to use, so they are not advisory.
var ErrNotInstalled = errors.New("the integration is not installed")

// Change applies c to element e. Switching an element never deletes anything: the
// state only decides what is shown (element switches). An element can be switched on
// only on an installed account; switching off is always allowed.
func (in *Integration) Change(e Element, c ElementChange, by string, now time.Time) error {
	if c.Enabled == nil {
		return invalid("enabled", "required", "enabled (true or false) is required.")
	}
	if c.SignInOnLoad != nil && e != ChatAppInSell {
		return invalid("signInOnLoad", "not_applicable", "signInOnLoad applies only to %s.", ChatAppInSell)
	}
	if e == ChatHistoryInSell && *c.Enabled && (c.Confirm == nil || !*c.Confirm) {
		return invalid("confirm", "confirmation_required", "%s", HistoryWarning)
	}
	// The body is checked first, so a malformed switch says what is wrong with it.
	if *c.Enabled && !in.Installed {
		return ErrNotInstalled
	}
	if in.Elements == nil {
		in.Elements = map[Element]ElementState{}
	}
	st := in.Elements[e]
	st.Enabled = *c.Enabled
	if c.SignInOnLoad != nil {
		st.SignInOnLoad = *c.SignInOnLoad
	}
	in.Elements[e] = st
	if e == ChatHistoryInSell && *c.Enabled {
		in.HistoryConfirmedBy, in.HistoryConfirmedAt = by, now.UTC()
	}
	return nil
}
