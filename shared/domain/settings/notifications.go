package settings

import "time"

// ZendeskNotifications is the Support webhook and trigger sellchat created in an Agent
// Workspace account, so that solving a chat ticket tells sellchat at once which chat to
// read, instead of waiting for the export to show it (the export still does, whatever
// happens to these). The ids are Zendesk's; Secret is the webhook's signing secret,
// sealed by package secrets, and never leaves the backend.
type ZendeskNotifications struct {
	WebhookID string `json:"webhookId,omitempty"`
	TriggerID int64  `json:"triggerId,omitempty"`
	// MessagingTriggerID is the trigger that calls the same webhook when a
	// messaging ticket of one of MessagingChannels (via channel names; all of
	// zendesk.DefaultMessagingChannels when empty) is solved.
	MessagingTriggerID int64     `json:"messagingTriggerId,omitempty"`
	MessagingChannels  []string  `json:"messagingChannels,omitempty"`
	Endpoint           string    `json:"endpoint,omitempty"`
	Secret             []byte    `json:"secret,omitempty"`
	SetUpBy            string    `json:"setUpBy,omitempty"` // Zendesk user id
	SetUpAt            time.Time `json:"setUpAt,omitzero"`
	// PendingSince is set while a request creates or deletes them: a second request
	// within NotificationsLease is refused instead of creating a second webhook.
	PendingSince time.Time `json:"pendingSince,omitzero"`
}

// NotificationsLease bounds PendingSince: a request that died holding it blocks the
// next one this long at most.
const NotificationsLease = 2 * time.Minute

// Busy reports whether another request is creating or deleting them at now.
func (n ZendeskNotifications) Busy(now time.Time) bool {
	return !n.PendingSince.IsZero() && now.Sub(n.PendingSince) < NotificationsLease
}

// On reports whether Zendesk calls sellchat: the webhook, its secret and the trigger
// that calls it all exist.
func (n ZendeskNotifications) On() bool {
	return n.WebhookID != "" && n.TriggerID != 0 && len(n.Secret) > 0
}

// SupportWebhookPath is where Zendesk's webhook calls sellchat, followed by the
// account (POST /webhooks/zendesk/{account}).
const SupportWebhookPath = "/webhooks/zendesk/"

// NotificationsSecretKind names the sealed signing secret's use (secrets.AAD).
const NotificationsSecretKind = "zendesk_webhook_secret"

// NotificationsView is what the routes show of the notifications: Zendesk's ids,
// the messaging channels (none: all of them) and where Zendesk calls. It has no
// field for the webhook's signing secret, so the secret cannot reach an answer
// however the stored notifications change.
type NotificationsView struct {
	Enabled            bool      `json:"enabled"`
	WebhookID          string    `json:"webhookId,omitempty"`
	TriggerID          int64     `json:"triggerId,omitempty"`
	MessagingTriggerID int64     `json:"messagingTriggerId,omitempty"`
	MessagingChannels  []string  `json:"messagingChannels,omitempty"`
	Endpoint           string    `json:"endpoint,omitempty"`
	SetUpAt            time.Time `json:"setUpAt,omitzero"`
}

// View is n as the routes show it.
func (n ZendeskNotifications) View() NotificationsView {
	return NotificationsView{Enabled: n.On(), WebhookID: n.WebhookID, TriggerID: n.TriggerID,
		MessagingTriggerID: n.MessagingTriggerID, MessagingChannels: n.MessagingChannels, Endpoint: n.Endpoint, SetUpAt: n.SetUpAt}
}
