package selltest

import (
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/internal/wire"
)

// Seed is the initial content of a sandbox.
// The JSON names are those of a persistent sandbox's state file (Options.StateFile).
type Seed struct {
	Account      sell.Account      `json:"account"`
	Users        []sell.User       `json:"users"`
	Pools        []Pool            `json:"pools"`
	LeadStatuses []sell.LeadStatus `json:"leadStatuses"`
	LeadSources  []sell.LeadSource `json:"leadSources"`
	// CustomFields maps a resource type (sell.ResourceLead…) to its fields.
	CustomFields map[string][]sell.CustomField `json:"customFields"`
	Leads        []sell.Lead                   `json:"leads"`
	Contacts     []sell.Contact                `json:"contacts"`
	Deals        []sell.Deal                   `json:"deals"`
	Notes        []sell.Note                   `json:"notes"`
}

// Pool is a distribution pool: leads created with OwnerID = PhantomID go to
// Members in turn. The phantom must be among Seed.Users.
type Pool struct {
	PhantomID int64   `json:"phantomId"`
	Members   []int64 `json:"members"`
}

// Ids of the demo seed, for tests and demos. Each kind of record has its own
// range so that an id used for the wrong kind shows up as a 404.
const (
	DemoAdminID       = 1001 // Ada Admin, admin and superior manager
	DemoRexID         = 1002 // Rex Rep
	DemoRitaID        = 1003 // Rita Rep
	DemoPoolID        = 1004 // "Pool: Inbound" phantom; members Rex and Rita
	DemoInactiveID    = 1005 // Ivan Inactive
	DemoVeraLeadID    = 2001 // vera@example.com, +1 415 555 0100, owned by Rex
	DemoLiamLeadID    = 2002 // owned by Rita
	DemoNorthwindID   = 2003 // organisation-only lead owned by Ada
	DemoAcmeID        = 3001 // company Acme Corp
	DemoPaulContactID = 3002 // person at Acme with two deals
	DemoCaraContactID = 3003 // person owned by Rita
	DemoAnnualDealID  = 4001
	DemoOnboardDealID = 4002
	DemoStatusNewID   = 6001
	DemoSourceWebID   = 5001
)

// Demo emails.
const (
	DemoAdminEmail = "ada@example.com"
	DemoRexEmail   = "rex@example.com"
	DemoRitaEmail  = "rita@example.com"
	DemoVeraEmail  = "vera@example.com"
)

// DemoSeed returns the demo data described in docs/sell-sandbox.md. Each
// call returns a fresh copy.
func DemoSeed() *Seed {
	t0 := time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)
	at := func(days int) time.Time { return t0.Add(time.Duration(days) * 24 * time.Hour) }
	user := func(id int64, name, email, role, status string, reportsTo int64) sell.User {
		return sell.User{ID: id, Name: name, Email: email, Role: role, Status: status, Confirmed: true,
			ReportsTo: reportsTo, Timezone: "UTC", TeamName: "Sales", CreatedAt: t0, UpdatedAt: t0}
	}
	cf := func(id int64, name, typ string, choices ...string) sell.CustomField {
		f := sell.CustomField{ID: id, Name: name, Type: typ, CreatedAt: t0, UpdatedAt: t0}
		for i, c := range choices {
			f.Choices = append(f.Choices, sell.Choice{ID: id*10 + int64(i) + 1, Name: c})
		}
		return f
	}
	contactField := func(f sell.CustomField, company bool) sell.CustomField {
		f.ForContact, f.ForCompany, f.ForOrganisation = !company, company, company
		return f
	}
	return &Seed{
		Account: sell.Account{ID: 900, Name: "Example Inc. (sandbox)", Currency: "USD", Timezone: "UTC+00:00", TimeFormat: "24H", ZendeskSubdomain: "acme"},
		Users: []sell.User{
			user(DemoAdminID, "Ada Admin", DemoAdminEmail, "admin", "active", 0),
			user(DemoRexID, "Rex Rep", DemoRexEmail, "user", "active", DemoAdminID),
			user(DemoRitaID, "Rita Rep", DemoRitaEmail, "user", "active", DemoAdminID),
			user(DemoPoolID, wire.PoolPhantomPrefix+"Inbound", "pool-inbound@example.com", "user", "active", 0),
			user(DemoInactiveID, "Ivan Inactive", "ivan@example.com", "user", "inactive", DemoAdminID),
		},
		Pools: []Pool{{PhantomID: DemoPoolID, Members: []int64{DemoRexID, DemoRitaID}}},
		LeadStatuses: []sell.LeadStatus{
			{ID: DemoStatusNewID, Name: "New", CreatedAt: t0, UpdatedAt: t0},
			{ID: 6002, Name: "Working", CreatedAt: t0, UpdatedAt: t0},
			{ID: 6003, Name: "Unqualified", CreatedAt: t0, UpdatedAt: t0},
		},
		LeadSources: []sell.LeadSource{
			{ID: DemoSourceWebID, Name: "Website", ResourceType: "lead", CreatorID: DemoAdminID, CreatedAt: t0, UpdatedAt: t0},
			{ID: 5002, Name: "Referral", ResourceType: "lead", CreatorID: DemoAdminID, CreatedAt: t0, UpdatedAt: t0},
			{ID: 5003, Name: "Trade show", ResourceType: "lead", CreatorID: DemoAdminID, CreatedAt: t0, UpdatedAt: t0},
		},
		CustomFields: map[string][]sell.CustomField{
			sell.ResourceLead: {
				cf(7001, "Budget", "number"),
				cf(7002, "Preferred language", "list", "English", "French", "Spanish"),
				cf(7003, "Newsletter", "bool"),
				cf(7004, "Next follow-up", "date"),
				cf(7005, "Interests", "multi_select_list", "Pricing", "Integrations", "Support"),
				cf(7006, "Homepage", "url"),
				cf(7007, "Billing email", "email"),
				cf(7008, "Assistant phone", "phone"),
				cf(7009, "Referral code", "string"),
				cf(7010, "Office address", "address"),
			},
			sell.ResourceContact: {
				contactField(cf(7101, "Customer tier", "list", "Gold", "Silver", "Bronze"), false),
				contactField(cf(7102, "Customer since", "date"), false),
				contactField(cf(7103, "VIP", "bool"), false),
				contactField(cf(7104, "Employees", "number"), true),
			},
			sell.ResourceDeal: {
				cf(7201, "Contract months", "number"),
				cf(7202, "Renewal", "bool"),
			},
		},
		Leads: []sell.Lead{
			{ID: DemoVeraLeadID, CreatorID: DemoAdminID, OwnerID: DemoRexID, FirstName: "Vera", LastName: "Visitor",
				OrganizationName: "Visitor Labs", Status: "New", SourceID: DemoSourceWebID, Title: "CTO",
				Email: DemoVeraEmail, Phone: "+1 415 555 0100", Website: "https://visitorlabs.example.com",
				Address:      &sell.Address{Line1: "1 Market St", City: "San Francisco", PostalCode: "94105", State: "CA", Country: "US"},
				Tags:         []string{"chat"},
				CustomFields: map[string]any{"Budget": "15000", "Preferred language": "English", "Newsletter": true, "Interests": []any{"Pricing", "Integrations"}},
				CreatedAt:    at(0), UpdatedAt: at(10)},
			{ID: DemoLiamLeadID, CreatorID: DemoRitaID, OwnerID: DemoRitaID, FirstName: "Liam", LastName: "Lead",
				Status: "Working", SourceID: 5002, Email: "liam@example.org", Phone: "(212) 555-0199", Mobile: "+44 7700 900123",
				CustomFields: map[string]any{"Next follow-up": "3/14/2025"}, CreatedAt: at(1), UpdatedAt: at(8)},
			{ID: DemoNorthwindID, CreatorID: DemoAdminID, OwnerID: DemoAdminID, OrganizationName: "Northwind Traders",
				Status: "Unqualified", SourceID: 5003, Email: "hello@northwind.example", Phone: "+1 206 555 0123",
				Industry: "Retail", CreatedAt: at(2), UpdatedAt: at(3)},
		},
		Contacts: []sell.Contact{
			{ID: DemoAcmeID, CreatorID: DemoAdminID, OwnerID: DemoAdminID, IsOrganization: true, Name: "Acme Corp",
				Email: "info@acme.example", Phone: "+1 212 555 0142", Website: "https://acme.example", Industry: "Manufacturing",
				CustomerStatus: "current", ProspectStatus: "none", CustomFields: map[string]any{"Employees": "250"},
				Address:   &sell.Address{Line1: "5 Anvil Way", City: "New York", PostalCode: "10001", State: "NY", Country: "US"},
				CreatedAt: at(0), UpdatedAt: at(5)},
			{ID: DemoPaulContactID, CreatorID: DemoAdminID, OwnerID: DemoRexID, FirstName: "Paul", LastName: "Person",
				ContactID: DemoAcmeID, Title: "Head of Purchasing", Email: "paul@acme.example", Phone: "+44 20 7946 0958",
				Mobile: "+1 646 555 0177", CustomerStatus: "current", ProspectStatus: "none",
				CustomFields: map[string]any{"Customer tier": "Gold", "VIP": true}, CreatedAt: at(0), UpdatedAt: at(9)},
			{ID: DemoCaraContactID, CreatorID: DemoRitaID, OwnerID: DemoRitaID, FirstName: "Cara", LastName: "Customer",
				Email: "cara@example.net", Phone: "503-555-0111", CustomerStatus: "past", ProspectStatus: "lost",
				CreatedAt: at(2), UpdatedAt: at(4)},
		},
		Deals: []sell.Deal{
			{ID: DemoAnnualDealID, CreatorID: DemoRexID, OwnerID: DemoRexID, Name: "Acme annual plan", ContactID: DemoPaulContactID,
				OrganizationID: DemoAcmeID, StageID: 1, Value: "12000.00", Currency: "USD", Hot: true,
				EstimatedCloseDate: "2025-06-30", CustomFields: map[string]any{"Contract months": "12"}, CreatedAt: at(1), UpdatedAt: at(7)},
			{ID: DemoOnboardDealID, CreatorID: DemoRexID, OwnerID: DemoRexID, Name: "Acme onboarding", ContactID: DemoPaulContactID,
				OrganizationID: DemoAcmeID, StageID: 2, Value: "2500", Currency: "USD", CreatedAt: at(2), UpdatedAt: at(6)},
			{ID: 4003, CreatorID: DemoAdminID, OwnerID: DemoAdminID, Name: "Acme enterprise upgrade", ContactID: DemoAcmeID,
				StageID: 1, Value: "50000", Currency: "EUR", CustomFields: map[string]any{"Renewal": false}, CreatedAt: at(3), UpdatedAt: at(3)},
			{ID: 4004, CreatorID: DemoRitaID, OwnerID: DemoRitaID, Name: "Cara renewal", ContactID: DemoCaraContactID,
				StageID: 3, Value: "900.50", Currency: "USD", CreatedAt: at(2), UpdatedAt: at(4)},
		},
		Notes: []sell.Note{
			{ID: 8001, Content: "Met Vera at the web summit; follow up on pricing.", ResourceType: sell.ResourceLead,
				ResourceID: DemoVeraLeadID, CreatorID: DemoRexID, CreatedAt: at(10), UpdatedAt: at(10)},
		},
	}
}

// load copies seed into the sandbox.
func (s *Sandbox) load(seed *Seed) {
	s.account = seed.Account
	putAllLocked(s, s.users, seed.Users, userStamps)
	for _, p := range seed.Pools {
		s.pools[p.PhantomID] = &pool{members: append([]int64(nil), p.Members...)}
	}
	s.statuses = append(s.statuses, seed.LeadStatuses...)
	putAllLocked(s, s.sources, seed.LeadSources, sourceStamps)
	for rt, fs := range seed.CustomFields {
		s.fields[rt] = append([]sell.CustomField(nil), fs...)
	}
	putAllLocked(s, s.leads, seed.Leads, leadStamps)
	putAllLocked(s, s.contacts, seed.Contacts, contactStamps)
	putAllLocked(s, s.deals, seed.Deals, dealStamps)
	putAllLocked(s, s.notes, seed.Notes, noteStamps)
}

// putAllLocked stores recs in all by id, as they are, and keeps generated ids
// above theirs.
func putAllLocked[T any](s *Sandbox, all map[int64]*T, recs []T, stamps stampsOf[T]) {
	for _, v := range recs {
		id, _, _ := stamps(&v)
		all[*id] = &v
		s.bumpLocked(*id)
	}
}

// bumpLocked keeps generated ids above every seeded one.
func (s *Sandbox) bumpLocked(id int64) {
	if id >= s.nextID {
		s.nextID = id + 1
	}
}
