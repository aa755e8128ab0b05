// Package httpx holds the HTTP conventions every sellchat function shares: the JSON
// error shape, body limits, request ids, access logs, panic recovery and routing that
// answers unknown routes in JSON.
package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Error is an error with an HTTP status and a stable snake_case code that clients
// branch on. Message is a sentence meant for people; it never carries internals.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string // set on 422 when one field is at fault
	Err     error  // the cause, logged but never sent
	Details any    // extra machine-readable details sent under "details" (e.g. failed checks)
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %s: %v", e.Status, e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid builds the 422 error for one field.
func Invalid(field, code, message string) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: code, Message: message, Field: field}
}

// Common errors, shared so every route words them the same way.
var (
	ErrUnauthenticated = &Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "A valid Bearer token is required."}
	ErrForbidden       = &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "Your role does not allow this action."}
	ErrTooLarge        = &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: "The request body is larger than 1 MiB."}
	ErrMalformed       = &Error{Status: http.StatusBadRequest, Code: "malformed_json", Message: "The request body is not valid JSON."}
	ErrNotFound        = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "No such route."}
	ErrInternal        = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "Something went wrong on our side; it has been logged."}
	ErrUnavailable     = &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Message: "The service is busy and could not answer in time. Try again in a moment."}
)

// throttleCodes are the error codes with which AWS services (DynamoDB above all)
// say "too much at once, slow down": the request did nothing and may be retried.
var throttleCodes = map[string]bool{
	"ThrottlingException":                    true,
	"ProvisionedThroughputExceededException": true,
	"RequestLimitExceeded":                   true,
	"LimitExceededException":                 true,
}

// transient reports whether err is a dependency that ran out of time or asked us
// to slow down, rather than a fault of ours: the client is told to retry (503),
// not that something broke (500). Writes that span items are single
// condition-checked requests, so a retry finds either all of one or none of it.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	// The AWS SDK's API errors carry their code through this method (smithy's
	// APIError); httpx need not import the SDK to read it.
	var coded interface{ ErrorCode() string }
	return errors.As(err, &coded) && throttleCodes[coded.ErrorCode()]
}

type errorBody struct {
	Error errorPayload `json:"error"`
}

type errorPayload struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Details any    `json:"details,omitempty"`
}

// WriteError answers with the JSON error shape. An error that is not an *Error is
// an internal fault: the client gets a generic 500 and the cause goes to the log;
// a timeout or throttling of a dependency is a 503 with Retry-After instead.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var he *Error
	switch {
	case errors.As(err, &he):
	case transient(err):
		LoggerFrom(r.Context()).Warn("dependency timed out or throttled", "err", err.Error())
		he = ErrUnavailable
		w.Header().Set("Retry-After", "1")
	default:
		LoggerFrom(r.Context()).Error("internal error", "err", err.Error())
		he = ErrInternal
	}
	if he.Status >= 500 && he != ErrUnavailable {
		LoggerFrom(r.Context()).Error("server error", "code", he.Code, "err", he.Error())
	}
	WriteJSON(w, he.Status, errorBody{Error: errorPayload{Code: he.Code, Message: he.Message, Field: he.Field, Details: he.Details}})
}

// WriteJSON writes v as the JSON body with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only a programming error gets here (an unmarshalable type); say so plainly.
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal","message":"Something went wrong on our side; it has been logged."}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
