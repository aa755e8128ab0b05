package panel_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/domain/widgets"
	"github.com/sellchat/sellchat/shared/handler/panel"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// Sell bounds neither how many leads share an email nor how long a description
// is: a lookup of such a visitor must still fit in Lambda's 6 MB response.
func TestALookupAnswerStaysWithinItsByteBound(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.Connect(t, "acme")
	setAccess(t, env, settings.AccessAllAgents)
	ctx := context.Background()
	keys := append(widgets.Defaults(widgets.Lead), "description")
	if _, err := env.Deps.Store.SaveDraft(ctx, "acme", widgets.Lead, keys, "1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Deps.Store.Publish(ctx, "acme", widgets.Lead, "1", time.Now()); err != nil {
		t.Fatal(err)
	}
	// 100 leads (one page of Sell's search) of 20 KB each: 2 MB of descriptions,
	// quotes and angle brackets included, which escaping makes grow.
	long := strings.Repeat(`"<quoted>" `, 20_000/11)
	const leads = 100
	for i := range leads {
		env.Sell.AddLead(sell.Lead{FirstName: "Many", LastName: fmt.Sprint(i), Email: "many@example.com", Description: long})
	}
	tok := agent(t, env)

	t.Run("at the real bound every value is cut and the answer fits", func(t *testing.T) {
		out, res := lookup(t, env, "email=many@example.com", tok)
		if res.Status != 200 || len(out.Matches)+out.Omitted != leads {
			t.Fatalf("%d: %d matches, %d omitted", res.Status, len(out.Matches), out.Omitted)
		}
		if n := httpx.LambdaBytes(res.Body); n > httpx.MaxAnswerBytes {
			t.Fatalf("the answer takes %d bytes in the Lambda response, over %d", n, httpx.MaxAnswerBytes)
		}
		for _, m := range out.Matches {
			if !hasFieldPrefix(m, "description", `"<quoted>"`) {
				t.Fatalf("match %d lost its description: %+v", m.ID, m.Fields)
			}
			for _, f := range m.Fields {
				if len(f.Value) > panel.MaxValueBytes {
					t.Fatalf("a value of %d bytes", len(f.Value))
				}
			}
		}
	})
	t.Run("under a small bound the first matches are shown and the rest counted", func(t *testing.T) {
		const max = 40 << 10
		res := apptest.Do(t, panel.NewWithMaxBytes(env.PanelDeps(), max), apptest.Request{Method: "GET", Path: "/panel?email=many@example.com", Token: tok})
		var out panel.Lookup
		res.JSON(t, &out)
		if res.Status != 200 || len(out.Matches) == 0 || out.Omitted == 0 || len(out.Matches)+out.Omitted != leads {
			t.Fatalf("%d: %d matches, %d omitted", res.Status, len(out.Matches), out.Omitted)
		}
		if n := httpx.LambdaBytes(res.Body); n > max {
			t.Fatalf("%d bytes over the bound of %d", n, max)
		}
	})
}

func hasFieldPrefix(m panel.Match, key, prefix string) bool {
	for _, f := range m.Fields {
		if f.Key == key && strings.HasPrefix(f.Value, prefix) && strings.HasSuffix(f.Value, "…") {
			return true
		}
	}
	return false
}
