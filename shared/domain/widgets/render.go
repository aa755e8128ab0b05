package widgets

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell"
)

// Value is one field as an agent reads it.
type Value struct {
	Key    string `json:"key"`
	Label  string `json:"label"`
	Value  string `json:"value"`
	Sample bool   `json:"sample,omitempty"` // made up for a preview, not from Sell
}

// PersonRecord is a person with its company's name: a sell.Contact only carries the
// company's id, and the "company" field shows the name. Render also accepts a bare
// sell.Contact, whose "company" field is then left out.
type PersonRecord struct {
	Contact sell.Contact
	Company string
}

// Money is an amount in a currency, as Sell sends deal values.
type Money struct {
	Amount   sell.Decimal
	Currency string
}

// Render returns the values of record for the fields keys, in that order, formatted
// by type; fields with no value, and keys not in the catalogue (a custom field
// deleted in Sell since publishing), are left out. record is a sell.Lead for the
// Lead widget and a sell.Contact (or PersonRecord) for Person and Company; pointers
// work too. A record of the wrong kind renders nothing. users and sources name the
// ids in owner, creator and source fields (an id missing from them shows as "#id").
func Render(w Name, keys []string, catalogue []Field, record any, users map[int64]string, sources map[int64]string) []Value {
	get := extractor(w, record)
	if get == nil {
		return nil
	}
	out := make([]Value, 0, len(keys))
	for _, k := range keys {
		f, ok := find(catalogue, k)
		if !ok {
			continue
		}
		raw, ok := get(f)
		if !ok {
			continue
		}
		if s := Format(f.Type, raw, users, sources); s != "" {
			out = append(out, Value{Key: f.Key, Label: f.Label, Value: s})
		}
	}
	return out
}

// extractor returns a function reading a field's raw value from record, or nil when
// record is not the widget's kind.
func extractor(w Name, record any) func(Field) (any, bool) {
	switch r := deref[sell.Lead](deref[sell.Contact](deref[PersonRecord](record))).(type) {
	case sell.Lead:
		if w != Lead {
			return nil
		}
		return func(f Field) (any, bool) { return leadValue(r, f) }
	case sell.Contact:
		if (w == Company) != r.IsOrganization || w == Lead {
			return nil
		}
		return func(f Field) (any, bool) { return contactValue(r, "", f) }
	case PersonRecord:
		if w != Person || r.Contact.IsOrganization {
			return nil
		}
		return func(f Field) (any, bool) { return contactValue(r.Contact, r.Company, f) }
	}
	return nil
}

// deref turns a *T into its T and a nil *T into nil, so that a type switch meets each
// kind of value once, whether the caller passed it by value or by pointer.
func deref[T any](raw any) any {
	if p, ok := raw.(*T); ok {
		if p == nil {
			return nil
		}
		return *p
	}
	return raw
}

func leadValue(l sell.Lead, f Field) (any, bool) {
	if f.Custom {
		v, ok := l.CustomFields[strings.TrimPrefix(f.Key, CustomPrefix)]
		return v, ok
	}
	switch f.Key {
	case "name":
		name := strings.TrimSpace(l.FirstName + " " + l.LastName)
		if name == "" {
			name = l.OrganizationName
		}
		return name, true
	case "first_name":
		return l.FirstName, true
	case "last_name":
		return l.LastName, true
	case "organization":
		return l.OrganizationName, true
	case "status":
		return l.Status, true
	case "source":
		return l.SourceID, true
	case "industry":
		return l.Industry, true
	}
	return common(f.Key, commonFields{
		title: l.Title, email: l.Email, phone: l.Phone, mobile: l.Mobile, fax: l.Fax, website: l.Website,
		description: l.Description, twitter: l.Twitter, facebook: l.Facebook, linkedin: l.Linkedin, skype: l.Skype,
		owner: l.OwnerID, creator: l.CreatorID, address: l.Address, tags: l.Tags, created: l.CreatedAt, updated: l.UpdatedAt,
	})
}

func contactValue(c sell.Contact, company string, f Field) (any, bool) {
	if f.Custom {
		v, ok := c.CustomFields[strings.TrimPrefix(f.Key, CustomPrefix)]
		return v, ok
	}
	switch f.Key {
	case "name":
		return c.DisplayName(), true
	case "first_name":
		return c.FirstName, true
	case "last_name":
		return c.LastName, true
	case "company":
		return company, true
	case "industry":
		return c.Industry, true
	case "customer_status":
		return meaningfulStatus(c.CustomerStatus), true
	case "prospect_status":
		return meaningfulStatus(c.ProspectStatus), true
	}
	return common(f.Key, commonFields{
		title: c.Title, email: c.Email, phone: c.Phone, mobile: c.Mobile, fax: c.Fax, website: c.Website,
		description: c.Description, twitter: c.Twitter, facebook: c.Facebook, linkedin: c.Linkedin, skype: c.Skype,
		owner: c.OwnerID, creator: c.CreatorID, address: c.Address, tags: c.Tags, created: c.CreatedAt, updated: c.UpdatedAt,
	})
}

// meaningfulStatus hides Sell's "none", which says nothing to an agent, and
// capitalises the rest ("current" → "Current") as Sell's own screens do.
func meaningfulStatus(s string) string {
	if s == "" || strings.EqualFold(s, "none") {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// commonFields are the attributes leads and contacts share.
type commonFields struct {
	title, email, phone, mobile, fax, website, description, twitter, facebook, linkedin, skype string
	owner, creator                                                                             int64
	address                                                                                    *sell.Address
	tags                                                                                       []string
	created, updated                                                                           time.Time
}

func common(key string, c commonFields) (any, bool) {
	switch key {
	case "title":
		return c.title, true
	case "email":
		return c.email, true
	case "phone":
		return c.phone, true
	case "mobile":
		return c.mobile, true
	case "fax":
		return c.fax, true
	case "website":
		return c.website, true
	case "description":
		return c.description, true
	case "twitter":
		return c.twitter, true
	case "facebook":
		return c.facebook, true
	case "linkedin":
		return c.linkedin, true
	case "skype":
		return c.skype, true
	case "owner":
		return c.owner, true
	case "creator":
		return c.creator, true
	case "address":
		return c.address, true
	case "tags":
		return c.tags, true
	case "created_at":
		return c.created, true
	case "updated_at":
		return c.updated, true
	}
	return nil, false
}

// Format turns a raw value into the text an agent reads; "" means "no value". It
// accepts what Sell sends for the type (custom values arrive as decoded JSON: strings,
// float64 or json.Number, bools, maps and slices) and falls back to the plain text of
// a value of an unexpected shape rather than hiding it.
func Format(t Type, raw any, users, sources map[int64]string) string {
	if raw == nil {
		return ""
	}
	switch t {
	case TypeBool:
		return formatBool(raw)
	case TypeNumber:
		return formatNumber(raw)
	case TypeMoney:
		return formatMoneyValue(raw)
	case TypeDate:
		return formatDate(raw, false)
	case TypeDateTime:
		return formatDate(raw, true)
	case TypeList:
		return choiceName(raw)
	case TypeMultiList, TypeTags:
		return formatList(raw)
	case TypeAddress:
		return formatAddress(raw)
	case TypeUser:
		return nameOf(raw, users)
	case TypeSource:
		return nameOf(raw, sources)
	}
	return plain(raw)
}

// plain is the text of a scalar; structured values of an unexpected shape are shown
// as their names where they have one.
func plain(raw any) string {
	switch v := raw.(type) {
	case string:
		return strings.TrimSpace(v)
	case sell.Decimal:
		return string(v)
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case int, int64, int32:
		return fmt.Sprint(v)
	case bool:
		return formatBool(v)
	case map[string]any, []any, []string:
		return formatList(v)
	}
	return strings.TrimSpace(fmt.Sprint(raw))
}

func formatBool(raw any) string {
	switch v := raw.(type) {
	case bool:
		if v {
			return "Yes"
		}
		return "No"
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
			return formatBool(b)
		}
		return strings.TrimSpace(v)
	}
	return plain(raw)
}

// formatNumber groups the integer part by thousands and keeps the decimals as Sell
// wrote them ("15000" → "15,000", "123.450" → "123.450"): Sell sends decimals as
// text precisely so that nothing is rounded.
func formatNumber(raw any) string {
	var s string
	switch v := raw.(type) {
	case string:
		s = strings.TrimSpace(v)
	case sell.Decimal:
		s = strings.TrimSpace(string(v))
	case json.Number:
		s = v.String()
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ""
		}
		s = strconv.FormatFloat(v, 'f', -1, 64)
	case int:
		s = strconv.Itoa(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	default:
		return plain(raw)
	}
	return groupThousands(s)
}

func groupThousands(s string) string {
	if _, err := strconv.ParseFloat(s, 64); err != nil || strings.ContainsAny(s, "eE") {
		return s // not a plain decimal: show it as Sell sent it
	}
	sign := ""
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		if s[0] == '-' {
			sign = "-"
		}
		s = s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if intPart == "" {
		b.WriteByte('0')
	}
	out := sign + b.String()
	if hasFrac {
		out += "." + frac
	}
	return out
}

// FormatMoney reads an amount with its currency: "12,000.00 USD". Without a currency
// only the amount is shown; without an amount, nothing.
func FormatMoney(amount sell.Decimal, currency string) string {
	n := formatNumber(amount)
	if n == "" {
		return ""
	}
	if c := strings.TrimSpace(currency); c != "" {
		return n + " " + strings.ToUpper(c)
	}
	return n
}

func formatMoneyValue(raw any) string {
	switch v := deref[Money](raw).(type) {
	case nil:
		return ""
	case Money:
		return FormatMoney(v.Amount, v.Currency)
	}
	return formatNumber(raw)
}

// Dates are shown day first with the month's name ("27 Apr 2016"), which no reader
// can take for another date, whatever their country's order.
const (
	dateLayout     = "2 Jan 2006"
	dateTimeLayout = "2 Jan 2006 15:04"
)

// dateInputs are the layouts Sell uses: its docs show "4/27/2016" and "4/28/2016 6:00"
// for custom fields, records carry RFC 3339, deals ISO dates.
var dateInputs = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04",
	"1/2/2006 15:04:05", "1/2/2006 15:04", "2006-01-02", "1/2/2006"}

func formatDate(raw any, withTime bool) string {
	var t time.Time
	switch v := deref[time.Time](raw).(type) {
	case nil:
		return ""
	case time.Time:
		t = v
	case string:
		s := strings.TrimSpace(v)
		if s == "" {
			return ""
		}
		parsed, layout, ok := parseDate(s)
		if !ok {
			return s // an unexpected layout is shown as written rather than lost
		}
		t = parsed
		if len(layout) <= len("2006-01-02") { // a date alone has no time to show
			withTime = false
		}
	default:
		return plain(raw)
	}
	if t.IsZero() {
		return ""
	}
	if !withTime {
		return t.Format(dateLayout)
	}
	if t.Location() == time.UTC {
		return t.Format(dateTimeLayout) + " UTC"
	}
	return t.Format(dateTimeLayout)
}

func parseDate(s string) (time.Time, string, bool) {
	for _, layout := range dateInputs {
		if t, err := time.Parse(layout, s); err == nil {
			return t, layout, true
		}
	}
	return time.Time{}, "", false
}

// choiceName reads a list value: Sell sends the option's name, or {"id","name"}.
func choiceName(raw any) string {
	switch v := raw.(type) {
	case map[string]any:
		if n, ok := v["name"]; ok {
			return plain(n)
		}
		if n, ok := v["value"]; ok {
			return plain(n)
		}
		return ""
	case sell.Choice:
		return strings.TrimSpace(v.Name)
	case []any, []string:
		return formatList(v)
	}
	return plain(raw)
}

// formatList joins the names of a multi-select value or tag list.
func formatList(raw any) string {
	var parts []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	switch v := raw.(type) {
	case []string:
		for _, s := range v {
			add(s)
		}
	case []any:
		for _, e := range v {
			add(choiceName(e))
		}
	case []sell.Choice:
		for _, c := range v {
			add(c.Name)
		}
	case map[string]any:
		if _, ok := v["name"]; ok {
			return choiceName(v)
		}
		return formatAddress(v)
	case string:
		add(v)
	default:
		add(plain(raw))
	}
	return strings.Join(parts, ", ")
}

// formatAddress puts an address on one line: "1 Market St, San Francisco, CA 94105, US".
func formatAddress(raw any) string {
	var a sell.Address
	switch v := deref[sell.Address](raw).(type) {
	case nil:
		return ""
	case sell.Address:
		a = v
	case map[string]any:
		s := func(k string) string { x, _ := v[k].(string); return x }
		a = sell.Address{Line1: s("line1"), City: s("city"), PostalCode: s("postal_code"), State: s("state"), Country: s("country")}
	case string:
		return strings.TrimSpace(v)
	default:
		return plain(raw)
	}
	region := strings.TrimSpace(strings.TrimSpace(a.State) + " " + strings.TrimSpace(a.PostalCode))
	var parts []string
	for _, p := range []string{a.Line1, a.City, region, a.Country} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

// nameOf names a user or source id; an id the maps do not know is still worth
// showing, as "#id", so the agent can look it up.
func nameOf(raw any, names map[int64]string) string {
	var id int64
	switch v := raw.(type) {
	case int64:
		id = v
	case int:
		id = int64(v)
	case float64:
		id = int64(v)
	case json.Number:
		n, err := v.Int64()
		if err != nil {
			return v.String()
		}
		id = n
	case string:
		return strings.TrimSpace(v)
	default:
		return plain(raw)
	}
	if id == 0 {
		return ""
	}
	if n := strings.TrimSpace(names[id]); n != "" {
		return n
	}
	return "#" + strconv.FormatInt(id, 10)
}

// Sample is a made-up value of field's type for previews. It reads like real data
// so the admin can judge the layout, yet is plainly an example.
func Sample(f Field) string {
	switch f.Key {
	case "name":
		return "Jane Sample"
	case "first_name":
		return "Jane"
	case "last_name":
		return "Sample"
	case "organization", "company":
		return "Example Corp"
	case "status":
		return "New"
	case "title":
		return "Head of Sales"
	case "industry":
		return "Software"
	}
	switch f.Type {
	case TypeEmail:
		return "jane.sample@example.com"
	case TypePhone:
		return "+1 415 555 0100"
	case TypeURL:
		return "https://www.example.com"
	case TypeNumber:
		return formatNumber("1234.5")
	case TypeMoney:
		return FormatMoney("12000.00", "USD")
	case TypeBool:
		return "Yes"
	case TypeDate:
		return formatDate("2026-03-14", false)
	case TypeDateTime:
		return formatDate("2026-03-14T09:30:00Z", true)
	case TypeList:
		if len(f.Choices) > 0 {
			return f.Choices[0]
		}
		return "Option A"
	case TypeMultiList:
		if len(f.Choices) > 1 {
			return f.Choices[0] + ", " + f.Choices[1]
		}
		if len(f.Choices) == 1 {
			return f.Choices[0]
		}
		return "Option A, Option B"
	case TypeAddress:
		return formatAddress(sell.Address{Line1: "1 Sample Street", City: "Springfield", State: "CA", PostalCode: "94105", Country: "US"})
	case TypeUser:
		return "Sam Seller"
	case TypeSource:
		return "Website"
	case TypeTags:
		return "vip, chat"
	case TypeText:
		return "A longer note about this record, as an agent would read it."
	}
	return "Sample " + strings.ToLower(f.Label)
}

// Preview renders widget w's keys with sample values, each marked as a sample, for
// "Review". A company's name reads as a company's.
func Preview(w Name, keys []string, catalogue []Field) []Value {
	out := make([]Value, 0, len(keys))
	for _, k := range keys {
		f, ok := find(catalogue, k)
		if !ok {
			continue
		}
		v := Sample(f)
		if w == Company && f.Key == "name" {
			v = Sample(Field{Key: "company"})
		}
		out = append(out, Value{Key: f.Key, Label: f.Label, Value: v, Sample: true})
	}
	return out
}
