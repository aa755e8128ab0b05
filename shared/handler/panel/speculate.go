package panel

import (
	"context"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/domain/access"
)

// A lookup needs the session (settings, integration, tokens: one DynamoDB read)
// before it can ask Sell anything, so done one after the other it costs a DynamoDB
// round trip plus a Sell round trip. A warm container therefore remembers, per
// agent, the Sell client of their last successful lookup and the credential it was
// made from, and starts the next lookup's searches with it while DynamoDB reads the
// session. The result is used only when the fresh session turns out to call Sell
// with that very credential, so it is exactly what the session's own client would
// have been told; otherwise (the app was switched off, the access mode or the token
// changed) it is dropped unseen and the search runs again with the fresh session.
//
// A matched person or company costs a second, dependent round trip: their deals, and
// the names of persons' companies that did not match themselves. An agent looking
// the same visitor up again mostly needs the same ids as last time, so the memory
// also keeps the visitor and the ids of that second round trip, and a repeat lookup
// asks for them alongside the searches. Only
// ids are remembered, never Sell records: the deals and companies are fetched now,
// with the same credential, and used only when the fresh search needs exactly those
// ids; otherwise they are dropped and the second round trip runs as it would have.

// maxRecent bounds the remembered clients; a container serves one account's agents
// at a time in practice, so this is never reached in normal use.
const maxRecent = 1024

type recent struct {
	credential string
	client     *sell.Client
	visitor    Visitor // as searched (see searched)
	next       second
}

// second is what a lookup's second round trip asks Sell for, as sorted sets.
type second struct {
	contacts  []int64 // matched contacts, for their deals
	companies []int64 // persons' companies that did not match; none when not shown
}

func newSecond(contacts, companies []int64) second {
	set := func(ids []int64) []int64 { return slices.Compact(slices.Sorted(slices.Values(ids))) }
	return second{contacts: set(contacts), companies: set(companies)}
}

func (s second) equal(o second) bool {
	return slices.Equal(s.contacts, o.contacts) && slices.Equal(s.companies, o.companies)
}

// recentClients is the per-container memory of the last client each agent used.
type recentClients struct {
	mu sync.Mutex
	m  map[string]recent // account + "/" + Zendesk user id
}

func (rc *recentClients) get(key string) (recent, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	r, ok := rc.m[key]
	return r, ok
}

// put remembers the agent's client and what their lookup of v needed.
func (rc *recentClients) put(key string, s *access.Session, v Visitor, next second) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.m == nil {
		rc.m = map[string]recent{}
	}
	if _, ok := rc.m[key]; !ok && len(rc.m) >= maxRecent {
		for k := range rc.m { // drop any one: this is a speed-up, not a record
			delete(rc.m, k)
			break
		}
	}
	rc.m[key] = recent{credential: s.Credential, client: s.Sell, visitor: searched(v), next: next}
}

// forget drops an agent's client after a failed lookup, so that a token Sell
// refused is not tried again speculatively.
func (rc *recentClients) forget(key string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	delete(rc.m, key)
}

// early is a search started before the session was read, and, for a repeat
// visitor, the second round trip the last lookup needed.
type early struct {
	credential string
	cancel     context.CancelFunc
	done       chan struct{}
	found      sell.Matches
	err        error

	next      second
	nextDone  chan struct{} // nil when nothing was started
	deals     []sell.Deal
	companies []sell.Contact
	nextErr   error
}

// startEarly begins the visitor search with the agent's remembered client, or
// returns nil when there is none. When the agent last looked up this very visitor
// it also begins fetching the deals and companies that lookup needed.
func (rc *recentClients) startEarly(ctx context.Context, key string, v Visitor) *early {
	r, ok := rc.get(key)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	e := &early{credential: r.credential, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		e.found, e.err = r.client.Find(ctx, visitorQuery(v))
	}()
	if r.visitor == searched(v) && len(r.next.contacts) > 0 {
		e.next, e.nextDone = r.next, make(chan struct{})
		go func() {
			defer close(e.nextDone)
			g, gctx := errgroup.WithContext(ctx)
			g.Go(func() (err error) { e.deals, err = r.client.DealsForContacts(gctx, e.next.contacts...); return })
			if len(e.next.companies) > 0 {
				g.Go(func() (err error) { e.companies, err = r.client.Contacts(gctx, e.next.companies...); return })
			}
			e.nextErr = g.Wait()
		}()
	}
	return e
}

// take returns the early result if it was searched with credential and succeeded;
// otherwise it stops the early calls and reports false.
func (e *early) take(credential string) (sell.Matches, bool) {
	if e == nil {
		return sell.Matches{}, false
	}
	if e.credential != credential {
		e.cancel()
		return sell.Matches{}, false
	}
	<-e.done
	if e.err != nil {
		e.cancel()
		return sell.Matches{}, false
	}
	return e.found, true
}

// takeNext returns the early deals and companies if they were fetched with
// credential, for exactly the ids in need, and succeeded; otherwise it stops them
// and reports false. A failure here only means the second round trip runs again.
func (e *early) takeNext(credential string, need second) ([]sell.Deal, []sell.Contact, bool) {
	if e == nil || e.nextDone == nil {
		return nil, nil, false
	}
	if e.credential != credential || !e.next.equal(need) {
		e.cancel()
		return nil, nil, false
	}
	<-e.nextDone
	if e.nextErr != nil {
		return nil, nil, false
	}
	return e.deals, e.companies, true
}

// drop stops whatever early calls are still running; their results will not be
// needed.
func (e *early) drop() {
	if e != nil {
		e.cancel()
	}
}

// visitorQuery is the Sell search for v: email, and phone read as E.164.
func visitorQuery(v Visitor) sell.Visitor {
	return sell.Visitor{Email: v.Email, Phone: v.Phone, ReadPhone: phone.E164}
}

// searched is v as the search sees it (email compared without case, phone as
// E.164, the name not searched), so that one visitor written two ways is one.
func searched(v Visitor) Visitor {
	p, ok := phone.E164(v.Phone)
	if !ok {
		p = v.Phone
	}
	return Visitor{Email: sell.NormalizeEmail(v.Email), Phone: p}
}
