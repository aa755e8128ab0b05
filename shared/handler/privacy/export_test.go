package privacy

import "github.com/sellchat/sellchat/shared/platform/httpx"

// NewWithLimits is New with smaller bounds, so tests see answers stop early
// without storing megabytes.
func NewWithLimits(d Deps, scan, chats, bytes int) *httpx.Router {
	return newWith(d, limits{scan: scan, chats: chats, bytes: bytes})
}

// EnvelopeReserve is what an answer keeps free besides its chats.
const EnvelopeReserve = envelopeReserve
