package settings

import (
	"encoding/json"
	"net/http"
	"unicode/utf8"

	"github.com/sellchat/sellchat/shared/domain/redact"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// maxPreviewText bounds the text POST /redaction/preview redacts: a sample to try
// rules on, not a chat.
const maxPreviewText = 16 << 10

type previewRequest struct {
	Text      *string         `json:"text"`
	Redaction json.RawMessage `json:"redaction"`
}

type previewAnswer struct {
	Text   string        `json:"text"`
	Counts redact.Counts `json:"counts"`
}

// previewRedaction answers POST /redaction/preview: text as the saved rules, or the
// rules in the body (checked exactly as PATCH /settings checks them, without saving),
// would store it. Nothing is stored or logged: the sample may be real data.
func (h *handler) previewRedaction(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	var req previewRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Text == nil {
		return httpx.Invalid("text", "required", "text is required: the sample to redact.")
	}
	if len(*req.Text) > maxPreviewText || !utf8.ValidString(*req.Text) {
		return httpx.Invalid("text", "invalid_value", "text must be UTF-8 of at most 16 KiB.")
	}
	st, _, err := h.deps.Store.Settings(r.Context(), id.Account)
	if err != nil {
		return err
	}
	if len(req.Redaction) > 0 {
		if st, err = st.Apply(map[string]json.RawMessage{"redaction": req.Redaction}); err != nil {
			return fieldError(err)
		}
	}
	rules, err := st.Redaction.Redactor()
	if err != nil {
		return fieldError(&settings.FieldError{Field: "redaction", Code: "invalid_pattern", Message: err.Error()})
	}
	text, counts := rules.Redact(*req.Text)
	if counts == nil {
		counts = redact.Counts{}
	}
	httpx.WriteJSON(w, http.StatusOK, previewAnswer{Text: text, Counts: counts})
	return nil
}
