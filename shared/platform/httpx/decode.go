package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// MaxBody is the largest request body any route accepts.
const MaxBody = 1 << 20

// DecodeJSON reads the whole body (at most MaxBody bytes) into v. Unknown fields are
// rejected so a typo in a field name is not silently ignored; wrong types become a
// 422 naming the field.
func DecodeJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return ErrTooLarge
		}
		return &Error{Status: http.StatusBadRequest, Code: "unreadable_body", Message: "The request body could not be read.", Err: err}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return &Error{Status: http.StatusBadRequest, Code: "empty_body", Message: "A JSON body is required."}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if !AtEnd(dec) {
		return ErrMalformed
	}
	return nil
}

// AtEnd reports whether dec has nothing left but white space. Decoder.More is not
// the test: it answers false before a stray "]" or "}", so `{"a":1}]` would pass
// as one object; reading one more token finds io.EOF only when the value stood alone.
func AtEnd(dec *json.Decoder) bool {
	_, err := dec.Token()
	return err == io.EOF
}

func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if field == "" {
			return &Error{Status: http.StatusBadRequest, Code: "malformed_json", Message: fmt.Sprintf("The body must be a JSON %s.", jsonKind(typeErr.Type.Kind().String()))}
		}
		return Invalid(field, "wrong_type", fmt.Sprintf("%s must be a %s.", field, jsonKind(typeErr.Type.Kind().String())))
	}
	if msg, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		field := strings.Trim(msg, `"`)
		return Invalid(field, "unknown_field", fmt.Sprintf("%s is not a field this route accepts.", field))
	}
	return ErrMalformed
}

func jsonKind(goKind string) string {
	switch goKind {
	case "bool":
		return "boolean"
	case "string":
		return "string"
	case "slice", "array":
		return "list"
	case "map", "struct", "ptr":
		return "object"
	default:
		if strings.HasPrefix(goKind, "int") || strings.HasPrefix(goKind, "uint") || strings.HasPrefix(goKind, "float") {
			return "number"
		}
		return goKind
	}
}
