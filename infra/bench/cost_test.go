package bench_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sellchat/sellchat/infra/streams"
	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
	"github.com/sellchat/sellchat/shared/handler/feed"
	"github.com/sellchat/sellchat/shared/handler/panel"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// The template's stream event source (template.yaml, TranscriptsFunction): Lambda
// hands the function at most 25 records, and only those its filters pass.
const streamBatch = 25

// costSizes are the transcript sizes docs/cost.md prices: the raw webhook body of a
// chat, before compression.
var costSizes = []struct {
	name  string
	bytes int
	chats int
}{
	{"short", 2 << 10, 20},
	{"typical", 10 << 10, 20},
	{"long", 200 << 10, 10},
}

// BenchmarkCost drives the real pipeline (signed webhook → table → stream → the
// transcripts processor → GET /feed) and the panel lookup on DynamoDB Local and the
// Sell sandbox with store.Meter on, and prints what one chat and one lookup consume:
// capacity units by path and operation, invocations, handler time and bytes stored.
// docs/cost.md prices these figures.
//
//	go run ./infra/cmd/dynamolocal -- go test -run '^$' -bench '^BenchmarkCost$' -benchtime 1x ./infra/bench
func BenchmarkCost(b *testing.B) {
	var rows []costRow
	for _, sz := range costSizes {
		b.Run(sz.name, func(b *testing.B) {
			for range b.N {
				r := measureChats(b, sz.name, sz.bytes, sz.chats)
				rows = append(rows, r)
				b.ReportMetric(r.ingest.WCU/float64(r.chats), "ingest-wcu/chat")
				b.ReportMetric(r.process.WCU/float64(r.chats), "process-wcu/chat")
				b.ReportMetric(r.process.RCU/float64(r.chats), "process-rcu/chat")
				b.ReportMetric(r.feed.RCU/float64(r.feeds), "feed-rcu/read")
				b.ReportMetric(float64(r.stored)/float64(r.chats), "stored-B/chat")
			}
		})
	}
	var lookups []lookupRow
	b.Run("panel", func(b *testing.B) {
		for range b.N {
			lookups = measureLookups(b, 20)
			warm := lookups[len(lookups)-1]
			b.ReportMetric(warm.use.RCU/float64(warm.n), "panel-rcu/lookup")
		}
	})
	printCost(rows, lookups)
}

// costRow is what one size's chats consumed, summed over all of them.
type costRow struct {
	size                  string
	chats, feeds          int
	bodyBytes             int // raw webhook body of one chat
	ingest, process, feed store.Usage
	ingestOps, processOps map[string]store.Usage
	feedOps               map[string]store.Usage
	streamRecords         int // every record the table's stream carried
	invoked               int // records the template's filters pass to the function
	batches               int // stream invocations at BatchSize 25
	stored                int64
	storedBy              map[string]int64 // by sort-key prefix
	ingestTime, procTime  time.Duration
	feedTime              time.Duration
	sellCalls             int
}

type lookupRow struct {
	label string
	n     int
	use   store.Usage
	ops   map[string]store.Usage
	took  time.Duration
	sell  int
}

// metered serves every request with m attached and adds the handler's time to took:
// the work one Lambda invocation does (the gateway's own time is not in it).
func metered(h http.Handler, m *store.Meter, took *time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r.WithContext(store.WithMeter(r.Context(), m)))
		*took += time.Since(start)
	})
}

const costSecret = "cost-webhook-secret"

func measureChats(b *testing.B, size string, bodyBytes, n int) costRow {
	ctx := context.Background()
	env := apptest.New(b)
	env.ConnectForAllAgents(b, "acme")
	env.SetHistory(b, "acme", true)
	env.SealWebhookSecret(b, "acme", costSecret)
	before, _, err := tableBytes(ctx, env.Deps.Store)
	if err != nil {
		b.Fatal(err)
	}
	row := costRow{size: size, chats: n}

	// Ingest: one webhook Lambda invocation per chat.
	mIngest := store.NewMeter()
	ingest := metered(chatwebhook.New(env.IngestDeps()), mIngest, &row.ingestTime)
	rng := rand.New(rand.NewPCG(uint64(bodyBytes), 1))
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for i := range n {
		body := costChat(rng, fmt.Sprintf("cost-%s-%03d", size, i), selltest.DemoVeraEmail, start.Add(time.Duration(i)*time.Minute), bodyBytes)
		row.bodyBytes = len(body)
		if res := apptest.Do(b, ingest, signedDelivery(body)); res.Status != http.StatusAccepted {
			b.Fatalf("webhook: %d %s", res.Status, res.Body)
		}
	}
	row.ingest, row.ingestOps = mIngest.Total(), mIngest.Ops()

	// Processing: the stream as the template filters and batches it.
	recs, err := streams.ReadAll(ctx, env.Deps.Store.Client(), env.Deps.Store.Table(), func(rs []events.DynamoDBEventRecord) bool {
		return len(chatInserts(rs)) >= n
	})
	if err != nil {
		b.Fatalf("read the stream: %v", err)
	}
	chatRecs := chatInserts(recs)
	row.invoked = len(chatRecs)
	row.batches = (len(chatRecs) + streamBatch - 1) / streamBatch
	mProc := store.NewMeter()
	env.Sell.ResetCalls()
	p := transcripts.NewWith(env.TranscriptsDeps(), transcripts.Options{ReadPhone: phone.E164, Backoff: func(int) time.Duration { return time.Millisecond }})
	began := time.Now()
	dead, err := streams.Deliver(store.WithMeter(ctx, mProc), p.Handle, chatRecs, streamBatch, 0)
	row.procTime = time.Since(began)
	if err != nil || len(dead) != 0 {
		b.Fatalf("processing: %d records failed, %v", len(dead), err)
	}
	row.process, row.processOps = mProc.Total(), mProc.Ops()
	row.sellCalls = env.Sell.TotalCalls()

	// Feed: an agent opens the lead's feed once per chat.
	mFeed := store.NewMeter()
	fh := metered(feed.New(env.FeedDeps()), mFeed, &row.feedTime)
	tok := env.AgentToken(b, "acme", "361", "")
	for range n {
		res := apptest.Do(b, fh, apptest.Request{Method: "GET", Path: "/feed?resourceType=lead&resourceId=" + strconv.Itoa(selltest.DemoVeraLeadID), Token: tok})
		if res.Status != http.StatusOK {
			b.Fatalf("feed: %d %s", res.Status, res.Body)
		}
		row.feeds++
	}
	row.feed, row.feedOps = mFeed.Total(), mFeed.Ops()

	// Everything the stream carried, processing's own writes included: DynamoDB
	// Streams bills no read by Lambda, but each record is an invocation unless a
	// filter drops it.
	all, err := streams.ReadAll(ctx, env.Deps.Store.Client(), env.Deps.Store.Table(), func(rs []events.DynamoDBEventRecord) bool { return len(rs) >= len(recs) })
	if err != nil {
		b.Fatal(err)
	}
	row.streamRecords = len(all)
	after, by, err := tableBytes(ctx, env.Deps.Store)
	if err != nil {
		b.Fatal(err)
	}
	row.stored, row.storedBy = after-before, by
	return row
}

func chatInserts(rs []events.DynamoDBEventRecord) []events.DynamoDBEventRecord {
	var out []events.DynamoDBEventRecord
	for _, r := range rs {
		if sk, ok := r.Change.Keys["sk"]; ok && strings.HasPrefix(sk.String(), "CHAT#") && r.EventName == "INSERT" {
			out = append(out, r)
		}
	}
	return out
}

// signedDelivery is a webhook POST as Zendesk signs it (the timestamp, then the raw
// body, HMAC-SHA256 with the account's secret), computed from the contract.
func signedDelivery(body []byte) apptest.Request {
	ts := time.Now().UTC().Format(time.RFC3339)
	mac := hmac.New(sha256.New, []byte(costSecret))
	mac.Write([]byte(ts))
	mac.Write(body)
	return apptest.Request{Method: "POST", Path: "/webhooks/chat/acme", Body: body, Header: map[string]string{
		"Content-Type":                          "application/json",
		"X-Zendesk-Webhook-Signature-Timestamp": ts,
		"X-Zendesk-Webhook-Signature":           base64.StdEncoding.EncodeToString(mac.Sum(nil)),
	}}
}

// costWords make messages that compress as chat text does (a few times, not a
// hundred: repeating one sentence would make long chats look free to store).
var costWords = strings.Fields(`hello hi thanks order shipping delivery price invoice account
	password reset card refund return week today tomorrow size colour blue green available stock
	warehouse tracking number address street city zip code email phone call back manager discount
	coupon subscription plan annual monthly upgrade downgrade cancel please could would you we our
	your the a an to for of in on at with and or but not yes no maybe sure great perfect`)

// costChat is a Chat API chat object of about size bytes: alternating visitor and
// agent messages of random words.
func costChat(rng *rand.Rand, id, email string, start time.Time, size int) []byte {
	type msg struct {
		Type      string `json:"type"`
		Nick      string `json:"nick"`
		Name      string `json:"name"`
		Msg       string `json:"msg"`
		Timestamp string `json:"timestamp"`
	}
	c := map[string]any{
		"id": id, "type": "chat", "timestamp": start.Format(time.RFC3339), "duration": 300,
		"visitor":     map[string]string{"name": "Vera Visitor", "email": email, "phone": "+1 415 555 0100"},
		"agent_names": []string{"Ana Agent"}, "department_name": "Sales", "tags": []string{"pricing"},
	}
	var history []msg
	for used := 350; used < size; {
		var words []string
		for range 8 + rng.IntN(20) {
			words = append(words, costWords[rng.IntN(len(costWords))])
		}
		m := msg{Type: "chat.msg", Nick: "visitor", Name: "Vera Visitor", Msg: strings.Join(words, " "),
			Timestamp: start.Add(time.Duration(len(history)) * 10 * time.Second).Format(time.RFC3339)}
		if len(history)%2 == 1 {
			m.Nick, m.Name = "agent:1", "Ana Agent"
		}
		history = append(history, m)
		used += len(m.Msg) + 110
	}
	c["history"] = history
	raw, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return raw
}

func measureLookups(b *testing.B, n int) []lookupRow {
	env := apptest.New(b)
	env.ConnectForAllAgents(b, "acme")
	tok := env.AgentToken(b, "acme", "361", "")
	h := panel.New(env.PanelDeps())
	req := apptest.Request{Method: "GET", Path: "/panel?email=" + selltest.DemoVeraEmail, Token: tok}
	lookup := func(label string, k int) lookupRow {
		m := store.NewMeter()
		var took time.Duration
		mh := metered(h, m, &took)
		env.Sell.ResetCalls()
		for range k {
			if res := apptest.Do(b, mh, req); res.Status != http.StatusOK {
				b.Fatalf("panel: %d %s", res.Status, res.Body)
			}
		}
		return lookupRow{label: label, n: k, use: m.Total(), ops: m.Ops(), took: took, sell: env.Sell.TotalCalls()}
	}
	first := lookup("first lookup (cold Lambda: no cache)", 1)
	return []lookupRow{first, lookup("warm lookups (same Lambda)", n)}
}

// tableBytes sums the size of every item of account acme as DynamoDB counts it,
// in all and by sort-key prefix (the part before the first '#').
func tableBytes(ctx context.Context, s *store.Store) (int64, map[string]int64, error) {
	by := map[string]int64{}
	var total int64
	p := dynamodb.NewScanPaginator(s.Client(), &dynamodb.ScanInput{TableName: ptr(s.Table()), ConsistentRead: ptr(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, nil, fmt.Errorf("scan %s: %w", s.Table(), err)
		}
		for _, it := range page.Items {
			n := itemSize(it)
			total += n
			sk := ""
			if v, ok := it[store.AttrSK].(*types.AttributeValueMemberS); ok {
				sk, _, _ = strings.Cut(v.Value, "#")
			}
			by[sk] += n
		}
	}
	return total, by, nil
}

// itemSize is an item's size by DynamoDB's rules: each attribute's name in UTF-8
// bytes plus its value (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
func itemSize(it map[string]types.AttributeValue) int64 {
	var n int64
	for k, v := range it {
		n += int64(len(k)) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int64 {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return int64(len(v.Value))
	case *types.AttributeValueMemberB:
		return int64(len(v.Value))
	case *types.AttributeValueMemberN:
		// Up to 38 significant digits: about one byte per two digits, plus one.
		return int64(len(strings.TrimLeft(v.Value, "-0"))+1)/2 + 1
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		var n int64
		for _, s := range v.Value {
			n += int64(len(s))
		}
		return n
	case *types.AttributeValueMemberL:
		n := int64(3)
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := int64(3)
		for k, e := range v.Value {
			n += 1 + int64(len(k)) + valueSize(e)
		}
		return n
	}
	return 0
}

func ptr[T any](v T) *T { return &v }

// printCost writes the figures per chat and per lookup, for docs/cost.md.
func printCost(rows []costRow, lookups []lookupRow) {
	if len(rows) == 0 {
		return
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "\nper chat\tbody B\tstored B\tingest WCU\tingest RCU\tprocess WCU\tprocess RCU\tfeed-read RCU\tstream recs\tinvocations\tSell calls\tingest ms\tprocess ms\tfeed ms\t")
	for _, r := range rows {
		c := float64(r.chats)
		fmt.Fprintf(w, "%s\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.1f\t1 + %.2f + 1\t%.1f\t%.1f\t%.1f\t%.1f\t\n",
			r.size, r.bodyBytes, float64(r.stored)/c, r.ingest.WCU/c, r.ingest.RCU/c, r.process.WCU/c, r.process.RCU/c,
			r.feed.RCU/float64(r.feeds), float64(r.streamRecords)/c, float64(r.batches)/c, float64(r.sellCalls)/c,
			ms(r.ingestTime)/c, ms(r.procTime)/c, ms(r.feedTime)/float64(r.feeds))
	}
	w.Flush()
	for _, r := range rows {
		fmt.Printf("\n%s (%d chats): stored by kind %v\n", r.size, r.chats, perChat(r.storedBy, r.chats))
		fmt.Printf("  ingest   %s\n  process  %s\n  feed     %s\n", opsLine(r.ingestOps, r.chats), opsLine(r.processOps, r.chats), opsLine(r.feedOps, r.feeds))
	}
	for _, l := range lookups {
		k := float64(l.n)
		fmt.Printf("\npanel, %s: per lookup %.2f RCU, %.2f WCU, %.1f Sell calls, %.1f ms; %s\n",
			l.label, l.use.RCU/k, l.use.WCU/k, float64(l.sell)/k, ms(l.took)/k, opsLine(l.ops, l.n))
	}
}

func perChat(by map[string]int64, n int) map[string]int64 {
	out := map[string]int64{}
	for k, v := range by {
		out[k] = int64(math.Round(float64(v) / float64(n)))
	}
	return out
}

// opsLine is "Op calls×, RCU, WCU" per operation, each divided by n.
func opsLine(ops map[string]store.Usage, n int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(ops)) {
		u := ops[k]
		s := fmt.Sprintf("%s %.2f× %.2f RCU %.2f WCU", k, float64(u.Calls)/float64(n), u.RCU/float64(n), u.WCU/float64(n))
		if u.Failed > 0 {
			s += fmt.Sprintf(" (%d failed)", u.Failed)
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "no DynamoDB calls"
	}
	return strings.Join(parts, "; ")
}
