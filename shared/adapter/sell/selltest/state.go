package selltest

import (
	"cmp"
	"maps"
	"slices"

	"github.com/sellchat/sellchat/shared/adapter/sandbox"
	"github.com/sellchat/sellchat/shared/adapter/sell"
)

// stateVersion is the layout of a state file; a file of another layout is
// refused rather than half read.
const stateVersion = 1

// state is what a persistent sandbox keeps on disk: the account's data (the
// part a Seed also gives), plus what Sell would remember between restarts and
// a seed cannot say: the OAuth codes and tokens it issued, where each pool's
// rotation stands, records shared with MakeVisible and the next free id.
// Test knobs (faults, DenyAuthorization, SetSearchAPI), rate limiters and call
// counters are per run and not kept.
type state struct {
	Version  int                             `json:"version"`
	Data     Seed                            `json:"data"`
	NextID   int64                           `json:"nextId"`
	PoolNext map[int64]int                   `json:"poolNext,omitempty"`
	Visible  []visibleState                  `json:"visible,omitempty"`
	Codes    map[string]*sandbox.Code        `json:"codes,omitempty"`
	Access   map[string]*sandbox.AccessToken `json:"accessTokens,omitempty"`
	Refresh  map[string]*sandbox.Grant       `json:"refreshTokens,omitempty"`
}

type visibleState struct {
	User     int64  `json:"user"`
	Resource string `json:"resource"`
	ID       int64  `json:"id"`
}

// Open returns a sandbox like New, reporting instead of panicking when
// Options.StateFile cannot be read: a file that exists is loaded in place of
// Options.Seed; a missing one is created from the seed at once.
func Open(opts Options) (*Sandbox, error) {
	s := newSandbox(opts)
	var st state
	found, err := s.file.Load(&st, stateVersion)
	if err != nil {
		return nil, err
	}
	if found {
		s.restore(&st)
	} else {
		s.load(s.opts.Seed)
	}
	if err := s.Save(); err != nil {
		return nil, err
	}
	return s, nil
}

// Save writes the state to Options.StateFile at once; without a StateFile it
// does nothing. The file is replaced atomically (a temporary file renamed over
// it), so a crash leaves the previous state or the new one, never half of one.
// A persistent sandbox saves by itself after every change and on Close; Save
// is for callers that want to know the write succeeded.
func (s *Sandbox) Save() error { return s.file.Save() }

// changed saves a persistent sandbox after a change. A failed write is logged,
// not answered: the change is made in memory and the API call succeeded, as it
// would have in Sell.
func (s *Sandbox) changed() { s.file.Changed() }

// snapshotLocked copies the state in a stable order (by id), so that the file
// of an unchanged sandbox does not change. The OAuth records are shared, not
// copied: the state is encoded before the lock is let go.
func (s *Sandbox) snapshotLocked() *state {
	st := &state{
		Version: stateVersion,
		NextID:  s.nextID,
		Data: Seed{
			Account:      s.account,
			LeadStatuses: slices.Clone(s.statuses),
			CustomFields: map[string][]sell.CustomField{},
		},
		PoolNext: map[int64]int{},
		Codes:    s.codes,
		Access:   s.access,
		Refresh:  s.refresh,
	}
	// appendByID leaves the nil slices of st nil when there is nothing to add, so
	// an empty kind is still written as null.
	st.Data.Users = appendByID(st.Data.Users, s.users)
	for _, id := range slices.Sorted(maps.Keys(s.pools)) {
		p := s.pools[id]
		st.Data.Pools = append(st.Data.Pools, Pool{PhantomID: id, Members: slices.Clone(p.members)})
		st.PoolNext[id] = p.next
	}
	st.Data.LeadSources = appendByID(st.Data.LeadSources, s.sources)
	for rt, fs := range s.fields {
		st.Data.CustomFields[rt] = slices.Clone(fs)
	}
	st.Data.Leads = appendByID(st.Data.Leads, s.leads)
	st.Data.Contacts = appendByID(st.Data.Contacts, s.contacts)
	st.Data.Deals = appendByID(st.Data.Deals, s.deals)
	st.Data.Notes = appendByID(st.Data.Notes, s.notes)
	for k, ok := range s.visible {
		if ok {
			st.Visible = append(st.Visible, visibleState{User: k.user, Resource: k.resource, ID: k.id})
		}
	}
	slices.SortFunc(st.Visible, func(a, b visibleState) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Resource, b.Resource), cmp.Compare(a.ID, b.ID))
	})
	return st
}

// restore loads a saved state into a new sandbox.
func (s *Sandbox) restore(st *state) {
	s.load(&st.Data)
	s.bumpLocked(st.NextID - 1)
	for id, next := range st.PoolNext {
		if p := s.pools[id]; p != nil {
			p.next = next
		}
	}
	for _, v := range st.Visible {
		s.visible[visKey{v.User, v.Resource, v.ID}] = true
	}
	maps.Copy(s.codes, st.Codes)
	maps.Copy(s.access, st.Access)
	maps.Copy(s.refresh, st.Refresh)
}
