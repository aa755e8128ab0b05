package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/leads"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// LeadLatency is added to every Sell call in the leads scenario, so that the
// requests sharing a key overlap while the first one talks to Sell.
const LeadLatency = 20 * time.Millisecond

// LeadFigures is what the leads scenario counted.
type LeadFigures struct {
	Requests    int // POST /leads sent at once
	Keys        int // distinct Idempotency-Keys among them
	Created     int // first answers (201 without Idempotent-Replayed)
	Replayed    int // answers replayed from the first one
	InProgress  int // 409 request_in_progress, retried (not an error)
	LateRetries int // one more try per key once all the others were answered
	Failed      int // other answers
	Took        time.Duration
	// LeadsInSell: the leads Sell holds for the scenario's visitors; one per key.
	LeadsInSell int
	// Duplicates: leads in Sell beyond one per key (must be 0).
	Duplicates int
	// Different: retries whose answer differs from the key's first answer (must be 0).
	Different int
	problems  problems
}

// Check is nil when every key made one lead and every retry got its first answer.
func (f *LeadFigures) Check() error {
	if f.Duplicates == 0 && f.Different == 0 && f.Failed == 0 && f.LeadsInSell == f.Keys && f.Created == f.Keys {
		return nil
	}
	return fmt.Errorf("leads: %d duplicate leads, %d retries answered differently, %d failed, %d leads for %d keys (%d first answers)\n%s",
		f.Duplicates, f.Different, f.Failed, f.LeadsInSell, f.Keys, f.Created, f.problems.String())
}

func (f *LeadFigures) String() string {
	s := fmt.Sprintf("leads: %d concurrent POST /leads over %d Idempotency-Keys (%d each; Sell latency %v): %v\n"+
		"  first answers %d, replayed answers %d (%d of them late retries, one per key afterwards), 409 request_in_progress retried %d, failed %d\n"+
		"  leads in Sell %d for %d keys: duplicates %d; retries answered differently from the first %d",
		f.Requests, f.Keys, f.Requests/max(f.Keys, 1), LeadLatency, round(f.Took), f.Created, f.Replayed, f.LateRetries, f.InProgress, f.Failed,
		f.LeadsInSell, f.Keys, f.Duplicates, f.Different)
	if p := f.problems.String(); p != "" {
		s += "\n" + p
	}
	return s
}

// Leads has one agent send n lead creations at once over keys Idempotency-Keys
// (n/keys times each, the same body every time, as a client retrying). Each key
// must give exactly one lead in Sell, and every answer for a key must carry the first
// answer's JSON.
func Leads(ctx context.Context, t testing.TB, n, keys int) (*LeadFigures, error) {
	t.Helper()
	f := &LeadFigures{Requests: n, Keys: keys}
	s := newStack(t)
	s.env.Connect(t, account)
	defer func() { f.problems.logged = s.errs.summary() }()
	st, v, err := s.env.Deps.Store.Settings(ctx, account)
	if err != nil {
		return f, err
	}
	st.Access = settings.AccessAllAgents
	if _, err := s.env.Deps.Store.SaveSettings(ctx, account, st, v); err != nil {
		return f, err
	}
	s.env.Sell.SetFaults(selltest.Faults{Latency: LeadLatency})
	tok, err := s.env.Signer.Sign(auth.Identity{Account: account, UserID: "361", Email: "rex@example.com", Name: "Rex", Role: auth.RoleAgent})
	if err != nil {
		return f, err
	}
	type answer struct {
		status   int
		replayed bool
		body     string
	}
	var (
		mu      sync.Mutex
		answers = map[int][]answer{}
		wg      sync.WaitGroup
		start   = make(chan struct{})
	)
	began := time.Now()
	for i := range n {
		k := i % keys
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				status, replayed, raw, err := s.postLead(ctx, tok, k)
				mu.Lock()
				switch {
				case err != nil:
					f.Failed++
					f.problems.add("key %d: %v", k, err)
				case status == http.StatusConflict && strings.Contains(raw, "request_in_progress"):
					f.InProgress++
				default:
					answers[k] = append(answers[k], answer{status, replayed, raw})
				}
				mu.Unlock()
				if err != nil || status != http.StatusConflict || !strings.Contains(raw, "request_in_progress") {
					return
				}
				if sell.Sleep(ctx, 200*time.Millisecond) != nil { // told to retry in a moment: wait, retry with the same key
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	f.Took = time.Since(began)
	// A late retry of every key, after the dust settled, gets the first answer too.
	for k := range keys {
		status, replayed, raw, err := s.postLead(ctx, tok, k)
		if err != nil {
			return f, err
		}
		f.LateRetries++
		answers[k] = append(answers[k], answer{status, replayed, raw})
	}

	for k := range keys {
		var first *answer
		for i, a := range answers[k] {
			if a.status != http.StatusCreated {
				f.Failed++
				f.problems.add("key %d: %d %s", k, a.status, a.body)
				continue
			}
			if !a.replayed {
				f.Created++
				if first != nil {
					f.Different++
					f.problems.add("key %d answered as new twice", k)
				}
				first = &answers[k][i]
			}
		}
		for _, a := range answers[k] {
			if a.status != http.StatusCreated || !a.replayed {
				continue
			}
			f.Replayed++
			if first == nil || !sameJSON(a.body, first.body) {
				f.Different++
				f.problems.add("key %d: retry got %s, first answer %v", k, a.body, first)
			}
		}
	}
	perVisitor := map[string]int{}
	for _, l := range s.env.Sell.Leads() {
		if strings.HasSuffix(l.Email, "@leads.soak.example") {
			perVisitor[l.Email]++
			f.LeadsInSell++
		}
	}
	for email, c := range perVisitor {
		if c > 1 {
			f.Duplicates += c - 1
			f.problems.add("%d leads for %s", c, email)
		}
	}
	return f, nil
}

// sameJSON reports whether two answers carry the same JSON value.
func sameJSON(a, b string) bool {
	var va, vb any
	return json.Unmarshal([]byte(a), &va) == nil && json.Unmarshal([]byte(b), &vb) == nil && reflect.DeepEqual(va, vb)
}

// postLead sends key k's lead: the same body under the same Idempotency-Key every
// time, as a client retrying.
func (s *stack) postLead(ctx context.Context, token string, k int) (status int, replayed bool, raw string, err error) {
	body, _ := json.Marshal(leads.Request{FirstName: "Soak", LastName: fmt.Sprintf("Visitor %d", k), Email: fmt.Sprintf("visitor%d@leads.soak.example", k),
		Description: "Asked about pricing"})
	key := fmt.Sprintf("soak-key-%d", k)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/leads", bytes.NewReader(body))
	if err != nil {
		return 0, false, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	res, err := s.client.Do(req)
	if err != nil {
		return 0, false, "", fmt.Errorf("POST /leads: %w", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Idempotent-Replayed") == "true", strings.TrimSpace(string(b)), nil
}
