package settings

import (
	"context"
	"errors"
	"github.com/sellchat/sellchat/shared/domain/audit"
	"github.com/sellchat/sellchat/shared/platform/trail"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/domain/widgets"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// sellTimeout bounds the Sell calls of one request, well inside the Lambda's 15 s, so
// a hanging Sell gives the admin a clear 502 rather than a gateway timeout.
const sellTimeout = 8 * time.Second

// errSellNotConnected answers routes that need the admin's Sell token before install.
var errSellNotConnected = &httpx.Error{Status: http.StatusConflict, Code: "sell_not_connected",
	Message: "Sell is not connected yet. Use Connect Sell on the settings page first."}

// sellSession is a Sell client acting with the admin's token for one request.
type sellSession struct {
	client  *sell.Client
	account string
	h       *handler
}

// sell returns a Sell client with the account's admin token, or the 409 that says
// Sell must be connected (again) first.
func (h *handler) sell(ctx context.Context, account string) (*sellSession, error) {
	c, _, err := h.deps.Vault.Client(ctx, account, tokens.Admin())
	switch {
	case errors.Is(err, tokens.ErrNoToken):
		return nil, errSellNotConnected
	case errors.Is(err, tokens.ErrBroken):
		return nil, &httpx.Error{Status: http.StatusConflict, Code: "sell_not_connected",
			Message: "Sell no longer accepts the connection made at install. Use Connect Sell on the settings page again."}
	case err != nil:
		return nil, err
	}
	return &sellSession{client: c, account: account, h: h}, nil
}

// fail maps an error from a Sell call to the answer the admin gets: a token Sell
// refuses is marked broken (409, connect again), a rate limit is a 429, anything else
// that went wrong on Sell's side or on the way is a 502 to retry later.
func (s *sellSession) fail(ctx context.Context, err error) error {
	log := httpx.LoggerFrom(ctx)
	if tokens.IsRefused(err) {
		log.Warn("sell refused the admin token", "err", err.Error())
		if mErr := s.h.deps.Vault.MarkBroken(context.WithoutCancel(ctx), s.account, tokens.Admin(), "refused by Sell"); mErr != nil {
			log.Error("mark admin token broken", "err", mErr.Error())
		}
		return &httpx.Error{Status: http.StatusConflict, Code: "sell_not_connected",
			Message: "Sell no longer accepts the connection made at install. Use Connect Sell on the settings page again.", Err: err}
	}
	if errors.Is(err, sell.ErrRateLimited) {
		return &httpx.Error{Status: http.StatusTooManyRequests, Code: "sell_rate_limited",
			Message: "Sell is receiving too many requests from this account. Wait a few seconds and try again.", Err: err}
	}
	log.Warn("sell call failed", "err", err.Error())
	return &httpx.Error{Status: http.StatusBadGateway, Code: "sell_unavailable",
		Message: "Sell could not be reached or answered with an error. Try again in a moment.", Err: err}
}

// withSell runs f with the admin's Sell client under sellTimeout.
func (h *handler) withSell(r *http.Request, f func(ctx context.Context, s *sellSession) error) error {
	id, _ := auth.From(r.Context())
	ctx, cancel := context.WithTimeout(r.Context(), sellTimeout)
	defer cancel()
	s, err := h.sell(ctx, id.Account)
	if err != nil {
		return err
	}
	return f(ctx, s)
}

// userView is a Sell user as the page lists it. Pool says whether the admin marked
// it as a distribution pool's phantom.
type userView struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Email  string `json:"email"`
	Role   string `json:"role"`
	Active bool   `json:"active"`
	Pool   bool   `json:"pool"`
}

func (h *handler) getSellUsers(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	return h.withSell(r, func(ctx context.Context, s *sellSession) error {
		users, err := s.client.Users(ctx)
		if err != nil {
			return s.fail(ctx, err)
		}
		marked, err := h.markedPools(ctx, id.Account)
		if err != nil {
			return err
		}
		out := make([]userView, 0, len(users))
		for _, u := range users {
			out = append(out, userView{ID: u.ID, Name: u.Name, Email: u.Email, Role: u.Role, Active: u.IsActive(), Pool: marked[u.ID]})
		}
		sort.SliceStable(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"users": out})
		return nil
	})
}

// sourceView is a lead source as the page lists it.
type sourceView struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func sourceViews(ss []sell.LeadSource) []sourceView {
	out := make([]sourceView, 0, len(ss))
	for _, s := range ss {
		out = append(out, sourceView{ID: s.ID, Name: s.Name})
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out
}

func (h *handler) getLeadSources(w http.ResponseWriter, r *http.Request) error {
	return h.withSell(r, func(ctx context.Context, s *sellSession) error {
		ss, err := s.client.LeadSources(ctx)
		if err != nil {
			return s.fail(ctx, err)
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"leadSources": sourceViews(ss)})
		return nil
	})
}

type newSource struct {
	Name *string `json:"name"`
}

// maxSourceName bounds a lead source's name; Sell shows it in a dropdown.
const maxSourceName = 255

// sameSourceName compares names the way the admin means them: "zendesk chat " is the
// source "Zendesk Chat".
func sameSourceName(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

func findSource(ss []sell.LeadSource, name string) (sell.LeadSource, bool) {
	for _, s := range ss {
		if sameSourceName(s.Name, name) {
			return s, true
		}
	}
	return sell.LeadSource{}, false
}

// postLeadSource creates a lead source in Sell, or returns the one that already has
// the name (200), so typing an existing name never makes a duplicate.
func (h *handler) postLeadSource(w http.ResponseWriter, r *http.Request) error {
	var body newSource
	if err := httpx.DecodeJSON(r, &body); err != nil {
		return err
	}
	if body.Name == nil {
		return httpx.Invalid("name", "required", "name is required: the lead source's name.")
	}
	name := strings.Join(strings.Fields(*body.Name), " ")
	if name == "" {
		return httpx.Invalid("name", "required", "A lead source needs a name.")
	}
	if utf8.RuneCountInString(name) > maxSourceName {
		return httpx.Invalid("name", "too_long", "A lead source's name has at most 255 characters.")
	}
	return h.withSell(r, func(ctx context.Context, s *sellSession) error {
		ss, err := s.client.LeadSources(ctx)
		if err != nil {
			return s.fail(ctx, err)
		}
		if existing, ok := findSource(ss, name); ok {
			httpx.WriteJSON(w, http.StatusOK, sourceView{ID: existing.ID, Name: existing.Name})
			return nil
		}
		created, err := s.client.CreateLeadSource(ctx, name)
		if errors.Is(err, sell.ErrAlreadyExists) {
			// Someone created it in Sell since our cached list was read. The list may
			// still be the cached one, so say what happened rather than guess an id.
			if ss, lerr := s.client.LeadSources(ctx); lerr == nil {
				if existing, ok := findSource(ss, name); ok {
					httpx.WriteJSON(w, http.StatusOK, sourceView{ID: existing.ID, Name: existing.Name})
					return nil
				}
			}
			return &httpx.Error{Status: http.StatusConflict, Code: "lead_source_exists",
				Message: "Sell already has a lead source with this name. Reload the page in a minute to pick it.", Err: err}
		}
		if err != nil {
			if errors.Is(err, sell.ErrValidation) {
				return &httpx.Error{Status: http.StatusUnprocessableEntity, Code: "invalid_value", Field: "name",
					Message: "Sell did not accept this name for a lead source.", Err: err}
			}
			return s.fail(ctx, err)
		}
		id, _ := auth.From(r.Context())
		httpx.LoggerFrom(ctx).Info("lead source created", "by", id.UserID, "source", created.ID)
		trail.Record(r, h.deps.Store, audit.LeadSourceCreate, strconv.FormatInt(created.ID, 10), map[string]audit.Change{"name": {To: created.Name}})
		httpx.WriteJSON(w, http.StatusCreated, sourceView{ID: created.ID, Name: created.Name})
		return nil
	})
}

// statusView is a lead status as the page lists it.
type statusView struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func (h *handler) getLeadStatuses(w http.ResponseWriter, r *http.Request) error {
	return h.withSell(r, func(ctx context.Context, s *sellSession) error {
		ss, err := s.client.LeadStatuses(ctx)
		if err != nil {
			return s.fail(ctx, err)
		}
		out := make([]statusView, 0, len(ss))
		for _, st := range ss {
			out = append(out, statusView{ID: st.ID, Name: st.Name})
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"leadStatuses": out})
		return nil
	})
}

// customFieldsFor returns the custom fields that can apply to widget w: the lead's
// for leads, the contact's (persons and companies alike, filtered by Catalogue).
func (s *sellSession) customFieldsFor(ctx context.Context, w widgets.Name) ([]sell.CustomField, error) {
	rt := sell.ResourceContact
	if w == widgets.Lead {
		rt = sell.ResourceLead
	}
	fs, err := s.client.CustomFields(ctx, rt)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return fs, nil
}

func (h *handler) getSellFields(w http.ResponseWriter, r *http.Request) error {
	raw := r.URL.Query().Get("widget")
	wn, ok := widgets.Parse(raw)
	if !ok {
		return httpx.Invalid("widget", "invalid_value", `widget must be "lead", "person" or "company".`)
	}
	return h.withSell(r, func(ctx context.Context, s *sellSession) error {
		fs, err := s.customFieldsFor(ctx, wn)
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"widget": wn, "fields": widgets.Catalogue(wn, fs)})
		return nil
	})
}
