package leads_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/handler/leads"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// conflict is a 409's body as the panel reads it.
type conflict struct {
	Error struct {
		Code    string `json:"code"`
		Details struct {
			Matches []struct {
				Type string `json:"type"`
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"matches"`
		} `json:"details"`
	} `json:"error"`
}

// leadsWithEmail counts the sandbox's leads whose email is email in any spelling.
func leadsWithEmail(env *apptest.Env, email string) int {
	n := 0
	for _, l := range env.Sell.Leads() {
		if sell.SameEmail(l.Email, email) {
			n++
		}
	}
	return n
}

// raceLeads sends one POST /leads per body at once, each with its own key.
func raceLeads(t *testing.T, env *apptest.Env, h http.Handler, prefix string, bodies []string) []apptest.Response {
	t.Helper()
	tok := env.AgentToken(t, "acme", "361", "rex@example.com")
	out := make([]apptest.Response, len(bodies))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, body := range bodies {
		wg.Go(func() {
			<-start
			out[i] = apptest.Do(t, h, apptest.Request{Method: "POST", Path: "/leads", Token: tok, Body: body,
				Header: map[string]string{"Idempotency-Key": fmt.Sprintf("%s-%d", prefix, i)}})
		})
	}
	close(start)
	wg.Wait()
	return out
}

// TestConcurrentLeadsForOneNewEmailMakeOneLead: ten requests under ten keys for one
// email Sell does not know yet, spelled with other cases and spaces, arrive at once
// (as when two agents, or a double click with a fresh key, create the same visitor).
// One lead is created; the other nine hear 409 already_exists naming it.
func TestConcurrentLeadsForOneNewEmailMakeOneLead(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.ConnectForAllAgents(t, "acme")
	// Latency on every Sell call keeps the requests overlapping while they search
	// and create, as they do against the real Sell.
	env.Sell.SetFaults(selltest.Faults{Latency: 20 * time.Millisecond})
	const email = "nina.race@example.com"
	spellings := []string{email, "Nina.Race@example.com", "  NINA.RACE@EXAMPLE.COM ", "nina.race@EXAMPLE.com\t", " Nina.Race@Example.Com"}
	var bodies []string
	for i := range 10 {
		bodies = append(bodies, fmt.Sprintf(`{"firstName":"Nina","lastName":"Race %d","email":%q}`, i, spellings[i%len(spellings)]))
	}

	answers := raceLeads(t, env, leads.New(leads.DepsOf(env), nil), "race", bodies)

	if n := leadsWithEmail(env, email); n != 1 {
		t.Fatalf("%d leads in Sell with %s, want 1", n, email)
	}
	var winner leads.Lead
	for _, res := range answers {
		if res.Status == 201 {
			if winner.ID != 0 {
				t.Fatalf("two 201 answers")
			}
			winner = created(t, res)
		}
	}
	if winner.ID == 0 {
		t.Fatal("no 201 answer")
	}
	for _, res := range answers {
		if res.Status == 201 {
			continue
		}
		var c conflict
		res.JSON(t, &c)
		m := c.Error.Details.Matches
		if res.Status != 409 || c.Error.Code != "already_exists" || len(m) != 1 || m[0].Type != "lead" || m[0].ID != winner.ID || m[0].Name != winner.Name {
			t.Fatalf("%d %s; want 409 already_exists naming lead %d %q", res.Status, res.Body, winner.ID, winner.Name)
		}
	}
	// The agent's explicit choice still bypasses the check.
	created(t, post(t, env, "race-anyway", fmt.Sprintf(`{"lastName":"Race","email":%q,"createAnyway":true}`, email), env.AgentToken(t, "acme", "361", "rex@example.com")))
	if n := leadsWithEmail(env, email); n != 2 {
		t.Fatalf("%d leads in Sell with %s after createAnyway, want 2", n, email)
	}
}
