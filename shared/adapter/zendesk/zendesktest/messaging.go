package zendesktest

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"maps"
	"math"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"github.com/sellchat/sellchat/shared/adapter/zendesk"
)

// Zendesk messaging as a Support agent sees it: a conversation on WhatsApp, web
// messaging… that reached an agent is a ticket whose via.channel names the channel,
// whose requester is a Support end user with email and phone identities, and whose
// transcript is the ticket's conversation log
// (https://developer.zendesk.com/api-reference/ticketing/tickets/conversation_log/).
// The sandbox serves the three reads (the ticket, the requester's identities, the
// conversation log with its own rate limit) and makes such tickets with
// AddMessagingTicket or POST /sandbox/messaging, firing the triggers as solving does.
// Chat tickets (chats naming a zendesk_ticket_id) are not tickets here: reading one
// through the Tickets API answers 404.

// Limits of a conversation posted to the sandbox.
const (
	MaxMessages      = 200
	MaxMessageLength = 4096 // characters
)

// Requester is who a messaging conversation is with. It needs an email or a phone.
type Requester struct {
	Name, Email, Phone string
}

// Message is one message of a messaging conversation: Author is "user" (the
// requester), "agent" or "bot".
type Message struct {
	Author string `json:"author"`
	Text   string `json:"text"`
}

// Messaging is a conversation to turn into a solved messaging ticket: Channel is a via
// channel of zendesk.DefaultMessagingChannels (e.g. "whatsapp").
type Messaging struct {
	Requester Requester `json:"requester"`
	Channel   string    `json:"channel"`
	Messages  []Message `json:"messages"`
}

// ticketRecord is a stored messaging ticket and its conversation log.
type ticketRecord struct {
	zendesk.Ticket
	AssigneeID  int64       `json:"assigneeId,omitempty"`
	SuncoUserID string      `json:"suncoUserId"` // the requester's messaging user
	Version     int         `json:"version"`     // metadata.ticket_version of new events
	Events      []*logEvent `json:"events"`
}

// logEvent is a conversation log event in the documented shape, which holds more than
// the client reads (zendesk.LogEvent).
type logEvent struct {
	ID          string      `json:"id"`
	Type        string      `json:"type"`
	Reference   string      `json:"reference"`
	CreatedAt   time.Time   `json:"created_at"`
	ReceivedAt  *time.Time  `json:"received_at,omitempty"`
	Attachments []any       `json:"attachments"`
	Author      logAuthor   `json:"author"`
	Content     logContent  `json:"content"`
	Metadata    logMetadata `json:"metadata"`
	Source      *logSource  `json:"source,omitempty"`
}

type logAuthor struct {
	DisplayName   string `json:"display_name"`
	Type          string `json:"type"`
	SuncoUserID   string `json:"zen:sunco:user_id,omitempty"`
	SupportUserID int64  `json:"zen:support:user_id"`
}

type logContent struct {
	Type string `json:"type"`
	Text string `json:"text,omitempty"`
	Body string `json:"body,omitempty"`
}

type logMetadata struct {
	Custom        struct{} `json:"custom"`
	Public        bool     `json:"public"`
	System        struct{} `json:"system"`
	TicketVersion int      `json:"ticket_version"`
}

type logSource struct {
	Type string `json:"type"`
}

// botSuncoUserID is the messaging user of the sandbox's bot.
const botSuncoUserID = "5b0c5a7e1d2f3a0022b9c0de"

// sourceTypes are the Sunshine Conversations source types of the channels' end-user
// messages (the SunCo spec's client types); agents write from zd:agentWorkspace and the
// bot from zd:answerBot.
var sourceTypes = map[string]string{
	"native_messaging": "web", "whatsapp": "whatsapp", "instagram_dm": "instagram",
	"sunshine_conversations_facebook_messenger": "messenger", "line": "line", "wechat": "wechat",
	"telegram": "telegram", "viber": "viber", "twilio_sms": "twilio", "messagebird_sms": "messagebird",
	"apple_business_chat": "apple", "google_business_messages": "gbm", "google_rcs": "googlercs",
	"kakaotalk": "kakao", "sunshine_conversations_api": "api", "sunshine_conversations_twitter_dm": "twitter",
}

// --- the API ---------------------------------------------------------------------------

// getTicket answers GET /api/v2/tickets/{id}: {"ticket": {...}}, for agents.
func (s *Sandbox) getTicket(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	if !c.user.IsStaff() || !c.may(zendesk.TicketReadScope) {
		forbidden(w)
		return
	}
	id, ok := pathID(r)
	s.mu.Lock()
	rec := s.st.Tickets[id]
	var t map[string]any
	var people []int64 // requester and assignee, for include=users
	if ok && rec != nil {
		t = ticketJSON(r, rec)
		people = []int64{rec.RequesterID, rec.AssigneeID}
	}
	s.mu.Unlock()
	if t == nil {
		notFound(w)
		return
	}
	body := map[string]any{"ticket": t}
	// Side-loading: include=users adds the ticket's requester and assignee under
	// "users" (https://developer.zendesk.com/documentation/ticketing/using-the-zendesk-api/side_loading/).
	if slices.Contains(strings.Split(r.URL.Query().Get("include"), ","), "users") {
		users := []zendesk.User{}
		for _, uid := range people {
			if u, found := s.User(uid); uid != 0 && found {
				users = append(users, userJSON(r, u))
			}
		}
		body["users"] = users
	}
	writeJSON(w, http.StatusOK, body)
}

// ticketJSON is a ticket as the Tickets API writes it (the fields a messaging ticket
// has; the rest are null or empty).
func ticketJSON(r *http.Request, rec *ticketRecord) map[string]any {
	var assignee any
	if rec.AssigneeID != 0 {
		assignee = rec.AssigneeID
	}
	return map[string]any{
		"url":         baseOf(r) + "/api/v2/tickets/" + strconv.FormatInt(rec.ID, 10) + ".json",
		"id":          rec.ID,
		"external_id": nil,
		"via": map[string]any{"channel": rec.Via.Channel,
			"source": map[string]any{"from": map[string]any{}, "to": map[string]any{}, "rel": nil}},
		"created_at":      rec.CreatedAt,
		"updated_at":      rec.UpdatedAt,
		"type":            nil,
		"subject":         rec.Subject,
		"raw_subject":     rec.Subject,
		"description":     rec.Subject,
		"priority":        nil,
		"status":          rec.Status,
		"requester_id":    rec.RequesterID,
		"submitter_id":    rec.RequesterID,
		"assignee_id":     assignee,
		"organization_id": nil,
		"group_id":        nil,
		"tags":            []string{},
	}
}

// identityJSON is an identity as the User Identities API writes it.
type identityJSON struct {
	URL string `json:"url"`
	zendesk.Identity
	UpdatedAt          string `json:"updated_at"`
	UndeliverableCount int    `json:"undeliverable_count"`
	DeliverableState   string `json:"deliverable_state,omitempty"`
}

// listIdentities answers GET /api/v2/users/{id}/identities: cursor pages with
// page[size] or page[after], else every identity in Zendesk's offset shape. Agents
// read anyone's, an end user their own; a token needs "read"
// (zendesk.IdentitiesNeedBroadRead).
func (s *Sandbox) listIdentities(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	scope := "read"
	if !zendesk.IdentitiesNeedBroadRead {
		scope = "users:read"
	}
	id, ok := pathID(r)
	switch {
	case !c.may(scope):
		forbidden(w)
		return
	case !ok:
		notFound(w)
		return
	case id != c.user.ID && !c.user.IsStaff():
		forbidden(w)
		return
	}
	s.mu.Lock()
	u := s.st.Users[id]
	var ids []*zendesk.Identity
	added := false
	if u != nil {
		added = s.ensureEmailIdentityLocked(u)
		ids = slices.Clone(s.st.Identities[id])
	}
	s.mu.Unlock()
	if u == nil {
		notFound(w)
		return
	}
	if added {
		s.changed()
	}
	all := make([]identityJSON, len(ids))
	for i, x := range ids {
		all[i] = identityJSON{Identity: *x, UpdatedAt: x.CreatedAt,
			URL: baseOf(r) + "/api/v2/users/" + strconv.FormatInt(id, 10) + "/identities/" + strconv.FormatInt(x.ID, 10) + ".json"}
		if x.Type == zendesk.IdentityEmail {
			all[i].DeliverableState = "deliverable"
		}
	}
	q := r.URL.Query()
	if q.Get("page[size]") == "" && q.Get("page[after]") == "" && q.Get("page[before]") == "" {
		writeJSON(w, http.StatusOK, map[string]any{"identities": all, "next_page": nil, "previous_page": nil, "count": len(all)})
		return
	}
	keys := make([]string, len(all))
	for i, x := range all {
		keys[i] = strconv.FormatInt(x.ID, 10)
	}
	p, ok := cursorPage(w, r, "id", keys, nil)
	if ok {
		writeJSON(w, http.StatusOK, map[string]any{"identities": all[p.from:p.to], "links": p.links, "meta": p.meta})
	}
}

// getConversationLog answers GET /api/v2/tickets/{id}/conversation_log for agents:
// cursor pages of at most 100 events, sort=created_at (the default) or -created_at,
// after the conversation log's own rate limit.
func (s *Sandbox) getConversationLog(w http.ResponseWriter, r *http.Request) {
	if !s.allowConversationLog(w) {
		return
	}
	c := callerOf(r)
	if !c.user.IsStaff() || !c.may(zendesk.ConversationLogReadScope) {
		forbidden(w)
		return
	}
	sort := cmp.Or(r.URL.Query().Get("sort"), zendesk.ConversationLogDefaultSort)
	if sort != "created_at" && sort != "-created_at" {
		writeError(w, http.StatusBadRequest, "InvalidValue", "sort must be created_at or -created_at")
		return
	}
	id, ok := pathID(r)
	s.mu.Lock()
	rec := s.st.Tickets[id]
	var events []logEvent
	if ok && rec != nil {
		for _, e := range rec.Events {
			events = append(events, *e)
		}
	}
	s.mu.Unlock()
	if rec == nil {
		notFound(w)
		return
	}
	slices.SortStableFunc(events, func(a, b logEvent) int { return a.CreatedAt.Compare(b.CreatedAt) })
	if sort == "-created_at" {
		slices.Reverse(events)
	}
	keys := make([]string, len(events))
	for i, e := range events {
		keys[i] = e.ID
	}
	p, ok := cursorPage(w, r, sort, keys, url.Values{"sort": {sort}})
	if ok {
		writeJSON(w, http.StatusOK, map[string]any{"events": events[p.from:p.to], "links": p.links, "meta": p.meta})
	}
}

// omnilogLimiter is the limiter key of the conversation log: one per account.
const omnilogLimiter = "omnilog|account"

// allowConversationLog spends one of the conversation log's requests of the minute
// (Options.ConversationLogPerMinute, for the whole account) and reports the allowance
// in Zendesk-RateLimit-omnilog-index, as Zendesk does on every answer of the endpoint;
// when none is left it answers 429 with Retry-After. false means the answer is written.
func (s *Sandbox) allowConversationLog(w http.ResponseWriter) bool {
	perMinute := s.opts.ConversationLogPerMinute
	if perMinute < 0 {
		return true
	}
	burst := max(1, int(perMinute))
	s.mu.Lock()
	lim, ok := s.limiters[omnilogLimiter]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(perMinute/60), burst)
		s.limiters[omnilogLimiter] = lim
	}
	now := s.now()
	allowed := lim.AllowN(now, 1)
	tokens := lim.TokensAt(now)
	var wait time.Duration
	if !allowed {
		res := lim.ReserveN(now, 1)
		wait = max(res.DelayFrom(now), time.Second)
		res.CancelAt(now)
	}
	s.mu.Unlock()
	resets := math.Ceil((float64(burst) - tokens) * 60 / perMinute)
	w.Header().Set(zendesk.ConversationLogRateLimitHeader, fmt.Sprintf("total=%d; remaining=%d; resets=%d",
		burst, max(0, int(math.Floor(tokens))), max(0, int(resets))))
	if allowed {
		return true
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte(zendesk.RateLimitedText))
	return false
}

// cursorPageOf is the window of a list a cursor-paged request asks for, and the links
// and meta of the answer.
type cursorPageOf struct {
	from, to int
	links    struct {
		Next *string `json:"next"`
		Prev *string `json:"prev"`
	}
	meta struct {
		AfterCursor  *string `json:"after_cursor"`
		BeforeCursor *string `json:"before_cursor"`
		HasMore      bool    `json:"has_more"`
	}
}

// cursorPage reads a request's page[size] (1 to 100, 100 when absent), page[after] and
// page[before] over a list whose items have keys, in the order the list is served
// (order names it in the cursors, which are opaque base64 as Zendesk's are), and
// answers 400 when they are wrong
// (https://developer.zendesk.com/api-reference/introduction/pagination/#using-cursor-pagination).
// The links repeat extra (e.g. the sort) and the request's page[size].
func cursorPage(w http.ResponseWriter, r *http.Request, order string, keys []string, extra url.Values) (*cursorPageOf, bool) {
	q := r.URL.Query()
	bad := func(msg string) (*cursorPageOf, bool) {
		writeError(w, http.StatusBadRequest, zendesk.CodeInvalidPagination, msg)
		return nil, false
	}
	size := zendesk.ConversationLogMaxPageSize
	if v := q.Get("page[size]"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > zendesk.ConversationLogMaxPageSize {
			return bad("page[size] must be between 1 and " + strconv.Itoa(zendesk.ConversationLogMaxPageSize))
		}
		size = n
	}
	after, before := q.Get("page[after]"), q.Get("page[before]")
	p := &cursorPageOf{to: min(size, len(keys))}
	switch {
	case after != "" && before != "":
		return bad("page[after] and page[before] cannot be combined")
	case after != "":
		i := cursorIndex(after, order, keys)
		if i < 0 {
			return bad("page[after] is not a cursor of this list")
		}
		p.from, p.to = i+1, min(i+1+size, len(keys))
		p.meta.HasMore = p.to < len(keys)
	case before != "":
		i := cursorIndex(before, order, keys)
		if i < 0 {
			return bad("page[before] is not a cursor of this list")
		}
		p.from, p.to = max(0, i-size), i
		p.meta.HasMore = p.from > 0
	default:
		p.meta.HasMore = p.to < len(keys)
	}
	if p.from >= p.to {
		p.from, p.to = 0, 0
		return p, true
	}
	ac, bc := encodeCursor(order, keys[p.to-1]), encodeCursor(order, keys[p.from])
	p.meta.AfterCursor, p.meta.BeforeCursor = &ac, &bc
	link := func(param, cursor string) *string {
		v := url.Values{param: {cursor}}
		maps.Copy(v, extra)
		if q.Get("page[size]") != "" {
			v.Set("page[size]", q.Get("page[size]"))
		}
		s := baseOf(r) + r.URL.Path + "?" + v.Encode()
		return &s
	}
	p.links.Next, p.links.Prev = link("page[after]", ac), link("page[before]", bc)
	return p, true
}

// encodeCursor is the opaque cursor of key in a list of that order.
func encodeCursor(order, key string) string {
	b, _ := json.Marshal(map[string]string{"o": order, "v": key})
	return base64.StdEncoding.EncodeToString(b)
}

// cursorIndex is the position of a cursor's key in keys; -1 when the cursor is not one
// of this list in this order.
func cursorIndex(cursor, order string, keys []string) int {
	b, err := base64.StdEncoding.DecodeString(cursor)
	var c struct{ O, V string }
	if err != nil || json.Unmarshal(b, &c) != nil || c.O != order {
		return -1
	}
	return slices.Index(keys, c.V)
}

// --- making conversations --------------------------------------------------------------

// invalidMessaging says what is wrong with a conversation to add ("" when nothing).
func invalidMessaging(m Messaging) string {
	switch {
	case !zendesk.IsMessaging(m.Channel, nil):
		return "channel must be a messaging channel: " + strings.Join(zendesk.DefaultMessagingChannels, ", ")
	case strings.TrimSpace(m.Requester.Email) == "" && strings.TrimSpace(m.Requester.Phone) == "":
		return "the requester needs an email or a phone"
	case m.Requester.Email != "" && !isEmail(m.Requester.Email):
		return "requester.email must be an email address"
	case len(m.Messages) < 1 || len(m.Messages) > MaxMessages:
		return "messages must hold 1 to " + strconv.Itoa(MaxMessages) + " messages"
	}
	return invalidMessages(m.Messages)
}

// invalidMessages says what is wrong with messages ("" when nothing).
func invalidMessages(msgs []Message) string {
	for i, msg := range msgs {
		at := "messages[" + strconv.Itoa(i) + "]"
		switch {
		case msg.Author != zendesk.AuthorUser && msg.Author != zendesk.AuthorAgent && msg.Author != zendesk.AuthorBot:
			return at + ".author must be user, agent or bot"
		case strings.TrimSpace(msg.Text) == "":
			return at + ".text must not be empty"
		case utf8.RuneCountInString(msg.Text) > MaxMessageLength:
			return at + ".text must be at most " + strconv.Itoa(MaxMessageLength) + " characters"
		}
	}
	return ""
}

func isEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == strings.TrimSpace(s)
}

// AddMessagingTicket stores m as a messaging ticket that has just been solved, and
// runs the triggers as SolveTicket does. The requester is the end user of m's email
// (a new one when there is none, or when m has only a phone: Zendesk makes a new user
// for a new WhatsApp number), with email and phone_number identities for what m
// gives. The conversation log holds one Messaging::ConversationMessage per message,
// one second apart and ending a second ago, and the internal "Conversation with …"
// note Zendesk adds to a messaging ticket; agent messages are written by the
// account's first agent, bot messages by a bot (zen:support:user_id -1). It panics
// when m is invalid (see POST /sandbox/messaging for the rules): a test helper.
func (s *Sandbox) AddMessagingTicket(m Messaging) (ticketID int64) {
	id, _, err := s.addMessaging(context.Background(), m)
	if err != nil {
		panic("zendesktest: AddMessagingTicket: " + err.Error())
	}
	return id
}

// ReopenAndSolve appends more messages to a messaging ticket, as a requester writing
// again before the ticket is closed reopens it, then solves it again and runs the
// triggers (SolveTicket). It returns the deliveries; nil when no messaging ticket has
// that id. It panics when a message is invalid: a test helper.
func (s *Sandbox) ReopenAndSolve(ctx context.Context, ticketID int64, more []Message) []Delivery {
	if msg := invalidMessages(more); msg != "" {
		panic("zendesktest: ReopenAndSolve: " + msg)
	}
	s.mu.Lock()
	rec := s.st.Tickets[ticketID]
	if rec == nil {
		s.mu.Unlock()
		return nil
	}
	rec.Status, rec.Version = "open", rec.Version+1
	at := s.now().UTC().Truncate(time.Second).Add(-time.Duration(len(more)) * time.Second)
	if n := len(rec.Events); n > 0 {
		at = maxTime(at, rec.Events[n-1].CreatedAt.Add(time.Second))
	}
	s.appendMessagesLocked(rec, more, at)
	rec.UpdatedAt = s.now().UTC().Truncate(time.Second)
	s.mu.Unlock()
	s.changed()
	return s.SolveTicket(ctx, ticketID)
}

// Reopen sets a messaging ticket back to open, as a requester writing again does,
// without running the triggers: the ticket waits for an agent to solve it again.
// False when no messaging ticket has that id.
func (s *Sandbox) Reopen(ticketID int64) bool {
	s.mu.Lock()
	rec := s.st.Tickets[ticketID]
	if rec != nil {
		rec.Status, rec.UpdatedAt = "open", s.now().UTC().Truncate(time.Second)
	}
	s.mu.Unlock()
	if rec != nil {
		s.changed()
	}
	return rec != nil
}

// addMessaging validates m, stores its ticket and runs the triggers.
func (s *Sandbox) addMessaging(ctx context.Context, m Messaging) (int64, []Delivery, error) {
	if msg := invalidMessaging(m); msg != "" {
		return 0, nil, errors.New(msg)
	}
	s.mu.Lock()
	now := s.now().UTC().Truncate(time.Second)
	u := s.requesterLocked(m.Requester, now)
	start := now.Add(-time.Duration(len(m.Messages)) * time.Second)
	rec := &ticketRecord{Ticket: zendesk.Ticket{ID: s.newIDLocked(), Status: "solved", RequesterID: u.ID,
		Subject: "Conversation with " + u.Name, Via: zendesk.TicketVia{Channel: m.Channel},
		CreatedAt: start, UpdatedAt: now}, SuncoUserID: randomHex(12)}
	s.appendMessagesLocked(rec, m.Messages[:1], start)
	// The note Zendesk adds when the conversation becomes a ticket, after its first message.
	rec.Events = append(rec.Events, &logEvent{ID: ulid(start), Type: zendesk.LogComment,
		Reference: "zen:ticket_event:" + strconv.FormatInt(s.newIDLocked(), 10), CreatedAt: start, Attachments: []any{},
		Author:   logAuthor{DisplayName: u.Name, Type: zendesk.AuthorUser, SuncoUserID: rec.SuncoUserID, SupportUserID: u.ID},
		Content:  logContent{Type: "html", Body: `<div class="zd-comment" dir="auto"><p dir="auto">Conversation with ` + html.EscapeString(u.Name) + `</p></div>`},
		Metadata: logMetadata{Public: false}})
	s.appendMessagesLocked(rec, m.Messages[1:], start.Add(time.Second))
	s.st.Tickets[rec.ID] = rec
	s.mu.Unlock()
	s.changed()
	return rec.ID, s.SolveTicket(ctx, rec.ID), nil
}

// appendMessagesLocked adds msgs to rec's log, one second apart from at.
func (s *Sandbox) appendMessagesLocked(rec *ticketRecord, msgs []Message, at time.Time) {
	requester := s.st.Users[rec.RequesterID]
	for i, msg := range msgs {
		t := at.Add(time.Duration(i) * time.Second)
		e := &logEvent{ID: ulid(t), Type: zendesk.LogConversationMessage, CreatedAt: t, ReceivedAt: &t,
			Reference: "zen:sunco:conversation_message:" + randomHex(12), Attachments: []any{},
			Content:  logContent{Type: "text", Text: msg.Text},
			Metadata: logMetadata{Public: true, TicketVersion: rec.Version}}
		switch msg.Author {
		case zendesk.AuthorUser:
			e.Author = logAuthor{Type: zendesk.AuthorUser, SuncoUserID: rec.SuncoUserID, SupportUserID: rec.RequesterID}
			if requester != nil {
				e.Author.DisplayName = requester.Name
			}
			e.Source = &logSource{Type: cmp.Or(sourceTypes[rec.Via.Channel], "web")}
		case zendesk.AuthorAgent:
			e.Author = logAuthor{Type: zendesk.AuthorAgent}
			if a := s.agentLocked(); a != nil {
				e.Author.DisplayName, e.Author.SupportUserID = a.Name, a.ID
				rec.AssigneeID = cmp.Or(rec.AssigneeID, a.ID)
			}
			e.Source = &logSource{Type: "zd:agentWorkspace"}
		default:
			e.Author = logAuthor{Type: zendesk.AuthorBot, DisplayName: "Answer Bot", SuncoUserID: botSuncoUserID, SupportUserID: -1}
			e.Source = &logSource{Type: "zd:answerBot"}
		}
		rec.Events = append(rec.Events, e)
	}
}

// requesterLocked returns the end user of r's email, or a new one, with identities for
// r's email and phone.
func (s *Sandbox) requesterLocked(r Requester, now time.Time) *zendesk.User {
	email, phone := strings.TrimSpace(r.Email), strings.TrimSpace(r.Phone)
	var u *zendesk.User
	if email != "" {
		u = s.userByEmailLocked(email)
	}
	if u != nil {
		s.ensureEmailIdentityLocked(u)
	} else {
		// A new user's email comes from the conversation (a form, the channel): unverified.
		u = &zendesk.User{ID: s.newIDLocked(), Name: cmp.Or(strings.TrimSpace(r.Name), email, phone), Email: email,
			Role: zendesk.RoleEndUser, Active: true, CreatedAt: now.Format(time.RFC3339), UpdatedAt: now.Format(time.RFC3339)}
		s.st.Users[u.ID] = u
	}
	if email != "" {
		s.addIdentityLocked(u.ID, zendesk.IdentityEmail, email, false)
	}
	if phone != "" {
		s.addIdentityLocked(u.ID, zendesk.IdentityPhone, phone, false)
	}
	return u
}

// ensureEmailIdentityLocked gives a user with an email its verified primary email
// identity, which every such Zendesk user has; true when it was missing.
func (s *Sandbox) ensureEmailIdentityLocked(u *zendesk.User) bool {
	return u.Email != "" && s.addIdentityLocked(u.ID, zendesk.IdentityEmail, u.Email, true)
}

// addIdentityLocked adds an identity unless the user has it (false then); the first of
// its type is primary.
func (s *Sandbox) addIdentityLocked(userID int64, typ, value string, verified bool) bool {
	ids := s.st.Identities[userID]
	if slices.ContainsFunc(ids, func(x *zendesk.Identity) bool { return x.Type == typ && strings.EqualFold(x.Value, value) }) {
		return false
	}
	primary := !slices.ContainsFunc(ids, func(x *zendesk.Identity) bool { return x.Type == typ })
	s.st.Identities[userID] = append(ids, &zendesk.Identity{ID: s.newIDLocked(), UserID: userID, Type: typ, Value: value,
		Verified: verified, Primary: primary, CreatedAt: s.now().UTC().Truncate(time.Second).Format(time.RFC3339)})
	return true
}

// agentLocked is who answers as "agent": the first active agent by id, else the first
// active admin.
func (s *Sandbox) agentLocked() *zendesk.User {
	var admin *zendesk.User
	for _, id := range slices.Sorted(maps.Keys(s.st.Users)) {
		u := s.st.Users[id]
		switch {
		case !u.Active || !u.IsStaff():
		case u.Role == zendesk.RoleAgent:
			return u
		case admin == nil:
			admin = u
		}
	}
	return admin
}

// solveForTriggers marks a stored messaging ticket solved and returns the via_id the
// triggers see for ticket: the channel's for a messaging ticket, zendesk.ViaChat when
// a stored chat names it, "" otherwise.
func (s *Sandbox) solveForTriggers(ticket int64) string {
	s.mu.Lock()
	rec := s.st.Tickets[ticket]
	if rec != nil {
		rec.Status, rec.UpdatedAt = "solved", s.now().UTC().Truncate(time.Second)
	}
	s.mu.Unlock()
	if rec != nil {
		s.changed()
		via, _ := zendesk.ViaID(rec.Via.Channel)
		return via
	}
	if len(s.ticketChats(ticket)) > 0 {
		return zendesk.ViaChat
	}
	return ""
}

// Ticket returns a stored messaging ticket.
func (s *Sandbox) Ticket(id int64) (zendesk.Ticket, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec := s.st.Tickets[id]; rec != nil {
		return rec.Ticket, true
	}
	return zendesk.Ticket{}, false
}

// postMessaging answers POST /sandbox/messaging (local only): AddMessagingTicket over
// HTTP, 201 with the ticket id and the deliveries of the triggers it fired.
func (s *Sandbox) postMessaging(w http.ResponseWriter, r *http.Request) {
	var m Messaging
	// 200 messages of 4096 characters, 4 bytes each at most, and some JSON around them.
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&m); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidValue", "the body must be a JSON conversation: "+err.Error())
		return
	}
	id, ds, err := s.addMessaging(r.Context(), m)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidValue", err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"ticketId": id, "deliveries": ds})
}

// ulid is a ULID of t (48 bits of milliseconds, 80 random bits, in Crockford's
// base32), the kind of id conversation log events have.
func ulid(t time.Time) string {
	const digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	out := make([]byte, 26)
	for i := 25; i >= 0; i-- {
		out[i] = digits[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
