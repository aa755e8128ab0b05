package settings

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sellchat/sellchat/shared/domain/redact"
)

// FuzzSettingsPatch drives a PATCH /settings body through what the settings function
// does with it: decode it into a JSON object of raw fields (as the handler does), then
// Apply it to stored settings. Whatever the body, nothing may panic; a refusal names
// a field and leaves the settings as they were; an accepted patch gives settings that
// keep every rule, change only the fields it names, and read back the same when
// applied again (so what is stored is always something the API accepts).
// `make fuzz` runs it for FUZZTIME; `make test` runs the seeds below.
func FuzzSettingsPatch(f *testing.F) {
	for _, seed := range []string{
		`{}`,
		`{"access":"all_agents"}`,
		`{"access":"sell_users","leadStatus":"  Working  "}`,
		`{"leadStatus":""}`,
		`{"leadStatus":null}`,
		`{"leadSourceId":5002}`,
		`{"leadSourceId":null}`,
		`{"leadSourceId":-1}`,
		`{"leadSourceId":1e400}`,
		`{"leadSourceId":"5002"}`,
		`{"owners":[{"type":"user","id":1002},{"type":"pool","id":1004},{"type":"user","id":1002}]}`,
		`{"owners":[{"type":"user","id":1,"extra":true}]}`,
		`{"owners":[{"type":"robot","id":1}]}`,
		`{"owners":[{"type":"user","id":0}]}`,
		`{"owners":null}`,
		`{"owners":{}}`,
		`{"allowAgentsAssignAnyOwner":true}`,
		`{"allowAgentsAssignAnyOwner":"yes"}`,
		`{"messagingInternalNotes":true}`,
		`{"messagingInternalNotes":1}`,
		`{"version":3}`,
		`{"superiorManager":{"id":1}}`,
		`{"acess":"all_agents"}`,
		`{"access":"all_agents","access":"nobody"}`,
		`{"leadStatus":"` + strings.Repeat("x", 101) + `"}`,
		`{"owners":[` + strings.Repeat(`{"type":"user","id":7},`, 120) + `{"type":"user","id":8}]}`,
		`{"":1}`,
		`{"redaction":{"cardNumbers":false}}`,
		`{"redaction":{"cardNumbers":true,"patterns":[{"name":"iban","pattern":"\\b[A-Z]{2}\\d{2}[A-Z0-9]{11,30}\\b"}]}}`,
		`{"redaction":{"patterns":[{"name":"a","pattern":"x"},{"name":"a","pattern":"y"}]}}`,
		`{"redaction":{"patterns":[{"name":"bad","pattern":"[0-9"}]}}`,
		`{"redaction":{"patterns":[{"name":"empty","pattern":"a*"}]}}`,
		`{"redaction":{"patterns":[{"name":"x","pattern":"a","extra":1}]}}`,
		`{"redaction":{"patterns":[]}}`,
		`{"redaction":{"patterns":null}}`,
		`{"redaction":{"cardNumbers":"no"}}`,
		`{"redaction":{"card":true}}`,
		`{"redaction":null}`,
		`{"redaction":[]}`,
		`{"retention":{"days":30,"deleteSellNotes":true}}`,
		`{"retention":{"days":0}}`,
		`{"retention":{"days":3651}}`,
		`{"retention":{"days":-1}}`,
		`{"retention":{"days":1.5}}`,
		`{"retention":{"days":null}}`,
		`{"retention":{"deleteSellNotes":"yes"}}`,
		`{"retention":{"keep":true}}`,
		`{"retention":null}`,
		`{"retention":7}`,
		`[]`, `null`, `"x"`, `{"access":`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var patch map[string]json.RawMessage
		if json.Unmarshal(body, &patch) != nil || patch == nil {
			return // the handler answers 400 before Apply: not a JSON object
		}
		start := Defaults()
		src := int64(5001)
		start.LeadSourceID = &src
		start.Owners = []Owner{{OwnerUser, 1001}}
		start.Redaction.Patterns = []redact.Pattern{{Name: "acct", Pattern: `acct-\d+`}}
		before := clone(start)

		got, err := start.Apply(patch)
		if !reflect.DeepEqual(start, before) {
			t.Fatalf("Apply changed the settings it was called on: %+v", start)
		}
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Code == "" || fe.Message == "" {
				t.Fatalf("a refusal must be a FieldError with a code and a message: %#v", err)
			}
			// The field named is one the client sent (an owner entry is named within
			// owners, a redaction field or pattern within redaction); the key "" is a
			// field name too, so the answer names it as "".
			_, sent := patch[fe.Field]
			_, redaction := patch["redaction"]
			_, retention := patch["retention"]
			if !sent && !strings.HasPrefix(fe.Field, "owners[") && !(redaction && strings.HasPrefix(fe.Field, "redaction.")) &&
				!(retention && strings.HasPrefix(fe.Field, "retention.")) {
				t.Fatalf("the refusal names %q, which the patch does not hold", fe.Field)
			}
			if !reflect.DeepEqual(got, start) {
				t.Fatalf("a refused patch returned changed settings: %+v", got)
			}
			return
		}
		checkRules(t, got)
		for _, field := range []string{"access", "leadStatus", "leadSourceId", "owners", "allowAgentsAssignAnyOwner", "redaction", "retention", "messagingInternalNotes"} {
			if _, touched := patch[field]; !touched && !reflect.DeepEqual(fieldOf(got, field), fieldOf(start, field)) {
				t.Fatalf("%s changed although the patch does not name it: %+v", field, got)
			}
		}
		// What would be stored, sent back whole, is accepted and changes nothing.
		raw, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		var whole map[string]json.RawMessage
		if err := json.Unmarshal(raw, &whole); err != nil {
			t.Fatal(err)
		}
		again, err := Defaults().Apply(whole)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("the settings %s read back as %+v, %v", raw, again, err)
		}
	})
}

// checkRules holds every rule an accepted patch must leave true.
func checkRules(t *testing.T, s Settings) {
	t.Helper()
	if s.Access != AccessSellUsers && s.Access != AccessAllAgents {
		t.Fatalf("access %q", s.Access)
	}
	if s.LeadStatus == "" || s.LeadStatus != strings.TrimSpace(s.LeadStatus) || len(s.LeadStatus) > 100 {
		t.Fatalf("leadStatus %q", s.LeadStatus)
	}
	if s.LeadSourceID != nil && *s.LeadSourceID <= 0 {
		t.Fatalf("leadSourceId %d", *s.LeadSourceID)
	}
	if s.Owners == nil || len(s.Owners) > MaxOwners {
		t.Fatalf("owners %#v", s.Owners)
	}
	if err := redact.Check(s.Redaction.Patterns); err != nil || (s.Redaction.Patterns != nil && len(s.Redaction.Patterns) == 0) {
		t.Fatalf("redaction patterns %#v: %v", s.Redaction.Patterns, err)
	}
	if s.Retention.Days < 0 || s.Retention.Days > MaxRetentionDays {
		t.Fatalf("retention days %d", s.Retention.Days)
	}
	seen := map[Owner]bool{}
	for _, o := range s.Owners {
		if (o.Type != OwnerUser && o.Type != OwnerPool) || o.ID <= 0 || seen[o] {
			t.Fatalf("owners %+v", s.Owners)
		}
		seen[o] = true
	}
}

func clone(s Settings) Settings {
	out := s
	out.Owners = append([]Owner(nil), s.Owners...)
	out.Redaction.Patterns = append([]redact.Pattern(nil), s.Redaction.Patterns...)
	if s.LeadSourceID != nil {
		v := *s.LeadSourceID
		out.LeadSourceID = &v
	}
	return out
}

func fieldOf(s Settings, field string) any {
	switch field {
	case "access":
		return s.Access
	case "leadStatus":
		return s.LeadStatus
	case "leadSourceId":
		if s.LeadSourceID == nil {
			return nil
		}
		return *s.LeadSourceID
	case "owners":
		return s.Owners
	case "redaction":
		return s.Redaction
	case "retention":
		return s.Retention
	case "messagingInternalNotes":
		return s.MessagingInternalNotes
	default:
		return s.AllowAgentsAssignAnyOwner
	}
}
