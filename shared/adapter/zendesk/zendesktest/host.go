package zendesktest

import (
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"

	"github.com/sellchat/sellchat/shared/adapter/zendesk"
)

// The host page: GET /sandbox/host?app=<url>&product=&location=&user= (local only;
// Zendesk has no such page) plays the Zendesk agent UI around one app location, the
// way Zendesk loads an app with signed URLs:
//
//   - it POSTs the signed token (form field token, ZAFToken) into a named iframe, to the
//     app's URL with ?origin=<this page's origin>&app_guid=<a fresh guid>;
//   - it answers the ZAF SDK's postMessage protocol from the app's origin only: the
//     iframe.handshake with zaf.app.registered ({context, metadata}), iframe.on:<event>
//     subscriptions, and get requests ({id, request:"get", params:[paths]}) with
//     {id, result:{<path>: value, errors:{<path>: {name, message, path}}}};
//   - on chat_sidebar it shows the visitor's details in a form whose "Change visitor"
//     button updates them and fires visitor.email.changed, visitor.phone.changed and
//     visitor.display_name.changed ({key:"zaf.<event>", message:<new value>});
//   - on support's ticket_sidebar (a chat answered in Agent Workspace is a ticket) the
//     same form edits the ticket's requester and fires ticket.requester.id.changed.
//
// What the page answers, by path: currentUser and currentAccount everywhere; on
// chat.chat_sidebar, visitor {display_name, email, phone} and chat.id; on
// support.ticket_sidebar, ticket.requester {id, name, email} and ticket.id; on a Sell card,
// the record's id: lead.id (lead_card), contact.id (person_card, company_card), deal.id
// (deal_card). The protocol was read from the SDK's source (lib/client.js, lib/index.js
// of zendesk_app_framework_sdk); the paths' shapes are the assumptions written in
// docs/zendesk-sandbox.md ("The host page").
//
// Query: app (required: the location's URL, e.g. http://127.0.0.1:8080/apps/panel/),
// product (chat), location (chat_sidebar), user (the owner), email, phone, name and
// chatId (the chat's visitor and id; on ticket_sidebar the requester's), ticketId, record (a Sell card's record id), token (post
// this token instead of signing one: a forged or expired one, to see it refused).

//go:embed host.js
var hostScript string

// hostStyle keeps the frame beside the controls, about the Chat sidebar's size.
const hostStyle = `body{font:14px system-ui,sans-serif;margin:1rem;display:flex;gap:1rem;align-items:flex-start}` +
	`iframe{width:360px;height:720px;border:1px solid #ccc}aside{max-width:28rem}code{word-break:break-all}` +
	`label{display:block;margin:.4rem 0}input{width:100%}#log{font:12px monospace;padding-left:1.2rem}`

// hostCSP allows exactly the page's own inline script and style (by hash), the app's
// origin in the frame and as the form's target, and nothing else.
func hostCSP(appOrigin string) string {
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	return "default-src 'none'; script-src " + hash(hostScript) + "; style-src " + hash(hostStyle) +
		"; frame-src " + appOrigin + "; form-action " + appOrigin + "; base-uri 'none'; frame-ancestors 'none'"
}

var hostTemplate = template.Must(template.New("host").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Zendesk sandbox: {{.Product}}.{{.Location}}</title>
<style>{{.Style}}</style>
</head>
<body data-host="{{.Config}}">
<iframe name="app" id="app" title="{{.Product}}.{{.Location}}"></iframe>
<aside>
<h1>Zendesk sandbox host</h1>
<p><code>{{.Product}}.{{.Location}}</code> as {{.User.Name}} (user {{.User.ID}}, {{.User.Role}}), framing <code>{{.App}}</code>.</p>
<form id="launch" method="post" target="app" action="{{.Action}}"><input type="hidden" name="token" value="{{.Token}}"></form>
{{if .Chat}}<form id="visitor-form">
<h2>{{if .Ticket}}The ticket's requester{{else}}The chat's visitor{{end}}</h2>
<label>Name <input id="visitor-name" name="name" value="{{.Visitor.DisplayName}}"></label>
<label>Email <input id="visitor-email" name="email" value="{{.Visitor.Email}}"></label>
{{if not .Ticket}}<label>Phone <input id="visitor-phone" name="phone" value="{{.Visitor.Phone}}"></label>{{end}}
<button id="visitor-change" type="submit">Change visitor</button>
</form>{{end}}
<h2>Messages</h2>
<ol id="log"></ol>
</aside>
<script>{{.Script}}</script>
</body>
</html>
`))

// hostVisitor is the chat_sidebar's visitor object as the host answers get("visitor").
type hostVisitor struct {
	DisplayName string `json:"display_name"`
	Email       string `json:"email"`
	Phone       string `json:"phone"`
}

// cardRecordPath is the path of a Sell card's record id, by location.
var cardRecordPath = map[string]string{"lead_card": "lead.id", "person_card": "contact.id", "company_card": "contact.id", "deal_card": "deal.id"}

var digits = regexp.MustCompile(`^[0-9]+$`)

// hostQuery is the host page's query, checked.
type hostQuery struct {
	app               *url.URL
	product, location string
	user              int64 // 0: the owner
	visitor           hostVisitor
	chatID, record    string
	ticketID          int64
	token             string // empty: sign one
}

// readHostQuery checks the query; the string says what is wrong with it.
func readHostQuery(q url.Values) (hostQuery, string) {
	h := hostQuery{product: cmp.Or(q.Get("product"), "chat"), location: cmp.Or(q.Get("location"), "chat_sidebar"),
		visitor: hostVisitor{DisplayName: q.Get("name"), Email: q.Get("email"), Phone: q.Get("phone")},
		chatID:  q.Get("chatId"), record: q.Get("record"), token: q.Get("token")}
	var err error
	h.app, err = url.Parse(q.Get("app"))
	switch {
	case err != nil || (h.app.Scheme != "http" && h.app.Scheme != "https") || h.app.Host == "":
		return h, "app must be the absolute http(s) URL of the app's location, e.g. http://127.0.0.1:8080/apps/panel/"
	case !slices.Contains(appProducts, h.product):
		return h, "product must be support, chat or sell"
	case h.record != "" && !digits.MatchString(h.record):
		return h, "record must be a Sell record id"
	}
	if v := q.Get("ticketId"); v != "" {
		if h.ticketID, err = strconv.ParseInt(v, 10, 64); err != nil || h.ticketID <= 0 {
			return h, "ticketId must be a ticket id"
		}
	}
	if v := q.Get("user"); v != "" {
		if h.user, err = strconv.ParseInt(v, 10, 64); err != nil {
			return h, "user must be a user id"
		}
	}
	return h, ""
}

// data is what the page answers get with, by path.
func (h hostQuery) data(user zendesk.User, subdomain string) map[string]any {
	data := map[string]any{
		"currentUser":    map[string]any{"id": user.ID, "name": user.Name, "email": user.Email, "role": user.Role},
		"currentAccount": map[string]string{"subdomain": subdomain},
	}
	if h.chat() {
		data["visitor"] = h.visitor
		if h.chatID != "" {
			data["chat.id"] = h.chatID
		}
	}
	if h.ticket() {
		// The requester as the Support ticket sidebar's get("ticket.requester") answers
		// a user: id, name, email (assumed shape; docs/zendesk-sandbox.md).
		data["ticket.requester"] = map[string]any{"id": requesterID(h.visitor.Email), "name": h.visitor.DisplayName, "email": h.visitor.Email}
		if h.ticketID != 0 {
			data["ticket.id"] = h.ticketID
		}
	}
	if p, ok := cardRecordPath[h.location]; ok && h.product == "sell" && h.record != "" {
		id, _ := strconv.ParseInt(h.record, 10, 64)
		data[p] = id
	}
	return data
}

func (h hostQuery) chat() bool { return h.product == "chat" && h.location == "chat_sidebar" }

func (h hostQuery) ticket() bool { return h.product == "support" && h.location == "ticket_sidebar" }

// requesterID is a stable made-up Support user id for a requester's email: the host
// has no users of its own for visitors.
func requesterID(email string) int64 {
	sum := sha256.Sum256([]byte(email))
	return 900000 + int64(sum[0])<<8 + int64(sum[1])
}

// action is the app's URL with what Zendesk adds to it: origin and app_guid.
func (h hostQuery) action(origin, guid string) string {
	u := *h.app
	q := u.Query()
	q.Set("origin", origin)
	q.Set("app_guid", guid)
	u.RawQuery = q.Encode()
	return u.String()
}

// host answers GET /sandbox/host.
func (s *Sandbox) host(w http.ResponseWriter, r *http.Request) {
	h, bad := readHostQuery(r.URL.Query())
	if bad != "" {
		writeError(w, http.StatusBadRequest, "InvalidValue", bad)
		return
	}
	s.mu.Lock()
	var app App // the first installed app, whose key ZAFToken signs with
	hasApp := len(s.st.Apps) > 0
	if hasApp {
		app = s.st.Apps[0].App
	}
	userID := cmp.Or(h.user, s.st.OwnerID)
	s.mu.Unlock()
	user, ok := s.User(userID)
	if !ok || !user.Active || !hasApp {
		writeError(w, http.StatusNotFound, zendesk.CodeNotFound, "no such active user, or no installed app to host")
		return
	}
	token := h.token
	if token == "" {
		token = s.ZAFToken(userID, h.product, h.location)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	guid := randomHex(16)
	config, err := json.Marshal(map[string]any{
		"app":  h.app.String(),
		"data": h.data(user, s.opts.Subdomain),
		"registered": map[string]any{
			"context":  map[string]any{"product": h.product, "location": h.location, "instanceGuid": guid, "account": map[string]string{"subdomain": s.opts.Subdomain}},
			"metadata": map[string]any{"appId": app.ID, "installationId": app.InstallationID, "name": app.Name},
		},
	})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", hostCSP(h.app.Scheme+"://"+h.app.Host))
	w.Header().Set("Cache-Control", "no-store") // it holds a fresh token
	w.Header().Set("Referrer-Policy", "no-referrer")
	_ = hostTemplate.Execute(w, map[string]any{
		"Product": h.product, "Location": h.location, "User": user, "App": h.app.String(),
		"Action": h.action(scheme+"://"+r.Host, guid), "Token": token, "Chat": h.chat() || h.ticket(), "Ticket": h.ticket(), "Visitor": h.visitor,
		"Config": string(config),
		"Script": template.JS(hostScript), "Style": template.CSS(hostStyle), //nolint:gosec // constants of this file
	})
}
