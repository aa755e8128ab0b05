package zendesktest

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// stateVersion is the layout of a state file; a file of another layout is refused.
const stateVersion = 1

// state is everything a sandbox remembers, in the form it is saved in: the account's
// data plus what Zendesk would keep across a restart and a seed cannot say (the codes
// and tokens it issued, the next id). Test knobs, rate limiters and the call log are
// per run and kept outside.
type state struct {
	Version  int                      `json:"version"`
	NextID   int64                    `json:"nextId"`
	Users    map[int64]*zendesk.User  `json:"users"`
	OwnerID  int64                    `json:"ownerId"`
	ChatPlan string                   `json:"chatPlan"`
	Apps     []*savedApp              `json:"apps"`
	Chats    map[string]*chatRecord   `json:"chats"`
	Codes    map[string]*authCode     `json:"codes"`
	Access   map[string]*accessToken  `json:"accessTokens"`
	Refresh  map[string]*refreshToken `json:"refreshTokens"`
	// Webhooks and Triggers are what the Webhooks and Triggers APIs created
	// (notify.go); absent from state files written before they existed.
	Webhooks map[string]*webhookRecord  `json:"webhooks,omitempty"`
	Triggers map[int64]*zendesk.Trigger `json:"triggers,omitempty"`
	// Tickets are the messaging tickets with their conversation logs, Identities the
	// users' identities by user id (messaging.go); absent from older state files.
	Tickets    map[int64]*ticketRecord       `json:"tickets,omitempty"`
	Identities map[int64][]*zendesk.Identity `json:"identities,omitempty"`
}

// savedApp is an App with its key as PKCS#8 PEM, so a restart keeps verifying the
// tokens (and public keys) handed out before it.
type savedApp struct {
	App
	KeyPEM string `json:"keyPem"`
}

// Open returns a sandbox like New, reporting instead of panicking when
// Options.StateFile cannot be used: a file that exists is loaded in place of
// Options.Seed; a missing one is written from the seed at once.
func Open(opts Options) (*Sandbox, error) {
	s := newSandbox(opts)
	var st state
	found, err := s.file.Load(&st, stateVersion)
	switch {
	case err != nil:
		return nil, err
	case found:
		if err := s.restore(&st); err != nil {
			return nil, s.file.Unusable(err)
		}
	default:
		if err := s.loadSeed(s.opts.Seed); err != nil {
			return nil, err
		}
	}
	if err := s.Save(); err != nil {
		return nil, err
	}
	return s, nil
}

// loadSeed makes the state of a new sandbox from seed.
func (s *Sandbox) loadSeed(seed *Seed) error {
	st := &state{Version: stateVersion, NextID: 100001, Users: map[int64]*zendesk.User{}, OwnerID: seed.OwnerID,
		ChatPlan: seed.ChatPlan, Chats: map[string]*chatRecord{}, Codes: map[string]*authCode{},
		Access: map[string]*accessToken{}, Refresh: map[string]*refreshToken{}}
	for i := range seed.Users {
		u := seed.Users[i] // a copy: the sandbox must not change the caller's seed
		st.Users[u.ID] = &u
	}
	s.st = st
	s.st.ensureMaps()
	for _, a := range seed.Apps {
		key := a.Key
		if key == nil {
			key = s.opts.AppKey
		}
		if key == nil {
			var err error
			if key, err = auth.NewKey(); err != nil {
				return fmt.Errorf("zendesktest: generate the key of app %d: %w", a.ID, err)
			}
		}
		if err := s.addApp(a, key); err != nil {
			return err
		}
	}
	base := s.now().UTC().Truncate(time.Second).Add(demoChatEndedAt)
	for _, raw := range seed.Chats {
		rec, err := newChatRecord(resolveTimes(raw, base))
		if err != nil {
			return fmt.Errorf("zendesktest: seed chat: %w", err)
		}
		st.Chats[rec.ID] = rec
	}
	return nil
}

// addApp records an app and its key.
func (s *Sandbox) addApp(a App, key *rsa.PrivateKey) error {
	pemText, err := auth.EncodePrivateKey(key)
	if err != nil {
		return fmt.Errorf("zendesktest: encode the key of app %d: %w", a.ID, err)
	}
	a.Key = nil
	s.st.Apps = append(s.st.Apps, &savedApp{App: a, KeyPEM: string(pemText)})
	s.keys[a.ID] = key
	return nil
}

// placeholder is a time in a seed chat: {{t}}, {{t+60}} or {{t-60}} (seconds).
var placeholder = regexp.MustCompile(`\{\{t([+-][0-9]+)?\}\}`)

// resolveTimes replaces the placeholders of raw with times relative to base.
func resolveTimes(raw json.RawMessage, base time.Time) json.RawMessage {
	return placeholder.ReplaceAllFunc(raw, func(m []byte) []byte {
		offset, _ := strconv.Atoi(string(placeholder.FindSubmatch(m)[1]))
		return []byte(base.Add(time.Duration(offset) * time.Second).Format(zendesk.ChatTimestampLayout))
	})
}

// restore loads a saved state.
func (s *Sandbox) restore(st *state) error {
	for _, a := range st.Apps {
		key, err := auth.ParsePrivateKey([]byte(a.KeyPEM))
		if err != nil {
			return fmt.Errorf("key of app %d: %w", a.ID, err)
		}
		s.keys[a.ID] = key
	}
	s.st = st
	s.st.ensureMaps()
	return nil
}

// Save writes the state to Options.StateFile now; without a StateFile it does
// nothing. The file is replaced by a rename, so a crash leaves the old state or the
// new one. A persistent sandbox saves by itself after every change.
func (s *Sandbox) Save() error { return s.file.Save() }

// changed saves a persistent sandbox after a change; a failed write is logged, not
// answered, as the change itself succeeded.
func (s *Sandbox) changed() { s.file.Changed() }

// newIDLocked hands out the next id for users, chats, tickets and identities.
func (s *Sandbox) newIDLocked() int64 {
	id := s.st.NextID
	s.st.NextID++
	return id
}

// ensureMaps makes the maps a state file of an older layout lacks.
func (st *state) ensureMaps() {
	if st.Webhooks == nil {
		st.Webhooks = map[string]*webhookRecord{}
	}
	if st.Triggers == nil {
		st.Triggers = map[int64]*zendesk.Trigger{}
	}
	if st.Tickets == nil {
		st.Tickets = map[int64]*ticketRecord{}
	}
	if st.Identities == nil {
		st.Identities = map[int64][]*zendesk.Identity{}
	}
}
