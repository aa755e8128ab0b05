// Package leads serves the leads function: an agent creates a Sell lead from a chat,
// with the status and source the admin set and an owner by the owner fallback, exactly once per
// Idempotency-Key however often the request is retried.
package leads

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/domain/access"
	"github.com/sellchat/sellchat/shared/domain/owners"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// AfterCreate is called once a lead was created from a chat (ChatID set), so the
// chat's history can be attached to the new lead. The chat-history code provides it;
// nil does nothing. Its failure is logged, never shown: the lead exists either way.
type AfterCreate func(ctx context.Context, account, chatID string, leadID int64) error

// Deps are what the leads route uses, built once by the function's main.
type Deps struct {
	Store    *store.Store // Idempotency-Key and email claims
	Gate     access.Gate
	Verifier *auth.Verifier
	Logger   *slog.Logger
}

type handler struct {
	deps  Deps
	after AfterCreate
	wait  time.Duration
	now   func() time.Time
}

// New returns the leads function's routes.
func New(d Deps, after AfterCreate) *httpx.Router {
	h := &handler{deps: d, after: after, wait: 10 * time.Second, now: time.Now}
	rt := httpx.NewRouter(d.Logger)
	rt.Handle("POST /leads", d.Verifier.Require(h.create))
	return rt
}

// Request is POST /leads's body: what the agent knows from the chat.
type Request struct {
	FirstName        string          `json:"firstName"`
	LastName         string          `json:"lastName"`
	Email            string          `json:"email"`
	Phone            string          `json:"phone"`
	OrganizationName string          `json:"organizationName"`
	Description      string          `json:"description"`
	Owner            *settings.Owner `json:"owner"`
	ChatID           string          `json:"chatId"`
	CreateAnyway     bool            `json:"createAnyway"`
}

// Lead is the created lead as the panel shows it.
type Lead struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	OwnerID   int64  `json:"ownerId,omitempty"`
	OwnerName string `json:"ownerName,omitempty"`
	Status    string `json:"status,omitempty"`
	SourceID  int64  `json:"sourceId,omitempty"`
}

// Created is the 201 answer (and what a retry with the same key gets again).
type Created struct {
	Lead Lead `json:"lead"`
}

func (h *handler) create(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id, _ := auth.From(ctx)
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var req Request
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	req.normalise()
	if err := req.validate(); err != nil {
		return err
	}
	// The key and the visitor's email are claimed while the session is read: three
	// DynamoDB round trips at once instead of one after the other. Whatever ends this
	// request before it has a lead gives both claims back.
	once := beginOnce(ctx, h.deps.Store, id.Account, id.UserID, key, req, h.now(), h.wait)
	defer once.Release(ctx)
	sess, err := h.deps.Gate.Open(ctx, id)
	if err != nil {
		return err
	}
	if prior, err := once.Replay(ctx); err != nil {
		return err
	} else if prior != nil {
		prior.replay(w)
		return nil
	}
	// The owner options (the account's pools, Sell's users, mostly cached) are read
	// while Sell is searched for the visitor.
	options := async(func() (owners.Options, error) { return sess.OwnerOptions(ctx) })
	if err := h.checkDuplicate(ctx, sess, req); err != nil {
		return err
	}
	opts, err := options()
	if err != nil {
		return sess.SellError(ctx, err)
	}
	created, err := h.createLead(ctx, sess, req, opts)
	if err != nil {
		return err
	}
	once.Finish(ctx, created)
	h.attachChat(ctx, id.Account, req.ChatID, created.Lead.ID)
	httpx.LoggerFrom(ctx).Info("lead created", "lead", created.Lead.ID, "owner", created.Lead.OwnerID, "by", id.UserID)
	httpx.WriteJSON(w, http.StatusCreated, created)
	return nil
}

// idempotencyKey reads the request's Idempotency-Key header, which POST /leads requires.
func idempotencyKey(r *http.Request) (string, error) {
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if key == "" {
		return "", &httpx.Error{Status: http.StatusBadRequest, Code: "idempotency_key_required",
			Message: "Send an Idempotency-Key header (a new random value per lead), so a retry never creates a second lead."}
	}
	if len(key) > 128 || strings.ContainsFunc(key, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return "", &httpx.Error{Status: http.StatusBadRequest, Code: "invalid_idempotency_key", Message: "Idempotency-Key must be 1 to 128 visible ASCII characters."}
	}
	return key, nil
}

// checkDuplicate refuses a lead whose email Sell already has on a lead or contact,
// unless the agent chose createAnyway.
func (h *handler) checkDuplicate(ctx context.Context, sess *access.Session, req Request) error {
	if req.CreateAnyway || req.Email == "" {
		return nil
	}
	found, err := sess.Sell.Find(ctx, sell.Visitor{Email: req.Email})
	if err != nil {
		return sess.SellError(ctx, err)
	}
	if existing := describe(found); len(existing) > 0 {
		return alreadyExists("Sell already has a lead or contact with this email. Open it, or create the lead anyway.", existing)
	}
	return nil
}

// attachChat hands the new lead to the chat-history code when the lead came from a
// chat. The lead exists either way, so a failure is only logged.
func (h *handler) attachChat(ctx context.Context, account, chatID string, leadID int64) {
	if chatID == "" || h.after == nil {
		return
	}
	if err := h.after(context.WithoutCancel(ctx), account, chatID, leadID); err != nil {
		httpx.LoggerFrom(ctx).Warn("attach chat to new lead", "err", err.Error(), "chat", chatID, "lead", leadID)
	}
}

// async runs f in the background; the returned function waits for its answer. It
// is for one independent read started ahead of the step that needs it, which may
// never be reached.
func async[T any](f func() (T, error)) func() (T, error) {
	var (
		v    T
		err  error
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		v, err = f()
	}()
	return func() (T, error) {
		<-done
		return v, err
	}
}

// createLead creates the lead in Sell with the admin's status and source and an
// owner the agent may choose.
func (h *handler) createLead(ctx context.Context, sess *access.Session, req Request, opts owners.Options) (Created, error) {
	owner, hasOwner, err := opts.Resolve(req.Owner)
	if err != nil {
		var oe *owners.Error
		if errors.As(err, &oe) {
			return Created{}, httpx.Invalid("owner", oe.Code, oe.Message)
		}
		return Created{}, err
	}
	nl := sell.NewLead{
		FirstName: req.FirstName, LastName: req.LastName, OrganizationName: req.OrganizationName,
		Email: req.Email, Phone: req.Phone, Status: sess.Settings.LeadStatus,
		Description: h.description(sess.Identity.Account, req),
	}
	if sess.Settings.LeadSourceID != nil {
		nl.SourceID = *sess.Settings.LeadSourceID
	}
	if hasOwner {
		nl.OwnerID = owner.ID
	}
	lead, err := sess.Sell.CreateLead(ctx, nl)
	if err != nil {
		var apiErr *sell.APIError
		if errors.As(err, &apiErr) && apiErr.Kind == sell.KindValidation {
			field := sellField(apiErr.Field)
			return Created{}, httpx.Invalid(field, "sell_rejected", fmt.Sprintf("Sell did not accept %s; check it and try again.", field))
		}
		return Created{}, sess.SellError(ctx, err)
	}
	out := Lead{ID: lead.ID, Name: strings.TrimSpace(lead.FirstName + " " + lead.LastName), OwnerID: lead.OwnerID, Status: lead.Status, SourceID: lead.SourceID}
	if out.Name == "" {
		out.Name = lead.OrganizationName
	}
	// A pool hands the lead to its next member: name whoever Sell chose.
	if users, err := sess.Sell.Users(ctx); err == nil {
		for _, u := range users {
			if u.ID == lead.OwnerID {
				out.OwnerName = u.Name
			}
		}
	}
	return Created{Lead: out}, nil
}

// ChatLink is where an agent finds the chat in Zendesk. Zendesk documents no stable
// deep link to one chat, so this assumes the Chat dashboard's history view opens it at
// #history/<chatId>; nothing in the repository can check that (there is no Zendesk
// sandbox), and leads_test.go only checks that the lead's description names the chat.
func ChatLink(account, chatID string) string {
	return "https://" + account + ".zendesk.com/chat/agent#history/" + chatID
}

func (h *handler) description(account string, req Request) string {
	d := req.Description
	if req.ChatID != "" {
		if d != "" {
			d += "\n\n"
		}
		d += "Created from Zendesk Chat: " + ChatLink(account, req.ChatID)
	}
	return d
}

// existingRecord names a record that already has the email.
type existingRecord struct {
	Type string `json:"type"`
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// alreadyExists is the 409 that names the records holding the email already.
func alreadyExists(message string, matches []existingRecord) error {
	return &httpx.Error{Status: http.StatusConflict, Code: "already_exists", Message: message,
		Details: map[string]any{"matches": matches}}
}

func describe(m sell.Matches) []existingRecord {
	var out []existingRecord
	for _, l := range m.Leads {
		name := strings.TrimSpace(l.FirstName + " " + l.LastName)
		if name == "" {
			name = l.OrganizationName
		}
		out = append(out, existingRecord{"lead", l.ID, name})
	}
	for _, c := range m.Contacts {
		t := "person"
		if c.IsOrganization {
			t = "company"
		}
		out = append(out, existingRecord{t, c.ID, c.DisplayName()})
	}
	return out
}

// sellField maps Sell's attribute pointer (/last_name) to the request's field name.
func sellField(pointer string) string {
	switch strings.TrimPrefix(pointer, "/") {
	case "first_name":
		return "firstName"
	case "last_name":
		return "lastName"
	case "organization_name":
		return "organizationName"
	case "email":
		return "email"
	case "phone":
		return "phone"
	case "description":
		return "description"
	case "owner_id":
		return "owner"
	case "status":
		return "leadStatus"
	case "source_id":
		return "leadSourceId"
	}
	return "lead"
}

func (r *Request) normalise() {
	for _, f := range []*string{&r.FirstName, &r.LastName, &r.Email, &r.Phone, &r.OrganizationName, &r.ChatID} {
		*f = strings.TrimSpace(*f)
	}
	r.Description = strings.TrimSpace(r.Description)
}

func (r *Request) validate() error {
	limits := []struct {
		field, value string
		max          int
	}{
		{"firstName", r.FirstName, 100}, {"lastName", r.LastName, 100}, {"organizationName", r.OrganizationName, 200},
		{"email", r.Email, 254}, {"phone", r.Phone, 40}, {"description", r.Description, 10000}, {"chatId", r.ChatID, 200},
	}
	for _, l := range limits {
		if utf8.RuneCountInString(l.value) > l.max {
			return httpx.Invalid(l.field, "too_long", fmt.Sprintf("%s has at most %d characters.", l.field, l.max))
		}
	}
	if r.LastName == "" && r.OrganizationName == "" {
		return httpx.Invalid("lastName", "required", "Sell needs a last name or an organization name for a lead.")
	}
	if r.Email != "" {
		if a, err := mail.ParseAddress(r.Email); err != nil || a.Address != r.Email {
			return httpx.Invalid("email", "invalid_value", "email must be an email address such as vera@example.com.")
		}
	}
	if o := r.Owner; o != nil && ((o.Type != settings.OwnerUser && o.Type != settings.OwnerPool) || o.ID <= 0) {
		return httpx.Invalid("owner", "invalid_value", `owner must be {"type":"user"|"pool","id":<Sell user id>}.`)
	}
	return nil
}
