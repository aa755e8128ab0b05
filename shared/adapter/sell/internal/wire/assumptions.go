package wire

import "net/http"

// This file is the single place for what we assume about Sell where the
// reference notes (shared/reference/sell-api.md) are unsure. The client and the
// sandbox both read these values, so if the live API turns out to differ the fix
// starts here, and the sandbox keeps telling the truth about our assumptions.

// Pagination of v2 lists: 1-based page, 25 per page by default, at most 100.
// per_page outside 1..100 is a 400 invalid_param (confirmed by a fixture).
const (
	DefaultPerPage = 25
	MaxPerPage     = 100
)

// Search API (v3) paging: 0-based page, per_page 0..200 (documented).
const MaxSearchPerPage = 200

// MaxSearchItems bounds the queries one v3 search request carries. Doubt: Sell
// documents batching ("multiple elements in top-level items array") but no
// limit. 25 is our guess at a safe size: a stream batch (BatchSize 25 in
// template.yaml) of chats whose visitors left an email fits in one request
// per resource, and each query's answer stays small (a visitor matches a
// record or two). The client chunks above it, and the sandbox refuses more
// with 400 invalid_param, so a client that forgets to chunk fails loudly.
const MaxSearchItems = 25

// CodeInvalidUserAgent is the error code of the 400 answered to a request
// without a User-Agent. Doubt: only a secondary source mentions the check, and
// it may surface as invalid_header instead; the client always sends a UA, so the
// difference matters only to the sandbox.
const CodeInvalidUserAgent = "invalid_user_agent"

// HiddenRecordStatus is what a token gets for a record it may not see. Doubt:
// undocumented. We assume Sell does not reveal that the record exists and
// answers 404 not_found, as for a missing one; callers must treat 403 the same.
const HiddenRecordStatus = http.StatusNotFound

// CreateStatus is the status of a successful POST. Doubt: 200 or 201 is not
// confirmed; the client accepts any 2xx.
const CreateStatus = http.StatusOK

// Search API availability. Doubt: the answer of a plan without the Search API
// is undocumented. We assume 403 insufficient_scope (or 404) and the client
// falls back to v2 for any 403/404 from a /v3 search path, remembering that for
// a while so it does not pay the failed call on every lookup.
const (
	SearchUnavailableStatus = http.StatusForbidden
	SearchUnavailableCode   = "insufficient_scope"
)

// v3 attribute names. Doubt: v3 names differ from v2 in places (is_organisation,
// display_name) and the exact lead/contact names for email and phone are
// unconfirmed; we assume the v2 JSON names below, which the sandbox accepts.
// Check them against GET /v3/leads/schema on a real account before relying on
// v3 in production.
const (
	SearchAttrEmail  = "email"
	SearchAttrPhone  = "phone"
	SearchAttrMobile = "mobile"
)

// SearchPhoneMatchesNormalised records the assumption that a v3 eq filter on a
// phone attribute matches numbers equal in E.164, whatever their stored format.
// Doubt: Sell may compare strings exactly, in which case only identically
// written numbers match; the client post-filters with E.164 comparison either
// way, so the assumption can only cost recall, never precision.
const SearchPhoneMatchesNormalised = true

// EmailFilterCaseInsensitive records the assumption that the v2 email filter
// and the v3 email eq compare case-insensitively. Doubt: Sell documents some
// filters as "strict"; the client sends lower-cased addresses, so a record
// stored with capitals would be missed if the filter is case-sensitive.
const EmailFilterCaseInsensitive = true

// LeadPhoneFilter is false: v2 /leads has no documented phone or mobile
// filter, and neither has /contacts. The v2 fallback for phone matching scans
// the most recently updated records instead (PhoneScanPages pages of
// MaxPerPage) and compares in E.164. The sandbox refuses unknown filters with
// 400 invalid_param so that a client relying on an invented filter fails loudly
// instead of silently receiving every record.
const (
	LeadPhoneFilter = false
	PhoneScanPages  = 5
)

// DealsContactIDList records the assumption that GET /v2/deals accepts a
// comma-separated contact_id like it accepts ids. Doubt: only ids is documented
// as a list. The client falls back to one call per contact (concurrently) when
// Sell answers 400 to a list.
const DealsContactIDList = true

// Lead status values are validated against /v2/lead_statuses; an unknown name
// is a 422 incorrect_value on /status. Doubt: unconfirmed, but the safe reading.
const LeadStatusValidated = true

// A duplicate lead source name is a 422 already_exists on /name. Doubt: names
// are documented as unique, the code is our guess.
const CodeAlreadyExists = "already_exists"

// OAuth token endpoint errors use the RFC 6749 shape
// {"error":"invalid_grant","error_description":…} with status 400 (401 for a
// bad client). Doubt: the shape is unconfirmed; RFC style is what
// golang.org/x/oauth2 parses.
//
// Refresh tokens rotate: every refresh returns a new refresh token and the old
// one stops working at once. Doubt: rotation is confirmed, invalidation is not;
// assuming it forces us to persist every refreshed token, which is right either
// way. Refresh tokens do not expire; access tokens live TokenLifetime.
const (
	TokenLifetimeSeconds = 3600
	RefreshTokensRotate  = true
)

// DefaultScopes are granted when the authorize request names none. Doubt: Sell
// picks scopes from the app's settings; read, write and profile is what a full
// integration is given.
var DefaultScopes = []string{"read", "write", "profile"}

// PoolPhantomPrefix marks distribution-pool phantom users in the sandbox.
// Doubt: how Sell shows a phantom in /v2/users is unknown, so the product lets
// the admin mark phantoms by hand; the sandbox names them "Pool: <name>"
// (status active, role user) so demos and tests can find them, and reports the
// already rotated member as owner_id of the created lead (also unconfirmed).
const PoolPhantomPrefix = "Pool: "

// RateLimitPerSecond is Sell's documented 36,000 requests per hour per token.
// No rate-limit headers are documented and Retry-After is not promised: the
// client honours Retry-After when present and otherwise backs off itself.
const RateLimitPerSecond = 10
