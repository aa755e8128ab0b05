// Package audit holds the audit trail's entry: who changed what in an account's
// integration, when, from which request. Entries carry values, never secrets: a
// caller records that a secret was set, not the secret, and an erasure's visitor only
// as the keyed hash the erasure keeps.
package audit

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"time"
)

// Actions recorded. Each is "<thing>.<verb>".
const (
	SettingsUpdate        = "settings.update"
	ElementSwitch         = "element.switch"
	WebhookSecretSet      = "webhook_secret.set"
	PoolMark              = "pool.mark"
	PoolUnmark            = "pool.unmark"
	WidgetDraft           = "widget.draft"
	WidgetPublish         = "widget.publish"
	LeadSourceCreate      = "lead_source.create" // in Sell, from the settings page
	ConnectionSell        = "connection.sell"
	ConnectionZendesk     = "connection.zendesk"
	ConnectionChat        = "connection.chat"
	Install               = "integration.install"
	Uninstall             = "integration.uninstall"
	NotificationsSetUp    = "notifications.set_up"
	NotificationsRemove   = "notifications.remove"
	ErasureStart          = "erasure.start"
	RedactionRulesChanged = "redaction.update"
)

// Actor is who made the change, as their session names them.
type Actor struct {
	UserID string `json:"userId"`
	Email  string `json:"email,omitempty"`
	Role   string `json:"role,omitempty"`
}

// Change is one field's value before and after.
type Change struct {
	From any `json:"from"`
	To   any `json:"to"`
}

// Entry is one recorded change.
type Entry struct {
	ID        string            `json:"id"`
	At        time.Time         `json:"at"`
	Actor     Actor             `json:"actor"`
	Action    string            `json:"action"`
	Target    string            `json:"target,omitempty"` // the element, pool, widget… changed
	Changes   map[string]Change `json:"changes,omitempty"`
	RequestID string            `json:"requestId,omitempty"`
}

// Diff returns the top-level JSON fields whose values differ between before and
// after (two values of the same struct type, or maps), as From/To pairs of their JSON
// forms; fields named in skip are left out (secrets, versions).
func Diff(before, after any, skip ...string) map[string]Change {
	b, a := fields(before), fields(after)
	out := map[string]Change{}
	for _, k := range slices.Sorted(maps.Keys(union(a, b))) {
		if slices.Contains(skip, k) {
			continue
		}
		if !reflect.DeepEqual(b[k], a[k]) {
			out[k] = Change{From: b[k], To: a[k]}
		}
	}
	return out
}

// fields is v's JSON object form; nil for anything that is not an object.
func fields(v any) map[string]any {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

func union(a, b map[string]any) map[string]any {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]any{}
	}
	maps.Copy(out, b)
	return out
}
