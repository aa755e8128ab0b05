// Package settings holds the admin's configuration and its rules (docs/design.md):
// access mode, lead status and source, owners, and the three integration elements.
// It knows nothing of HTTP or DynamoDB.
package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sellchat/sellchat/shared/domain/redact"
)

// Access says which Chat agents see Sell data (the access mode rule).
type Access string

// Access modes.
const (
	AccessSellUsers Access = "sell_users" // agents with their own Sell user, seeing what that user sees
	AccessAllAgents Access = "all_agents" // every agent, through the admin's token
)

// OwnerType says whether an owner is a Sell user or a distribution pool.
type OwnerType string

// Owner types.
const (
	OwnerUser OwnerType = "user"
	OwnerPool OwnerType = "pool"
)

// Owner is a Sell user or pool (by its phantom user's id) that may own new leads.
type Owner struct {
	Type OwnerType `json:"type"`
	ID   int64     `json:"id"`
}

// Settings is what the admin configures on the settings page.
type Settings struct {
	Access                    Access  `json:"access"`
	LeadStatus                string  `json:"leadStatus"`
	LeadSourceID              *int64  `json:"leadSourceId"`
	Owners                    []Owner `json:"owners"`
	AllowAgentsAssignAnyOwner bool    `json:"allowAgentsAssignAnyOwner"`
	// Redaction is what chats are stripped of before they are stored.
	Redaction Redaction `json:"redaction"`
	// Retention is how long chats and feed entries are kept.
	Retention Retention `json:"retention"`
	// MessagingInternalNotes brings a messaging conversation's internal notes (the
	// ticket's private comments) into its transcript, marked as such; off, only
	// what the end user, agents and bots said publicly reaches Sell.
	MessagingInternalNotes bool `json:"messagingInternalNotes"`
}

// MaxRetentionDays bounds the retention period (ten years); longer is "keep forever".
const MaxRetentionDays = 3650

// Retention says how long stored chats and their feed entries are kept: Days after
// the chat was received, or forever when Days is 0. The zero value (and so every
// settings item saved before retention existed) keeps forever. DeleteSellNotes says
// whether the Sell notes sellchat mirrored for an expired chat are deleted with it.
type Retention struct {
	Days            int  `json:"days"`
	DeleteSellNotes bool `json:"deleteSellNotes"`
}

// Forever reports whether nothing expires.
func (r Retention) Forever() bool { return r.Days <= 0 }

// Expiry is when a chat received at received expires, with its feed entries: the
// zero time when kept forever.
func (r Retention) Expiry(received time.Time) time.Time {
	if r.Forever() {
		return time.Time{}
	}
	return received.UTC().Add(time.Duration(r.Days) * 24 * time.Hour)
}

// Redaction says what is masked from every chat before it is stored (package
// redact): card numbers unless switched off, and the admin's own patterns.
//
// The card switch is stored negated, as CardNumbersOff, so that the zero value (and
// so every settings item saved before redaction existed) masks card numbers. The
// API shows and takes it as "cardNumbers" (MarshalJSON, Apply).
type Redaction struct {
	CardNumbersOff bool             `json:"cardNumbersOff,omitempty"`
	Patterns       []redact.Pattern `json:"patterns,omitempty"` // nil when there are none
}

// CardNumbers reports whether card numbers are masked.
func (r Redaction) CardNumbers() bool { return !r.CardNumbersOff }

// Redactor compiles the rules.
func (r Redaction) Redactor() (*redact.Redactor, error) {
	return redact.New(r.CardNumbers(), r.Patterns)
}

// redactionView is Redaction as the API shows it.
type redactionView struct {
	CardNumbers bool             `json:"cardNumbers"`
	Patterns    []redact.Pattern `json:"patterns"`
}

// MarshalJSON writes the API's form: {"cardNumbers":true,"patterns":[]}.
func (r Redaction) MarshalJSON() ([]byte, error) {
	v := redactionView{CardNumbers: r.CardNumbers(), Patterns: r.Patterns}
	if v.Patterns == nil {
		v.Patterns = []redact.Pattern{}
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads the API's form; a missing cardNumbers means on. It does not
// check the patterns: Apply does, for what clients send.
func (r *Redaction) UnmarshalJSON(b []byte) error {
	v := redactionView{CardNumbers: true}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Redaction{CardNumbersOff: !v.CardNumbers}
	if len(v.Patterns) > 0 {
		r.Patterns = v.Patterns
	}
	return nil
}

// MaxOwners bounds the owner list; the picker is meant for a team, not a directory.
const MaxOwners = 100

// Defaults are the settings before the admin changes anything: the cautious access
// mode (agents see only what their own Sell user may see) and Sell's first status.
func Defaults() Settings {
	return Settings{Access: AccessSellUsers, LeadStatus: "New", Owners: []Owner{}}
}

// FieldError says which field of a change is wrong and why.
type FieldError struct {
	Field   string
	Code    string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, code, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)}
}

// ReadOnly lists fields clients see but may not change.
var ReadOnly = map[string]bool{"superiorManager": true, "version": true}

// Apply returns s with a partial update applied: only the fields present in patch
// change. Fields are applied in a fixed order so the first error is deterministic.
func (s Settings) Apply(patch map[string]json.RawMessage) (Settings, error) {
	out := s
	out.Owners = append([]Owner{}, s.Owners...) // never nil: clients get [] for "no owners"
	for _, field := range sortedKeys(patch) {
		raw := patch[field]
		var err error
		switch field {
		case "access":
			err = applyAccess(&out, raw)
		case "leadStatus":
			err = applyLeadStatus(&out, raw)
		case "leadSourceId":
			err = applyLeadSource(&out, raw)
		case "owners":
			err = applyOwners(&out, raw)
		case "allowAgentsAssignAnyOwner":
			err = decodeField(field, raw, "a boolean", &out.AllowAgentsAssignAnyOwner)
		case "messagingInternalNotes":
			err = decodeField(field, raw, "a boolean", &out.MessagingInternalNotes)
		case "redaction":
			err = applyRedaction(&out, raw)
		case "retention":
			err = applyRetention(&out, raw)
		default:
			if ReadOnly[field] {
				return s, invalid(field, "read_only", "%s cannot be changed here.", field)
			}
			return s, invalid(field, "unknown_field", "%q is not a setting.", field)
		}
		if err != nil {
			return s, err
		}
	}
	return out, nil
}

func applyAccess(s *Settings, raw json.RawMessage) error {
	var v string
	if err := decodeField("access", raw, "a string", &v); err != nil {
		return err
	}
	switch a := Access(v); a {
	case AccessSellUsers, AccessAllAgents:
		s.Access = a
		return nil
	}
	return invalid("access", "invalid_value", "access must be %q or %q.", AccessSellUsers, AccessAllAgents)
}

func applyLeadStatus(s *Settings, raw json.RawMessage) error {
	var v string
	if err := decodeField("leadStatus", raw, "a string", &v); err != nil {
		return err
	}
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 100 {
		return invalid("leadStatus", "invalid_value", "leadStatus must be the name of a Sell lead status.")
	}
	s.LeadStatus = v
	return nil
}

func applyLeadSource(s *Settings, raw json.RawMessage) error {
	if isNull(raw) {
		s.LeadSourceID = nil
		return nil
	}
	var v int64
	if err := decodeField("leadSourceId", raw, "a number or null", &v); err != nil {
		return err
	}
	if v <= 0 {
		return invalid("leadSourceId", "invalid_value", "leadSourceId must be the id of a Sell lead source.")
	}
	s.LeadSourceID = &v
	return nil
}

func applyOwners(s *Settings, raw json.RawMessage) error {
	var v []Owner
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if isNull(raw) || dec.Decode(&v) != nil {
		return invalid("owners", "wrong_type", `owners must be a list of {"type":"user"|"pool","id":number}.`)
	}
	if len(v) > MaxOwners {
		return invalid("owners", "too_many", "owners may list at most %d users and pools.", MaxOwners)
	}
	seen := map[Owner]bool{}
	owners := make([]Owner, 0, len(v))
	for i, o := range v {
		if o.Type != OwnerUser && o.Type != OwnerPool {
			return invalid(fmt.Sprintf("owners[%d].type", i), "invalid_value", `an owner's type must be "user" or "pool".`)
		}
		if o.ID <= 0 {
			return invalid(fmt.Sprintf("owners[%d].id", i), "invalid_value", "an owner's id must be a Sell user id.")
		}
		if !seen[o] { // a repeated owner is kept once, in its first place
			seen[o] = true
			owners = append(owners, o)
		}
	}
	s.Owners = owners
	return nil
}

// applyRedaction changes the redaction fields raw names: "cardNumbers" and
// "patterns" (the whole list). Every pattern must compile within the bounds.
func applyRedaction(s *Settings, raw json.RawMessage) error {
	var obj map[string]json.RawMessage
	if isNull(raw) || json.Unmarshal(raw, &obj) != nil || obj == nil {
		return invalid("redaction", "wrong_type", `redaction must be an object {"cardNumbers":boolean,"patterns":[{"name":string,"pattern":string}]}.`)
	}
	next := Redaction{CardNumbersOff: s.Redaction.CardNumbersOff, Patterns: append([]redact.Pattern(nil), s.Redaction.Patterns...)}
	for _, k := range sortedKeys(obj) {
		switch k {
		case "cardNumbers":
			var on bool
			if err := decodeField("redaction.cardNumbers", obj[k], "a boolean", &on); err != nil {
				return err
			}
			next.CardNumbersOff = !on
		case "patterns":
			var list []redact.Pattern
			dec := json.NewDecoder(bytes.NewReader(obj[k]))
			dec.DisallowUnknownFields()
			if isNull(obj[k]) || dec.Decode(&list) != nil {
				return invalid("redaction.patterns", "wrong_type", `redaction.patterns must be a list of {"name":string,"pattern":string}.`)
			}
			next.Patterns = nil // none is stored as nil, so the settings read back equal
			if len(list) > 0 {
				next.Patterns = list
			}
		default:
			return invalid("redaction."+k, "unknown_field", "%q is not a redaction setting.", k)
		}
	}
	if err := patternError(redact.Check(next.Patterns)); err != nil {
		return err
	}
	s.Redaction = next
	return nil
}

// applyRetention changes the retention fields raw names: "days" (0 keeps forever,
// else 1 to MaxRetentionDays) and "deleteSellNotes".
func applyRetention(s *Settings, raw json.RawMessage) error {
	var obj map[string]json.RawMessage
	if isNull(raw) || json.Unmarshal(raw, &obj) != nil || obj == nil {
		return invalid("retention", "wrong_type", `retention must be an object {"days":number,"deleteSellNotes":boolean}.`)
	}
	next := s.Retention
	for _, k := range sortedKeys(obj) {
		switch k {
		case "days":
			var days int // a whole number: 1.5 (or 1e3) is refused, not rounded
			if err := decodeField("retention.days", obj[k], "a whole number of days (0 keeps forever)", &days); err != nil {
				return err
			}
			if days < 0 || days > MaxRetentionDays {
				return invalid("retention.days", "invalid_value", "retention.days must be 0 (keep forever) or 1 to %d.", MaxRetentionDays)
			}
			next.Days = days
		case "deleteSellNotes":
			if err := decodeField("retention.deleteSellNotes", obj[k], "a boolean", &next.DeleteSellNotes); err != nil {
				return err
			}
		default:
			return invalid("retention."+k, "unknown_field", "%q is not a retention setting.", k)
		}
	}
	s.Retention = next
	return nil
}

// patternError names the refused pattern as a field of the settings.
func patternError(err error) error {
	var pe *redact.PatternError
	if !errors.As(err, &pe) {
		return err
	}
	field := "redaction.patterns"
	if pe.Index >= 0 {
		field = fmt.Sprintf("redaction.patterns[%d].%s", pe.Index, pe.Field)
	}
	return &FieldError{Field: field, Code: pe.Code, Message: pe.Message}
}

func decodeField(field string, raw json.RawMessage, want string, v any) error {
	if isNull(raw) || json.Unmarshal(raw, v) != nil {
		return invalid(field, "wrong_type", "%s must be %s.", field, want)
	}
	return nil
}

// sortedKeys lists an object's field names in order. Apply and the nested objects
// (redaction, retention) take their fields in this order, so that of several bad
// fields the one refused is always the same.
func sortedKeys(obj map[string]json.RawMessage) []string {
	return slices.Sorted(maps.Keys(obj))
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }
