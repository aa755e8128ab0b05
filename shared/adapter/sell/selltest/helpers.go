package selltest

import (
	"time"

	"maps"
	"slices"
	"strings"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/internal/wire"
)

// The helpers below change or read the sandbox directly, bypassing the API,
// the way a test seeds a database. Records added with ID 0 get a fresh id;
// the stored version is returned.

// AddUser adds a Sell user (users cannot be created through the API).
func (s *Sandbox) AddUser(u sell.User) sell.User {
	defer s.changed()
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == 0 {
		u.ID = s.newIDLocked()
	}
	if u.Status == "" {
		u.Status = "active"
	}
	if u.Role == "" {
		u.Role = "user"
	}
	s.bumpLocked(u.ID)
	s.users[u.ID] = &u
	return u
}

// AddPool creates a distribution pool: a phantom user named
// "Pool: <name>" whose leads are assigned to members in turn.
func (s *Sandbox) AddPool(name string, members ...int64) sell.User {
	defer s.changed()
	u := s.AddUser(sell.User{Name: wire.PoolPhantomPrefix + name,
		Email: "pool-" + strings.ToLower(strings.ReplaceAll(name, " ", "-")) + "@example.com"})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pools[u.ID] = &pool{members: slices.Clone(members)}
	return u
}

// AddLead stores a lead as is (no validation).
func (s *Sandbox) AddLead(l sell.Lead) sell.Lead {
	return addRecord(s, s.leads, l, leadStamps)
}

// DeleteLead removes a lead, as when a rep deletes it in Sell.
func (s *Sandbox) DeleteLead(id int64) {
	defer s.changed()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.leads, id)
}

// AddContact stores a contact as is.
func (s *Sandbox) AddContact(c sell.Contact) sell.Contact {
	return addRecord(s, s.contacts, c, contactStamps)
}

// AddDeal stores a deal as is.
func (s *Sandbox) AddDeal(d sell.Deal) sell.Deal {
	return addRecord(s, s.deals, d, dealStamps)
}

// addRecord stores v in all as is, with a fresh id when it has none and its times
// set to now when unset.
func addRecord[T any](s *Sandbox, all map[int64]*T, v T, stamps stampsOf[T]) T {
	defer s.changed()
	s.mu.Lock()
	defer s.mu.Unlock()
	id, created, updated := stamps(&v)
	if *id == 0 {
		*id = s.newIDLocked()
	}
	s.stampLocked(created, updated)
	s.bumpLocked(*id)
	all[*id] = &v
	return v
}

// stampsOf points at a record's id and times, which Sell's records all have but
// generic code cannot name.
type stampsOf[T any] func(*T) (id *int64, created, updated *time.Time)

func userStamps(u *sell.User) (*int64, *time.Time, *time.Time) {
	return &u.ID, &u.CreatedAt, &u.UpdatedAt
}

func sourceStamps(src *sell.LeadSource) (*int64, *time.Time, *time.Time) {
	return &src.ID, &src.CreatedAt, &src.UpdatedAt
}

func leadStamps(l *sell.Lead) (*int64, *time.Time, *time.Time) {
	return &l.ID, &l.CreatedAt, &l.UpdatedAt
}

func contactStamps(c *sell.Contact) (*int64, *time.Time, *time.Time) {
	return &c.ID, &c.CreatedAt, &c.UpdatedAt
}

func dealStamps(d *sell.Deal) (*int64, *time.Time, *time.Time) {
	return &d.ID, &d.CreatedAt, &d.UpdatedAt
}

func noteStamps(n *sell.Note) (*int64, *time.Time, *time.Time) {
	return &n.ID, &n.CreatedAt, &n.UpdatedAt
}

func (s *Sandbox) stampLocked(created, updated *time.Time) {
	now := s.opts.Now().UTC().Truncate(1e9)
	if created.IsZero() {
		*created = now
	}
	if updated.IsZero() {
		*updated = *created
	}
}

// MakeVisible lets a non-admin user see a record they do not own, as
// sharing or team permissions would in Sell.
func (s *Sandbox) MakeVisible(userID int64, resourceType string, id int64) {
	defer s.changed()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.visible[visKey{userID, resourceType, id}] = true
}

// Lead returns a stored lead, whoever owns it.
func (s *Sandbox) Lead(id int64) (sell.Lead, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.leads[id]
	if !ok {
		return sell.Lead{}, false
	}
	return *l, true
}

// Leads returns every stored lead, by id.
func (s *Sandbox) Leads() []sell.Lead {
	s.mu.Lock()
	defer s.mu.Unlock()
	return appendByID(make([]sell.Lead, 0, len(s.leads)), s.leads)
}

// Notes returns every stored note, by id.
func (s *Sandbox) Notes() []sell.Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	return appendByID(make([]sell.Note, 0, len(s.notes)), s.notes)
}

// appendByID appends the records of m to dst in id order: a stable order for
// callers and for the state file.
func appendByID[T any](dst []T, m map[int64]*T) []T {
	for _, id := range slices.Sorted(maps.Keys(m)) {
		dst = append(dst, *m[id])
	}
	return dst
}

// User returns the user with that email.
func (s *Sandbox) User(email string) (sell.User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByEmailLocked(email)
	if u == nil {
		return sell.User{}, false
	}
	return *u, true
}

// SetFaults replaces the fault configuration; Faults{} turns faults off.
func (s *Sandbox) SetFaults(f Faults) { s.faults.Set(f) }

// Heal ends every fault: SetFaults' configuration and what FailNext queued.
func (s *Sandbox) Heal() { s.faults.Heal() }

// FailNext answers the next n API calls with status (429s carry
// Retry-After as configured), then behaves normally again.
func (s *Sandbox) FailNext(n, status int) { s.faults.FailNext(n, status) }

// SetSearchAPI switches the v3 Search API on or off, like a plan change.
func (s *Sandbox) SetSearchAPI(enabled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.searchOff = !enabled
}

// Calls returns how many API calls hit "METHOD /path" (for example
// "GET /v2/leads" or "POST /v3/leads/search"), failed ones included.
func (s *Sandbox) Calls(methodPath string) int { return s.calls.Count(methodPath) }

// CallCounts returns a copy of all call counters, keyed "METHOD /path".
func (s *Sandbox) CallCounts() map[string]int { return s.calls.Counts() }

// TotalCalls returns the number of API calls (OAuth excluded).
func (s *Sandbox) TotalCalls() int { return s.calls.Len() }

// ResetCalls zeroes the call counters.
func (s *Sandbox) ResetCalls() { s.calls.Reset() }
