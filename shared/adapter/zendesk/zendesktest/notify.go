package zendesktest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/zendesk"
)

// The Webhooks and Triggers APIs as far as sellchat uses them, the Chat API's chat read
// and search, and a local-only "solve this ticket", which runs the triggers the way
// Zendesk does when an agent solves a chat ticket in Agent Workspace: each active
// trigger whose conditions hold calls its webhook, signed with the webhook's secret.

// webhookRecord is a stored webhook and its signing secret.
type webhookRecord struct {
	zendesk.Webhook
	Secret string `json:"secret"`
}

// Delivery is one webhook call a solved ticket made.
type Delivery struct {
	WebhookID string `json:"webhookId"`
	TriggerID int64  `json:"triggerId"`
	Endpoint  string `json:"endpoint"`
	Status    int    `json:"status"` // the endpoint's answer; 0 when it could not be reached
	Error     string `json:"error,omitempty"`
}

var webhookMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// readBody decodes a JSON body of at most 256 KB (a webhook payload's limit) into v,
// answering 400 when it cannot.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, 256<<10)).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidValue", "the body must be JSON: "+err.Error())
		return false
	}
	return true
}

// postWebhook answers POST /api/v2/webhooks: 201 with the webhook and its new id.
func (s *Sandbox) postWebhook(w http.ResponseWriter, r *http.Request) {
	if !requireAdmin(w, callerOf(r), "webhooks:write") {
		return
	}
	var env struct {
		Webhook *zendesk.Webhook `json:"webhook"`
	}
	if !readBody(w, r, &env) {
		return
	}
	if msg := invalidWebhook(env.Webhook); msg != "" {
		writeError(w, http.StatusBadRequest, "InvalidValue", msg)
		return
	}
	s.mu.Lock()
	wh := *env.Webhook
	wh.ID = "01SB" + strconv.FormatInt(s.newIDLocked(), 10)
	s.st.Webhooks[wh.ID] = &webhookRecord{Webhook: wh, Secret: randomHex(24)}
	s.mu.Unlock()
	s.changed()
	writeJSON(w, http.StatusCreated, map[string]any{"webhook": wh})
}

// invalidWebhook says what is wrong with a webhook to create ("" when nothing): the
// Webhooks API's mandatory fields and their allowed values.
func invalidWebhook(wh *zendesk.Webhook) string {
	switch {
	case wh == nil:
		return "webhook is required"
	case wh.Name == "":
		return "name is required"
	case wh.Status != "active" && wh.Status != "inactive":
		return "status must be active or inactive"
	case !slices.Contains(webhookMethods, wh.HTTPMethod):
		return "http_method must be one of GET, POST, PUT, PATCH, DELETE"
	case !slices.Contains([]string{"json", "xml", "form_encoded"}, wh.RequestFormat):
		return "request_format must be json, xml or form_encoded"
	}
	u, err := url.Parse(wh.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "endpoint must be an absolute URL"
	}
	return ""
}

// webhookOf finds the webhook of the path's {id}, answering 404 when there is none.
func (s *Sandbox) webhookOf(w http.ResponseWriter, r *http.Request) (webhookRecord, bool) {
	if !requireAdmin(w, callerOf(r), "webhooks:read") {
		return webhookRecord{}, false
	}
	s.mu.Lock()
	rec, ok := s.st.Webhooks[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		notFound(w)
		return webhookRecord{}, false
	}
	return *rec, true
}

// getWebhook answers GET /api/v2/webhooks/{id}.
func (s *Sandbox) getWebhook(w http.ResponseWriter, r *http.Request) {
	if rec, ok := s.webhookOf(w, r); ok {
		writeJSON(w, http.StatusOK, map[string]any{"webhook": rec.Webhook})
	}
}

// getSigningSecret answers GET /api/v2/webhooks/{id}/signing_secret.
func (s *Sandbox) getSigningSecret(w http.ResponseWriter, r *http.Request) {
	if rec, ok := s.webhookOf(w, r); ok {
		writeJSON(w, http.StatusOK, map[string]any{"signing_secret": map[string]string{"algorithm": "SHA256", "secret": rec.Secret}})
	}
}

// deleteWebhook answers DELETE /api/v2/webhooks/{id}: 204.
func (s *Sandbox) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.webhookOf(w, r); ok {
		s.mu.Lock()
		delete(s.st.Webhooks, r.PathValue("id"))
		s.mu.Unlock()
		s.changed()
		w.WriteHeader(http.StatusNoContent)
	}
}

// postTrigger answers POST /api/v2/triggers: 201 with the trigger and its new id. A
// notification_webhook action must name a webhook that exists.
func (s *Sandbox) postTrigger(w http.ResponseWriter, r *http.Request) {
	if !requireAdmin(w, callerOf(r), "triggers:write") {
		return
	}
	var env struct {
		Trigger *zendesk.Trigger `json:"trigger"`
	}
	if !readBody(w, r, &env) {
		return
	}
	t := env.Trigger
	if t == nil || t.Title == "" || len(t.Actions) == 0 || len(t.Conditions.All)+len(t.Conditions.Any) == 0 {
		writeError(w, http.StatusBadRequest, "InvalidValue", "a trigger needs a title, conditions and actions")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range t.Actions {
		if a.Field != zendesk.TriggerWebhookAction {
			continue
		}
		if id, _, ok := webhookAction(a); !ok || s.st.Webhooks[id] == nil {
			writeError(w, http.StatusUnprocessableEntity, "RecordInvalid", "notification_webhook must name an existing webhook and a body")
			return
		}
	}
	t.ID = s.newIDLocked()
	s.st.Triggers[t.ID] = t
	defer s.changed()
	writeJSON(w, http.StatusCreated, map[string]any{"trigger": t})
}

// webhookAction reads a notification_webhook action's [webhook id, body].
func webhookAction(a zendesk.Action) (id, body string, ok bool) {
	var pair []string
	b, _ := json.Marshal(a.Value)
	if json.Unmarshal(b, &pair) != nil || len(pair) != 2 || pair[0] == "" {
		return "", "", false
	}
	return pair[0], pair[1], true
}

// triggerOf finds the trigger of the path's {id}, answering 404 when there is none.
func (s *Sandbox) triggerOf(w http.ResponseWriter, r *http.Request) (*zendesk.Trigger, bool) {
	if !requireAdmin(w, callerOf(r), "triggers:read") {
		return nil, false
	}
	id, ok := pathID(r)
	s.mu.Lock()
	t := s.st.Triggers[id]
	s.mu.Unlock()
	if !ok || t == nil {
		notFound(w)
		return nil, false
	}
	return t, true
}

// getTrigger answers GET /api/v2/triggers/{id}.
func (s *Sandbox) getTrigger(w http.ResponseWriter, r *http.Request) {
	if t, ok := s.triggerOf(w, r); ok {
		writeJSON(w, http.StatusOK, map[string]any{"trigger": t})
	}
}

// deleteTrigger answers DELETE /api/v2/triggers/{id}: 204.
func (s *Sandbox) deleteTrigger(w http.ResponseWriter, r *http.Request) {
	if t, ok := s.triggerOf(w, r); ok {
		s.mu.Lock()
		delete(s.st.Triggers, t.ID)
		s.mu.Unlock()
		s.changed()
		w.WriteHeader(http.StatusNoContent)
	}
}

// Webhooks returns the webhooks created through the API.
func (s *Sandbox) Webhooks() []zendesk.Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []zendesk.Webhook
	for _, rec := range s.st.Webhooks {
		out = append(out, rec.Webhook)
	}
	slices.SortFunc(out, func(a, b zendesk.Webhook) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Triggers returns the triggers created through the API.
func (s *Sandbox) Triggers() []zendesk.Trigger {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []zendesk.Trigger
	for _, t := range s.st.Triggers {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b zendesk.Trigger) int { return int(a.ID - b.ID) })
	return out
}

// WebhookSecret returns webhook id's signing secret ("" when there is no such webhook).
func (s *Sandbox) WebhookSecret(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.st.Webhooks[id]; ok {
		return rec.Secret
	}
	return ""
}

// getChat answers GET /api/v2/chat/chats/{id}: the whole chat.
func (s *Sandbox) getChat(w http.ResponseWriter, r *http.Request) {
	if !requireAdmin(w, callerOf(r), "read") {
		return
	}
	s.mu.Lock()
	rec, ok := s.st.Chats[strings.TrimSuffix(r.PathValue("id"), ".json")]
	s.mu.Unlock()
	if !ok {
		notFound(w)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(rec.Raw)
}

// searchChats answers GET /api/v2/chat/chats/search?q=zendesk_ticket_id:<n>, the one
// query sellchat makes (assumptions.go); others are refused rather than answered wrong.
func (s *Sandbox) searchChats(w http.ResponseWriter, r *http.Request) {
	if !requireAdmin(w, callerOf(r), "read") {
		return
	}
	n, ok := strings.CutPrefix(r.URL.Query().Get("q"), zendesk.ChatTicketSearchField+":")
	ticket, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil {
		writeError(w, http.StatusBadRequest, "InvalidValue", "the sandbox's chat search understands only "+zendesk.ChatTicketSearchField+":<ticket id>")
		return
	}
	results := []map[string]any{}
	for _, ch := range s.ticketChats(ticket) {
		results = append(results, map[string]any{"id": ch.ID, "type": ch.Type,
			"url": baseOf(r) + zendesk.ChatPath + ch.ID, "timestamp": ch.UpdateTimestamp.Format(zendesk.ChatTimestampLayout)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results, "count": len(results), "next_url": nil})
}

// ticketChats returns the stored chats whose zendesk_ticket_id is ticket.
func (s *Sandbox) ticketChats(ticket int64) []zendesk.ExportedChat {
	var out []zendesk.ExportedChat
	for _, ch := range s.Chats() {
		var f struct {
			Ticket json.Number `json:"zendesk_ticket_id"`
		}
		if json.Unmarshal(ch.Raw, &f) == nil && f.Ticket.String() == strconv.FormatInt(ticket, 10) {
			out = append(out, ch)
		}
	}
	return out
}

// SolveTicket solves ticket as an agent would, and runs the triggers: every active one
// whose conditions all hold calls its webhooks, with the body's {{ticket.id}} filled
// in, signed with the webhook's secret. The sandbox knows two conditions, "status
// changed to solved" (true: the ticket is being solved) and "via_id is <n>" (true when
// n is 29 and a stored chat names the ticket, or n is the via id of a stored messaging
// ticket's channel, zendesk.ViaID); a trigger with any other condition does not fire.
// Calls are made one after another, before SolveTicket returns (Zendesk queues them).
func (s *Sandbox) SolveTicket(ctx context.Context, ticket int64) []Delivery {
	via := s.solveForTriggers(ticket)
	type call struct {
		trigger int64
		hook    webhookRecord
		body    string
	}
	var calls []call
	s.mu.Lock()
	for _, t := range s.st.Triggers {
		if !t.Active || !conditionsHold(t.Conditions, via) {
			continue
		}
		for _, a := range t.Actions {
			id, body, ok := webhookAction(a)
			if rec := s.st.Webhooks[id]; a.Field == zendesk.TriggerWebhookAction && ok && rec != nil && rec.Status == "active" {
				calls = append(calls, call{t.ID, *rec, strings.ReplaceAll(body, "{{ticket.id}}", strconv.FormatInt(ticket, 10))})
			}
		}
	}
	s.mu.Unlock()
	slices.SortFunc(calls, func(a, b call) int { return int(a.trigger - b.trigger) })
	out := make([]Delivery, 0, len(calls))
	for _, c := range calls {
		d := Delivery{WebhookID: c.hook.ID, TriggerID: c.trigger, Endpoint: c.hook.Endpoint}
		req, err := s.WebhookRequest(ctx, c.hook.Endpoint, c.hook.Secret, []byte(c.body))
		if err == nil {
			var resp *http.Response
			if resp, err = (&http.Client{Timeout: 30 * time.Second}).Do(req); err == nil {
				d.Status = resp.StatusCode
				resp.Body.Close()
			}
		}
		if err != nil {
			d.Error = err.Error()
		}
		out = append(out, d)
	}
	return out
}

// conditionsHold evaluates a trigger's conditions as far as the sandbox knows them, for
// a ticket of that via_id ("" when the sandbox knows no channel for it).
func conditionsHold(c zendesk.Conditions, via string) bool {
	holds := func(x zendesk.Condition) bool {
		switch {
		case x.Field == "status" && x.Operator == zendesk.TriggerChangedToOperator:
			return x.Value == "solved"
		case x.Field == "via_id" && x.Operator == "is":
			return via != "" && x.Value == via
		}
		return false
	}
	for _, x := range c.All {
		if !holds(x) {
			return false
		}
	}
	return len(c.Any) == 0 || slices.ContainsFunc(c.Any, holds)
}

// postSolveTicket answers POST /sandbox/tickets/{id}/solve (local only): SolveTicket
// over HTTP, 200 with the deliveries.
func (s *Sandbox) postSolveTicket(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		writeError(w, http.StatusBadRequest, "InvalidValue", "the ticket id must be a positive whole number")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ticket_id": id, "deliveries": s.SolveTicket(r.Context(), id)})
}
