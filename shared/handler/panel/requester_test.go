package panel_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
)

// Beside a ticket, the visitor is the ticket's requester as Zendesk has them, read
// with the account's Zendesk connection: what the browser says of them is not what is
// searched.
func TestBesideATicketTheRequesterIsReadFromZendeskNotFromTheBrowser(t *testing.T) {
	t.Parallel()
	env := signedIn(t)
	tok := agent(t, env)
	ticket := env.Zendesk.AddMessagingTicket(zendesktest.Messaging{
		Requester: zendesktest.Requester{Name: "Vera Visitor", Email: "vera@example.com", Phone: "+14155550100"},
		Channel:   "whatsapp",
		Messages:  []zendesktest.Message{{Author: "user", Text: "Hello"}},
	})
	q := fmt.Sprintf("ticketId=%d&email=liam@example.org&name=Someone+Else", ticket)

	t.Run("without a Zendesk connection the page's details are searched", func(t *testing.T) {
		out, res := lookup(t, env, q, tok)
		if res.Status != http.StatusOK || out.VisitorFrom != "" || out.Visitor.Email != "liam@example.org" {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})

	env.ConnectZendesk(t, "acme")
	t.Run("with one, the ticket's requester is searched and returned", func(t *testing.T) {
		out, res := lookup(t, env, q, tok)
		if res.Status != http.StatusOK || out.VisitorFrom != "ticket" || out.Visitor.Email != "vera@example.com" ||
			out.Visitor.Name != "Vera Visitor" || out.Visitor.Phone != "+14155550100" {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		if len(out.Matches) != 1 || out.Matches[0].ID != selltest.DemoVeraLeadID {
			t.Fatalf("matches %+v", out.Matches)
		}
	})
	t.Run("for a ticket Zendesk does not have, the page's details; a malformed id is a 422", func(t *testing.T) {
		if out, res := lookup(t, env, "ticketId=999999&email=liam@example.org", tok); res.Status != http.StatusOK || out.VisitorFrom != "" || out.Visitor.Email != "liam@example.org" {
			t.Fatalf("unknown ticket: %d %s", res.Status, res.Body)
		}
		for _, bad := range []string{"ticketId=-3", "ticketId=abc", "ticketId=1e9"} {
			if _, res := lookup(t, env, bad+"&email=vera@example.com", tok); res.Status != http.StatusUnprocessableEntity || res.ErrorCode() != "invalid_value" {
				t.Fatalf("%s: %d %s", bad, res.Status, res.Body)
			}
		}
	})
	t.Run("Zendesk failing is a 502, never a 500", func(t *testing.T) {
		env.Zendesk.FailNext(1, http.StatusInternalServerError)
		if _, res := lookup(t, env, q, tok); res.Status != http.StatusBadGateway || res.ErrorCode() != "zendesk_unavailable" {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
}
