package apptest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// SupportAnswer is the JSON answer of the Zendesk Support webhook route
// (POST /webhooks/zendesk/{account}, chatwebhook's), as tests read it. It lives
// here because the chatwebhook, transcripts and chatpoll tests all post to that
// route and read the same answer.
type SupportAnswer struct {
	TicketID int64
	Status   string
	Reason   string
	Chats    []struct {
		ChatID    string
		Status    string
		Duplicate bool
		Revised   bool
	}
}

// NotifySupport posts body to account's Support webhook route on h, signed by the
// env's Zendesk sandbox with secret as Zendesk's webhook would, and returns the
// recorded answer with, when it is a 202, its JSON decoded (a 202 whose body does
// not decode fails the test).
func (e *Env) NotifySupport(t testing.TB, h http.Handler, account, secret, body string) (*httptest.ResponseRecorder, SupportAnswer) {
	t.Helper()
	req, err := e.Zendesk.WebhookRequest(context.Background(), "https://sellchat.test/webhooks/zendesk/"+account, secret, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var a SupportAnswer
	if w.Code == http.StatusAccepted {
		if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
			t.Fatalf("decode the webhook's answer %s: %v", w.Body, err)
		}
	}
	return w, a
}

// Getter returns a function that serves an unauthenticated GET of a path with h:
// how the tests of a function's public page (its HTML and its asset files) fetch
// them, without a token as a browser loading the page would.
func Getter(t testing.TB, h http.Handler) func(path string) Response {
	return func(path string) Response {
		t.Helper()
		return Do(t, h, Request{Method: "GET", Path: path})
	}
}
