package redact

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func mustNew(t testing.TB, cards bool, patterns ...Pattern) *Redactor {
	t.Helper()
	r, err := New(cards, patterns)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// redactTwice redacts in, then its result again, which must change and count nothing.
func redactTwice(t *testing.T, r *Redactor, in string) (string, Counts) {
	t.Helper()
	out, counts := r.Redact(in)
	if again, c := r.Redact(out); again != out || c != nil {
		t.Fatalf("redacting %q twice: %q (%v), then %q (%v)", in, out, counts, again, c)
	}
	return out, counts
}

func TestCardNumbersAreMaskedToTheirLastFourDigits(t *testing.T) {
	t.Parallel()
	r := mustNew(t, true)
	for _, c := range []struct {
		in, want string
		n        int
	}{
		{"my card is 4111 1111 1111 1111, thanks", "my card is •••• 1111, thanks", 1},
		{"4111111111111111", "•••• 1111", 1},
		{"4111-1111-1111-1111", "•••• 1111", 1},
		{"Amex 3782 822463 10005 please", "Amex •••• 0005 please", 1},
		{"Amex 378282246310005", "Amex •••• 0005", 1},
		{"Discover 6011-1111-1111-1117.", "Discover •••• 1117.", 1},
		// The expiry and the code typed after it stay; the number does not.
		{"4111 1111 1111 1111 12/25 123", "•••• 1111 12/25 123", 1},
		{"two: 5555555555554444 and (4111 1111 1111 1111)", "two: •••• 4444 and (•••• 1111)", 2},
		{"card:4111111111111111", "card:•••• 1111", 1},
		{"ünïcode 4111111111111111 ✓", "ünïcode •••• 1111 ✓", 1},
	} {
		got, counts := redactTwice(t, r, c.in)
		if got != c.want || counts[CardRule] != c.n || len(counts) != 1 {
			t.Errorf("%q: got %q %v, want %q with %d card(s)", c.in, got, counts, c.want, c.n)
		}
	}
}

func TestWhatIsNotACardNumberIsLeftAlone(t *testing.T) {
	t.Parallel()
	r := mustNew(t, true)
	for _, in := range []string{
		"4111 1111 1111 1112",          // 16 digits failing the Luhn check
		"call me on +1 (415) 555-0100", // a phone number
		"+44 20 7946 0958 or 0044 20 7946 0958",
		"79927398713",                     // Luhn-valid, but 11 digits
		"invoice INV4111111111111111",     // digits inside a word
		"4111111111111111abc",             // glued to a word on the right
		"ref_4111111111111111",            // or to an underscore
		"tracking 4111111111111111111111", // 22 digits: no card is that long
		"4111  1111 1111 1111",            // two spaces do not join groups
		"•••• 1111",                       // what a card mask keeps
		"2026-11-20T14:02:11Z",
		"",
	} {
		if got, counts := r.Redact(in); got != in || counts != nil {
			t.Errorf("%q became %q (%v)", in, got, counts)
		}
	}
}

func TestAMaskNeverJoinsTheDigitsAfterIt(t *testing.T) {
	t.Parallel()
	r := mustNew(t, true)
	// The four digits a mask keeps, read with the groups after them, could pass the
	// Luhn check: they must not make a second pass mask anything.
	for _, in := range []string{
		"4111 1111 1111 1111 2222 3333 4444 5",
		"•••• 1111 2222 3333 4444 5",
		"x1 4111 1111 1111 1111",
		"4111111111111111 4111111111111111",
	} {
		redactTwice(t, r, in)
	}
}

func TestCardMaskingCanBeSwitchedOff(t *testing.T) {
	t.Parallel()
	r := mustNew(t, false)
	if r.Active() {
		t.Fatal("no rule, yet active")
	}
	if got, counts := r.Redact("4111 1111 1111 1111"); got != "4111 1111 1111 1111" || counts != nil {
		t.Fatalf("%q %v", got, counts)
	}
}

func TestAdminPatternsMaskEveryMatchUnderTheirName(t *testing.T) {
	t.Parallel()
	r := mustNew(t, true,
		Pattern{Name: "iban", Pattern: `\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b`},
		Pattern{Name: "ssn", Pattern: `\b\d{3}-\d{2}-\d{4}\b`})
	got, counts := redactTwice(t, r, "IBAN DE89370400440532013000, SSN 078-05-1120 and 219-09-9999; card 4111 1111 1111 1111")
	if got != "IBAN ••••, SSN •••• and ••••; card •••• 1111" {
		t.Fatalf("got %q", got)
	}
	if counts["iban"] != 1 || counts["ssn"] != 2 || counts[CardRule] != 1 || len(counts) != 3 {
		t.Fatalf("counts %v", counts)
	}
}

func TestAPatternMatchingItsOwnMaskChangesNothingTheSecondTime(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ pattern, in, want string }{
		{`[^a-z ]+`, "ab 12 cd", "ab •••• cd"},
		{`\S+@\S+`, "write to a@b.example or c@d.example", "write to •••• or ••••"},
		{`.`, "ab", "••••••••"},           // every character, masks included
		{`...`, "abcdef g", "•••••••• g"}, // three at a time, across masks on later passes
		{`\d{4}`, "PIN 1234 card 4111 1111 1111 1111", "PIN •••• card •••• •••• •••• ••••"},
	} {
		r := mustNew(t, true, Pattern{Name: "p", Pattern: c.pattern})
		got, _ := redactTwice(t, r, c.in)
		if c.pattern != `...` && got != c.want {
			t.Errorf("%s on %q: got %q, want %q", c.pattern, c.in, got, c.want)
		}
	}
}

func TestRulesFeedingEachOtherSettle(t *testing.T) {
	t.Parallel()
	// The pattern masks the word a card number is glued to; the number, no longer
	// glued to a word, is a card.
	r := mustNew(t, true, Pattern{Name: "words", Pattern: `[a-z]+`})
	got, counts := redactTwice(t, r, "ref4111111111111111")
	if got != "•••••••• 1111" || counts["words"] != 1 || counts[CardRule] != 1 {
		t.Fatalf("got %q %v", got, counts)
	}
	// A pattern built to mask one character more on every pass is cut short: the
	// whole value is masked.
	r = mustNew(t, false, Pattern{Name: "chew", Pattern: `^x|•x`})
	got, counts = redactTwice(t, r, strings.Repeat("x", 50))
	if got != Mask || counts["chew"] == 0 {
		t.Fatalf("got %q %v", got, counts)
	}
}

func TestBadPatternsAreRefusedNamingThePattern(t *testing.T) {
	t.Parallel()
	ok := Pattern{Name: "ok", Pattern: `\d{6}`}
	many := make([]Pattern, MaxPatterns+1)
	for i := range many {
		many[i] = Pattern{Name: "p" + strings.Repeat("x", i), Pattern: "a"}
	}
	for _, c := range []struct {
		name     string
		patterns []Pattern
		index    int
		field    string
		code     string
		mentions string
	}{
		{"too many", many, -1, "", CodeTooMany, "20"},
		{"does not compile", []Pattern{ok, {Name: "acct", Pattern: `[0-9`}}, 1, "pattern", CodeInvalidPattern, `Pattern 1 ("acct"): not a valid RE2 expression: error parsing regexp: missing closing ]`},
		{"a Perl construct RE2 lacks", []Pattern{{Name: "look", Pattern: `\d(?=x)`}}, 0, "pattern", CodeInvalidPattern, `"look"`},
		{"empty", []Pattern{{Name: "e", Pattern: ""}}, 0, "pattern", CodeInvalidPattern, "empty"},
		{"too long", []Pattern{{Name: "long", Pattern: strings.Repeat("a", MaxPatternBytes+1)}}, 0, "pattern", CodeInvalidPattern, "200"},
		{"too complex", []Pattern{{Name: "big", Pattern: `[a-z]{1000}[0-9]{1000}\w{1000}`}}, 0, "pattern", CodeInvalidPattern, "complex"},
		{"a name with capitals", []Pattern{{Name: "Acct", Pattern: "a"}}, 0, "name", CodeInvalidName, "a-z"},
		{"no name", []Pattern{{Name: "", Pattern: "a"}}, 0, "name", CodeInvalidName, "1 to 40"},
		{"a long name", []Pattern{{Name: strings.Repeat("n", MaxNameLength+1), Pattern: "a"}}, 0, "name", CodeInvalidName, "1 to 40"},
		{"the card rule's name", []Pattern{{Name: CardRule, Pattern: "a"}}, 0, "name", CodeInvalidName, CardRule},
		{"a name twice", []Pattern{ok, {Name: "ok", Pattern: "b"}}, 1, "name", CodeDuplicateName, `"ok"`},
	} {
		_, err := New(true, c.patterns)
		var pe *PatternError
		if !errors.As(err, &pe) || pe.Index != c.index || pe.Field != c.field || pe.Code != c.code || !strings.Contains(pe.Message, c.mentions) {
			t.Errorf("%s: err = %#v", c.name, err)
		}
		if Check(c.patterns) == nil {
			t.Errorf("%s: Check accepts what New refuses", c.name)
		}
	}
}

func TestPatternsThatCanMatchNothingAreRefused(t *testing.T) {
	t.Parallel()
	for _, p := range []string{`a*`, `^`, `$`, `\b`, `(?m)^$`, `x?`, `(a|)`, `a{0,3}`, `(?:)`, `\B`, `(\b|x)+`, `^\s*`} {
		var pe *PatternError
		if err := Check([]Pattern{{Name: "p", Pattern: p}}); !errors.As(err, &pe) || pe.Code != CodeInvalidPattern || !strings.Contains(pe.Message, "empty") {
			t.Errorf("%s: err = %v", p, err)
		}
	}
	for _, p := range []string{`a+`, `\d{4}`, `a?b`, `(?i)secret\w*`, `\bx\b`, `[^\s]+@[^\s]+`, `(a|b){2,}`} {
		if err := Check([]Pattern{{Name: "p", Pattern: p}}); err != nil {
			t.Errorf("%s refused: %v", p, err)
		}
	}
}

const chat = `{
  "id": "4111111111111111",
  "type": "chat",
  "timestamp": "4111 1111 1111 1111",
  "visitor": {"id": "4111111111111111", "name": "Vera 4111111111111111", "email": "4111111111111111@example.com", "phone": "4111111111111111", "notes": "card 4111-1111-1111-1111"},
  "agent_ids": ["4111111111111111"], "zendesk_ticket_id": "4111111111111111", "department_id": 4111111111111111,
  "duration": 60.0,
  "history": [
    {"type": "chat.msg", "nick": "visitor:4111111111111111", "msg": "my card is 4111 1111 1111 1111 <ok>", "timestamp": "4111111111111111"},
    {"type": "4111111111111111", "nick": "agent:1", "msg": "\u0034111111111111111 noted", "extra": {"deep": ["5555 5555 5555 4444", 4111111111111111]}}
  ],
  "comment": "fine", "tags": ["4111111111111111"]
}`

func TestAChatIsRedactedButWhatIdentifiesItAndMatchingReads(t *testing.T) {
	t.Parallel()
	r := mustNew(t, true, Pattern{Name: "vera", Pattern: `Vera`})
	out, counts, err := r.RedactChat([]byte(chat))
	if err != nil {
		t.Fatal(err)
	}
	// Every redacted value changes where it stands; keys, numbers, spacing and the
	// exempt fields stay byte for byte.
	want := strings.NewReplacer(
		`"Vera 4111111111111111"`, `"•••• •••• 1111"`,
		`"card 4111-1111-1111-1111"`, `"card •••• 1111"`,
		`"my card is 4111 1111 1111 1111 <ok>"`, `"my card is •••• 1111 <ok>"`,
		`"\u0034111111111111111 noted"`, `"•••• 1111 noted"`,
		`["5555 5555 5555 4444", 4111111111111111]`, `["•••• 4444", 4111111111111111]`,
		`"tags": ["4111111111111111"]`, `"tags": ["•••• 1111"]`,
	).Replace(chat)
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	if counts[CardRule] != 6 || counts["vera"] != 1 || len(counts) != 2 {
		t.Fatalf("counts %v", counts)
	}
	again, c, err := r.RedactChat(out)
	if err != nil || !bytes.Equal(again, out) || c != nil {
		t.Fatalf("a second redaction changed %s (%v, %v)", again, c, err)
	}
}

func TestAChatWithNothingToMaskIsReturnedAsItCame(t *testing.T) {
	t.Parallel()
	raw := []byte(`{"id":"c-1", "visitor":{"email":"a@b.example"}, "history":[{"msg":"hi"}]}`)
	out, counts, err := mustNew(t, true).RedactChat(raw)
	if err != nil || &out[0] != &raw[0] || counts != nil {
		t.Fatalf("%s %v %v", out, counts, err)
	}
}

func TestOnlyOneJSONObjectIsAChat(t *testing.T) {
	t.Parallel()
	r := mustNew(t, true)
	for _, in := range []string{``, ` `, `[]`, `"4111111111111111"`, `null`, `1`, `{"a":1`, `{"a":1} {}`, `{"a":1}]`, `{"a":}`, `{"a" 1}`, `{1:2}`} {
		if _, _, err := r.RedactChat([]byte(in)); !errors.Is(err, ErrNotObject) {
			t.Errorf("%q: err = %v", in, err)
		}
	}
	if _, _, err := r.RedactChat([]byte(" {\"a\":[1,{\"b\":null}]}\n")); err != nil {
		t.Errorf("a chat with spaces around it: %v", err)
	}
}

// BenchmarkRedactAMebibyteChat redacts a 1 MiB chat with the card rule alone (the
// default) and with three admin patterns.
func BenchmarkRedactAMebibyteChat(b *testing.B) {
	line := `{"type":"chat.msg","nick":"visitor","msg":"my card 4111 1111 1111 1111 and phone +1 415 555 0100, acct 12345678, 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5","timestamp":"2026-11-20T14:02:11Z"},`
	var sb strings.Builder
	sb.WriteString(`{"id":"c","visitor":{"email":"a@b"},"history":[`)
	for sb.Len() < 1<<20 {
		sb.WriteString(line)
	}
	sb.WriteString(`{}]}`)
	raw := []byte(sb.String())
	for _, c := range []struct {
		name     string
		patterns []Pattern
	}{
		{"cards", nil},
		{"cards and 3 patterns", []Pattern{
			{Name: "iban", Pattern: `\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b`},
			{Name: "email", Pattern: `[^\s@]+@[^\s@]+`},
			{Name: "acct", Pattern: `(?i)acct[- ]?\d{6,10}`}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := mustNew(b, true, c.patterns...)
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, _, err := r.RedactChat(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
