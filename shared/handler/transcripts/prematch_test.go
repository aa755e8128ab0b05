package transcripts_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// batchChats stores a batch's worth of chats: Paul (a contact with two deals)
// three times, Vera's lead by email and by phone, two strangers and a chat
// without a visitor to look for. It returns each chat's expected records.
func batchChats(t *testing.T, env *apptest.Env) map[string][]string {
	t.Helper()
	want := map[string][]string{}
	add := func(id, email, number string, records ...string) {
		storeChat(t, env, "acme", chatJSON(id, email, number, start.Add(time.Duration(len(want))*time.Minute)))
		want[id] = records
	}
	paul := []string{"contact:3002", "deal:4001", "deal:4002"}
	add("b-paul-1", "paul@acme.example", "", paul...)
	add("b-paul-2", "PAUL@acme.example", "", paul...)
	add("b-paul-3", "", "+44 20 7946 0958", paul...)
	add("b-vera-1", "vera@example.com", "", "lead:2001")
	add("b-vera-2", "", "(415) 555-0100", "lead:2001")
	add("b-stranger-1", "s1@nowhere.example", "")
	add("b-stranger-2", "", "+1 202 555 0199")
	add("b-anonymous", "", "")
	return want
}

// checkBatch checks every chat's outcome and that each of its records holds it
// once, with one note.
func checkBatch(t *testing.T, env *apptest.Env, want map[string][]string) {
	t.Helper()
	cs := chatstore.New(env.Deps.Store)
	feed := entries(t, env, "acme")
	for id, records := range want {
		it, err := cs.Chat(context.Background(), "acme", id)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus := chats.StatusMatched
		if len(records) == 0 {
			wantStatus = chats.StatusUnmatched
		}
		got := slices.Sorted(slices.Values(it.Records))
		if it.Status != wantStatus || !slices.Equal(got, records) {
			t.Errorf("%s: %s %v, want %s %v (reason %q)", id, it.Status, got, wantStatus, records, it.Reason)
		}
		notes := notesFor(env.Sell, id)
		for _, r := range records {
			if notes[r] != 1 {
				t.Errorf("%s: %d notes on %s", id, notes[r], r)
			}
			n := 0
			for _, e := range feed[r] {
				if e.ChatID == id {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s: in %s's feed %d times", id, r, n)
			}
		}
		if len(notes) != len(records) {
			t.Errorf("%s: notes %v, want on %v", id, notes, records)
		}
	}
}

// handleBatch stores batchChats, hands their stream records to p as one Lambda
// batch, which must report no record for a retry, and checks each chat with
// checkBatch. The sandbox's call counts are reset just before, so that after it
// they count the batch's own calls: what the tests of batched matching judge.
func handleBatch(t *testing.T, env *apptest.Env, p *transcripts.Processor) {
	t.Helper()
	want := batchChats(t, env)
	recs := streamed(t, env, len(want))
	env.Sell.ResetCalls()
	if resp := handle(t, p, recs); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures: %+v", resp.BatchItemFailures)
	}
	checkBatch(t, env, want)
}

func TestTheChatsOfABatchAreMatchedTogether(t *testing.T) {
	t.Parallel()
	env, p := newHistoryEnv(t)
	handleBatch(t, env, p)
	calls := env.Sell.CallCounts()
	if calls["POST /v3/leads/search"] != 1 || calls["POST /v3/contacts/search"] != 1 || calls["GET /v2/deals"] != 1 {
		t.Errorf("calls %v, want one search per resource and one deal listing for the batch", calls)
	}
	notes := calls["POST /v2/notes"]
	if notes != 11 || env.Sell.TotalCalls() != notes+3 {
		t.Errorf("%d calls for %d notes: %v", env.Sell.TotalCalls(), notes, calls)
	}
}

// failFirst is a Sell in front of sb that answers the first call whose
// "METHOD path" starts with prefix with a 400, as a Sell refusing a batched
// request would.
func failFirst(t *testing.T, sb *selltest.Server, prefix string) transcripts.SellFunc {
	t.Helper()
	target, err := url.Parse(sb.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var once sync.Once
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		failed := false
		if strings.HasPrefix(r.Method+" "+r.URL.Path, prefix) {
			once.Do(func() { failed = true })
		}
		if failed {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"errors":[{"error":{"code":"invalid_param","message":"refused by the test"}}]}`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	tok := sb.TokenFor(selltest.DemoAdminEmail)
	lims := sell.NewLimiters(10, 5) // as the vault's: the sandbox answers 429 above 10/s
	return func(ctx context.Context, account string) (*sell.Client, error) {
		return sell.New(sell.Options{BaseURL: front.URL, TokenSource: oauth2.StaticTokenSource(tok), Key: account,
			Limiters: lims, Cache: sell.NewCache(time.Minute, nil), Backoff: func(int) time.Duration { return time.Millisecond }})
	}
}

func TestAFailedBatchMatchLeavesEachChatToMatchOnItsOwn(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, prefix string
	}{
		{"the search", "POST /v3/leads/search"},
		{"the deal listing", "GET /v2/deals"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env, _ := newHistoryEnv(t)
			p := transcripts.NewWith(env.TranscriptsDeps(), transcripts.Options{Sell: failFirst(t, env.Sell, c.prefix), ReadPhone: phone.E164, Backoff: func(int) time.Duration { return time.Millisecond }, InlineWait: patient})
			handleBatch(t, env, p)
			// The refused call never reaches the sandbox; each of Paul's
			// chats then lists his deals on its own.
			if n := env.Sell.Calls("GET /v2/deals"); n != 3 {
				t.Errorf("deal listings %d, want 3: %v", n, env.Sell.CallCounts())
			}
			if n := env.Sell.Calls("POST /v3/contacts/search"); n < 2 && c.prefix != "GET /v2/deals" {
				t.Errorf("contact searches %d: the chats did not match on their own", n)
			}
		})
	}
}
