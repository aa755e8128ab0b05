// Package settings serves the routes of the settings function: the admin's settings, the
// integration's elements and the chat webhook's secret, Sell metadata for the page's
// pickers, distribution pools, the widgets' field display, and the settings page
// itself. Every JSON route is for a Zendesk owner or admin of the account named by the
// caller's token; the page's static files are public. In this package's files
// `settings.` names the domain package shared/domain/settings, whose types it serves.
package settings

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sellchat/sellchat/shared/domain/audit"
	"github.com/sellchat/sellchat/shared/platform/trail"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
	"github.com/sellchat/sellchat/shared/platform/webpage"
)

// web holds the settings page: plain HTML, CSS and JavaScript, no build step.
//
//go:embed web
var web embed.FS

// Deps are what the settings routes use, built once by the function's main.
type Deps struct {
	Store    *store.Store
	Vault    *tokens.Vault // the admin's Sell client, for Sell's users and fields
	Box      *secrets.Box  // seals the webhook secret
	Verifier *auth.Verifier
	Logger   *slog.Logger
	// PublicBaseURL is where Zendesk reaches this API (the webhook URL shown to the admin).
	PublicBaseURL string
	// Entry exchanges the token Zendesk posts to the page for a session (the
	// signed-app-token rule); nil answers 503 sessions_not_configured.
	Entry webpage.Exchange
}

type handler struct {
	deps Deps
	now  func() time.Time
}

// New returns the settings function's routes.
func New(d Deps) *httpx.Router {
	h := &handler{deps: d, now: time.Now}
	rt := httpx.NewRouter(d.Logger)
	admin := func(f httpx.HandlerFunc) httpx.HandlerFunc { return d.Verifier.Require(f, auth.Admin...) }
	rt.Handle("GET /settings", admin(h.getSettings))
	rt.Handle("PATCH /settings", admin(h.patchSettings))
	rt.Handle("GET /integration", admin(h.getIntegration))
	rt.Handle("PUT /integration/elements/{name}", admin(h.putElement))
	rt.Handle("PUT /integration/webhook", admin(h.putWebhook))
	rt.Handle("GET /audit", admin(h.getAudit))
	rt.Handle("POST /redaction/preview", admin(h.previewRedaction))
	rt.Handle("GET /sell/users", admin(h.getSellUsers))
	rt.Handle("GET /sell/lead-sources", admin(h.getLeadSources))
	rt.Handle("POST /sell/lead-sources", admin(h.postLeadSource))
	rt.Handle("GET /sell/lead-statuses", admin(h.getLeadStatuses))
	rt.Handle("GET /sell/fields", admin(h.getSellFields))
	rt.Handle("GET /pools", admin(h.getPools))
	rt.Handle("PUT /pools/{sellUserId}", admin(h.putPool))
	rt.Handle("DELETE /pools/{sellUserId}", admin(h.deletePool))
	rt.Handle("GET /widgets/{widget}", admin(h.getWidget))
	rt.Handle("PUT /widgets/{widget}/draft", admin(h.putDraft))
	rt.Handle("GET /widgets/{widget}/preview", admin(h.previewWidget))
	rt.Handle("POST /widgets/{widget}/publish", admin(h.publishWidget))
	// The settings page itself is public: it holds no data and signs its own calls
	// with the admin's token. It lives at /settings/ (where the Sell install returns,
	// /settings/?connected=1); GET /settings stays the settings API above.
	page, _ := fs.Sub(web, "web")
	webpage.Mount(rt, "/settings", page, webpage.FolderOnly(), webpage.Logger(d.Logger), webpage.SignedEntry(d.Entry))
	return rt
}

// settingsView is the settings as the API shows them.
type settingsView struct {
	settings.Settings
	SuperiorManager *settings.SellUser `json:"superiorManager"`
	Version         int64              `json:"version"`
}

func (h *handler) getSettings(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	st, v, err := h.deps.Store.Settings(r.Context(), id.Account)
	if err != nil {
		return err
	}
	in, err := h.deps.Store.Integration(r.Context(), id.Account)
	if err != nil {
		return err
	}
	writeSettings(w, st, in, v, http.StatusOK)
	return nil
}

func (h *handler) patchSettings(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	expected, err := ifMatch(r)
	if err != nil {
		return err
	}
	var patch map[string]json.RawMessage
	if err := httpx.DecodeJSON(r, &patch); err != nil {
		return err
	}
	if patch == nil {
		return &httpx.Error{Status: http.StatusBadRequest, Code: "malformed_json", Message: "The body must be a JSON object."}
	}
	current, version, err := h.deps.Store.Settings(r.Context(), id.Account)
	if err != nil {
		return err
	}
	if version != expected {
		return staleVersion(version)
	}
	next, err := current.Apply(patch)
	if err != nil {
		return fieldError(err)
	}
	if err := h.checkAgainstSell(r.Context(), id.Account, patch, &next); err != nil {
		return err
	}
	// Read before the write: once the settings are saved nothing may fail the
	// request, or a retry would meet its own save as a version conflict.
	in, err := h.deps.Store.Integration(r.Context(), id.Account)
	if err != nil {
		return err
	}
	save := h.deps.Store.SaveSettings
	if _, ok := patch["owners"]; ok {
		// Pool owners are checked again inside the write, so a pool unmarked since
		// checkAgainstSell cannot slip in.
		save = h.deps.Store.SaveSettingsCheckingPools
	}
	newVersion, err := save(r.Context(), id.Account, next, version)
	var missing *store.MissingPoolError
	if errors.As(err, &missing) {
		return httpx.Invalid(fmt.Sprintf("owners[%d].id", missing.Index), "not_a_pool",
			fmt.Sprintf("Sell user %d is not marked as a pool; mark it under Pools first.", missing.ID))
	}
	if errors.Is(err, store.ErrConflict) {
		return staleVersion(-1)
	}
	if err != nil {
		return err
	}
	httpx.LoggerFrom(r.Context()).Info("settings changed", "by", id.UserID, "version", newVersion)
	if changes := audit.Diff(current, next); len(changes) > 0 {
		action := audit.SettingsUpdate
		if _, ok := changes["redaction"]; ok && len(changes) == 1 {
			action = audit.RedactionRulesChanged
		}
		trail.Record(r, h.deps.Store, action, "", changes)
	}
	writeSettings(w, next, in, newVersion, http.StatusOK)
	return nil
}

func writeSettings(w http.ResponseWriter, st settings.Settings, in settings.Integration, version int64, status int) {
	w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(version, 10)))
	httpx.WriteJSON(w, status, settingsView{Settings: st, SuperiorManager: in.SuperiorManager, Version: version})
}

// ifMatch reads the version the client last saw. Both the bare version and the quoted
// ETag form are accepted, since browsers and scripts send either.
func ifMatch(r *http.Request) (int64, error) {
	raw := strings.TrimSpace(r.Header.Get("If-Match"))
	if raw == "" {
		return 0, &httpx.Error{Status: http.StatusPreconditionRequired, Code: "if_match_required",
			Message: "Send the version you last read in an If-Match header, so a change made meanwhile is not overwritten."}
	}
	raw = strings.Trim(strings.TrimPrefix(raw, "W/"), `"`)
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || v < 0 {
		return 0, &httpx.Error{Status: http.StatusBadRequest, Code: "invalid_if_match", Message: "If-Match must be a settings version number."}
	}
	return v, nil
}

// decodeRequired decodes the request's JSON body into a B and returns the value of
// its one required field, which field picks out (a pointer, so that a missing field
// is told from a zero one). A body without it is a 422 on name; purpose finishes the
// message by saying what the field is for.
func decodeRequired[B, V any](r *http.Request, name, purpose string, field func(B) *V) (V, error) {
	var body B
	var zero V
	if err := httpx.DecodeJSON(r, &body); err != nil {
		return zero, err
	}
	v := field(body)
	if v == nil {
		return zero, httpx.Invalid(name, "required", name+" is required: "+purpose)
	}
	return *v, nil
}

func staleVersion(current int64) error {
	e := &httpx.Error{Status: http.StatusConflict, Code: "version_conflict",
		Message: "Someone else changed the settings since you loaded them. Reload and try again."}
	if current >= 0 {
		e.Details = map[string]int64{"currentVersion": current}
	}
	return e
}

// fieldError maps a domain validation error to a 422.
// errNotInstalled answers a switch-on before POST /integration/install passed.
var errNotInstalled = &httpx.Error{Status: http.StatusConflict, Code: "not_installed",
	Message: "Install the integration first: connect Sell, then run the install checks (POST /integration/install); elements can be switched on once every check passes."}

func fieldError(err error) error {
	var fe *settings.FieldError
	if errors.As(err, &fe) {
		return httpx.Invalid(fe.Field, fe.Code, fe.Message)
	}
	return err
}

// integrationView is GET /integration's answer. The webhook secret itself never
// leaves the backend; only whether one is set.
type integrationView struct {
	Elements         map[settings.Element]settings.ElementState `json:"elements"`
	SellConnected    bool                                       `json:"sellConnected"`
	Installed        bool                                       `json:"installed"`
	SuperiorManager  *settings.SellUser                         `json:"superiorManager"`
	WebhookURL       string                                     `json:"webhookUrl"`
	SigningSecretSet bool                                       `json:"signingSecretSet"`
	// History is the progress of mirroring chat history into Sell (or removing it)
	// after the last switch of chat_history_in_sell; absent before the first.
	History *chatstore.Job `json:"history,omitempty"`
	// Zendesk is the account's Zendesk connection (Sign in with Zendesk) and the
	// installations of sellchat's apps it found; the keys stay in the backend.
	Zendesk zendeskView `json:"zendesk"`
	// Chat is the account's Chat API connection, which the chat poll reads finished
	// chats with.
	Chat chatView `json:"chat"`
	// Retention is the re-stamp job a change of retention days starts; absent before
	// the first change.
	Retention *chatstore.RetentionProgress `json:"retention,omitempty"`
}

type chatView struct {
	Connected   bool      `json:"connected"`
	ConnectedAt time.Time `json:"connectedAt,omitzero"`
	// Poll is how far the chat poll has read the account's Chat API export; absent
	// before its first run.
	Poll *pollView `json:"poll,omitempty"`
	// Backlog is the account's chats waiting for its Sell budget (Sell takes 10
	// requests a second per token, so an import of past chats queues); absent while
	// nothing waits.
	Backlog *backlogView `json:"backlog,omitempty"`
}

// backlogView is the backlog's progress since it opened (Since): Done of Total chats
// taken off the queue, Waiting still on it. RatePerSecond is the pace the last drain
// measured, ETA when the queue would be empty at that pace; both absent before a
// drain has measured one.
type backlogView struct {
	Waiting       int64     `json:"waiting"`
	Total         int64     `json:"total"`
	Done          int64     `json:"done"`
	Since         time.Time `json:"since"`
	RatePerSecond float64   `json:"ratePerSecond,omitempty"`
	ETA           time.Time `json:"eta,omitzero"`
}

// backlogOf is the backlog as the page shows it. Done is clamped to Total because
// Enqueue counts its chats in after it has queued them, so a drain that takes one in
// between counts it done before it counts in the total.
func backlogOf(b store.Backlog, now time.Time) *backlogView {
	v := &backlogView{Waiting: b.Waiting(), Total: b.Enqueued, Done: min(b.Drained, b.Enqueued), Since: b.Since, RatePerSecond: b.Rate}
	if eta, ok := b.ETA(); ok {
		v.ETA = now.Add(eta).UTC().Truncate(time.Second)
	}
	return v
}

// pollView is the chat poll's progress: past chats are read from From (the date the
// admin picked) up to ReadUpTo, Progress of the way to the youngest chats the export
// gives (0 to 1; absent when the start is unknown), CaughtUp once there; Stored
// counted so far; LastError is what stopped the last run, NotBefore when Zendesk
// asked it to wait. HeldBack says the poll waits for Sell to take the chats on their
// way before it reads more (the export keeps the rest). LeftEstimate guesses the
// chats still to read (store.ChatPollCursor.Left) and ETA when all of them and the
// backlog should be in Sell at the pace the last drain measured; both absent until
// there is enough to guess by.
type pollView struct {
	From         time.Time `json:"from,omitzero"`
	ReadUpTo     time.Time `json:"readUpTo,omitzero"`
	Progress     *float64  `json:"progress,omitempty"`
	CaughtUp     bool      `json:"caughtUp"`
	LastRunAt    time.Time `json:"lastRunAt,omitzero"`
	LastError    string    `json:"lastError,omitempty"`
	NotBefore    time.Time `json:"notBefore,omitzero"`
	Stored       int64     `json:"stored"`
	HeldBack     bool      `json:"heldBack,omitempty"`
	LeftEstimate *int64    `json:"leftEstimate,omitempty"`
	ETA          time.Time `json:"eta,omitzero"`
}

// pollOf is the poll's progress as the next run sees it: a date picked since the last
// run already counts (the run starts over there), so the page shows the new start at
// once. Nil before the first run, unless chat history is on with a date picked.
func pollOf(c store.ChatPollCursor, in settings.Integration, now time.Time) *pollView {
	if c.LastRunAt.IsZero() && (!in.Enabled(settings.ChatHistoryInSell) || in.PastChatsFrom.IsZero()) {
		return nil
	}
	c = c.StartingFrom(in.PastChatsFrom)
	v := &pollView{From: c.From, ReadUpTo: c.StartTime, CaughtUp: c.CaughtUp,
		LastRunAt: c.LastRunAt, LastError: c.LastError, NotBefore: c.NotBefore, Stored: c.Stored, HeldBack: c.HeldBack && !c.CaughtUp}
	// The poll itself waits a little longer than the export's minimum age, so a
	// cursor reads as a hair short of done until its run says it caught up.
	horizon := now.Add(-zendesk.ExportMinAge)
	if p, ok := c.Progress(horizon); ok {
		v.Progress = &p
	}
	if n, ok := c.Left(horizon); ok && !c.CaughtUp {
		v.LeftEstimate = &n
	}
	return v
}

// importETA sets the poll's ETA: when the chats left to read (as estimated) and
// those waiting in the backlog should all be in Sell, at the pace the backlog's
// last drain measured. Nothing without an estimate or a pace.
func importETA(p *pollView, b store.Backlog, now time.Time) {
	if p == nil || p.LeftEstimate == nil || b.Rate <= 0 {
		return
	}
	left := float64(*p.LeftEstimate + b.Waiting())
	p.ETA = now.Add(time.Duration(left / b.Rate * float64(time.Second))).UTC().Truncate(time.Second)
}

type zendeskView struct {
	Connected   bool             `json:"connected"`
	ConnectedAt time.Time        `json:"connectedAt,omitzero"`
	Apps        []zendeskAppView `json:"apps"`
	// Notifications are the Support webhook and trigger that announce a solved chat
	// ticket (Agent Workspace; POST /integration/zendesk/notifications).
	Notifications settings.NotificationsView `json:"notifications"`
	// MessagingWaiting are the messaging conversations waiting for Zendesk to give
	// them (its limits, an outage), which the chat poll reads once a minute; absent
	// while none waits.
	MessagingWaiting *messagingWaitView `json:"messagingWaiting,omitempty"`
}

// messagingWaitView is how many conversations wait, since when the oldest has, and
// until when Zendesk asked sellchat to hold off (its Retry-After).
type messagingWaitView struct {
	Conversations int       `json:"conversations"`
	OldestSince   time.Time `json:"oldestSince"`
	HeldUntil     time.Time `json:"heldUntil,omitzero"`
}

func messagingWaitOf(w store.TicketWaits, now time.Time) *messagingWaitView {
	if len(w.Tickets) == 0 {
		return nil
	}
	v := &messagingWaitView{Conversations: len(w.Tickets), OldestSince: w.Tickets[0].Since}
	for _, t := range w.Tickets {
		if t.Since.Before(v.OldestSince) {
			v.OldestSince = t.Since
		}
	}
	if w.NotBefore.After(now) {
		v.HeldUntil = w.NotBefore
	}
	return v
}

type zendeskAppView struct {
	AppID          int64 `json:"appId"`
	InstallationID int64 `json:"installationId"`
}

func (h *handler) view(account string, in settings.Integration) integrationView {
	els := make(map[settings.Element]settings.ElementState, len(settings.Elements))
	for _, e := range settings.Elements {
		st := in.State(e)
		if e != settings.ChatAppInSell {
			st.SignInOnLoad = false
		}
		els[e] = st
	}
	return integrationView{
		Elements:         els,
		SellConnected:    in.SellConnected,
		Installed:        in.Installed,
		SuperiorManager:  in.SuperiorManager,
		WebhookURL:       h.deps.PublicBaseURL + "/webhooks/chat/" + account,
		SigningSecretSet: len(in.WebhookSecret) > 0,
		Zendesk:          zendeskOf(in.Zendesk),
		Chat:             chatView{Connected: in.Chat.Connected, ConnectedAt: in.Chat.ConnectedAt},
	}
}

func zendeskOf(z settings.ZendeskLink) zendeskView {
	n := z.Notifications
	v := zendeskView{Connected: z.Connected, ConnectedAt: z.ConnectedAt, Apps: []zendeskAppView{},
		Notifications: n.View()}
	for _, a := range z.Apps {
		v.Apps = append(v.Apps, zendeskAppView{AppID: a.AppID, InstallationID: a.InstallationID})
	}
	return v
}

func (h *handler) getIntegration(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	in, err := h.deps.Store.Integration(r.Context(), id.Account)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, h.fullView(r.Context(), id.Account, in))
	return nil
}

// fullView is the view with the progress kept beside the integration: the history
// job's, the chat poll's, the backlog's and the messaging conversations waiting for
// Zendesk. Any is left out when it cannot be read:
// the rest of the answer is still right.
func (h *handler) fullView(ctx context.Context, account string, in settings.Integration) integrationView {
	v := h.view(account, in)
	if job, err := chatstore.New(h.deps.Store).Job(ctx, account); err == nil && job.State != "" {
		v.History = &job
	}
	if j, err := chatstore.New(h.deps.Store).RetentionJob(ctx, account); err == nil && j.State != "" {
		p := j.Progress()
		v.Retention = &p
	}
	if c, err := h.deps.Store.ChatPollCursor(ctx, account); err == nil {
		v.Chat.Poll = pollOf(c, in, h.now())
	}
	if b, found, err := h.deps.Store.Backlog(ctx, account); err == nil && found {
		v.Chat.Backlog = backlogOf(b, h.now())
		importETA(v.Chat.Poll, b, h.now())
	}
	if w, err := h.deps.Store.TicketWaits(ctx, account); err == nil {
		v.Zendesk.MessagingWaiting = messagingWaitOf(w, h.now())
	}
	return v
}

func (h *handler) putElement(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	el, ok := settings.ParseElement(r.PathValue("name"))
	if !ok {
		return &httpx.Error{Status: http.StatusNotFound, Code: "unknown_element",
			Message: "There is no such element; use chat_app_in_sell, sell_app_in_chat or chat_history_in_sell."}
	}
	var change settings.ElementChange
	if err := httpx.DecodeJSON(r, &change); err != nil {
		return err
	}
	in, err := h.deps.Store.UpdateIntegration(r.Context(), id.Account, func(in *settings.Integration) error {
		return in.Change(el, change, id.UserID, h.now())
	})
	if errors.Is(err, settings.ErrNotInstalled) {
		return errNotInstalled
	}
	if err != nil {
		return fieldError(err)
	}
	httpx.LoggerFrom(r.Context()).Info("element switched", "element", el, "enabled", *change.Enabled, "by", id.UserID)
	changes := map[string]audit.Change{"enabled": {To: *change.Enabled}}
	if change.SignInOnLoad != nil {
		changes["signInOnLoad"] = audit.Change{To: *change.SignInOnLoad}
	}
	if change.PastChatsFrom != nil {
		changes["pastChatsFrom"] = audit.Change{To: *change.PastChatsFrom}
	}
	trail.Record(r, h.deps.Store, audit.ElementSwitch, string(el), changes)
	// The full view: switching history on names where past chats start.
	httpx.WriteJSON(w, http.StatusOK, h.fullView(r.Context(), id.Account, in))
	return nil
}

type webhookSecret struct {
	SigningSecret *string `json:"signingSecret"`
}

func (h *handler) putWebhook(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	secret, err := decodeRequired(r, "signingSecret", "copy it from the webhook's page in Zendesk Admin Center.",
		func(b webhookSecret) *string { return b.SigningSecret })
	if err != nil {
		return err
	}
	if len(secret) < 8 || len(secret) > 512 || strings.ContainsAny(secret, " \t\r\n") {
		return httpx.Invalid("signingSecret", "invalid_value", "signingSecret must be the secret Zendesk shows for the webhook (8 to 512 characters, no spaces).")
	}
	sealed := h.deps.Box.Seal([]byte(secret), secrets.AAD(id.Account, "webhook_secret"))
	in, err := h.deps.Store.UpdateIntegration(r.Context(), id.Account, func(in *settings.Integration) error {
		in.WebhookSecret = sealed
		return nil
	})
	if err != nil {
		return err
	}
	httpx.LoggerFrom(r.Context()).Info("webhook secret set", "by", id.UserID)
	// That a secret was set, never the secret.
	trail.Record(r, h.deps.Store, audit.WebhookSecretSet, "", nil)
	httpx.WriteJSON(w, http.StatusOK, h.view(id.Account, in))
	return nil
}
