package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// SettingsFigures is what the settings scenario counted.
type SettingsFigures struct {
	Admins    int // concurrent admins, one PATCH each
	Saved     int // PATCHes answered 200
	Conflicts int // 409s, each followed by a fresh read and a retry
	Busy      int // 503s (the store timed out or throttled: nothing was written), retried the same way
	Attempts  int // PATCHes sent in all
	Failed    int // admins that never saved (other answers, or out of time)
	Final     int64
	Took      time.Duration
	// LostUpdates: saves whose change is missing from the version that followed
	// them, plus versions handed out twice or skipped.
	LostUpdates int
	problems    problems
}

// Check is nil when every admin saved and no update was lost.
func (f *SettingsFigures) Check() error {
	if f.LostUpdates == 0 && f.Failed == 0 && f.Saved == f.Admins {
		return nil
	}
	return fmt.Errorf("settings: %d lost updates, %d of %d admins saved, %d failed\n%s", f.LostUpdates, f.Saved, f.Admins, f.Failed, f.problems.String())
}

func (f *SettingsFigures) String() string {
	s := fmt.Sprintf("settings: %d concurrent PATCH /settings (read version, add own owner, If-Match, retry on 409): %v\n"+
		"  saved %d, 409 conflicts %d, 503 busy %d (%d PATCHes in all, %.1f per save), failed %d, final version %d\n  lost updates %d",
		f.Admins, round(f.Took), f.Saved, f.Conflicts, f.Busy, f.Attempts, float64(f.Attempts)/float64(max(f.Saved, 1)), f.Failed, f.Final, f.LostUpdates)
	if p := f.problems.String(); p != "" {
		s += "\n" + p
	}
	return s
}

type settingsView struct {
	Owners  []settings.Owner `json:"owners"`
	Version int64            `json:"version"`
}

// Settings has n admins of one account save at once. Each reads the settings,
// adds its own Sell user to the owners (keeping the newest settings.MaxOwners, the
// cap), and PATCHes with If-Match; on 409 it reads again and retries. Every save's
// answer is kept, so the whole history is known: version v must be exactly version
// v-1 with that admin's owner added. A save applied to a stale read (a lost update)
// shows as a version without the previous admin's owner.
func Settings(ctx context.Context, t testing.TB, n int) (*SettingsFigures, error) {
	t.Helper()
	f := &SettingsFigures{Admins: n}
	s := newStack(t)
	defer func() { f.problems.logged = s.errs.summary() }()
	s.env.Connect(t, account)
	users := make([]int64, n)
	for i := range users {
		users[i] = s.env.Sell.AddUser(sell.User{Name: fmt.Sprintf("Owner %d", i), Email: fmt.Sprintf("owner%d@soak.example", i)}).ID
	}
	tok, err := s.env.Signer.Sign(auth.Identity{Account: account, UserID: "soak-admin", Role: auth.RoleAdmin})
	if err != nil {
		return f, err
	}
	var initial settingsView
	if err := s.getSettings(ctx, tok, &initial); err != nil {
		return f, err
	}

	var (
		mu    sync.Mutex
		saves []saved
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	began := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 99))
			<-start
			for try := 0; ; try++ {
				var cur settingsView
				err := s.getSettings(ctx, tok, &cur)
				if errors.Is(err, errBusy) {
					mu.Lock()
					f.Busy++
					mu.Unlock()
					if sell.Sleep(ctx, time.Duration(rng.Int64N(int64(100*time.Millisecond)))) == nil {
						continue
					}
				}
				if err != nil {
					mu.Lock()
					f.Failed++
					f.problems.add("admin %d: %v", i, err)
					mu.Unlock()
					return
				}
				next := append(slices.Clone(cur.Owners), settings.Owner{Type: settings.OwnerUser, ID: users[i]})
				if len(next) > settings.MaxOwners {
					next = next[len(next)-settings.MaxOwners:]
				}
				status, body, err := s.patchSettings(ctx, tok, cur.Version, next)
				mu.Lock()
				f.Attempts++
				switch {
				case err != nil:
					f.Failed++
					f.problems.add("admin %d: %v", i, err)
				case status == http.StatusOK:
					var v settingsView
					if err := json.Unmarshal(body, &v); err != nil {
						f.Failed++
						f.problems.add("admin %d: %s", i, body)
						break
					}
					f.Saved++
					saves = append(saves, saved{admin: i, view: v})
				case status == http.StatusConflict:
					f.Conflicts++
				case status == http.StatusServiceUnavailable:
					f.Busy++
				default:
					f.Failed++
					f.problems.add("admin %d: %d %s", i, status, body)
				}
				mu.Unlock()
				if err != nil || (status != http.StatusConflict && status != http.StatusServiceUnavailable) {
					return
				}
				// Someone saved first, or the store was too busy to answer in time: back
				// off a little (full jitter), then read again.
				wait := time.Duration(rng.Int64N(int64(min(5*time.Millisecond<<min(try, 7), 500*time.Millisecond)) + 1))
				if sell.Sleep(ctx, wait) != nil {
					mu.Lock()
					f.Failed++
					f.problems.add("admin %d: out of time after %d tries", i, try+1)
					mu.Unlock()
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	f.Took = time.Since(began)

	lost, state := lostUpdates(initial, saves, users, &f.problems)
	f.LostUpdates = lost
	var final settingsView
	if err := s.getSettings(ctx, tok, &final); err != nil {
		return f, err
	}
	f.Final = final.Version
	if final.Version != initial.Version+int64(f.Saved) || !slices.Equal(final.Owners, state) {
		f.LostUpdates++
		f.problems.add("stored version %d with %d owners after %d saves", final.Version, len(final.Owners), f.Saved)
	}
	return f, nil
}

// saved is one admin's successful PATCH: the settings and version it answered with.
type saved struct {
	admin int
	view  settingsView
}

// lostUpdates replays the history the saves answered with: each version must be
// exactly its predecessor plus that admin's owner (the newest MaxOwners kept). It
// counts the saves that break this (a save applied to a stale read drops the
// previous admin's owner) and versions handed out twice or never, and returns the
// state after the last version.
func lostUpdates(initial settingsView, saves []saved, users []int64, pr *problems) (int, []settings.Owner) {
	lost := 0
	byVersion := map[int64]saved{}
	for _, sv := range saves {
		if prev, dup := byVersion[sv.view.Version]; dup {
			lost++
			pr.add("version %d handed to admins %d and %d", sv.view.Version, prev.admin, sv.admin)
			continue
		}
		byVersion[sv.view.Version] = sv
	}
	state := initial.Owners
	for v := initial.Version + 1; v <= initial.Version+int64(len(saves)); v++ {
		sv, ok := byVersion[v]
		if !ok {
			lost++
			pr.add("no save answered with version %d", v)
			continue
		}
		want := append(slices.Clone(state), settings.Owner{Type: settings.OwnerUser, ID: users[sv.admin]})
		if len(want) > settings.MaxOwners {
			want = want[len(want)-settings.MaxOwners:]
		}
		if !slices.Equal(want, sv.view.Owners) {
			lost++
			pr.add("version %d (admin %d) is not version %d plus its owner: %s", v, sv.admin, v-1, diff(want, sv.view.Owners))
		}
		state = sv.view.Owners
	}
	return lost, state
}

func diff(want, got []settings.Owner) string {
	var missing, extra []string
	for _, o := range want {
		if !slices.Contains(got, o) {
			missing = append(missing, strconv.FormatInt(o.ID, 10))
		}
	}
	for _, o := range got {
		if !slices.Contains(want, o) {
			extra = append(extra, strconv.FormatInt(o.ID, 10))
		}
	}
	return fmt.Sprintf("missing [%s], unexpected [%s]", strings.Join(missing, " "), strings.Join(extra, " "))
}

// errBusy is a 503: the deployment could not answer in time and wrote nothing.
var errBusy = errors.New("503 temporarily unavailable")

func (s *stack) getSettings(ctx context.Context, token string, v *settingsView) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/settings", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("GET /settings: %w", err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusServiceUnavailable {
		return fmt.Errorf("GET /settings: %w", errBusy)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /settings: %d %s", res.StatusCode, raw)
	}
	return json.Unmarshal(raw, v)
}

func (s *stack) patchSettings(ctx context.Context, token string, version int64, owners []settings.Owner) (int, []byte, error) {
	body, _ := json.Marshal(map[string]any{"owners": owners})
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, s.url+"/settings", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("If-Match", strconv.Quote(strconv.FormatInt(version, 10)))
	res, err := s.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("PATCH /settings: %w", err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, raw, nil
}
