package settings

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/domain/audit"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// Audit trail pages: 50 entries by default, at most 100.
const (
	auditPageDefault = 50
	auditPageMax     = 100
)

type auditPage struct {
	Items      []audit.Entry `json:"items"`
	NextCursor string        `json:"nextCursor,omitempty"`
}

// getAudit answers GET /audit?cursor=&limit=: the account's audit trail, newest first.
func (h *handler) getAudit(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	q := r.URL.Query()
	limit := auditPageDefault
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > auditPageMax {
			return httpx.Invalid("limit", "invalid_value", "limit must be a whole number from 1 to 100.")
		}
		limit = n
	}
	items, next, err := h.deps.Store.AuditPage(r.Context(), id.Account, q.Get("cursor"), limit)
	if errors.Is(err, store.ErrBadCursor) {
		return &httpx.Error{Status: http.StatusBadRequest, Code: "invalid_cursor", Message: "cursor must be a nextCursor this list gave."}
	}
	if err != nil {
		return err
	}
	if items == nil {
		items = []audit.Entry{}
	}
	httpx.WriteJSON(w, http.StatusOK, auditPage{Items: items, NextCursor: next})
	return nil
}
