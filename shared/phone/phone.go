// Package phone normalises the contact details a chat visitor gives us (phone
// numbers to E.164, emails to trimmed lower case) so that matching against Sell
// records compares like with like.
package phone

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the region assumed for numbers written without a country
// code. Sell stores phones as free text, so "415-555-0100" is common and has
// to be read in some region; the integration's first customers are US based.
const DefaultRegion = "US"

// Normalize returns raw in E.164 form ("+14155550100"). Numbers without a
// country code are read in region (DefaultRegion when empty). ok is false when
// raw cannot be parsed as a plausible phone number; callers then skip phone
// matching rather than compare garbage.
func Normalize(raw, region string) (e164 string, ok bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", false
	}
	if region == "" {
		region = DefaultRegion
	}
	n, err := phonenumbers.Parse(raw, strings.ToUpper(region))
	if err != nil {
		return "", false
	}
	// IsPossibleNumber rather than IsValidNumber: demo and test data uses the
	// reserved 555 ranges, which the metadata rejects as invalid, and a visitor
	// typing a new number range should still match the record holding it.
	if !phonenumbers.IsPossibleNumber(n) {
		return "", false
	}
	return phonenumbers.Format(n, phonenumbers.E164), true
}

// Equal reports whether a and b are the same phone number once both are
// normalised in region. Two unparsable values are never equal.
func Equal(a, b, region string) bool {
	na, ok := Normalize(a, region)
	if !ok {
		return false
	}
	nb, ok := Normalize(b, region)
	return ok && na == nb
}

// NormalizeEmail trims and lower-cases an email address. Sell and Chat both
// treat addresses case-insensitively in practice, and visitors often paste
// them with surrounding spaces.
func NormalizeEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// EqualEmail reports whether a and b are the same non-empty address after
// NormalizeEmail.
func EqualEmail(a, b string) bool {
	na := NormalizeEmail(a)
	return na != "" && na == NormalizeEmail(b)
}
