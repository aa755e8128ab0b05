package privacy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/store/privacystore"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
	"github.com/sellchat/sellchat/shared/domain/audit"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/leads"
	"github.com/sellchat/sellchat/shared/handler/privacy"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var start = time.Date(2026, 11, 20, 14, 2, 11, 0, time.UTC)

func deps(env *apptest.Env) privacy.Deps {
	d := env.Deps
	return privacy.Deps{Store: d.Store, Box: d.Box, Verifier: d.Verifier, Logger: d.Logger, ReadPhone: phone.E164}
}

func chatJSON(id, email, phone string, at time.Time) string {
	return fmt.Sprintf(`{"id":%q,"type":"chat","timestamp":%q,"visitor":{"name":"V %s","email":%q,"phone":%q},`+
		`"history":[{"type":"chat.msg","nick":"visitor","name":"V","msg":"Hello from %s","timestamp":%q}]}`,
		id, at.Format(time.RFC3339), id, email, phone, id, at.Add(time.Second).Format(time.RFC3339))
}

// withHistory is a deployment with acme connected and its chat history in Sell on,
// and the transcripts processor that puts chats there (reading phones as the
// privacy routes do, retrying at once): what a visitor's data in Sell needs.
func withHistory(t *testing.T) (*apptest.Env, *transcripts.Processor) {
	t.Helper()
	env := apptest.New(t)
	env.Connect(t, "acme")
	env.SetHistory(t, "acme", true)
	return env, transcripts.NewWith(env.TranscriptsDeps(), transcripts.Options{ReadPhone: phone.E164, Backoff: func(int) time.Duration { return time.Millisecond }})
}

// storeChats stores the chats as the ingest does and, with p, processes them as the
// transcripts function does (feed entries, notes).
func storeChats(t *testing.T, env *apptest.Env, p *transcripts.Processor, account string, bodies ...string) {
	t.Helper()
	ctx := context.Background()
	for _, b := range bodies {
		c, err := chats.Parse([]byte(b))
		if err != nil {
			t.Fatal(err)
		}
		it, err := chatstore.NewChatItem(c, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := chatstore.New(env.Deps.Store).CreateChat(ctx, account, it); err != nil {
			t.Fatal(err)
		}
		if p != nil {
			if err := p.Process(ctx, account, c.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
}

type answer struct {
	Visitor map[string]string `json:"visitor"`
	Chats   []struct {
		ID             string          `json:"id"`
		Status         string          `json:"status"`
		Records        []string        `json:"records"`
		Chat           json.RawMessage `json:"chat"`
		ContentOmitted bool            `json:"contentOmitted"`
	} `json:"chats"`
	Entries []struct {
		Record string `json:"record"`
		ChatID string `json:"chatId"`
		NoteID int64  `json:"noteId"`
	} `json:"entries"`
	Notes []struct {
		ID     int64  `json:"id"`
		Record string `json:"record"`
		ChatID string `json:"chatId"`
	} `json:"notes"`
	LeadCreations []struct {
		Kind     string `json:"kind"`
		LeadID   int64  `json:"leadId"`
		LeadName string `json:"leadName"`
	} `json:"leadCreations"`
	Scanned   int    `json:"scanned"`
	Truncated bool   `json:"truncated"`
	Cursor    string `json:"cursor"`
}

func (a answer) chatIDs() []string {
	var ids []string
	for _, c := range a.Chats {
		ids = append(ids, c.ID)
	}
	return ids
}

func lookup(t *testing.T, h *httpx.Router, token, query string) answer {
	t.Helper()
	res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/privacy/visitors?" + query, Token: token})
	if res.Status != 200 {
		t.Fatalf("GET ?%s: %d %s", query, res.Status, res.Body)
	}
	var a answer
	res.JSON(t, &a)
	return a
}

func TestAccessGivesTheVisitorsDataAndNothingElse(t *testing.T) {
	t.Parallel()
	env, p := withHistory(t)
	storeChats(t, env, p, "acme",
		chatJSON("vera-1", "vera@example.com", "", start),
		chatJSON("paul-1", "paul@acme.example", "", start.Add(time.Minute)),
		chatJSON("vera-2", "VERA@Example.com", "(415) 555-0100", start.Add(time.Hour)))
	storeChats(t, env, nil, "globex", chatJSON("vera-g", "vera@example.com", "", start))
	h := privacy.New(deps(env))
	admin := env.Token(t, "acme", auth.RoleAdmin)

	a := lookup(t, h, admin, "email="+url.QueryEscape(" Vera@Example.COM"))
	if a.Visitor["email"] != "vera@example.com" || !slices.Equal(a.chatIDs(), []string{"vera-1", "vera-2"}) || a.Truncated || a.Cursor != "" || a.Scanned != 3 {
		t.Fatalf("answer %+v", a)
	}
	for _, c := range a.Chats {
		var obj struct {
			ID      string `json:"id"`
			History []struct {
				Msg string `json:"msg"`
			} `json:"history"`
		}
		if err := json.Unmarshal(c.Chat, &obj); err != nil || obj.ID != c.ID || len(obj.History) != 1 || obj.History[0].Msg != "Hello from "+c.ID {
			t.Errorf("chat %s: object %s (%v), want the chat as received", c.ID, c.Chat, err)
		}
		if c.Status != chats.StatusMatched || !slices.Equal(c.Records, []string{"lead:2001"}) {
			t.Errorf("chat %s: %s in %v", c.ID, c.Status, c.Records)
		}
	}
	sellNotes := map[int64]bool{}
	for _, n := range env.Sell.Notes() {
		sellNotes[n.ID] = true
	}
	if len(a.Entries) != 2 || len(a.Notes) != 2 {
		t.Fatalf("entries %+v notes %+v, want one each per chat", a.Entries, a.Notes)
	}
	for i, n := range a.Notes {
		if !sellNotes[n.ID] || n.Record != "lead:2001" || n.ID != a.Entries[i].NoteID || n.ChatID != a.Entries[i].ChatID {
			t.Errorf("note %+v (entry %+v): not the Sell note of the entry", n, a.Entries[i])
		}
	}

	t.Run("a phone, spelt any way, finds the chats that give it", func(t *testing.T) {
		a := lookup(t, h, admin, "phone="+url.QueryEscape("+1 415-555-0100"))
		if a.Visitor["phone"] != "+14155550100" || !slices.Equal(a.chatIDs(), []string{"vera-2"}) {
			t.Fatalf("answer %+v", a)
		}
	})
	t.Run("another account's admin sees only their own visitor's data", func(t *testing.T) {
		a := lookup(t, h, env.Token(t, "globex", auth.RoleAdmin), "email=vera%40example.com")
		if !slices.Equal(a.chatIDs(), []string{"vera-g"}) || len(a.Entries) != 0 || len(a.Notes) != 0 {
			t.Fatalf("answer %+v", a)
		}
	})
	t.Run("a visitor nobody stored is an empty answer", func(t *testing.T) {
		a := lookup(t, h, admin, "email=nobody%40example.com")
		if len(a.Chats) != 0 || a.Chats == nil || a.Truncated || len(a.LeadCreations) != 0 {
			t.Fatalf("answer %+v", a)
		}
	})
}

func TestAccessAnswersAreBoundedAndSaySo(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	var bodies, want []string
	for i := range 5 {
		id := fmt.Sprintf("c-%d-vera", i)
		want = append(want, id)
		bodies = append(bodies, chatJSON(id, "vera@example.com", "", start.Add(time.Duration(i)*time.Minute)),
			chatJSON(fmt.Sprintf("c-%d-zoe", i), "zoe@example.com", "", start))
	}
	storeChats(t, env, nil, "acme", bodies...)
	admin := env.Token(t, "acme", auth.RoleAdmin)

	t.Run("pages of few chats read on to the end", func(t *testing.T) {
		h := privacy.NewWithLimits(deps(env), 3, 2, httpx.MaxAnswerBytes)
		var got []string
		cursor := ""
		for page := 1; ; page++ {
			a := lookup(t, h, admin, "email=vera%40example.com&cursor="+cursor)
			if len(a.Chats) > 2 || a.Scanned > 3 {
				t.Fatalf("page %d: %d chats after reading %d", page, len(a.Chats), a.Scanned)
			}
			got = append(got, a.chatIDs()...)
			if !a.Truncated {
				if a.Cursor != "" {
					t.Fatalf("page %d: a cursor without truncated", page)
				}
				break
			}
			if page > 10 || a.Cursor == "" {
				t.Fatalf("page %d: truncated %v, cursor %q", page, a.Truncated, a.Cursor)
			}
			cursor = url.QueryEscape(a.Cursor)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("chats %v, want each of %v once", got, want)
		}
	})
	t.Run("an answer stops before its bytes run out", func(t *testing.T) {
		one := lookup(t, privacy.NewWithLimits(deps(env), 100, 1, httpx.MaxAnswerBytes), admin, "email=vera%40example.com")
		raw, _ := json.Marshal(one.Chats[0])
		h := privacy.NewWithLimits(deps(env), 100, 50, privacy.EnvelopeReserve+httpx.LambdaBytes(raw)*3/2)
		a := lookup(t, h, admin, "email=vera%40example.com")
		if len(a.Chats) != 1 || !a.Truncated || a.Chats[0].ContentOmitted {
			t.Fatalf("answer %+v, want one whole chat and truncated", a)
		}
		next := lookup(t, h, admin, "email=vera%40example.com&cursor="+url.QueryEscape(a.Cursor))
		if len(next.Chats) != 1 || next.Chats[0].ID != want[1] {
			t.Fatalf("next page %v, want %s", next.chatIDs(), want[1])
		}
	})
	t.Run("a chat larger than an answer comes without its object", func(t *testing.T) {
		h := privacy.NewWithLimits(deps(env), 100, 50, privacy.EnvelopeReserve+300)
		a := lookup(t, h, admin, "email=vera%40example.com")
		if len(a.Chats) != 1 || !a.Chats[0].ContentOmitted || a.Chats[0].Chat != nil || !a.Truncated {
			t.Fatalf("answer %+v", a)
		}
	})
}

// refusal is a request a privacy route must refuse: its input (a query or a body,
// as the route takes it) and token, and the status and error code of the answer.
type refusal struct {
	name, input, token string
	status             int
	code               string
}

// checkRefusals sends each case through send and checks its status and error code,
// then that the table is exactly as it was before them (else it fails with
// changed): a refused request writes nothing.
func checkRefusals(t *testing.T, env *apptest.Env, changed string, send func(refusal) apptest.Response, cases []refusal) {
	t.Helper()
	before := storetest.Snapshot(t, env.Deps.Store)
	for _, c := range cases {
		res := send(c)
		if res.Status != c.status || res.ErrorCode() != c.code {
			t.Errorf("%s: %d %.200s, want %d %s", c.name, res.Status, res.Body, c.status, c.code)
		}
	}
	if after := storetest.Snapshot(t, env.Deps.Store); !reflect.DeepEqual(before, after) {
		t.Error(changed)
	}
}

func TestAccessRefusesWhatItCannotAnswer(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	h := privacy.New(deps(env))
	admin := env.Token(t, "acme", auth.RoleAdmin)
	checkRefusals(t, env, "a refused request changed the table", func(c refusal) apptest.Response {
		return apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/privacy/visitors?" + c.input, Token: c.token})
	}, []refusal{
		{"no token", "email=vera%40example.com", "", 401, "unauthenticated"},
		{"an agent", "email=vera%40example.com", env.Token(t, "acme", auth.RoleAgent), 403, "forbidden"},
		{"no visitor", "", admin, 422, "visitor_required"},
		{"an empty visitor", "email=+&phone=", admin, 422, "visitor_required"},
		{"both", "email=vera%40example.com&phone=%2B14155550100", admin, 422, "invalid_value"},
		{"no email", "email=vera", admin, 422, "invalid_value"},
		{"no phone", "phone=call+me", admin, 422, "invalid_value"},
		{"a forged cursor", "email=vera%40example.com&cursor=U0VUVElOR1M", admin, 400, "invalid_cursor"},
		{"a garbled cursor", "email=vera%40example.com&cursor=%25%25", admin, 400, "invalid_cursor"},
	})
}

func TestAccessListsWhatTheLeadsFunctionKeptAboutTheVisitor(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.Connect(t, "acme")
	env.SetSettings(t, "acme", func(s *settings.Settings) { s.Access = settings.AccessAllAgents })
	d := env.Deps
	lh := leads.New(leads.Deps{Store: d.Store, Gate: d.Gate(), Verifier: d.Verifier, Logger: d.Logger}, nil)
	res := apptest.Do(t, lh, apptest.Request{Method: "POST", Path: "/leads", Token: env.AgentToken(t, "acme", "361", "rex@example.com"),
		Body: `{"firstName":"Ola","lastName":"Visitor","email":"ola@example.com"}`, Header: map[string]string{"Idempotency-Key": "k-1"}})
	if res.Status != 201 {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	a := lookup(t, privacy.New(deps(env)), env.Token(t, "acme", auth.RoleAdmin), "email=OLA%40example.com")
	kinds := map[string]bool{}
	for _, lc := range a.LeadCreations {
		kinds[lc.Kind] = true
		if lc.Kind == "idempotency" && (lc.LeadID == 0 || lc.LeadName != "Ola Visitor") {
			t.Errorf("answer record %+v, want the lead", lc)
		}
	}
	if len(a.LeadCreations) != 2 || !kinds["idempotency"] || !kinds["email_claim"] {
		t.Fatalf("lead creations %+v, want the answer and the email claim", a.LeadCreations)
	}
}

type erasureView struct {
	ID             string `json:"id"`
	State          string `json:"state"`
	IdentifierKind string `json:"identifierKind"`
	IdentifierHash string `json:"identifierHash"`
	RequestedBy    string `json:"requestedBy"`
	Report         struct {
		ChatsDeleted int `json:"chatsDeleted"`
	} `json:"report"`
}

func postErasure(t *testing.T, h *httpx.Router, token, body string) (apptest.Response, erasureView) {
	t.Helper()
	res := apptest.Do(t, h, apptest.Request{Method: "POST", Path: "/privacy/erasures", Token: token, Body: body})
	var v erasureView
	if res.Status == 202 {
		res.JSON(t, &v)
	}
	return res, v
}

func TestAnErasureStartsOnceAndIsTheAccountsOwn(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	h := privacy.New(deps(env))
	admin := env.Token(t, "acme", auth.RoleAdmin)
	ctx := context.Background()

	res, job := postErasure(t, h, admin, `{"email":" Vera@Example.com"}`)
	if res.Status != 202 || job.State != "pending" || job.IdentifierKind != "email" || len(job.IdentifierHash) != 64 || job.RequestedBy != "u-admin" ||
		res.Header.Get("Location") != "/privacy/erasures/"+job.ID {
		t.Fatalf("%d %v %s", res.Status, res.Header, res.Body)
	}
	if strings.Contains(strings.ToLower(string(res.Body)), "vera") {
		t.Fatalf("the answer names the visitor: %s", res.Body)
	}
	for _, it := range storetest.Snapshot(t, env.Deps.Store) {
		if strings.Contains(strings.ToLower(fmt.Sprint(it)), "vera") {
			t.Fatalf("the table holds the visitor in clear: %v", it)
		}
	}
	got := apptest.Do(t, h, apptest.Request{Method: "GET", Path: res.Header.Get("Location"), Token: admin})
	var v erasureView
	got.JSON(t, &v)
	if got.Status != 200 || v.ID != job.ID || v.IdentifierHash != job.IdentifierHash {
		t.Fatalf("GET: %d %s", got.Status, got.Body)
	}
	entries, _, err := env.Deps.Store.AuditPage(ctx, "acme", "", 10)
	if err != nil || len(entries) != 1 || entries[0].Action != audit.ErasureStart || entries[0].Target != job.ID ||
		entries[0].Changes["identifierHash"].To != job.IdentifierHash || entries[0].Actor.UserID != "u-admin" {
		t.Fatalf("audit %+v %v", entries, err)
	}

	t.Run("asked again, however spelt, it is the same erasure", func(t *testing.T) {
		res, again := postErasure(t, h, admin, `{"email":"VERA@example.com","phone":""}`)
		if res.Status != 202 || again.ID != job.ID {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("asked for at once, one erasure starts", func(t *testing.T) {
		const n = 8
		ids := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				res, v := postErasure(t, h, admin, `{"phone":"+1 (415) 555-0100"}`)
				if res.Status != 202 {
					t.Errorf("%d %s", res.Status, res.Body)
				}
				ids[i] = v.ID
			})
		}
		wg.Wait()
		slices.Sort(ids)
		if ids = slices.Compact(ids); len(ids) != 1 || ids[0] == "" {
			t.Fatalf("erasures %v, want one", ids)
		}
		entries, _, _ := env.Deps.Store.AuditPage(ctx, "acme", "", 20)
		if len(entries) != 2 {
			t.Fatalf("%d audit entries, want one per erasure started", len(entries))
		}
	})
	t.Run("another account sees nothing of it", func(t *testing.T) {
		res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/privacy/erasures/" + job.ID, Token: env.Token(t, "globex", auth.RoleAdmin)})
		if res.Status != 404 || res.ErrorCode() != "erasure_not_found" {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
		// And starting one of its own for the same visitor is a new erasure.
		res, own := postErasure(t, h, env.Token(t, "globex", auth.RoleAdmin), `{"email":"vera@example.com"}`)
		if res.Status != 202 || own.ID == job.ID || own.IdentifierHash != job.IdentifierHash {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("unknown ids are not found", func(t *testing.T) {
		for _, id := range []string{"NOSUCHERASURE", "not%20an%20id", strings.Repeat("A", 65)} {
			res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/privacy/erasures/" + id, Token: admin})
			if res.Status != 404 || res.ErrorCode() != "erasure_not_found" {
				t.Errorf("%s: %d %s", id, res.Status, res.Body)
			}
		}
	})
}

func TestRefusedErasuresChangeNothing(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	h := privacy.New(deps(env))
	admin := env.Token(t, "acme", auth.RoleAdmin)
	oversized := `{"email":"` + strings.Repeat("a", httpx.MaxBody) + `@example.com"}`
	checkRefusals(t, env, "a refused erasure changed the table", func(c refusal) apptest.Response {
		res, _ := postErasure(t, h, c.token, c.input)
		return res
	}, []refusal{
		{"no token", `{"email":"vera@example.com"}`, "", 401, "unauthenticated"},
		{"an agent", `{"email":"vera@example.com"}`, env.Token(t, "acme", auth.RoleAgent), 403, "forbidden"},
		{"another key's token", `{"email":"vera@example.com"}`, env.RogueToken(t, "acme", auth.RoleAdmin), 401, "invalid_token"},
		{"no body", ``, admin, 400, "empty_body"},
		{"malformed", `{"email":`, admin, 400, "malformed_json"},
		{"trailing data", `{"email":"vera@example.com"}]`, admin, 400, "malformed_json"},
		{"a list", `["vera@example.com"]`, admin, 400, "malformed_json"},
		{"a wrong type", `{"email":42}`, admin, 422, "wrong_type"},
		{"an unknown field", `{"name":"Vera"}`, admin, 422, "unknown_field"},
		{"no visitor", `{}`, admin, 422, "visitor_required"},
		{"both", `{"email":"vera@example.com","phone":"+14155550100"}`, admin, 422, "invalid_value"},
		{"no email", `{"email":"vera at example"}`, admin, 422, "invalid_value"},
		{"no phone", `{"phone":"12"}`, admin, 422, "invalid_value"},
		{"oversized", oversized, admin, 413, "body_too_large"},
	})
}

// From the admin's side: the erasure's progress, then its report once the
// transcripts function ran it; access then finds nothing of the visitor.
func TestAnErasureReportsWhatItDidAndKept(t *testing.T) {
	t.Parallel()
	env, p := withHistory(t)
	storeChats(t, env, p, "acme", chatJSON("vera-1", "vera@example.com", "415.555.0100", start), chatJSON("paul-1", "paul@acme.example", "", start))
	h := privacy.New(deps(env))
	admin := env.Token(t, "acme", auth.RoleAdmin)

	res, job := postErasure(t, h, admin, `{"phone":"(415) 555-0100"}`)
	if res.Status != 202 || strings.Contains(string(res.Body), "sellRecords") {
		t.Fatalf("%d %s: want pending, no report of Sell records yet", res.Status, res.Body)
	}
	if err := p.Erase(context.Background(), "acme", job.ID); err != nil {
		t.Fatal(err)
	}
	got := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/privacy/erasures/" + job.ID, Token: admin})
	var v struct {
		State      string `json:"state"`
		FinishedAt string `json:"finishedAt"`
		Report     struct {
			ChatsDeleted, EntriesDeleted, NotesDeleted int
			Records                                    []string
			SellRecords                                []struct {
				Kind string `json:"kind"`
				ID   int64  `json:"id"`
			} `json:"sellRecords"`
		} `json:"report"`
	}
	got.JSON(t, &v)
	r := v.Report
	if v.State != "done" || v.FinishedAt == "" || r.ChatsDeleted != 1 || r.EntriesDeleted != 1 || r.NotesDeleted != 1 ||
		!slices.Equal(r.Records, []string{"lead:2001"}) || len(r.SellRecords) != 1 || r.SellRecords[0].Kind != "lead" || r.SellRecords[0].ID != 2001 {
		t.Fatalf("%s", got.Body)
	}
	if a := lookup(t, h, admin, "email=vera%40example.com"); len(a.Chats) != 0 || len(a.Entries) != 0 {
		t.Fatalf("after the erasure: %+v", a)
	}
	if a := lookup(t, h, admin, "email=paul%40acme.example"); len(a.Chats) != 1 {
		t.Fatalf("paul's chat: %+v", a)
	}
	// The chat as it would arrive again, its phone typed without the country code,
	// is refused by the ingest's check; paul's is not.
	ps := privacystore.New(env.Deps.Store, env.Deps.Box)
	for phone, want := range map[string]bool{"415.555.0100": true, "+1 415 555 0100": true, "415 555 0199": false} {
		if erased, err := ps.Erased(context.Background(), "acme", "", phone); err != nil || erased != want {
			t.Errorf("Erased(%q) = %v %v, want %v", phone, erased, err, want)
		}
	}
}
