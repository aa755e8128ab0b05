package zendesk

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Webhook is a Support webhook as the Webhooks API writes it
// (https://developer.zendesk.com/api-reference/webhooks/webhooks-api/webhooks/): id,
// name, status, endpoint, http_method and request_format are its mandatory fields.
type Webhook struct {
	ID            string   `json:"id,omitempty"`
	Name          string   `json:"name"`
	Description   string   `json:"description,omitempty"`
	Status        string   `json:"status"` // "active" or "inactive"
	Endpoint      string   `json:"endpoint"`
	HTTPMethod    string   `json:"http_method"`
	RequestFormat string   `json:"request_format"`
	Subscriptions []string `json:"subscriptions,omitempty"`
}

// Condition is one condition of a trigger.
type Condition struct {
	Field    string `json:"field"`
	Operator string `json:"operator"`
	Value    string `json:"value"`
}

// Conditions are a trigger's "all" and "any" lists.
type Conditions struct {
	All []Condition `json:"all"`
	Any []Condition `json:"any"`
}

// Action is one action of a trigger; Value is a string or, for a webhook, the pair
// [webhook id, body] (assumptions.go).
type Action struct {
	Field string `json:"field"`
	Value any    `json:"value"`
}

// Trigger is a Support ticket trigger (Triggers API,
// https://developer.zendesk.com/api-reference/ticketing/business-rules/triggers/).
type Trigger struct {
	ID          int64      `json:"id,omitempty"`
	Title       string     `json:"title"`
	Description string     `json:"description,omitempty"`
	Active      bool       `json:"active"`
	Conditions  Conditions `json:"conditions"`
	Actions     []Action   `json:"actions"`
}

// NotificationWebhook is the webhook sellchat asks Zendesk to call, at endpoint, when a
// chat ticket is solved: JSON POSTs for a trigger to fill in.
func NotificationWebhook(endpoint string) Webhook {
	return Webhook{Name: "sellchat: chat ticket solved", Status: "active", Endpoint: endpoint,
		HTTPMethod: http.MethodPost, RequestFormat: "json", Subscriptions: []string{ConditionalTicketEvents},
		Description: "Tells sellchat a chat ticket was solved, so the chat reaches Zendesk Sell at once."}
}

// NotificationBody is the body the trigger sends: the ticket's id and nothing else, so
// no ticket content leaves Zendesk this way; sellchat reads the chat from the Chat API.
const NotificationBody = `{"ticket_id":"{{ticket.id}}"}`

// NotificationTrigger is the trigger that calls webhookID when a chat ticket is
// solved (assumptions.go has the conditions' doubts).
func NotificationTrigger(webhookID string) Trigger {
	return Trigger{
		Title:       "sellchat: chat ticket solved",
		Description: "Created by sellchat. Deleting it only delays chats reaching Zendesk Sell until the next export read.",
		Active:      true,
		Conditions: Conditions{All: []Condition{
			{Field: "status", Operator: TriggerChangedToOperator, Value: "solved"},
			{Field: "via_id", Operator: "is", Value: ViaChat},
		}, Any: []Condition{}},
		Actions: []Action{{Field: TriggerWebhookAction, Value: []string{webhookID, NotificationBody}}},
	}
}

// CreateWebhook creates w and returns it as Zendesk stored it (with its id).
func (c *Client) CreateWebhook(ctx context.Context, w Webhook) (Webhook, error) {
	var env struct {
		Webhook Webhook `json:"webhook"`
	}
	if err := c.sendJSON(ctx, http.MethodPost, c.endpoint("/api/v2/webhooks", nil), map[string]any{"webhook": w}, &env); err != nil {
		return Webhook{}, fmt.Errorf("create webhook: %w", err)
	}
	if env.Webhook.ID == "" {
		return Webhook{}, fmt.Errorf("create webhook: the answer names no id")
	}
	return env.Webhook, nil
}

// Webhook reads webhook id; ErrNotFound when it was deleted.
func (c *Client) Webhook(ctx context.Context, id string) (Webhook, error) {
	var env struct {
		Webhook Webhook `json:"webhook"`
	}
	if err := c.getJSON(ctx, c.endpoint("/api/v2/webhooks/"+url.PathEscape(id), nil), &env); err != nil {
		return Webhook{}, fmt.Errorf("read webhook %s: %w", id, err)
	}
	return env.Webhook, nil
}

// WebhookSigningSecret returns the secret Zendesk signs webhook id's requests with.
func (c *Client) WebhookSigningSecret(ctx context.Context, id string) (string, error) {
	var env struct {
		SigningSecret struct {
			Algorithm string `json:"algorithm"`
			Secret    string `json:"secret"`
		} `json:"signing_secret"`
	}
	if err := c.getJSON(ctx, c.endpoint("/api/v2/webhooks/"+url.PathEscape(id)+WebhookSigningSecretPath, nil), &env); err != nil {
		return "", fmt.Errorf("read signing secret of webhook %s: %w", id, err)
	}
	if env.SigningSecret.Secret == "" {
		return "", fmt.Errorf("read signing secret of webhook %s: the answer holds no secret", id)
	}
	return env.SigningSecret.Secret, nil
}

// DeleteWebhook deletes webhook id; deleting one already gone is not an error.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	return ignoreNotFound(c.sendJSON(ctx, http.MethodDelete, c.endpoint("/api/v2/webhooks/"+url.PathEscape(id), nil), nil, nil), "delete webhook "+id)
}

// CreateTrigger creates t and returns it as Zendesk stored it (with its id).
func (c *Client) CreateTrigger(ctx context.Context, t Trigger) (Trigger, error) {
	var env struct {
		Trigger Trigger `json:"trigger"`
	}
	if err := c.sendJSON(ctx, http.MethodPost, c.endpoint("/api/v2/triggers", nil), map[string]any{"trigger": t}, &env); err != nil {
		return Trigger{}, fmt.Errorf("create trigger: %w", err)
	}
	if env.Trigger.ID == 0 {
		return Trigger{}, fmt.Errorf("create trigger: the answer names no id")
	}
	return env.Trigger, nil
}

// Trigger reads trigger id; ErrNotFound when it was deleted.
func (c *Client) Trigger(ctx context.Context, id int64) (Trigger, error) {
	var env struct {
		Trigger Trigger `json:"trigger"`
	}
	if err := c.getJSON(ctx, c.endpoint("/api/v2/triggers/"+strconv.FormatInt(id, 10), nil), &env); err != nil {
		return Trigger{}, fmt.Errorf("read trigger %d: %w", id, err)
	}
	return env.Trigger, nil
}

// DeleteTrigger deletes trigger id; deleting one already gone is not an error.
func (c *Client) DeleteTrigger(ctx context.Context, id int64) error {
	return ignoreNotFound(c.sendJSON(ctx, http.MethodDelete, c.endpoint("/api/v2/triggers/"+strconv.FormatInt(id, 10), nil), nil, nil), fmt.Sprintf("delete trigger %d", id))
}

func ignoreNotFound(err error, what string) error {
	if err == nil || isNotFound(err) {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
