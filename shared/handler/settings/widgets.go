package settings

import (
	"context"
	"errors"
	"github.com/sellchat/sellchat/shared/domain/audit"
	"github.com/sellchat/sellchat/shared/platform/trail"
	"net/http"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/domain/widgets"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// widgetView is a widget's field display as the page edits it, with the catalogue of
// fields the admin may choose from.
type widgetView struct {
	Widget      widgets.Name `json:"widget"`
	Draft       []string     `json:"draft"`
	Published   []string     `json:"published"`
	ModifiedAt  *time.Time   `json:"modifiedAt"`  // null until the draft is first changed
	PublishedAt *time.Time   `json:"publishedAt"` // null until first published
	// Unpublished says the draft differs from what agents see.
	Unpublished bool            `json:"unpublished"`
	Fields      []widgets.Field `json:"fields"`
	// CustomFieldsAvailable is false while Sell is not connected: the catalogue then
	// holds the standard fields only.
	CustomFieldsAvailable bool `json:"customFieldsAvailable"`
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func newWidgetView(st widgets.State, cat []widgets.Field, custom bool) widgetView {
	return widgetView{Widget: st.Widget, Draft: st.Draft, Published: st.Published,
		ModifiedAt: timeOrNil(st.ModifiedAt), PublishedAt: timeOrNil(st.PublishedAt),
		Unpublished: st.Dirty(), Fields: cat, CustomFieldsAvailable: custom}
}

// widgetName reads the path's widget; an unknown one is a 404 like an unknown route.
func widgetName(r *http.Request) (widgets.Name, error) {
	w, ok := widgets.Parse(r.PathValue("widget"))
	if !ok {
		return "", &httpx.Error{Status: http.StatusNotFound, Code: "unknown_widget",
			Message: "There is no such widget; use lead, person or company."}
	}
	return w, nil
}

// catalogue returns widget w's fields. Before Sell is connected the standard fields
// still let the admin arrange the widget; custom fields come once Sell is there.
func (h *handler) catalogue(ctx context.Context, account string, w widgets.Name) ([]widgets.Field, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, sellTimeout)
	defer cancel()
	s, err := h.sell(ctx, account)
	var fs []sell.CustomField
	if err == nil {
		fs, err = s.customFieldsFor(ctx, w)
	}
	// Not connected, or the connection was just refused: same answer either way.
	var he *httpx.Error
	if errors.As(err, &he) && he.Code == errSellNotConnected.Code {
		return widgets.Catalogue(w, nil), false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return widgets.Catalogue(w, fs), true, nil
}

// loadWidget reads the path's widget as stored, with its catalogue: what
// GET /widgets/{widget} shows and what its preview fills with samples.
func (h *handler) loadWidget(r *http.Request) (widgetView, error) {
	id, _ := auth.From(r.Context())
	wn, err := widgetName(r)
	if err != nil {
		return widgetView{}, err
	}
	st, err := h.deps.Store.Widget(r.Context(), id.Account, wn)
	if err != nil {
		return widgetView{}, err
	}
	cat, custom, err := h.catalogue(r.Context(), id.Account, wn)
	if err != nil {
		return widgetView{}, err
	}
	return newWidgetView(st, cat, custom), nil
}

func (h *handler) getWidget(w http.ResponseWriter, r *http.Request) error {
	v, err := h.loadWidget(r)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

type draftBody struct {
	Fields *[]string `json:"fields"`
}

func (h *handler) putDraft(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	wn, err := widgetName(r)
	if err != nil {
		return err
	}
	fields, err := decodeRequired(r, "fields", "the ordered list of field keys to show.",
		func(b draftBody) *[]string { return b.Fields })
	if err != nil {
		return err
	}
	cat, custom, err := h.catalogue(r.Context(), id.Account, wn)
	if err != nil {
		return err
	}
	if !custom {
		for _, k := range fields {
			if widgets.IsCustom(k) {
				return errSellNotConnected // custom fields can only be checked in Sell
			}
		}
	}
	keys, err := widgets.ValidateDraft(fields, cat)
	var fe *widgets.FieldError
	if errors.As(err, &fe) {
		return httpx.Invalid(fe.Field, fe.Code, fe.Message)
	}
	if err != nil {
		return err
	}
	st, err := h.deps.Store.SaveDraft(r.Context(), id.Account, wn, keys, id.UserID, h.now())
	if err != nil {
		return err
	}
	httpx.LoggerFrom(r.Context()).Info("widget draft saved", "widget", wn, "by", id.UserID, "fields", len(keys))
	trail.Record(r, h.deps.Store, audit.WidgetDraft, string(wn), map[string]audit.Change{"fields": {To: keys}})
	httpx.WriteJSON(w, http.StatusOK, newWidgetView(st, cat, custom))
	return nil
}

func (h *handler) previewWidget(w http.ResponseWriter, r *http.Request) error {
	v, err := h.loadWidget(r)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"widget": v.Widget, "fields": widgets.Preview(v.Widget, v.Draft, v.Fields)})
	return nil
}

func (h *handler) publishWidget(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	wn, err := widgetName(r)
	if err != nil {
		return err
	}
	st, err := h.deps.Store.Publish(r.Context(), id.Account, wn, id.UserID, h.now())
	if err != nil {
		return err
	}
	// Publishing needs no Sell; if Sell fails now, answer with the standard fields
	// rather than report a failure for a publish that happened.
	cat, custom, err := h.catalogue(r.Context(), id.Account, wn)
	if err != nil {
		httpx.LoggerFrom(r.Context()).Warn("catalogue after publish", "err", err.Error())
		cat, custom = widgets.Catalogue(wn, nil), false
	}
	httpx.LoggerFrom(r.Context()).Info("widget published", "widget", wn, "by", id.UserID, "fields", len(st.Published))
	trail.Record(r, h.deps.Store, audit.WidgetPublish, string(wn), map[string]audit.Change{"fields": {To: st.Published}})
	httpx.WriteJSON(w, http.StatusOK, newWidgetView(st, cat, custom))
	return nil
}
