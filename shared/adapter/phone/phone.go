// Package phone reads the phone numbers a chat visitor gives us, and those Sell
// stores as free text, as E.164, so that matching compares like with like. It is
// the only package that links libphonenumber's metadata (about 7 MB of binary):
// only the functions that match visitors import it. Emails are compared by
// sell.SameEmail.
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

// E164 reads raw in DefaultRegion: the sell.Visitor.ReadPhone every lookup uses.
func E164(raw string) (string, bool) { return Normalize(raw, DefaultRegion) }
