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
	defer s.changed()
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.ID == 0 {
		l.ID = s.newIDLocked()
	}
	s.stampLocked(&l.CreatedAt, &l.UpdatedAt)
	s.bumpLocked(l.ID)
	s.leads[l.ID] = &l
	return l
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
	defer s.changed()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID == 0 {
		c.ID = s.newIDLocked()
	}
	s.stampLocked(&c.CreatedAt, &c.UpdatedAt)
	s.bumpLocked(c.ID)
	s.contacts[c.ID] = &c
	return c
}

// AddDeal stores a deal as is.
func (s *Sandbox) AddDeal(d sell.Deal) sell.Deal {
	defer s.changed()
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.ID == 0 {
		d.ID = s.newIDLocked()
	}
	s.stampLocked(&d.CreatedAt, &d.UpdatedAt)
	s.bumpLocked(d.ID)
	s.deals[d.ID] = &d
	return d
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
	out := make([]sell.Lead, 0, len(s.leads))
	for _, id := range slices.Sorted(maps.Keys(s.leads)) {
		out = append(out, *s.leads[id])
	}
	return out
}

// Notes returns every stored note, by id.
func (s *Sandbox) Notes() []sell.Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]sell.Note, 0, len(s.notes))
	for _, id := range slices.Sorted(maps.Keys(s.notes)) {
		out = append(out, *s.notes[id])
	}
	return out
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
func (s *Sandbox) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// FailNext answers the next n API calls with status (429s carry
// Retry-After as configured), then behaves normally again.
func (s *Sandbox) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, status)
	}
}

// SetSearchAPI switches the v3 Search API on or off, like a plan change.
func (s *Sandbox) SetSearchAPI(enabled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.searchOff = !enabled
}

// Calls returns how many API calls hit "METHOD /path" (for example
// "GET /v2/leads" or "POST /v3/leads/search"), failed ones included.
func (s *Sandbox) Calls(methodPath string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[methodPath]
}

// CallCounts returns a copy of all call counters, keyed "METHOD /path".
func (s *Sandbox) CallCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// TotalCalls returns the number of API calls (OAuth excluded).
func (s *Sandbox) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

// ResetCalls zeroes the call counters.
func (s *Sandbox) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
}
