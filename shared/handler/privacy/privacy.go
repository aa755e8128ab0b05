// Package privacy serves the privacy function: what sellchat holds about one chat
// visitor, as JSON an admin can hand over (GET /privacy/visitors), and the erasure
// of it (POST /privacy/erasures, GET /privacy/erasures/{id}), for the account's
// owners and admins only. The erasure itself runs in the transcripts function, from
// the table's stream (shared/handler/transcripts/erase.go); this function starts it
// and reports on it. docs/privacy.md says what is kept, erased and listed.
package privacy

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/store/privacystore"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// Deps are what the privacy routes use, built once by the function's main.
type Deps struct {
	Store    *store.Store
	Box      *secrets.Box // hashes and seals the visitor's identifier
	Verifier *auth.Verifier
	Logger   *slog.Logger
	// ReadPhone reads a phone number as matching does (phone.E164), so a visitor
	// named by any spelling of their number is found.
	ReadPhone func(raw string) (e164 string, ok bool)
}

type handler struct {
	deps    Deps
	chats   *chatstore.Store
	privacy *privacystore.Store
	limits  limits
}

// New returns the privacy function's routes.
func New(d Deps) *httpx.Router {
	return newWith(d, defaultLimits)
}

func newWith(d Deps, l limits) *httpx.Router {
	h := &handler{deps: d, chats: chatstore.New(d.Store), privacy: privacystore.New(d.Store, d.Box), limits: l}
	rt := httpx.NewRouter(d.Logger)
	rt.Handle("GET /privacy/visitors", d.Verifier.Require(h.visitor, auth.Admin...))
	rt.Handle("POST /privacy/erasures", d.Verifier.Require(h.startErasure, auth.Admin...))
	rt.Handle("GET /privacy/erasures/{id}", d.Verifier.Require(h.erasure, auth.Admin...))
	return rt
}

// subject reads the visitor a request names: exactly one of an email and a phone
// number, normalised as matching normalises them. A missing field and a field given
// empty are the same.
func (h *handler) subject(email, phone string) (privacystore.Subject, error) {
	email, phone = strings.TrimSpace(email), strings.TrimSpace(phone)
	switch {
	case email == "" && phone == "":
		return privacystore.Subject{}, httpx.Invalid("email", "visitor_required", "Name the visitor by email or by phone.")
	case email != "" && phone != "":
		return privacystore.Subject{}, httpx.Invalid("phone", "invalid_value", "Name the visitor by email or by phone, not both: each is erased on its own.")
	case email != "":
		sub, ok := privacystore.EmailSubject(email)
		if !ok {
			return privacystore.Subject{}, httpx.Invalid("email", "invalid_value", "email must be an email address such as vera@example.com.")
		}
		return sub, nil
	default:
		sub, ok := privacystore.PhoneSubject(phone, h.deps.ReadPhone)
		if !ok {
			return privacystore.Subject{}, httpx.Invalid("phone", "invalid_value", "phone must be a phone number such as +1 415 555 0100.")
		}
		return sub, nil
	}
}

// notFound is the answer for an erasure this account does not have.
var notFound = &httpx.Error{Status: http.StatusNotFound, Code: "erasure_not_found", Message: "This account has no erasure with that id."}
