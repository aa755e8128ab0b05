package settings

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
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
