package settings_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sellchat/sellchat/shared/handler/settings"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

func TestTheRedactionPreviewShowsWhatWouldBeStoredAndStoresNothing(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	h := settings.New(env.AdminDeps())
	tok := env.Token(t, "acme", auth.RoleAdmin)
	preview := func(body string) apptest.Response {
		return apptest.Do(t, h, apptest.Request{Method: "POST", Path: "/redaction/preview", Token: tok, Body: body})
	}
	var got struct {
		Text   string
		Counts map[string]int
	}
	res := preview(`{"text":"card 4111 1111 1111 1111, acct ACC-123456"}`)
	res.JSON(t, &got)
	if res.Status != 200 || got.Text != "card •••• 1111, acct ACC-123456" || got.Counts["card_number"] != 1 {
		t.Fatalf("saved rules: %d %s", res.Status, res.Body)
	}
	got.Counts = nil
	res = preview(`{"text":"card 4111 1111 1111 1111, acct ACC-123456","redaction":{"cardNumbers":false,"patterns":[{"name":"acct","pattern":"ACC-\\d{6}"}]}}`)
	res.JSON(t, &got)
	if res.Status != 200 || got.Text != "card 4111 1111 1111 1111, acct ••••" || got.Counts["acct"] != 1 || got.Counts["card_number"] != 0 {
		t.Fatalf("rules in the body: %d %s", res.Status, res.Body)
	}
	for _, c := range []struct {
		name, body, field, code string
		status                  int
	}{
		{"a pattern that does not compile", `{"text":"x","redaction":{"patterns":[{"name":"bad","pattern":"("}]}}`, "redaction.patterns[0].pattern", "invalid_pattern", 422},
		{"no text", `{}`, "text", "required", 422},
		{"too much text", `{"text":"` + strings.Repeat("a", 17<<10) + `"}`, "text", "invalid_value", 422},
		{"not JSON", `text=1`, "", "malformed_json", 400},
	} {
		res := preview(c.body)
		if res.Status != c.status || res.ErrorCode() != c.code || (c.field != "" && !strings.Contains(string(res.Body), `"field":"`+c.field+`"`)) {
			t.Errorf("%s: %d %s", c.name, res.Status, res.Body)
		}
	}
	if _, v, _ := env.Deps.Store.Settings(context.Background(), "acme"); v != 0 {
		t.Errorf("a preview saved the settings (version %d)", v)
	}
	if res := apptest.Do(t, h, apptest.Request{Method: "POST", Path: "/redaction/preview", Token: env.Token(t, "acme", auth.RoleAgent), Body: `{"text":"x"}`}); res.Status != 403 {
		t.Errorf("an agent: %d", res.Status)
	}
}
