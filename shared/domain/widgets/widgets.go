// Package widgets owns the field display rule (docs/design.md): which Sell fields the
// Sell app in Chat shows for a lead, a person and a company, in which order, and how
// each value reads. It knows nothing of HTTP or DynamoDB.
//
// The exported API, in the order a caller meets it:
//
//   - Name (Lead, Person, Company), Names and Parse: the three widgets.
//   - Field{Key, Label, Type, Custom, Choices} and Catalogue(widget, customFields):
//     every field a widget can show, standard fields first, then Sell's custom
//     fields keyed "custom:<Name>" (contact custom fields go to persons or companies
//     by their for_contact / for_company flags).
//   - Defaults(widget): the fields shown before an admin publishes anything.
//   - State{Widget, Draft, Published, ModifiedAt, PublishedAt} and NewState: what
//     is stored per account and widget (package store keeps it).
//   - ValidateDraft(keys, catalogue): an admin's ordered list checked against the
//     catalogue, duplicates dropped; a *FieldError names the first bad entry.
//   - Render(widget, keys, catalogue, record, users, sources) []Value: the values of
//     a sell.Lead or sell.Contact (or Person, to name a person's company) in the
//     given order, formatted by type, empty ones left out.
//   - Format(type, raw, users, sources): one value's text, as Render formats it.
//   - Sample(field) and Preview(widget, keys, catalogue): made-up values for "Review".
//   - FormatMoney(amount, currency): how an amount reads (for deals).
package widgets

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell"
)

// Name is a widget: the kind of Sell record whose fields it shows.
type Name string

// The three widgets.
const (
	Lead    Name = "lead"
	Person  Name = "person"
	Company Name = "company"
)

// Names lists the widgets in the order the settings page shows them.
var Names = []Name{Lead, Person, Company}

// Parse returns the widget named s.
func Parse(s string) (Name, bool) {
	if n := Name(s); slices.Contains(Names, n) {
		return n, true
	}
	return "", false
}

// Type says how a field's value is read and formatted. The custom field types are
// Sell's own names; the rest are for standard fields.
type Type string

// Field types.
const (
	TypeString    Type = "string"
	TypeText      Type = "text"
	TypeEmail     Type = "email"
	TypePhone     Type = "phone"
	TypeURL       Type = "url"
	TypeNumber    Type = "number"
	TypeBool      Type = "bool"
	TypeDate      Type = "date"
	TypeDateTime  Type = "datetime"
	TypeList      Type = "list"
	TypeMultiList Type = "multi_select_list"
	TypeAddress   Type = "address"
	TypeMoney     Type = "money"  // a Money value: amount and currency
	TypeUser      Type = "user"   // a Sell user id, shown as the user's name
	TypeSource    Type = "source" // a lead source id, shown as the source's name
	TypeTags      Type = "tags"   // a list of tags
)

// CustomPrefix starts the key of every custom field: "custom:" + the field's name in
// Sell (records carry custom values keyed by that name).
const CustomPrefix = "custom:"

// IsCustom reports whether key names a custom field.
func IsCustom(key string) bool { return strings.HasPrefix(key, CustomPrefix) }

// Field is one field a widget can show.
type Field struct {
	Key     string   `json:"key"`
	Label   string   `json:"label"`
	Type    Type     `json:"type"`
	Custom  bool     `json:"custom,omitempty"`
	Choices []string `json:"choices,omitempty"` // options of list fields, for samples and pickers
}

// fieldDefs defines every standard field once: a key reads and formats the same on
// each widget that offers it.
var fieldDefs = []Field{
	{Key: "name", Label: "Name", Type: TypeString},
	{Key: "first_name", Label: "First name", Type: TypeString},
	{Key: "last_name", Label: "Last name", Type: TypeString},
	{Key: "organization", Label: "Company name", Type: TypeString},
	{Key: "company", Label: "Company", Type: TypeString},
	{Key: "title", Label: "Title", Type: TypeString},
	{Key: "email", Label: "Email", Type: TypeEmail},
	{Key: "phone", Label: "Phone", Type: TypePhone},
	{Key: "mobile", Label: "Mobile", Type: TypePhone},
	{Key: "fax", Label: "Fax", Type: TypePhone},
	{Key: "status", Label: "Status", Type: TypeString},
	{Key: "owner", Label: "Owner", Type: TypeUser},
	{Key: "source", Label: "Source", Type: TypeSource},
	{Key: "customer_status", Label: "Customer status", Type: TypeList},
	{Key: "prospect_status", Label: "Prospect status", Type: TypeList},
	{Key: "website", Label: "Website", Type: TypeURL},
	{Key: "industry", Label: "Industry", Type: TypeString},
	{Key: "description", Label: "Description", Type: TypeText},
	{Key: "address", Label: "Address", Type: TypeAddress},
	{Key: "tags", Label: "Tags", Type: TypeTags},
	{Key: "twitter", Label: "Twitter", Type: TypeString},
	{Key: "facebook", Label: "Facebook", Type: TypeString},
	{Key: "linkedin", Label: "LinkedIn", Type: TypeString},
	{Key: "skype", Label: "Skype", Type: TypeString},
	{Key: "creator", Label: "Created by", Type: TypeUser},
	{Key: "created_at", Label: "Created", Type: TypeDateTime},
	{Key: "updated_at", Label: "Last updated", Type: TypeDateTime},
}

// recordKeys end every widget's standard fields: what Sell keeps on any record.
var recordKeys = []string{"industry", "description", "address", "tags", "twitter", "facebook", "linkedin", "skype",
	"creator", "created_at", "updated_at"}

// standard lists each widget's standard fields, in the order the picker offers them.
var standard = map[Name][]Field{
	Lead: standardFields("name", "first_name", "last_name", "organization", "title", "email", "phone", "mobile", "fax",
		"status", "owner", "source", "website"),
	Person: standardFields("name", "first_name", "last_name", "company", "title", "email", "phone", "mobile", "fax",
		"owner", "customer_status", "prospect_status", "website"),
	Company: standardFields("name", "email", "phone", "mobile", "fax", "website", "owner", "customer_status", "prospect_status"),
}

// standardFields returns the definitions of keys followed by recordKeys. An unknown
// key is a mistake in the tables above, so it stops the program at start-up.
func standardFields(keys ...string) []Field {
	out := make([]Field, 0, len(keys)+len(recordKeys))
	for _, k := range slices.Concat(keys, recordKeys) {
		f, ok := find(fieldDefs, k)
		if !ok {
			panic("widgets: no standard field " + k)
		}
		out = append(out, f)
	}
	return out
}

// defaults are the fields agents see before anything is published: enough to know
// who is chatting and who owns them in Sell.
var defaults = map[Name][]string{
	Lead:    {"name", "email", "phone", "status", "owner", "source", "organization"},
	Person:  {"name", "email", "phone", "company", "owner"},
	Company: {"name", "email", "phone", "website", "owner"},
}

// Defaults returns the widget's default field keys (a fresh slice).
func Defaults(w Name) []string { return slices.Clone(defaults[w]) }

// Standard returns the widget's standard fields (a fresh slice).
func Standard(w Name) []Field { return slices.Clone(standard[w]) }

// customTypes maps Sell's custom field types to ours; an unknown type (Sell may add
// some) is shown as plain text rather than dropped.
var customTypes = map[string]Type{
	"address": TypeAddress, "bool": TypeBool, "boolean": TypeBool, "date": TypeDate, "datetime": TypeDateTime,
	"email": TypeEmail, "list": TypeList, "multi_select_list": TypeMultiList, "number": TypeNumber,
	"phone": TypePhone, "string": TypeString, "text": TypeText, "url": TypeURL,
}

// Catalogue returns every field widget w can show: its standard fields, then the
// custom fields that apply to it, in Sell's order. Pass the lead custom fields for
// Lead and the contact custom fields for Person and Company: a contact field goes to
// persons when marked for contacts and to companies when marked for companies; one
// marked for neither is offered to both, since Sell then shows it on both.
func Catalogue(w Name, customFields []sell.CustomField) []Field {
	out := Standard(w)
	for _, cf := range customFields {
		if w != Lead && !appliesTo(w, cf) {
			continue
		}
		name := strings.TrimSpace(cf.Name)
		if name == "" {
			continue
		}
		t, ok := customTypes[cf.Type]
		if !ok {
			t = TypeString
		}
		f := Field{Key: CustomPrefix + cf.Name, Label: cf.Name, Type: t, Custom: true}
		if t == TypeList || t == TypeMultiList {
			for _, c := range cf.Choices {
				if len(f.Choices) == MaxChoices {
					break
				}
				f.Choices = append(f.Choices, c.Name)
			}
		}
		out = append(out, f)
	}
	return out
}

func appliesTo(w Name, cf sell.CustomField) bool {
	company := cf.AppliesToCompany()
	if !cf.ForContact && !company {
		return true
	}
	if w == Company {
		return company
	}
	return cf.ForContact
}

// find returns the catalogue's field with key.
func find(catalogue []Field, key string) (Field, bool) {
	for _, f := range catalogue {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

// State is one widget's field display for an account: the draft the admin edits and
// the published list agents see.
type State struct {
	Widget      Name      `json:"widget"`
	Draft       []string  `json:"draft"`
	Published   []string  `json:"published"`
	ModifiedAt  time.Time `json:"modifiedAt,omitzero"`  // last draft change
	ModifiedBy  string    `json:"modifiedBy,omitempty"` // Zendesk user id
	PublishedAt time.Time `json:"publishedAt,omitzero"`
	PublishedBy string    `json:"publishedBy,omitempty"`
}

// NewState is a widget never edited: draft and published are the defaults.
func NewState(w Name) State {
	return State{Widget: w, Draft: Defaults(w), Published: Defaults(w)}
}

// Dirty reports whether the draft differs from what agents see.
func (s State) Dirty() bool { return !slices.Equal(s.Draft, s.Published) }

// MaxChoices bounds the choices a catalogue lists for one list field. They serve
// samples (the preview shows the first) and pickers; Sell does not bound a list
// field's choices, and thousands of them on many fields would take the catalogue's
// answer past Lambda's 6 MB response.
const MaxChoices = 100

// MaxFields bounds a widget's list; a panel beside a chat has room for a few dozen.
const MaxFields = 50

// FieldError says which entry of a draft is wrong and why.
type FieldError struct {
	Field   string // e.g. fields[2]
	Code    string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// ValidateDraft checks an ordered list of keys against the catalogue and returns it
// with repeats removed (each key kept in its first place).
func ValidateDraft(keys []string, catalogue []Field) ([]string, error) {
	out := make([]string, 0, len(keys))
	seen := map[string]bool{}
	for i, k := range keys {
		if _, ok := find(catalogue, k); !ok {
			return nil, &FieldError{Field: fmt.Sprintf("fields[%d]", i), Code: "unknown_field",
				Message: fmt.Sprintf("%q is not a field of this widget in Sell.", truncate(k, 80))}
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	if len(out) > MaxFields {
		return nil, &FieldError{Field: "fields", Code: "too_many", Message: fmt.Sprintf("A widget shows at most %d fields.", MaxFields)}
	}
	return out, nil
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
