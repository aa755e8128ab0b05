package selltest

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

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
	Version  int                     `json:"version"`
	Data     Seed                    `json:"data"`
	NextID   int64                   `json:"nextId"`
	PoolNext map[int64]int           `json:"poolNext,omitempty"`
	Visible  []visibleState          `json:"visible,omitempty"`
	Codes    map[string]codeState    `json:"codes,omitempty"`
	Access   map[string]accessState  `json:"accessTokens,omitempty"`
	Refresh  map[string]refreshState `json:"refreshTokens,omitempty"`
}

type visibleState struct {
	User     int64  `json:"user"`
	Resource string `json:"resource"`
	ID       int64  `json:"id"`
}

type codeState struct {
	User        int64     `json:"user"`
	Scopes      []string  `json:"scopes"`
	RedirectURI string    `json:"redirectUri"`
	Expires     time.Time `json:"expires"`
}

type accessState struct {
	User    int64     `json:"user"`
	Scopes  []string  `json:"scopes"`
	Expires time.Time `json:"expires"`
	Refresh string    `json:"refresh,omitempty"`
}

type refreshState struct {
	User   int64    `json:"user"`
	Scopes []string `json:"scopes"`
}

// Open returns a sandbox like New, reporting instead of panicking when
// Options.StateFile cannot be read: a file that exists is loaded in place of
// Options.Seed; a missing one is created from the seed at once.
func Open(opts Options) (*Sandbox, error) {
	s := newSandbox(opts)
	if s.opts.StateFile == "" {
		s.load(s.opts.Seed)
		return s, nil
	}
	b, err := os.ReadFile(s.opts.StateFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.load(s.opts.Seed)
	case err != nil:
		return nil, fmt.Errorf("read Sell sandbox state: %w", err)
	default:
		var st state
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, fmt.Errorf("read Sell sandbox state %s (delete it to start again from the demo data): %w", s.opts.StateFile, err)
		}
		if st.Version != stateVersion {
			return nil, fmt.Errorf("Sell sandbox state %s has version %d, this sandbox reads %d (delete it to start again from the demo data)",
				s.opts.StateFile, st.Version, stateVersion)
		}
		s.restore(&st)
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
func (s *Sandbox) Save() error {
	if s.opts.StateFile == "" {
		return nil
	}
	// saveMu orders the writes: a snapshot taken later is also written later, so
	// an older one can never overwrite it.
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	b, err := json.MarshalIndent(s.snapshotLocked(), "", " ")
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encode Sell sandbox state: %w", err)
	}
	if err := writeFileAtomic(s.opts.StateFile, append(b, '\n')); err != nil {
		return fmt.Errorf("save Sell sandbox state: %w", err)
	}
	return nil
}

// changed saves a persistent sandbox after a change. A failed write is logged,
// not answered: the change is made in memory and the API call succeeded, as it
// would have in Sell.
func (s *Sandbox) changed() {
	if s.opts.StateFile == "" {
		return
	}
	if err := s.Save(); err != nil {
		slog.Error("Sell sandbox: state not saved", "file", s.opts.StateFile, "err", err.Error())
	}
}

// snapshotLocked copies the state in a stable order (by id), so that the file
// of an unchanged sandbox does not change.
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
		Codes:    map[string]codeState{},
		Access:   map[string]accessState{},
		Refresh:  map[string]refreshState{},
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
	for k, c := range s.codes {
		st.Codes[k] = codeState{User: c.user, Scopes: c.scopes, RedirectURI: c.redirectURI, Expires: c.expires}
	}
	for k, a := range s.access {
		st.Access[k] = accessState{User: a.user, Scopes: a.scopes, Expires: a.expires, Refresh: a.refresh}
	}
	for k, r := range s.refresh {
		st.Refresh[k] = refreshState{User: r.user, Scopes: r.scopes}
	}
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
	for k, c := range st.Codes {
		s.codes[k] = &authCode{user: c.User, scopes: c.Scopes, redirectURI: c.RedirectURI, expires: c.Expires}
	}
	for k, a := range st.Access {
		s.access[k] = &accessToken{user: a.User, scopes: a.Scopes, expires: a.Expires, refresh: a.Refresh}
	}
	for k, r := range st.Refresh {
		s.refresh[k] = &refreshToken{user: r.User, scopes: r.Scopes}
	}
}

// writeFileAtomic replaces path with data: written and synced to a temporary
// file in the same folder, then renamed over path (a rename within one file
// system is atomic on POSIX systems).
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}
