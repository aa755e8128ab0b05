package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/domain/audit"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
	"github.com/sellchat/sellchat/shared/platform/trail"
)

// Agent Workspace notifications: on accounts where chats are answered in Agent
// Workspace a chat becomes a ticket, and a Support trigger can call a webhook when it is
// solved. POST /integration/zendesk/notifications creates that webhook (pointing at
// POST /webhooks/zendesk/{account}) and trigger through the admin's Zendesk connection
// and keeps the webhook's signing secret, sealed; DELETE removes both. Neither is
// needed for chats to reach Sell (the export poll brings every chat); they make a
// solved chat arrive within seconds instead of after the export's five minutes.

// NotificationsPath is the route of both.
const NotificationsPath = "/integration/zendesk/notifications"

var (
	errNotificationsBusy = &httpx.Error{Status: http.StatusConflict, Code: "setup_in_progress",
		Message: "Another request is setting up Zendesk notifications right now. Try again in a minute."}
	errZendeskNotConnected = &httpx.Error{Status: http.StatusConflict, Code: "zendesk_not_connected",
		Message: "Sign in with Zendesk on the settings page first: sellchat creates the webhook through that connection."}
	errNoPublicURL = &httpx.Error{Status: http.StatusConflict, Code: "public_url_missing",
		Message: "This deployment has no PUBLIC_BASE_URL, so Zendesk would not know where to call."}
)

// channelsOf is the messaging channels the trigger is to name.
func channelsOf(n settings.ZendeskNotifications) []string {
	if len(n.MessagingChannels) == 0 {
		return zendesk.DefaultMessagingChannels
	}
	return n.MessagingChannels
}

// notificationsRequest is POST /integration/zendesk/notifications's optional body:
// the messaging channels whose solved tickets reach Sell (all when absent).
type notificationsRequest struct {
	MessagingChannels []string `json:"messagingChannels"`
}

// readChannels reads the request's channels: each a known messaging channel, at most
// once; none (or no body) keeps what was chosen before.
func readChannels(r *http.Request, prev []string) ([]string, error) {
	var in notificationsRequest
	if r.ContentLength != 0 {
		if err := httpx.DecodeJSON(r, &in); err != nil {
			return nil, err
		}
	}
	if in.MessagingChannels == nil {
		return prev, nil
	}
	out := []string{}
	for _, ch := range in.MessagingChannels {
		if !zendesk.IsMessaging(ch, nil) {
			return nil, httpx.Invalid("messagingChannels", "invalid_value", fmt.Sprintf("%q is not a messaging channel sellchat knows.", ch))
		}
		if !slices.Contains(out, ch) {
			out = append(out, ch)
		}
	}
	if len(out) == 0 {
		return nil, httpx.Invalid("messagingChannels", "invalid_value", "Name at least one messaging channel, or leave the list out for all of them.")
	}
	return out, nil
}

// setUpNotifications answers POST /integration/zendesk/notifications: 200 with the
// webhook and trigger, created or, when they still exist in Zendesk, kept. Running it
// again repairs what an admin deleted in Zendesk; it never makes a second webhook.
func (h *handler) setUpNotifications(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	if h.deps.PublicBaseURL == "" {
		return errNoPublicURL
	}
	endpoint := h.deps.PublicBaseURL + settings.SupportWebhookPath + id.Account
	current, err := h.deps.Store.Integration(r.Context(), id.Account)
	if err != nil {
		return err
	}
	channels, err := readChannels(r, current.Zendesk.Notifications.MessagingChannels)
	if err != nil {
		return err
	}
	prev, zd, err := h.beginNotifications(r.Context(), id.Account)
	if err != nil {
		return err
	}
	want := prev
	want.MessagingChannels = channels
	next, err := ensureNotifications(r.Context(), zd, want, endpoint)
	if err != nil {
		// Keep what was created, so the next attempt reuses it instead of adding
		// another; what was not reached stays as it was (the next attempt checks it).
		h.endNotifications(r.Context(), id.Account, func(n *settings.ZendeskNotifications) {
			if next.webhookID != "" && next.webhookID != n.WebhookID {
				n.WebhookID, n.Endpoint, n.Secret = next.webhookID, endpoint, nil
			}
			if next.triggerID != 0 {
				n.TriggerID = next.triggerID
			}
			if next.messagingTriggerID != 0 {
				n.MessagingTriggerID = next.messagingTriggerID
			}
		})
		return zendeskWriteError(w, err)
	}
	sealed := h.deps.Box.Seal([]byte(next.secret), secrets.AAD(id.Account, settings.NotificationsSecretKind))
	n, err := h.endNotifications(r.Context(), id.Account, func(n *settings.ZendeskNotifications) {
		*n = settings.ZendeskNotifications{WebhookID: next.webhookID, TriggerID: next.triggerID, Endpoint: endpoint,
			MessagingTriggerID: next.messagingTriggerID, MessagingChannels: channels,
			Secret: sealed, SetUpBy: id.UserID, SetUpAt: h.now().UTC()}
	})
	if err != nil {
		return err
	}
	httpx.LoggerFrom(r.Context()).Info("zendesk notifications set up", "webhook", n.WebhookID, "trigger", n.TriggerID)
	trail.Record(r, h.deps.Store, audit.NotificationsSetUp, "", audit.Diff(prev.View(), n.View()))
	httpx.WriteJSON(w, http.StatusOK, n.View())
	return nil
}

// removeNotifications answers DELETE /integration/zendesk/notifications: the trigger
// and the webhook are deleted in Zendesk (already gone is fine), then forgotten. When
// Zendesk cannot be reached nothing is forgotten, so the admin can try again.
func (h *handler) removeNotifications(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	prev, zd, err := h.beginNotifications(r.Context(), id.Account)
	if err != nil {
		return err
	}
	if prev.TriggerID != 0 {
		err = zd.DeleteTrigger(r.Context(), prev.TriggerID)
	}
	if err == nil && prev.MessagingTriggerID != 0 {
		err = zd.DeleteTrigger(r.Context(), prev.MessagingTriggerID)
	}
	if err == nil && prev.WebhookID != "" {
		err = zd.DeleteWebhook(r.Context(), prev.WebhookID)
	}
	if err != nil {
		h.endNotifications(r.Context(), id.Account, func(*settings.ZendeskNotifications) {})
		return zendeskWriteError(w, err)
	}
	n, err := h.endNotifications(r.Context(), id.Account, func(n *settings.ZendeskNotifications) { *n = settings.ZendeskNotifications{} })
	if err != nil {
		return err
	}
	trail.Record(r, h.deps.Store, audit.NotificationsRemove, "", audit.Diff(prev.View(), n.View()))
	httpx.WriteJSON(w, http.StatusOK, n.View())
	return nil
}

// beginNotifications takes the integration's notifications lease and opens the
// account's Zendesk connection; it returns the notifications as they were.
func (h *handler) beginNotifications(ctx context.Context, account string) (settings.ZendeskNotifications, *zendesk.Client, error) {
	var prev settings.ZendeskNotifications
	_, err := h.deps.Store.UpdateIntegration(ctx, account, func(in *settings.Integration) error {
		switch {
		case !in.Zendesk.Connected:
			return errZendeskNotConnected
		case in.Zendesk.Notifications.Busy(h.now()):
			return errNotificationsBusy
		}
		prev = in.Zendesk.Notifications
		in.Zendesk.Notifications.PendingSince = h.now().UTC()
		return nil
	})
	if err != nil {
		return prev, nil, err
	}
	zd, err := h.deps.Vault.ZendeskClient(ctx, account)
	if err != nil {
		h.endNotifications(ctx, account, func(*settings.ZendeskNotifications) {})
		if errors.Is(err, tokens.ErrNoToken) || errors.Is(err, tokens.ErrBroken) {
			return prev, nil, errZendeskNotConnected
		}
		return prev, nil, err
	}
	return prev, zd, nil
}

// endNotifications applies change and gives the lease back.
func (h *handler) endNotifications(ctx context.Context, account string, change func(*settings.ZendeskNotifications)) (settings.ZendeskNotifications, error) {
	in, err := h.deps.Store.UpdateIntegration(ctx, account, func(in *settings.Integration) error {
		change(&in.Zendesk.Notifications)
		in.Zendesk.Notifications.PendingSince = time.Time{}
		return nil
	})
	if err != nil {
		httpx.LoggerFrom(ctx).Warn("zendesk notifications: release the lease", "err", err.Error())
	}
	return in.Zendesk.Notifications, err
}

// ensured is what ensureNotifications got to, even when it failed half way.
type ensured struct {
	webhookID          string
	triggerID          int64
	messagingTriggerID int64
	secret             string
}

// ensureNotifications makes sure the webhook (at endpoint) and the trigger calling it
// exist, reusing prev's where Zendesk still has them, and reads the webhook's secret.
func ensureNotifications(ctx context.Context, zd *zendesk.Client, prev settings.ZendeskNotifications, endpoint string) (ensured, error) {
	var out ensured
	if prev.WebhookID != "" {
		wh, err := zd.Webhook(ctx, prev.WebhookID)
		switch {
		case err == nil && wh.Endpoint == endpoint:
			out.webhookID = wh.ID
		case err == nil: // pointed elsewhere (a moved deployment): replace it
			if err := zd.DeleteWebhook(ctx, wh.ID); err != nil {
				return out, err
			}
		case !errors.Is(err, zendesk.ErrNotFound):
			return out, err
		}
	}
	if out.webhookID == "" {
		wh, err := zd.CreateWebhook(ctx, zendesk.NotificationWebhook(endpoint))
		if err != nil {
			return out, err
		}
		out.webhookID = wh.ID
	}
	var err error
	if out.triggerID, err = ensureTrigger(ctx, zd, prev.TriggerID, zendesk.NotificationTrigger(out.webhookID)); err != nil {
		return out, err
	}
	// The messaging trigger calls the same webhook: the route tells a messaging
	// ticket from a chat's by reading it.
	messaging := zendesk.MessagingNotificationTrigger(out.webhookID, channelsOf(prev))
	if out.messagingTriggerID, err = ensureTrigger(ctx, zd, prev.MessagingTriggerID, messaging); err != nil {
		return out, err
	}
	secret, err := zd.WebhookSigningSecret(ctx, out.webhookID)
	if err != nil {
		return out, err
	}
	out.secret = secret
	return out, nil
}

// ensureTrigger returns the id of a trigger like want: trigger id when Zendesk still
// has it active, calling the same webhook on the same conditions, or else a new one
// (the old one deleted).
func ensureTrigger(ctx context.Context, zd *zendesk.Client, id int64, want zendesk.Trigger) (int64, error) {
	if id != 0 {
		t, err := zd.Trigger(ctx, id)
		switch {
		case err == nil && callsWebhook(t, webhookOf(want)) && sameConditions(t.Conditions, want.Conditions):
			return t.ID, nil
		case err == nil:
			if err := zd.DeleteTrigger(ctx, t.ID); err != nil {
				return 0, err
			}
		case !errors.Is(err, zendesk.ErrNotFound):
			return 0, err
		}
	}
	t, err := zd.CreateTrigger(ctx, want)
	if err != nil {
		return 0, err
	}
	return t.ID, nil
}

// webhookOf is the webhook a trigger sellchat built calls.
func webhookOf(t zendesk.Trigger) string {
	for _, a := range t.Actions {
		if v, ok := a.Value.([]string); ok && a.Field == zendesk.TriggerWebhookAction && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// sameConditions reports whether two triggers' conditions are the same, in any order.
func sameConditions(a, b zendesk.Conditions) bool {
	same := func(x, y []zendesk.Condition) bool {
		return len(x) == len(y) && !slices.ContainsFunc(x, func(c zendesk.Condition) bool { return !slices.Contains(y, c) })
	}
	return same(a.All, b.All) && same(a.Any, b.Any)
}

// callsWebhook reports whether t is active and calls webhook id.
func callsWebhook(t zendesk.Trigger, id string) bool {
	for _, a := range t.Actions {
		if v, ok := a.Value.([]any); ok && a.Field == zendesk.TriggerWebhookAction && len(v) > 0 && fmt.Sprint(v[0]) == id {
			return t.Active
		}
	}
	return false
}

// zendeskWriteError words a failed Zendesk call of these routes.
func zendeskWriteError(w http.ResponseWriter, err error) error {
	var limited *zendesk.RateLimited
	switch {
	case errors.As(err, &limited):
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(limited.RetryAfter.Seconds()))))
		return &httpx.Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Message: "Zendesk asked us to slow down. Try again in a minute.", Err: err}
	case errors.Is(err, zendesk.ErrForbidden), errors.Is(err, zendesk.ErrUnauthorized):
		return &httpx.Error{Status: http.StatusConflict, Code: "zendesk_reconnect",
			Message: "The Zendesk connection may not manage webhooks and triggers. Sign in with Zendesk again as an admin.", Err: err}
	default:
		return &httpx.Error{Status: http.StatusBadGateway, Code: "zendesk_unavailable", Message: "Zendesk could not be reached. Try again in a moment.", Err: err}
	}
}
