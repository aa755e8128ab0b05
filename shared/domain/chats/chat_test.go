package chats_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/domain/chats"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseReadsTheChatObject(t *testing.T) {
	t.Parallel()
	c, err := chats.Parse(read(t, "chat.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := chats.Visitor{ID: "10087.TYa", Name: "Vera Visitor", Email: "vera@example.com", Phone: "+1 415 555 0100"}
	if c.ID != "2401.10087.TYaHWx1xY7vAE" || c.Type != chats.TypeChat || c.Visitor != want {
		t.Fatalf("got %q %q %+v", c.ID, c.Type, c.Visitor)
	}
	if !c.Start.Equal(time.Date(2026, 11, 20, 14, 2, 11, 0, time.UTC)) || !c.End.Equal(time.Date(2026, 11, 20, 14, 9, 40, 0, time.UTC)) || c.Duration != 449*time.Second {
		t.Fatalf("times %v %v %v", c.Start, c.End, c.Duration)
	}
	if strings.Join(c.Agents, ",") != "Ana Agent" || c.Department != "Sales" || c.Rating != "good" || c.Comment != "Very helpful" || strings.Join(c.Tags, ",") != "pricing" {
		t.Fatalf("details %+v", c)
	}
	if len(c.History) != 7 || !c.History[5].At.Equal(time.Unix(1795183775, 0)) {
		t.Fatalf("history %d entries, unknown one at %v", len(c.History), c.History[5].At)
	}
	var raw map[string]any
	if err := json.Unmarshal(c.Raw, &raw); err != nil || raw["future_field"] == nil {
		t.Fatalf("unknown fields were not kept: %v", err)
	}
	msgs := c.Messages()
	if len(msgs) != 3 || msgs[1].From != "Ana Agent" || msgs[1].Text != "Hello Vera, <b>12,000 USD</b> a year." || msgs[2].Text != "sent a file: quote.pdf" {
		t.Fatalf("messages %+v", msgs)
	}
}

func TestAnOfflineMessageIsAMessage(t *testing.T) {
	t.Parallel()
	c, err := chats.Parse(read(t, "offline.json"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Type != chats.TypeOffline || !c.Start.Equal(time.Unix(1795183331, 0)) || len(c.Agents) != 0 {
		t.Fatalf("%+v", c)
	}
	msgs := c.Messages()
	if len(msgs) != 1 || msgs[0].From != "Liam Lead" || msgs[0].Text != "Please call me back about pricing." {
		t.Fatalf("messages %+v", msgs)
	}
	if !strings.HasPrefix(chats.NoteContent(c), "Zendesk Chat offline message") {
		t.Fatalf("note %q", chats.NoteContent(c))
	}
}

func TestTimestampsInEitherForm(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 11, 20, 14, 2, 11, 0, time.UTC)
	for _, in := range []string{`"2026-11-20T14:02:11Z"`, `"2026-11-20T15:02:11+01:00"`, `1795183331`, `"1795183331"`, `1795183331000`, `1795183331.0`} {
		c, err := chats.Parse([]byte(`{"id":"x","visitor":{},"timestamp":` + in + `}`))
		if err != nil {
			t.Fatal(err)
		}
		if !c.Start.Equal(want) {
			t.Errorf("%s: start %v, want %v", in, c.Start, want)
		}
	}
	for _, in := range []string{`"yesterday"`, `-5`, `null`, `{}`, `1e300`} {
		c, err := chats.Parse([]byte(`{"id":"x","visitor":{},"timestamp":` + in + `}`))
		if err != nil || !c.Start.IsZero() {
			t.Errorf("%s: start %v err %v, want zero and no error", in, c.Start, err)
		}
	}
}

func TestParseRefusesWhatCannotBeStored(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, field string
	}{
		{"no id", `{"visitor":{"name":"a"}}`, "id"},
		{"an empty id", `{"id":"  ","visitor":{}}`, "id"},
		{"an id with a newline", `{"id":"a\nb","visitor":{}}`, "id"},
		{"an over-long id", `{"id":"` + strings.Repeat("x", 129) + `","visitor":{}}`, "id"},
		{"no visitor", `{"id":"1"}`, "visitor"},
		{"a visitor that is not an object", `{"id":"1","visitor":"vera"}`, "visitor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := chats.Parse([]byte(c.body))
			var fe *chats.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("err = %v, want a field error on %s", err, c.field)
			}
		})
	}
	for _, body := range []string{``, `[]`, `null`, `"chat"`, `{"id":`, `{} {}`, `{"id":"1","visitor":{}}]`, `{"id":"1","visitor":{}}}`, `{"id":"1","visitor":{}} 1`} {
		if _, err := chats.Parse([]byte(body)); !errors.Is(err, chats.ErrMalformed) {
			t.Errorf("%q: err = %v, want ErrMalformed", body, err)
		}
	}
}

func TestNumericIDsAndOddTypesAreTolerated(t *testing.T) {
	t.Parallel()
	c, err := chats.Parse([]byte(`{"id":12345,"visitor":{"name":7,"email":null},"tags":"vip","agent_names":[1,"Ana",null],"duration":"90","history":[1,{"type":"chat.msg","msg":"hi","nick":"visitor"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "12345" || c.Visitor.Name != "7" || strings.Join(c.Tags, ",") != "vip" || strings.Join(c.Agents, ",") != "1,Ana" || c.Duration != 90*time.Second {
		t.Fatalf("%+v", c)
	}
	if m := c.Messages(); len(m) != 1 || m[0].From != "7" {
		t.Fatalf("%+v", m)
	}
}

func TestNoteContentCarriesTheMarkerAndStaysBounded(t *testing.T) {
	t.Parallel()
	c, _ := chats.Parse(read(t, "chat.json"))
	n := chats.NoteContent(c)
	if !strings.HasSuffix(n, chats.Marker(c.ID)) || !strings.Contains(n, "Vera Visitor: Hi! What does the annual plan cost?") {
		t.Fatalf("note:\n%s", n)
	}
	if id, ok := chats.MarkedChat(n); !ok || id != c.ID {
		t.Fatalf("MarkedChat of the note = %q, %v; want %q", id, ok, c.ID)
	}
	for _, other := range []string{"", "A note an agent wrote.", "[sellchat chat x] and then more", "no marker]"} {
		if id, ok := chats.MarkedChat(other); ok {
			t.Fatalf("MarkedChat(%q) = %q; want none", other, id)
		}
	}
	long := `{"id":"big","visitor":{},"history":[`
	for i := 0; i < 2000; i++ {
		if i > 0 {
			long += ","
		}
		long += `{"type":"chat.msg","nick":"visitor","msg":"` + strings.Repeat("word ", 20) + `"}`
	}
	c, err := chats.Parse([]byte(long + "]}"))
	if err != nil {
		t.Fatal(err)
	}
	n = chats.NoteContent(c)
	if len(n) > chats.MaxNoteLength || !strings.HasSuffix(n, chats.Marker("big")) {
		t.Fatalf("note of %d bytes, marker kept: %v", len(n), strings.HasSuffix(n, chats.Marker("big")))
	}
}

func TestFeedKeysSortByStartAndNameTheChat(t *testing.T) {
	t.Parallel()
	r := chats.Record{Type: chats.ResourceLead, ID: 2001}
	early := chats.Chat{ID: "b", Start: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	late := chats.Chat{ID: "a", Start: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)}
	if k := chats.FeedKey(r, early); k != "FEED#lead#2001#2026-01-02T03:04:05Z#b" {
		t.Fatalf("key %q", k)
	}
	if !(chats.FeedKey(r, early) < chats.FeedKey(r, late)) {
		t.Fatal("keys do not sort by start time")
	}
}

// FuzzParseChat: whatever arrives, Parse either refuses it with a typed error or
// returns a chat whose id is usable in a key and whose derived views do not panic.
func FuzzParseChat(f *testing.F) {
	for _, name := range []string{"chat.json", "offline.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"id":1,"visitor":{},"timestamp":1e308}`))
	f.Add([]byte(`{"id":"x","visitor":{},"history":[{"timestamp":"0001-01-01T00:00:00Z"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := chats.Parse(body)
		if err != nil {
			var fe *chats.FieldError
			if !errors.Is(err, chats.ErrMalformed) && !errors.As(err, &fe) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !json.Valid(c.Raw) { // one JSON value and nothing after it: what is stored must read back
			t.Fatalf("accepted a body that is not one JSON value: %q", body)
		}
		if c.ID == "" || len(c.ID) > chats.MaxIDLength || strings.ContainsAny(c.ID, "\n\r\t ") {
			t.Fatalf("unusable id %q", c.ID)
		}
		if _, err := json.Marshal(c.Messages()); err != nil {
			t.Fatalf("messages do not encode: %v", err)
		}
		if n := chats.NoteContent(c); len(n) > chats.MaxNoteLength+len(chats.Marker(c.ID))+200 {
			t.Fatalf("note of %d bytes", len(n))
		}
		_ = chats.FeedKey(chats.Record{Type: "lead", ID: 1}, c)
	})
}
