package settings

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/domain/redact"
)

func patch(t *testing.T, s string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestApplyLeavesTheOriginalUntouchedOnError(t *testing.T) {
	t.Parallel()
	orig := Defaults()
	orig.Owners = []Owner{{OwnerUser, 1}}
	_, err := orig.Apply(patch(t, `{"owners":[{"type":"pool","id":2}],"access":"bad"}`))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "access" {
		t.Fatalf("err = %v", err)
	}
	if len(orig.Owners) != 1 || orig.Owners[0].ID != 1 {
		t.Fatalf("original changed: %+v", orig)
	}
}

func TestOwnerErrorsNameTheEntry(t *testing.T) {
	t.Parallel()
	_, err := Defaults().Apply(patch(t, `{"owners":[{"type":"user","id":1},{"type":"user","id":0}]}`))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "owners[1].id" {
		t.Fatalf("err = %v", err)
	}
}

func TestHistoryConfirmationIsRecorded(t *testing.T) {
	t.Parallel()
	in := Integration{Installed: true}
	yes := true
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	if err := in.Change(ChatHistoryInSell, ElementChange{Enabled: &yes, Confirm: &yes}, "361", now); err != nil {
		t.Fatal(err)
	}
	if !in.Enabled(ChatHistoryInSell) || in.HistoryConfirmedBy != "361" || !in.HistoryConfirmedAt.Equal(now) {
		t.Fatalf("%+v", in)
	}
}

func TestElementsSwitchOnOnlyOnceInstalled(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	var in Integration
	for _, e := range Elements {
		if err := in.Change(e, ElementChange{Enabled: &yes, Confirm: &yes}, "1", time.Now()); !errors.Is(err, ErrNotInstalled) {
			t.Fatalf("%s on before install: err = %v", e, err)
		}
		if err := in.Change(e, ElementChange{Enabled: &no}, "1", time.Now()); err != nil {
			t.Fatalf("%s off before install: %v", e, err)
		}
	}
	// A malformed switch says what is wrong with it before the install is asked for.
	var fe *FieldError
	if err := in.Change(ChatHistoryInSell, ElementChange{Enabled: &yes}, "1", time.Now()); !errors.As(err, &fe) || fe.Code != "confirmation_required" {
		t.Fatalf("unconfirmed history: err = %v", err)
	}
	in.Installed = true
	if err := in.Change(SellAppInChat, ElementChange{Enabled: &yes}, "1", time.Now()); err != nil || !in.Enabled(SellAppInChat) {
		t.Fatalf("after install: %v %+v", err, in)
	}
}

func TestOwnersStayAListWhenAPatchDoesNotTouchThem(t *testing.T) {
	t.Parallel()
	got, err := Defaults().Apply(patch(t, `{"access":"all_agents"}`))
	if err != nil || got.Owners == nil {
		t.Fatalf("owners %#v, err %v; want an empty list", got.Owners, err)
	}
	raw, _ := json.Marshal(got)
	if !strings.Contains(string(raw), `"owners":[]`) {
		t.Fatalf("encoded as %s", raw)
	}
}

// enableHistory switches chat history on with pastChatsFrom (omitted when nil).
func enableHistory(in *Integration, from *string, by string, now time.Time) error {
	yes := true
	return in.Change(ChatHistoryInSell, ElementChange{Enabled: &yes, Confirm: &yes, PastChatsFrom: from}, by, now)
}

func TestPastChatsStartWhereTheAdminPicksAndThirtyDaysBackOtherwise(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)
	in := Integration{Installed: true}
	if err := enableHistory(&in, nil, "361", now); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 10, 26, 10, 30, 0, 0, time.UTC); !in.PastChatsFrom.Equal(want) || in.PastChatsSetBy != "361" || !in.PastChatsSetAt.Equal(now) {
		t.Fatalf("first switch-on without a date: from %s by %q at %s, want %s", in.PastChatsFrom, in.PastChatsSetBy, in.PastChatsSetAt, want)
	}
	for _, c := range []struct{ in, want string }{
		{"2026-11-02", "2026-11-02T00:00:00Z"},
		{"2026-09-01T08:00:00+02:00", "2026-09-01T06:00:00Z"},
		{"2010-01-01", "2010-01-01T00:00:00Z"},
		// Already today in the admin's zone, east of UTC, but not yet in UTC: from now.
		{"2026-11-26", "2026-11-25T10:30:00Z"},
	} {
		from := c.in
		if err := enableHistory(&in, &from, "1", now); err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if got := in.PastChatsFrom.Format(time.RFC3339); got != c.want {
			t.Errorf("%s read as %s, want %s", c.in, got, c.want)
		}
	}
	// Switched off and on again without a date: the poll goes on where it stopped.
	picked := in.PastChatsFrom
	no := false
	if err := in.Change(ChatHistoryInSell, ElementChange{Enabled: &no}, "1", now); err != nil {
		t.Fatal(err)
	}
	if err := enableHistory(&in, nil, "2", now.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !in.PastChatsFrom.Equal(picked) || in.PastChatsSetBy != "1" {
		t.Fatalf("switching on again without a date moved the start to %s (by %q)", in.PastChatsFrom, in.PastChatsSetBy)
	}
}

func TestABadPastChatsDateIsRefusedAndChangesNothing(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)
	yes, no := true, false
	str := func(s string) *string { return &s }
	for _, c := range []struct {
		name   string
		el     Element
		change ElementChange
		code   string
	}{
		{"a date in the future", ChatHistoryInSell, ElementChange{Enabled: &yes, Confirm: &yes, PastChatsFrom: str("2026-11-27")}, "in_future"},
		{"a time in the future", ChatHistoryInSell, ElementChange{Enabled: &yes, Confirm: &yes, PastChatsFrom: str("2026-11-25T10:31:00Z")}, "in_future"},
		{"a date before 2010", ChatHistoryInSell, ElementChange{Enabled: &yes, Confirm: &yes, PastChatsFrom: str("2009-12-31")}, "too_old"},
		{"a typo'd year", ChatHistoryInSell, ElementChange{Enabled: &yes, Confirm: &yes, PastChatsFrom: str("0226-11-02")}, "too_old"},
		{"a date in another format", ChatHistoryInSell, ElementChange{Enabled: &yes, Confirm: &yes, PastChatsFrom: str("02/11/2026")}, "invalid_value"},
		{"an empty date", ChatHistoryInSell, ElementChange{Enabled: &yes, Confirm: &yes, PastChatsFrom: str("")}, "invalid_value"},
		{"an impossible date", ChatHistoryInSell, ElementChange{Enabled: &yes, Confirm: &yes, PastChatsFrom: str("2026-02-30")}, "invalid_value"},
		{"a date when switching off", ChatHistoryInSell, ElementChange{Enabled: &no, PastChatsFrom: str("2026-11-02")}, "not_applicable"},
		{"a date for another element", SellAppInChat, ElementChange{Enabled: &yes, PastChatsFrom: str("2026-11-02")}, "not_applicable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := Integration{Installed: true}
			if err := enableHistory(&in, str("2026-10-01"), "1", now); err != nil {
				t.Fatal(err)
			}
			before := in.PastChatsFrom
			err := in.Change(c.el, c.change, "2", now)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "pastChatsFrom" || fe.Code != c.code {
				t.Fatalf("err = %v, want %s on pastChatsFrom", err, c.code)
			}
			if !in.PastChatsFrom.Equal(before) || in.Enabled(SellAppInChat) || !in.Enabled(ChatHistoryInSell) {
				t.Fatalf("a refused change changed %+v", in)
			}
		})
	}
}

func TestCardNumbersAreMaskedUnlessSwitchedOffEvenInSettingsSavedBeforeRedaction(t *testing.T) {
	t.Parallel()
	// The zero value is what a settings item saved before redaction existed decodes to.
	for _, s := range []Settings{{}, Defaults()} {
		if !s.Redaction.CardNumbers() {
			t.Fatalf("%+v does not mask card numbers", s)
		}
		r, err := s.Redaction.Redactor()
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := r.Redact("4111 1111 1111 1111"); got != "•••• 1111" {
			t.Fatalf("redacted as %q", got)
		}
	}
	off, err := Defaults().Apply(patch(t, `{"redaction":{"cardNumbers":false}}`))
	if err != nil || off.Redaction.CardNumbers() {
		t.Fatalf("%+v %v", off.Redaction, err)
	}
	raw, _ := json.Marshal(off)
	if !strings.Contains(string(raw), `"redaction":{"cardNumbers":false,"patterns":[]}`) {
		t.Fatalf("encoded as %s", raw)
	}
	on, err := off.Apply(patch(t, `{"redaction":{"cardNumbers":true}}`))
	if err != nil || !on.Redaction.CardNumbers() {
		t.Fatalf("%+v %v", on.Redaction, err)
	}
}

func TestRedactionPatternsAreSetAsAWholeList(t *testing.T) {
	t.Parallel()
	got, err := Defaults().Apply(patch(t, `{"redaction":{"patterns":[{"name":"iban","pattern":"\\b[A-Z]{2}\\d{2}[A-Z0-9]{11,30}\\b"},{"name":"ssn","pattern":"\\d{3}-\\d{2}-\\d{4}"}]}}`))
	if err != nil || len(got.Redaction.Patterns) != 2 || got.Redaction.Patterns[1].Name != "ssn" || !got.Redaction.CardNumbers() {
		t.Fatalf("%+v %v", got.Redaction, err)
	}
	r, err := got.Redaction.Redactor()
	if err != nil {
		t.Fatal(err)
	}
	if out, counts := r.Redact("SSN 078-05-1120"); out != "SSN ••••" || counts["ssn"] != 1 {
		t.Fatalf("%q %v", out, counts)
	}
	// Switching cards off keeps the patterns; an empty list clears them.
	off, err := got.Apply(patch(t, `{"redaction":{"cardNumbers":false}}`))
	if err != nil || len(off.Redaction.Patterns) != 2 {
		t.Fatalf("%+v %v", off.Redaction, err)
	}
	cleared, err := off.Apply(patch(t, `{"redaction":{"patterns":[]}}`))
	if err != nil || cleared.Redaction.Patterns != nil || cleared.Redaction.CardNumbers() {
		t.Fatalf("%+v %v", cleared.Redaction, err)
	}
	// The API's form, sent back, reads back the same.
	raw, _ := json.Marshal(got)
	var whole map[string]json.RawMessage
	_ = json.Unmarshal(raw, &whole)
	if again, err := Defaults().Apply(whole); err != nil || !reflect.DeepEqual(again.Redaction, got.Redaction) {
		t.Fatalf("%s read back as %+v, %v", raw, again.Redaction, err)
	}
	var decoded Settings
	if err := json.Unmarshal(raw, &decoded); err != nil || !reflect.DeepEqual(decoded.Redaction, got.Redaction) {
		t.Fatalf("%s decoded as %+v, %v", raw, decoded.Redaction, err)
	}
}

// refusal is a patch that Apply must refuse with a FieldError naming field, with
// code, and with a message that mentions the given text.
type refusal struct{ body, field, code, mentions string }

// checkRefusals applies each refusal's patch to orig and checks the FieldError it
// gets, and that the settings returned are orig unchanged.
func checkRefusals(t *testing.T, orig Settings, cases []refusal) {
	t.Helper()
	for _, c := range cases {
		got, err := orig.Apply(patch(t, c.body))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || fe.Code != c.code || !strings.Contains(fe.Message, c.mentions) {
			t.Errorf("%s: err = %#v", c.body, err)
			continue
		}
		if !reflect.DeepEqual(got, orig) {
			t.Errorf("%s: a refused change returned %+v", c.body, got)
		}
	}
}

func TestABadRedactionIsRefusedNamingTheFieldAndThePattern(t *testing.T) {
	t.Parallel()
	orig := Defaults()
	orig.Redaction.Patterns = []redact.Pattern{{Name: "kept", Pattern: "x+"}}
	checkRefusals(t, orig, []refusal{
		{`{"redaction":{"patterns":[{"name":"a","pattern":"\\d+"},{"name":"b","pattern":"\\d+"},{"name":"acct","pattern":"[0-9"}]}}`,
			"redaction.patterns[2].pattern", "invalid_pattern", `Pattern 2 ("acct"): not a valid RE2 expression: error parsing regexp: missing closing ]: ` + "`[0-9`"},
		{`{"redaction":{"patterns":[{"name":"any","pattern":".*"}]}}`, "redaction.patterns[0].pattern", "invalid_pattern", "empty string"},
		{`{"redaction":{"patterns":[{"name":"Bad Name","pattern":"x"}]}}`, "redaction.patterns[0].name", "invalid_name", "a-z"},
		{`{"redaction":{"patterns":[{"name":"a","pattern":"x"},{"name":"a","pattern":"y"}]}}`, "redaction.patterns[1].name", "duplicate_name", `"a"`},
		{`{"redaction":{"patterns":[` + strings.Repeat(`{"name":"a","pattern":"x"},`, 20) + `{"name":"b","pattern":"x"}]}}`, "redaction.patterns", "too_many", "20"},
		{`{"redaction":{"patterns":[{"name":"a","pattern":"x","flags":"i"}]}}`, "redaction.patterns", "wrong_type", "list of"},
		{`{"redaction":{"patterns":null}}`, "redaction.patterns", "wrong_type", "list of"},
		{`{"redaction":{"cardNumbers":"no"}}`, "redaction.cardNumbers", "wrong_type", "boolean"},
		{`{"redaction":{"cards":false}}`, "redaction.cards", "unknown_field", "cards"},
		{`{"redaction":null}`, "redaction", "wrong_type", "object"},
		{`{"redaction":true}`, "redaction", "wrong_type", "object"},
	})
}

func TestRetentionKeepsForeverUntilSetAndExpiresChatsDaysAfterTheyArrive(t *testing.T) {
	t.Parallel()
	received := time.Date(2025, 3, 1, 10, 30, 0, 0, time.FixedZone("CET", 3600))
	// The zero value is what a settings item saved before retention existed decodes to.
	for _, s := range []Settings{{}, Defaults()} {
		if !s.Retention.Forever() || !s.Retention.Expiry(received).IsZero() || s.Retention.DeleteSellNotes {
			t.Fatalf("%+v: retention should keep forever and leave notes", s.Retention)
		}
	}
	got, err := Defaults().Apply(patch(t, `{"retention":{"days":30,"deleteSellNotes":true}}`))
	if err != nil || got.Retention != (Retention{Days: 30, DeleteSellNotes: true}) {
		t.Fatalf("%+v %v", got.Retention, err)
	}
	if want := time.Date(2025, 3, 31, 9, 30, 0, 0, time.UTC); !got.Retention.Expiry(received).Equal(want) {
		t.Fatalf("expiry %v, want %v", got.Retention.Expiry(received), want)
	}
	// Each field changes alone; 0 goes back to keeping forever.
	notesKept, err := got.Apply(patch(t, `{"retention":{"deleteSellNotes":false}}`))
	if err != nil || notesKept.Retention != (Retention{Days: 30}) {
		t.Fatalf("%+v %v", notesKept.Retention, err)
	}
	forever, err := got.Apply(patch(t, `{"retention":{"days":0}}`))
	if err != nil || !forever.Retention.Forever() || !forever.Retention.DeleteSellNotes {
		t.Fatalf("%+v %v", forever.Retention, err)
	}
	raw, _ := json.Marshal(got)
	if !strings.Contains(string(raw), `"retention":{"days":30,"deleteSellNotes":true}`) {
		t.Fatalf("retention shows as %s", raw)
	}
}

func TestABadRetentionIsRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	orig := Defaults()
	orig.Retention = Retention{Days: 90}
	checkRefusals(t, orig, []refusal{
		{`{"retention":{"days":3651}}`, "retention.days", "invalid_value", "3650"},
		{`{"retention":{"days":-1}}`, "retention.days", "invalid_value", "keep forever"},
		{`{"retention":{"days":1.5}}`, "retention.days", "wrong_type", "whole number"},
		{`{"retention":{"days":"30"}}`, "retention.days", "wrong_type", "whole number"},
		{`{"retention":{"days":null}}`, "retention.days", "wrong_type", "whole number"},
		{`{"retention":{"deleteSellNotes":"yes"}}`, "retention.deleteSellNotes", "wrong_type", "boolean"},
		{`{"retention":{"days":30,"keep":true}}`, "retention.keep", "unknown_field", "keep"},
		{`{"retention":null}`, "retention", "wrong_type", "object"},
		{`{"retention":30}`, "retention", "wrong_type", "object"},
	})
}

func TestInternalNotesOfMessagingStayOutUntilTheAdminOptsIn(t *testing.T) {
	t.Parallel()
	if Defaults().MessagingInternalNotes {
		t.Fatal("internal notes are in by default")
	}
	on, err := Defaults().Apply(map[string]json.RawMessage{"messagingInternalNotes": json.RawMessage("true")})
	if err != nil || !on.MessagingInternalNotes {
		t.Fatalf("opting in: %+v, %v", on, err)
	}
	var fe *FieldError
	if _, err := on.Apply(map[string]json.RawMessage{"messagingInternalNotes": json.RawMessage(`"no"`)}); !errors.As(err, &fe) || fe.Field != "messagingInternalNotes" {
		t.Fatalf("a string: %v", err)
	}
}
