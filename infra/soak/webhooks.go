package soak

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"golang.org/x/oauth2"

	"github.com/sellchat/sellchat/infra/streams"
	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// The faults of the webhook scenario.
const (
	// SellErrorRate of Sell calls fail with SellErrorStatus before Sell acts (the
	// sandbox's injected faults). 500 is the harsh case: the caller cannot know
	// whether Sell acted, so every retried note creation first searches for the note.
	SellErrorRate   = 0.3
	SellErrorStatus = http.StatusInternalServerError
	SellLatency     = 2 * time.Millisecond
	// LostAnswerRate of the note creations Sell carried out lose their answer on the
	// way back (a 502 after the note exists): the case that doubles notes when the
	// retry does not find the first one.
	LostAnswerRate = 0.05
)

const webhookSecret = "soak-webhook-secret"

// WebhookFigures is what the webhook scenario counted.
type WebhookFigures struct {
	Deliveries   int // webhook POSTs sent (redeliveries included)
	Chats        int // distinct chats among them
	Redeliveries int
	Workers      int // deliveries in flight at once
	Stored       int // 202 accepted as new
	DuplicateAck int // 202 with "duplicate": true
	Refused      int // any other answer after retries (must be 0)
	Ingest       time.Duration

	StreamRecords int
	SellCalls     int
	SellFaults    int // of those, answered with an injected error
	LostAnswers   int // note creations that happened but answered 502
	Process       time.Duration

	Faulty phase // after the stream handler ran with faults
	Replay struct {
		Replayed, InFeed, Unmatched, StillFailing int
		Took                                      time.Duration
	}
	Final phase // after replay with faults off
	// Redaction: every chat carries a card number and an order id (an admin pattern);
	// Leaks counts stored chats and Sell notes that still hold either, MaskedNotes
	// the notes showing the card's mask (so the scan is known to read real text).
	Leaks, MaskedNotes int
	FeedChats          int // distinct (chat, record) pairs GET /feed shows after replay
	FeedWanted         int // (chat, record) pairs the visitors match

	Drained  int // chats the drain took from the account's backlog (stored beyond its pace, or queued by the stream)
	Lost     int // chats acknowledged but not stored, not processed, or missing from a feed they belong to
	Doubled  int // chats stored twice, in a feed twice, or with two notes on one record
	problems problems
}

type phase struct {
	InFeed, Unmatched, Failed, DeadLettered int
}

// Check is nil when nothing was lost, doubled, refused or left failing.
func (f *WebhookFigures) Check() error {
	var bad []string
	if f.Lost != 0 {
		bad = append(bad, fmt.Sprintf("%d lost", f.Lost))
	}
	if f.Doubled != 0 {
		bad = append(bad, fmt.Sprintf("%d doubled", f.Doubled))
	}
	if f.Refused != 0 {
		bad = append(bad, fmt.Sprintf("%d deliveries refused", f.Refused))
	}
	if f.Final.Failed != 0 {
		bad = append(bad, fmt.Sprintf("%d chats still failed after replay", f.Final.Failed))
	}
	if f.Leaks != 0 || f.MaskedNotes == 0 {
		bad = append(bad, fmt.Sprintf("%d stored chats or notes hold a card number or order id (%d notes show the mask)", f.Leaks, f.MaskedNotes))
	}
	if f.FeedChats != f.FeedWanted {
		bad = append(bad, fmt.Sprintf("GET /feed shows %d chat entries, want %d", f.FeedChats, f.FeedWanted))
	}
	if bad == nil {
		return nil
	}
	return fmt.Errorf("webhooks: %s\n%s", strings.Join(bad, ", "), f.problems.String())
}

func (f *WebhookFigures) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "webhooks: %d deliveries (%d chats + %d redeliveries), %d at a time, signed; ingest %v (%.0f/s)\n",
		f.Deliveries, f.Chats, f.Redeliveries, f.Workers, round(f.Ingest), float64(f.Deliveries)/f.Ingest.Seconds())
	fmt.Fprintf(&b, "  delivered %d: stored %d, acknowledged as duplicate %d, refused %d\n", f.Stored+f.DuplicateAck+f.Refused, f.Stored, f.DuplicateAck, f.Refused)
	fmt.Fprintf(&b, "  processing (stream handler, %d records, then the drain, %d chats; Sell failing %.0f %% with %d, %v latency, %.0f %% of note answers lost): %v\n",
		f.StreamRecords, f.Drained, SellErrorRate*100, SellErrorStatus, SellLatency, LostAnswerRate*100, round(f.Process))
	fmt.Fprintf(&b, "    %d Sell calls, %d failed by injection, %d answers lost after the note was made\n", f.SellCalls, f.SellFaults, f.LostAnswers)
	fmt.Fprintf(&b, "    in feed %d, unmatched %d (visitors that match nothing), failed %d (%d stream records dead-lettered)\n",
		f.Faulty.InFeed, f.Faulty.Unmatched, f.Faulty.Failed, f.Faulty.DeadLettered)
	fmt.Fprintf(&b, "  replay with faults off (Processor.Replay, as make replay): replayed %d, now in feed %d, unmatched %d, still failing %d: %v\n",
		f.Replay.Replayed, f.Replay.InFeed, f.Replay.Unmatched, f.Replay.StillFailing, round(f.Replay.Took))
	fmt.Fprintf(&b, "    totals: in feed %d, unmatched %d (visitors that match nothing), failed %d; GET /feed shows %d of %d chat entries\n",
		f.Final.InFeed, f.Final.Unmatched, f.Final.Failed, f.FeedChats, f.FeedWanted)
	fmt.Fprintf(&b, "  redaction (cards, and the pattern %s): %d stored chats or notes leak, %d notes show the mask\n", orderPattern, f.Leaks, f.MaskedNotes)
	fmt.Fprintf(&b, "  lost %d, doubled %d", f.Lost, f.Doubled)
	if s := f.problems.String(); s != "" {
		b.WriteString("\n" + s)
	}
	return b.String()
}

// Webhooks sends n signed deliveries (a fifth of them redeliveries, half of those at
// the same moment as the first delivery) to POST /webhooks/chat/acme, reads the
// table's stream and hands it to the transcripts handler the way Lambda does (as
// shared/handler/transcripts' fault test does) while Sell fails, then replays the failed
// chats with Sell healthy. It counts every chat at each step.
func Webhooks(ctx context.Context, t testing.TB, n int) (*WebhookFigures, error) {
	t.Helper()
	s := newStack(t)
	env := s.env
	f := &WebhookFigures{Deliveries: n, Redeliveries: n / 5, Workers: 32}
	f.Chats = n - f.Redeliveries
	defer func() { f.problems.logged = s.errs.summary() }()

	// Sell for the processor: its own sandbox behind a proxy that can lose answers.
	sb := selltest.New(selltest.Options{RateLimit: -1})
	loser := &answerLoser{next: sb, rng: rand.New(rand.NewPCG(7, 8))}
	sellSrv := httptest.NewServer(loser)
	t.Cleanup(func() { sb.Close(); sellSrv.Close() })
	if _, err := env.Deps.Store.UpdateIntegration(ctx, account, func(in *settings.Integration) error {
		in.SellConnected = true
		in.Elements = map[settings.Element]settings.ElementState{
			settings.ChatHistoryInSell: {Enabled: true}, settings.ChatAppInSell: {Enabled: true}}
		in.WebhookSecret = env.Deps.Box.Seal([]byte(webhookSecret), secrets.AAD(account, "webhook_secret"))
		return nil
	}); err != nil {
		return f, err
	}
	// Redaction on: cards by default, and an admin pattern for order ids.
	st, v, err := env.Deps.Store.Settings(ctx, account)
	if err == nil {
		st, err = st.Apply(map[string]json.RawMessage{"redaction": json.RawMessage(`{"patterns":[{"name":"order","pattern":"` + orderPattern + `"}]}`)})
	}
	if err == nil {
		_, err = env.Deps.Store.SaveSettings(ctx, account, st, v)
	}
	if err != nil {
		return f, fmt.Errorf("redaction rules: %w", err)
	}

	// Visitors: 70 % one of many leads, 20 % Paul (a contact with two deals, so three
	// records and, at full size, thousands of notes on each), 10 % nobody.
	leadsN := max(n/100, 10)
	leadIDs := make([]int64, leadsN)
	for i := range leadIDs {
		leadIDs[i] = sb.AddLead(sell.Lead{LastName: fmt.Sprintf("Soak %d", i), Email: fmt.Sprintf("lead%d@soak.example", i), OwnerID: selltest.DemoAdminID}).ID
	}
	rng := rand.New(rand.NewPCG(1, 2))
	want := make(map[string][]string, f.Chats) // chat id → its records
	ids := make([]string, f.Chats)
	bodies := make(map[string][]byte, f.Chats)
	begin := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for i := range ids {
		id := fmt.Sprintf("soak-%05d", i)
		var email string
		switch r := rng.IntN(10); {
		case r < 7:
			l := rng.IntN(leadsN)
			email = fmt.Sprintf("lead%d@soak.example", l)
			want[id] = []string{fmt.Sprintf("lead:%d", leadIDs[l])}
		case r < 9:
			email = "paul@acme.example"
			want[id] = []string{fmt.Sprintf("contact:%d", selltest.DemoPaulContactID), fmt.Sprintf("deal:%d", selltest.DemoAnnualDealID), fmt.Sprintf("deal:%d", selltest.DemoOnboardDealID)}
		default:
			email = fmt.Sprintf("stranger%d@nowhere.example", i)
			want[id] = nil
		}
		ids[i] = id
		bodies[id] = chatBody(id, email, begin.Add(time.Duration(i)*time.Minute))
	}
	order := slices.Clone(ids)
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	// Half the redeliveries right behind the first delivery (in flight together),
	// half anywhere.
	var sends []string
	twins := map[string]int{}
	for i := 0; i < f.Redeliveries/2; i++ {
		twins[order[rng.IntN(len(order))]]++
	}
	for _, id := range order {
		sends = append(sends, id)
		for range twins[id] {
			sends = append(sends, id)
		}
	}
	for range f.Redeliveries - f.Redeliveries/2 {
		sends = slices.Insert(sends, rng.IntN(len(sends)+1), ids[rng.IntN(len(ids))])
	}

	// Ingest.
	began := time.Now()
	newAcks := map[string]int{}
	var mu sync.Mutex
	work := make(chan string)
	var wg sync.WaitGroup
	var failure atomic.Pointer[error]
	for range f.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				dup, ok, err := s.deliver(ctx, bodies[id])
				mu.Lock()
				switch {
				case err != nil:
					failure.CompareAndSwap(nil, &err)
				case !ok:
					f.Refused++
					f.problems.add("delivery of %s refused", id)
				case dup:
					f.DuplicateAck++
				default:
					f.Stored++
					newAcks[id]++
				}
				mu.Unlock()
			}
		}()
	}
	for _, id := range sends {
		if ctx.Err() != nil {
			break
		}
		work <- id
	}
	close(work)
	wg.Wait()
	f.Ingest = time.Since(began)
	t.Logf("ingest done: %d deliveries in %v", len(sends), round(f.Ingest))
	if err := ctx.Err(); err != nil {
		return f, fmt.Errorf("ingest: %w", err)
	}
	if err := failure.Load(); err != nil {
		return f, fmt.Errorf("ingest: %w", *err)
	}
	for _, id := range ids {
		switch newAcks[id] {
		case 0: // refused (counted) or only acknowledged as a duplicate: checked below
		case 1:
		default:
			f.Doubled++
			f.problems.add("chat %s accepted as new %d times", id, newAcks[id])
		}
	}

	// Process: the real stream, the transcripts handler, Lambda's retry rules.
	recs, err := streams.ReadAll(ctx, env.Deps.Store.Client(), env.Deps.Store.Table(), func(rs []events.DynamoDBEventRecord) bool {
		return chatInserts(rs) >= f.Stored
	})
	if err != nil {
		return f, fmt.Errorf("read the stream (%d chat inserts of %d): %w", chatInserts(recs), f.Stored, err)
	}
	f.StreamRecords = len(recs)
	sb.SetFaults(selltest.Faults{ErrorRate: SellErrorRate, ErrorStatus: SellErrorStatus, Latency: SellLatency})
	loser.setRate(LostAnswerRate)
	p := transcripts.NewWith(env.TranscriptsDeps(), transcripts.Options{Sell: fastSell(sb, sellSrv.URL), ReadPhone: phone.E164, Workers: 32, Attempts: 1,
		Backoff: func(int) time.Duration { return 2 * time.Millisecond }})
	began = time.Now()
	dead, err := streams.Deliver(ctx, p.Handle, recs, 100, 1)
	if err != nil {
		return f, fmt.Errorf("stream handler: %w", err)
	}
	// What the webhook stored beyond the account's Sell pace, and what the stream
	// queued behind it, waits in the account's backlog: the drain takes it, as the
	// schedule runs it.
	for {
		rep, err := p.Drain(ctx, 30*time.Second)
		if err != nil {
			return f, fmt.Errorf("drain: %w", err)
		}
		f.Drained += rep.Processed
		if rep.Left == 0 {
			break
		}
	}
	f.Process = time.Since(began)
	t.Logf("processing done: %d stream records and %d queued chats in %v", len(recs), f.Drained, round(f.Process))
	f.SellCalls, f.SellFaults = sb.TotalCalls(), loser.faults()
	f.LostAnswers = loser.lostCount()
	f.Faulty, err = s.check(ctx, sb, ids, want, newAcks, "with faults", &f.problems, &f.Lost, &f.Doubled)
	if err != nil {
		return f, err
	}
	f.Faulty.DeadLettered = chatInserts(dead)

	// Replay with Sell healthy: what make replay runs.
	sb.SetFaults(selltest.Faults{})
	loser.setRate(0)
	began = time.Now()
	sum, err := p.Replay(ctx, nil)
	if err != nil {
		return f, fmt.Errorf("replay: %w", err)
	}
	f.Replay.Took = time.Since(began)
	t.Logf("replay done: %d chats in %v", sum.Replayed, round(f.Replay.Took))
	f.Replay.Replayed, f.Replay.InFeed, f.Replay.Unmatched, f.Replay.StillFailing = sum.Replayed, sum.InFeed, sum.Unmatched, sum.StillFailing
	lost, doubled := 0, 0
	f.Final, err = s.check(ctx, sb, ids, want, newAcks, "after replay", &f.problems, &lost, &doubled)
	if err != nil {
		return f, err
	}
	f.Lost, f.Doubled = max(f.Lost, lost), max(f.Doubled, doubled)

	// What an agent sees: every record's feed through GET /feed.
	if f.FeedChats, f.FeedWanted, err = s.checkFeeds(ctx, want, &f.problems, &f.Doubled); err != nil {
		return f, err
	}
	f.Leaks, f.MaskedNotes, err = s.scanForLeaks(ctx, sb, ids, &f.problems)
	return f, err
}

// The secrets every soak chat carries: a Luhn-valid card and an order id.
const (
	soakCard     = "4111 1111 1111 1111"
	soakOrder    = "ORD-482913"
	orderPattern = `ORD-\\d{6}`
)

var leakRE = regexp.MustCompile(`4111[ -]?1111[ -]?1111[ -]?1111|ORD-\d{6}`)

// scanForLeaks reads every stored chat back (decompressed) and every Sell note, and
// counts those that still hold the card number or the order id.
func (s *stack) scanForLeaks(ctx context.Context, sb *selltest.Sandbox, ids []string, pr *problems) (leaks, masked int, err error) {
	cs := chatstore.New(s.env.Deps.Store)
	for _, id := range ids {
		it, err := cs.Chat(ctx, account, id)
		if err != nil {
			continue // counted as lost by check
		}
		raw, err := it.Body()
		if err != nil {
			return leaks, masked, err
		}
		if leakRE.Match(raw) {
			leaks++
			pr.add("stored chat %s holds a card number or order id", id)
		}
	}
	for _, n := range sb.Notes() {
		if leakRE.MatchString(n.Content) {
			leaks++
			pr.add("Sell note %d holds a card number or order id", n.ID)
		}
		if strings.Contains(n.Content, "•••• 1111") {
			masked++
		}
	}
	return leaks, masked, nil
}

// deliver posts one chat as Zendesk does: signed with the account's secret over the
// timestamp and the raw body (computed here from the contract, not with the code
// under test). A 5xx or a broken connection is retried, as Zendesk retries.
func (s *stack) deliver(ctx context.Context, body []byte) (duplicate, accepted bool, err error) {
	for attempt := 0; attempt < 3; attempt++ {
		req, err := signedRequest(ctx, s.url+"/webhooks/chat/"+account, webhookSecret, body)
		if err != nil {
			return false, false, err
		}
		res, err := s.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return false, false, ctx.Err()
			}
			continue
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			continue
		}
		if res.StatusCode != http.StatusAccepted {
			return false, false, nil
		}
		var ack struct {
			Status    string `json:"status"`
			Duplicate bool   `json:"duplicate"`
		}
		if err := json.Unmarshal(raw, &ack); err != nil || ack.Status != "accepted" {
			return false, false, nil
		}
		return ack.Duplicate, true, nil
	}
	return false, false, nil
}

// signedRequest is a POST of body to url signed with secret as Zendesk signs its
// webhooks (base64 of HMAC-SHA256 over the timestamp and the body), at this
// machine's time: the route allows five minutes either way.
func signedRequest(ctx context.Context, url, secret string, body []byte) (*http.Request, error) {
	ts := time.Now().UTC().Format(time.RFC3339)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Zendesk-Webhook-Signature-Timestamp", ts)
	req.Header.Set("X-Zendesk-Webhook-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return req, nil
}

// check looks at every chat: its status, its feed entries, its notes in Sell.
func (s *stack) check(ctx context.Context, sb *selltest.Sandbox, ids []string, want map[string][]string, newAcks map[string]int,
	label string, pr *problems, lost, doubled *int) (phase, error) {
	var out phase
	all, err := chatstore.New(s.env.Deps.Store).AllEntries(ctx, account)
	if err != nil {
		return out, fmt.Errorf("%s: entries: %w", label, err)
	}
	perChat := map[string]map[string]int{}
	for _, e := range all {
		if perChat[e.ChatID] == nil {
			perChat[e.ChatID] = map[string]int{}
		}
		perChat[e.ChatID][e.Record().String()]++
	}
	notes := map[string]int{} // "chat|record" → notes in Sell
	for _, n := range sb.Notes() {
		if id, ok := chats.MarkedChat(n.Content); ok {
			notes[fmt.Sprintf("%s|%s:%d", id, n.ResourceType, n.ResourceID)]++
		}
	}
	for k, c := range notes {
		if c > 1 {
			*doubled++
			pr.add("%s: %d notes for %s", label, c, k)
		}
	}
	cs := chatstore.New(s.env.Deps.Store)
	for _, id := range ids {
		it, err := cs.Chat(ctx, account, id)
		if err != nil {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			if errors.Is(err, store.ErrNotFound) {
				*lost++
				pr.add("%s: chat %s acknowledged but not stored: %v", label, id, err)
				continue
			}
			return out, err
		}
		for r, k := range perChat[id] {
			if k > 1 {
				*doubled++
				pr.add("%s: chat %s in %s's feed %d times", label, id, r, k)
			}
			if !slices.Contains(want[id], r) {
				*doubled++
				pr.add("%s: chat %s in %s's feed, which it does not match", label, id, r)
			}
		}
		switch it.Status {
		case chats.StatusMatched:
			ok := len(want[id]) > 0
			for _, r := range want[id] {
				if perChat[id][r] == 0 || notes[id+"|"+r] == 0 {
					ok = false
					pr.add("%s: chat %s matched but %s has %d entries, %d notes", label, id, r, perChat[id][r], notes[id+"|"+r])
				}
			}
			if !ok {
				*lost++
				continue
			}
			out.InFeed++
		case chats.StatusUnmatched:
			if len(want[id]) != 0 {
				*lost++
				pr.add("%s: chat %s unmatched, want %v", label, id, want[id])
				continue
			}
			out.Unmatched++
		case chats.StatusFailed:
			if it.Reason == "" {
				*lost++
				pr.add("%s: chat %s failed without a reason", label, id)
				continue
			}
			out.Failed++
		default:
			*lost++
			pr.add("%s: chat %s left %q", label, id, it.Status)
		}
	}
	return out, nil
}

// checkFeeds reads the feed of every record want names (chat id → its records)
// through GET /feed, as an agent of the account, and counts the (chat, record)
// pairs shown and wanted; a chat shown twice or on a record it does not match is
// doubled.
func (s *stack) checkFeeds(ctx context.Context, want map[string][]string, pr *problems, doubled *int) (shown, wanted int, err error) {
	records := map[string]bool{}
	for _, rs := range want {
		for _, r := range rs {
			records[r] = true
			wanted++
		}
	}
	tok, err := s.env.Signer.Sign(auth.Identity{Account: account, UserID: "soak-agent", Role: auth.RoleAgent})
	if err != nil {
		return 0, wanted, err
	}
	for r := range records {
		seen, err := s.feed(ctx, tok, r)
		if err != nil {
			return shown, wanted, err
		}
		for id, k := range seen {
			if k > 1 {
				*doubled++
				pr.add("GET /feed of %s shows chat %s %d times", r, id, k)
			}
			if !slices.Contains(want[id], r) {
				pr.add("GET /feed of %s shows chat %s, which belongs elsewhere", r, id)
				*doubled++
				continue
			}
			shown++
		}
	}
	return shown, wanted, nil
}

// feed reads a record's whole feed through GET /feed and counts each chat.
func (s *stack) feed(ctx context.Context, token, record string) (map[string]int, error) {
	typ, id, _ := strings.Cut(record, ":")
	seen := map[string]int{}
	cursor := ""
	for {
		q := url.Values{"resourceType": {typ}, "resourceId": {id}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/feed?"+q.Encode(), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := s.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("GET /feed of %s: %w", record, err)
		}
		var page struct {
			HistoryVisible bool `json:"historyVisible"`
			Items          []struct {
				ChatID string `json:"chatId"`
			} `json:"items"`
			NextCursor string `json:"nextCursor"`
		}
		err = json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || err != nil || !page.HistoryVisible {
			return nil, fmt.Errorf("GET /feed of %s: %d (%v)", record, res.StatusCode, err)
		}
		for _, it := range page.Items {
			seen[it.ChatID]++
		}
		if page.NextCursor == "" {
			return seen, nil
		}
		cursor = page.NextCursor
	}
}

func chatInserts(rs []events.DynamoDBEventRecord) int {
	n := 0
	for _, r := range rs {
		if sk, ok := r.Change.Keys["sk"]; ok && strings.HasPrefix(sk.String(), "CHAT#") && r.EventName == "INSERT" {
			n++
		}
	}
	return n
}

// chatBody is a Chat API chat object as the webhook receives it.
func chatBody(id, email string, start time.Time) []byte {
	return []byte(fmt.Sprintf(`{"id":%q,"type":"chat","timestamp":%q,"duration":120,"visitor":{"name":"Visitor %s","email":%q},"agent_names":["Ana Agent"],`+
		`"department_name":"Sales","tags":["soak"],"history":[`+
		`{"type":"chat.msg","nick":"visitor","name":"Visitor","msg":"Hello, do you ship to Zürich? <b>asap</b> Card `+soakCard+`, order `+soakOrder+`.","timestamp":%q},`+
		`{"type":"chat.msg","nick":"agent:1","name":"Ana Agent","msg":"We do, within 3 days.","timestamp":%q}]}`,
		id, start.Format(time.RFC3339), id, email, start.Add(time.Second).Format(time.RFC3339), start.Add(30*time.Second).Format(time.RFC3339)))
}

// fastSell returns clients of the processor's sandbox with the admin's token, no
// client-side rate limit and short retries (as shared/handler/transcripts' fault test).
func fastSell(sb *selltest.Sandbox, baseURL string) transcripts.SellFunc {
	tok := sb.TokenFor(selltest.DemoAdminEmail)
	lims := sell.NewLimiters(0, 0)
	cache := sell.NewCache(time.Minute, nil)
	return func(ctx context.Context, account string) (*sell.Client, error) {
		return sell.New(sell.Options{BaseURL: baseURL, TokenSource: oauth2.StaticTokenSource(tok), Key: account,
			Limiters: lims, Cache: cache, Backoff: func(int) time.Duration { return time.Millisecond }})
	}
}

// answerLoser sits between the processor and the Sell sandbox. It counts the
// sandbox's injected faults, and loses the answer of a share of the notes Sell did
// create: the client sees a 502, as when a gateway or the connection fails on the
// way back, and cannot tell that the note exists.
type answerLoser struct {
	next http.Handler
	mu   sync.Mutex
	rng  *rand.Rand
	rate float64
	lost int
	errs int
}

func (l *answerLoser) setRate(r float64) { l.mu.Lock(); l.rate = r; l.mu.Unlock() }
func (l *answerLoser) lostCount() int    { l.mu.Lock(); defer l.mu.Unlock(); return l.lost }
func (l *answerLoser) faults() int       { l.mu.Lock(); defer l.mu.Unlock(); return l.errs }

func (l *answerLoser) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	l.next.ServeHTTP(rec, r)
	l.mu.Lock()
	injected := strings.Contains(rec.Body.String(), "Injected by the sandbox")
	if injected {
		l.errs++
	}
	lose := !injected && r.Method == http.MethodPost && r.URL.Path == "/v2/notes" && rec.Code < 300 && l.rng.Float64() < l.rate
	if lose {
		l.lost++
	}
	l.mu.Unlock()
	if lose {
		http.Error(w, "502 Bad Gateway", http.StatusBadGateway)
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}
