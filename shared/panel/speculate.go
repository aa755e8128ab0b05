package panel

import (
	"context"
	"sync"

	"github.com/sellchat/sellchat/shared/access"
	"github.com/sellchat/sellchat/shared/phone"
	"github.com/sellchat/sellchat/shared/sell"
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

// maxRecent bounds the remembered clients; a container serves one account's agents
// at a time in practice, so this is never reached in normal use.
const maxRecent = 1024

type recent struct {
	credential string
	client     *sell.Client
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

func (rc *recentClients) put(key string, s *access.Session) {
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
	rc.m[key] = recent{credential: s.Credential, client: s.Sell}
}

// forget drops an agent's client after a failed lookup, so that a token Sell
// refused is not tried again speculatively.
func (rc *recentClients) forget(key string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	delete(rc.m, key)
}

// early is a search started before the session was read.
type early struct {
	credential string
	cancel     context.CancelFunc
	done       chan struct{}
	found      sell.Matches
	err        error
}

// startEarly begins the visitor search with the agent's remembered client, or
// returns nil when there is none.
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
	return e
}

// take returns the early result if it was searched with credential and succeeded;
// otherwise it stops the early search and reports false.
func (e *early) take(credential string) (sell.Matches, bool) {
	if e == nil {
		return sell.Matches{}, false
	}
	defer e.cancel()
	if e.credential != credential {
		return sell.Matches{}, false
	}
	<-e.done
	if e.err != nil {
		return sell.Matches{}, false
	}
	return e.found, true
}

// drop stops an early search whose result will not be needed.
func (e *early) drop() {
	if e != nil {
		e.cancel()
	}
}

// visitorQuery is the Sell search for v: email, and phone read as E.164.
func visitorQuery(v Visitor) sell.Visitor {
	return sell.Visitor{Email: v.Email, Phone: v.Phone, ReadPhone: phone.E164}
}
