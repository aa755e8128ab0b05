package sell

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Resource types as Sell names them in notes, custom fields and errors.
// People and companies are both "contact".
const (
	ResourceLead    = "lead"
	ResourceContact = "contact"
	ResourceDeal    = "deal"
)

// Decimal is a Sell decimal (deal value, number custom fields). Sell sends
// decimals as strings to avoid float rounding, and some responses use bare
// numbers, so it unmarshals from either and keeps the exact text.
type Decimal string

// UnmarshalJSON accepts a JSON string, number or null.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*d = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = Decimal(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("sell: decimal: %w", err)
		}
		*d = Decimal(n)
	}
	return nil
}

// Address is the postal address of leads, contacts and address custom fields.
type Address struct {
	Line1      string `json:"line1,omitempty"`
	City       string `json:"city,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	State      string `json:"state,omitempty"`
	Country    string `json:"country,omitempty"`
}

// Group is a user's group.
type Group struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// User is a Sell user. Users are read-only through the API. A distribution
// pool appears as a "phantom" user whose id is used as owner_id.
type User struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Email       string    `json:"email"`
	Status      string    `json:"status"` // active or inactive
	Role        string    `json:"role"`   // admin or user
	Confirmed   bool      `json:"confirmed"`
	PhoneNumber string    `json:"phone_number,omitempty"`
	Timezone    string    `json:"timezone,omitempty"`
	TeamName    string    `json:"team_name,omitempty"`
	Group       *Group    `json:"group,omitempty"`
	ReportsTo   int64     `json:"reports_to,omitempty"` // the user's manager
	CreatedAt   time.Time `json:"created_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
}

// IsAdmin reports whether the user is a Sell admin.
func (u User) IsAdmin() bool { return u.Role == "admin" }

// IsActive reports whether the user can sign in and own records.
func (u User) IsActive() bool { return u.Status == "active" }

// Account is the Sell account of the token (/v2/accounts/self).
type Account struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Currency   string `json:"currency,omitempty"`
	Timezone   string `json:"timezone,omitempty"`
	TimeFormat string `json:"time_format,omitempty"`
	Phone      string `json:"phone,omitempty"`
	// ZendeskSubdomain names the Zendesk account a Sell account lives on. Sell's API
	// documents no way to tell a Sell account on the Zendesk platform from a legacy
	// (pre-Zendesk) one, so sellchat assumes this field is set on the former and absent
	// on the latter. The install prerequisites rely on it (connect.Prerequisites, tested
	// in shared/handler/oauth/prereq_test.go) and the sandbox answers the same way
	// (selltest/seed.go), so the assumption is checked against our sandbox, not Sell.
	ZendeskSubdomain string `json:"zendesk_subdomain,omitempty"`
}

// Lead is a Sell lead. Status is the status name, not an id. CustomFields is
// keyed by custom field name; values are strings, numbers-as-strings, bools,
// objects ({"id","name"} for lists, Address-shaped for addresses) or arrays.
type Lead struct {
	ID               int64          `json:"id"`
	CreatorID        int64          `json:"creator_id,omitempty"`
	OwnerID          int64          `json:"owner_id,omitempty"`
	FirstName        string         `json:"first_name,omitempty"`
	LastName         string         `json:"last_name,omitempty"`
	OrganizationName string         `json:"organization_name,omitempty"`
	Status           string         `json:"status,omitempty"`
	SourceID         int64          `json:"source_id,omitempty"`
	Title            string         `json:"title,omitempty"`
	Description      string         `json:"description,omitempty"`
	Industry         string         `json:"industry,omitempty"`
	Website          string         `json:"website,omitempty"`
	Email            string         `json:"email,omitempty"`
	Phone            string         `json:"phone,omitempty"`
	Mobile           string         `json:"mobile,omitempty"`
	Fax              string         `json:"fax,omitempty"`
	Twitter          string         `json:"twitter,omitempty"`
	Facebook         string         `json:"facebook,omitempty"`
	Linkedin         string         `json:"linkedin,omitempty"`
	Skype            string         `json:"skype,omitempty"`
	Address          *Address       `json:"address,omitempty"`
	Tags             []string       `json:"tags,omitempty"`
	CustomFields     map[string]any `json:"custom_fields,omitempty"`
	CreatedAt        time.Time      `json:"created_at,omitzero"`
	UpdatedAt        time.Time      `json:"updated_at,omitzero"`
}

// NewLead holds the writable attributes of a lead to create. Sell requires
// LastName or OrganizationName. OwnerID may be a pool phantom user, in which
// case Sell assigns the pool's next member.
type NewLead struct {
	OwnerID          int64          `json:"owner_id,omitempty"`
	FirstName        string         `json:"first_name,omitempty"`
	LastName         string         `json:"last_name,omitempty"`
	OrganizationName string         `json:"organization_name,omitempty"`
	Status           string         `json:"status,omitempty"`
	SourceID         int64          `json:"source_id,omitempty"`
	Title            string         `json:"title,omitempty"`
	Description      string         `json:"description,omitempty"`
	Email            string         `json:"email,omitempty"`
	Phone            string         `json:"phone,omitempty"`
	Mobile           string         `json:"mobile,omitempty"`
	Website          string         `json:"website,omitempty"`
	Address          *Address       `json:"address,omitempty"`
	Tags             []string       `json:"tags,omitempty"`
	CustomFields     map[string]any `json:"custom_fields,omitempty"`
}

// Contact is a Sell contact: a person or, with IsOrganization, a company.
// ContactID on a person is the id of its company.
type Contact struct {
	ID             int64          `json:"id"`
	CreatorID      int64          `json:"creator_id,omitempty"`
	OwnerID        int64          `json:"owner_id,omitempty"`
	IsOrganization bool           `json:"is_organization"`
	Name           string         `json:"name,omitempty"`
	FirstName      string         `json:"first_name,omitempty"`
	LastName       string         `json:"last_name,omitempty"`
	ContactID      int64          `json:"contact_id,omitempty"`
	CustomerStatus string         `json:"customer_status,omitempty"`
	ProspectStatus string         `json:"prospect_status,omitempty"`
	Title          string         `json:"title,omitempty"`
	Description    string         `json:"description,omitempty"`
	Industry       string         `json:"industry,omitempty"`
	Website        string         `json:"website,omitempty"`
	Email          string         `json:"email,omitempty"`
	Phone          string         `json:"phone,omitempty"`
	Mobile         string         `json:"mobile,omitempty"`
	Fax            string         `json:"fax,omitempty"`
	Twitter        string         `json:"twitter,omitempty"`
	Facebook       string         `json:"facebook,omitempty"`
	Linkedin       string         `json:"linkedin,omitempty"`
	Skype          string         `json:"skype,omitempty"`
	Address        *Address       `json:"address,omitempty"`
	Tags           []string       `json:"tags,omitempty"`
	CustomFields   map[string]any `json:"custom_fields,omitempty"`
	CreatedAt      time.Time      `json:"created_at,omitzero"`
	UpdatedAt      time.Time      `json:"updated_at,omitzero"`
}

// DisplayName is the name Sell shows: the company name, or first and last
// name of a person.
func (c Contact) DisplayName() string {
	if c.IsOrganization || c.Name != "" {
		return c.Name
	}
	if c.FirstName == "" {
		return c.LastName
	}
	return c.FirstName + " " + c.LastName
}

// Deal is a Sell deal. ContactID is the primary contact (person or company).
type Deal struct {
	ID                 int64          `json:"id"`
	CreatorID          int64          `json:"creator_id,omitempty"`
	OwnerID            int64          `json:"owner_id,omitempty"`
	Name               string         `json:"name"`
	ContactID          int64          `json:"contact_id,omitempty"`
	OrganizationID     int64          `json:"organization_id,omitempty"`
	StageID            int64          `json:"stage_id,omitempty"`
	SourceID           int64          `json:"source_id,omitempty"`
	Value              Decimal        `json:"value,omitempty"`
	Currency           string         `json:"currency,omitempty"`
	Hot                bool           `json:"hot"`
	EstimatedCloseDate string         `json:"estimated_close_date,omitempty"`
	Tags               []string       `json:"tags,omitempty"`
	CustomFields       map[string]any `json:"custom_fields,omitempty"`
	CreatedAt          time.Time      `json:"created_at,omitzero"`
	UpdatedAt          time.Time      `json:"updated_at,omitzero"`
}

// LeadSource is where a lead came from ("Zendesk Chat"). Names are unique.
type LeadSource struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	ResourceType string    `json:"resource_type,omitempty"`
	CreatorID    int64     `json:"creator_id,omitempty"`
	CreatedAt    time.Time `json:"created_at,omitzero"`
	UpdatedAt    time.Time `json:"updated_at,omitzero"`
}

// LeadStatus is one of the account's lead statuses; leads carry its Name.
type LeadStatus struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Choice is an option of a list or multi_select_list custom field.
type Choice struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// CustomField is a custom field definition. Type is one of address, bool,
// date, datetime, email, list, multi_select_list, number, phone, string,
// text, url. Records carry values keyed by Name.
type CustomField struct {
	ID         int64    `json:"id"`
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	Choices    []Choice `json:"choices,omitempty"`
	ForContact bool     `json:"for_contact"`
	// The company flag is spelled for_company in the docs and for_organisation
	// in Zendesk's own Zapier app; both are read.
	ForCompany      bool      `json:"for_company"`
	ForOrganisation bool      `json:"for_organisation"`
	CreatedAt       time.Time `json:"created_at,omitzero"`
	UpdatedAt       time.Time `json:"updated_at,omitzero"`
}

// AppliesToCompany reports whether a contact custom field applies to companies.
func (f CustomField) AppliesToCompany() bool { return f.ForCompany || f.ForOrganisation }

// Note is a note on a lead, contact or deal; we mirror chat transcripts as
// notes because notes are the only public way into Sell's activity feed.
type Note struct {
	ID           int64     `json:"id"`
	Content      string    `json:"content"`
	ResourceType string    `json:"resource_type"`
	ResourceID   int64     `json:"resource_id"`
	CreatorID    int64     `json:"creator_id,omitempty"`
	CreatedAt    time.Time `json:"created_at,omitzero"`
	UpdatedAt    time.Time `json:"updated_at,omitzero"`
}

// NewNote holds the attributes of a note to create.
type NewNote struct {
	ResourceType string `json:"resource_type"`
	ResourceID   int64  `json:"resource_id"`
	Content      string `json:"content"`
}
