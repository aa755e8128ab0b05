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
	// PastChatsFrom is where the chat poll starts reading past chats: the date the
	// admin picked when switching chat history on, or DefaultPastChats before then.
	// Zero on accounts that enabled history before it could be picked (the poll then
	// keeps its own start). A new date makes the poll start over from it.
	PastChatsFrom  time.Time `json:"pastChatsFrom,omitzero"`
	PastChatsSetBy string    `json:"pastChatsSetBy,omitempty"`
	PastChatsSetAt time.Time `json:"pastChatsSetAt,omitzero"`
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
	// Notifications are the webhook and trigger of Agent Workspace accounts
	// (POST /integration/zendesk/notifications); kept when Zendesk is reconnected.
	Notifications ZendeskNotifications `json:"notifications,omitzero"`
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
	// PastChatsFrom ("YYYY-MM-DD", read as 00:00 UTC, or RFC 3339) is where chat
	// history starts; only when switching chat_history_in_sell on.
	PastChatsFrom *string `json:"pastChatsFrom"`
}

// DefaultPastChats is how far back chat history reaches when the admin picks no date:
// recent conversations reach Sell too, without reading an account's whole past.
const DefaultPastChats = 30 * 24 * time.Hour

// EarliestPastChats is the oldest pastChatsFrom accepted. Nothing meaningful is
// older (Zendesk Chat, then Zopim, kept no chats of the 2000s worth asking for), and
// the bound catches typed-in years such as 0226 that would make the poll crawl
// through decades of empty export pages.
var EarliestPastChats = time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)

// dateSlack is how far a date-only pastChatsFrom may lie ahead of UTC: the page sends
// the admin's local date, and at UTC+14 "today" begins 14 hours before it does in UTC.
const dateSlack = 14 * time.Hour

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
	from, err := c.pastChatsFrom(e, now)
	if err != nil {
		return err
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
		in.setPastChatsFrom(from, by, now)
	}
	return nil
}

// setPastChatsFrom records where past chats start: the date asked for, else (on the
// first switch-on) DefaultPastChats back. Switching on again without a date keeps the
// earlier one, so the poll goes on where it stopped instead of reading again.
func (in *Integration) setPastChatsFrom(from time.Time, by string, now time.Time) {
	if from.IsZero() {
		if !in.PastChatsFrom.IsZero() {
			return
		}
		from = now.UTC().Add(-DefaultPastChats).Truncate(time.Second)
	}
	in.PastChatsFrom, in.PastChatsSetBy, in.PastChatsSetAt = from, by, now.UTC()
}

// pastChatsFrom reads the change's pastChatsFrom: zero when absent, an error when it
// names no date, one outside [EarliestPastChats, now], or the wrong switch.
func (c ElementChange) pastChatsFrom(e Element, now time.Time) (time.Time, error) {
	if c.PastChatsFrom == nil {
		return time.Time{}, nil
	}
	if e != ChatHistoryInSell || !*c.Enabled {
		return time.Time{}, invalid("pastChatsFrom", "not_applicable", "pastChatsFrom applies only when switching %s on.", ChatHistoryInSell)
	}
	from, dateOnly, ok := parseDateOrTime(*c.PastChatsFrom)
	if !ok {
		return time.Time{}, invalid("pastChatsFrom", "invalid_value",
			"pastChatsFrom must be a date (YYYY-MM-DD, read as 00:00 UTC) or an RFC 3339 time.")
	}
	if from.Before(EarliestPastChats) {
		return time.Time{}, invalid("pastChatsFrom", "too_old", "pastChatsFrom may not be before %s.", EarliestPastChats.Format(time.DateOnly))
	}
	latest := now.UTC()
	if dateOnly {
		latest = latest.Add(dateSlack)
	}
	if from.After(latest) {
		return time.Time{}, invalid("pastChatsFrom", "in_future", "pastChatsFrom may not be in the future.")
	}
	if from.After(now) { // today in the admin's zone, still ahead in UTC: from now on
		from = now.UTC().Truncate(time.Second)
	}
	return from, nil
}

// parseDateOrTime reads s as a date (00:00 UTC) or an RFC 3339 time, in UTC.
func parseDateOrTime(s string) (t time.Time, dateOnly, ok bool) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true, true
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), false, true
	}
	return time.Time{}, false, false
}
