package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/sellchat/sellchat/shared/domain/chats"
)

// FuzzRedact redacts any text with the card rule (or not) and any pattern the rules
// accept. Whatever the text: no panic; redacting the result again changes and counts
// nothing; a text with nothing counted comes back as it was; the result is no longer
// than the masks make it (a card's mask is at most 4 bytes longer than the number,
// a pattern's at most len(Mask)-1 bytes longer than the one byte it may match); and,
// with the card rule on, no card number survives, as surviving() (a brute force
// written apart from the redactor) finds them.
// `make fuzz` runs it for FUZZTIME; `make test` runs the seeds (and testdata/fuzz).
func FuzzRedact(f *testing.F) {
	for _, s := range []struct {
		text, pattern string
		cards         bool
	}{
		{"my card is 4111 1111 1111 1111, thanks", "", true},
		{"Amex 3782 822463 10005 exp 12/25", "", true},
		{"4111-1111-1111-1111 4111111111111111", "", true},
		{"•••• 1111 2222 3333 4444 5", "", true},
		{"x1 4111 1111 1111 1111 2", "", true},
		{"INV4111111111111111 ref_4111111111111111", "[a-z]+", true},
		{"IBAN DE89370400440532013000", `\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b`, true},
		{"PIN 1234 card 4111 1111 1111 1111", `\d{4}`, true},
		{"abcdef g", "...", false},
		{"xxxxxxxxxxxxxxxxxxxxxxxx", "^x|•x", true},
		{"ab 12 cd", "[^a-z ]+", true},
		{"+1 (415) 555-0100", `\+?\d[\d -]{7,}`, true},
		{"\xff4111111111111111\xfe", ".", true},
	} {
		f.Add(s.text, s.pattern, s.cards)
	}
	f.Fuzz(func(t *testing.T, text, pattern string, cards bool) {
		var patterns []Pattern
		if pattern != "" && Check([]Pattern{{Name: "p", Pattern: pattern}}) == nil {
			patterns = []Pattern{{Name: "p", Pattern: pattern}}
		}
		r, err := New(cards, patterns)
		if err != nil {
			t.Fatal(err)
		}
		out, counts := r.Redact(text)
		if again, c := r.Redact(out); again != out || c != nil {
			t.Fatalf("not idempotent: %q -> %q (%v) -> %q (%v)", text, out, counts, again, c)
		}
		if counts == nil && out != text {
			t.Fatalf("%q changed to %q with nothing counted", text, out)
		}
		for rule, n := range counts {
			if n <= 0 || (rule != CardRule && rule != "p") || (rule == CardRule && !cards) {
				t.Fatalf("counts %v", counts)
			}
		}
		if max := len(text) + 4*counts[CardRule] + (len(Mask)-1)*counts["p"]; len(out) > max {
			t.Fatalf("%q (%d bytes) became %q (%d bytes), more than the %d its counts %v allow", text, len(text), out, len(out), max, counts)
		}
		if cards {
			if c := surviving(out); c != "" {
				t.Fatalf("card number %q survived in %q (from %q)", c, out, text)
			}
		}
	})
}

// surviving returns a card number in s that the card rule should have masked, or "".
// It tries every substring, so it is the rule as stated rather than as scanned: 13 to
// 19 ASCII digits in blocks joined by single spaces or dashes, passing Luhn, made
// of whole blocks of their run, not glued to a word at the run's ends, and not
// starting at the four digits a card mask keeps.
func surviving(s string) string {
	sep := func(b byte) bool { return b == ' ' || b == '-' }
	digit := func(i int) bool { return i >= 0 && i < len(s) && s[i] >= '0' && s[i] <= '9' }
	word := func(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }
	for i := 0; i < len(s); i++ {
		if !digit(i) || digit(i-1) {
			continue
		}
		runStart := !(i >= 2 && sep(s[i-1]) && digit(i-2))
		if runStart && i > 0 {
			r, n := utf8.DecodeLastRuneInString(s[:i])
			if word(r) {
				continue
			}
			firstBlock := 0
			for digit(i + firstBlock) {
				firstBlock++
			}
			if prev, _ := utf8.DecodeLastRuneInString(s[:i-n]); sep(byte(r)) && r < utf8.RuneSelf && prev == '•' && firstBlock == 4 {
				continue
			}
		}
		var digits []byte
		for j := i; j < len(s) && len(digits) <= maxCardDigits; j++ {
			switch {
			case digit(j):
				digits = append(digits, s[j])
			case sep(s[j]) && digit(j-1) && digit(j+1):
				continue
			default:
				j = len(s)
				continue
			}
			if digit(j+1) || len(digits) < minCardDigits {
				continue // not the end of a block, or too short
			}
			runEnd := !(j+2 < len(s) && sep(s[j+1]) && digit(j+2))
			if runEnd && j+1 < len(s) {
				if r, _ := utf8.DecodeRuneInString(s[j+1:]); word(r) {
					continue
				}
			}
			if len(digits) <= maxCardDigits && luhnDigits(digits) {
				return s[i : j+1]
			}
		}
	}
	return ""
}

func luhnDigits(d []byte) bool {
	sum := 0
	for k := range d {
		v := int(d[len(d)-1-k] - '0')
		if k%2 == 1 {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

func TestTheFuzzCheckerFindsCards(t *testing.T) {
	t.Parallel()
	// surviving must itself be able to fail FuzzRedact.
	for in, want := range map[string]string{
		"4111 1111 1111 1111":        "4111 1111 1111 1111",
		"a 4111-1111-1111-1111.":     "4111-1111-1111-1111",
		"12 4111111111111111":        "4111111111111111",
		"INV4111111111111111":        "",
		"•••• 1111 2222 3333 4444 5": "",
		"4111 1111 1111 1112":        "",
	} {
		if got := surviving(in); got != want {
			t.Errorf("surviving(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzRedactChat redacts any body as a chat. Whatever the body: no panic; it is
// refused (ErrNotObject) exactly when it is not one JSON object; otherwise the
// result is JSON of the same shape in which every string either stayed or became
// what Redact makes of it (and the counts add up), what chats.Parse reads to
// identify and match the chat is unchanged, and a second redaction returns the
// result byte for byte.
func FuzzRedactChat(f *testing.F) {
	for _, s := range []string{
		chat,
		`{"id":"c-1","visitor":{"email":"a@b.example","phone":"+1 415 555 0100","name":"4111 1111 1111 1111"},"history":[{"type":"chat.msg","msg":"4111111111111111"}]}`,
		`{"id":"c","visitor":{},"a":[[["4111111111111111"]]],"b":{"timestamp":{"x":"4111111111111111"}}}`,
		`{"a":"\u0034111111111111111","b":"\ud800","c":"secret sauce"}`,
		`{"a":"4111111111111111","a":"4111111111111111"}`,
		`{}`, `[]`, `"x"`, `{"a":1`, `{} {}`, ` {"a":[1,2.5e3,true,false,null]} `,
	} {
		f.Add([]byte(s))
	}
	r, err := New(true, []Pattern{{Name: "secret", Pattern: `(?i)secret\w*`}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, counts, err := r.RedactChat(raw)
		trimmed := bytes.TrimLeft(raw, " \t\r\n")
		isObject := json.Valid(raw) && len(trimmed) > 0 && trimmed[0] == '{'
		if (err == nil) != isObject || (err != nil && !errors.Is(err, ErrNotObject)) {
			t.Fatalf("object %v, err %v", isObject, err)
		}
		if err != nil {
			return
		}
		var before, after any
		if err := json.Unmarshal(raw, &before); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out, &after); err != nil {
			t.Fatalf("the result is not JSON: %v\n%s", err, out)
		}
		var sum Counts
		sameShape(t, before, after, r, &sum)
		// Decoding keeps the last of repeated keys only, so the strings seen may
		// account for less than counted, never more.
		for rule, n := range sum {
			if counts[rule] < n {
				t.Fatalf("counts %v, but the strings changed account for %v", counts, sum)
			}
		}
		if (counts == nil) != bytes.Equal(out, raw) {
			t.Fatalf("counts %v for\n%s\nbecoming\n%s", counts, raw, out)
		}
		if c1, err1 := chats.Parse(raw); err1 == nil {
			c2, err2 := chats.Parse(out)
			if err2 != nil || c1.ID != c2.ID || c1.Type != c2.Type || c1.Visitor.Email != c2.Visitor.Email ||
				c1.Visitor.Phone != c2.Visitor.Phone || c1.Visitor.ID != c2.Visitor.ID || !c1.Start.Equal(c2.Start) || !c1.End.Equal(c2.End) {
				t.Fatalf("what identifies the chat changed: %+v / %+v (%v)", c1, c2, err2)
			}
		}
		again, c, err := r.RedactChat(out)
		if err != nil || !bytes.Equal(again, out) || c != nil {
			t.Fatalf("a second redaction changed\n%s\ninto\n%s (%v, %v)", out, again, c, err)
		}
	})
}

// sameShape checks that b is a with some strings redacted, adding their counts to sum.
func sameShape(t *testing.T, a, b any, r *Redactor, sum *Counts) {
	t.Helper()
	switch av := a.(type) {
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok || len(av) != len(bv) {
			t.Fatalf("object %v became %v", a, b)
		}
		for k, v := range av {
			sameShape(t, v, bv[k], r, sum)
		}
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			t.Fatalf("array %v became %v", a, b)
		}
		for i := range av {
			sameShape(t, av[i], bv[i], r, sum)
		}
	case string:
		bv, ok := b.(string)
		if !ok {
			t.Fatalf("string %q became %v", av, b)
		}
		if bv != av {
			red, c := r.Redact(av)
			if bv != red {
				t.Fatalf("%q became %q, not what Redact makes of it (%q)", av, bv, red)
			}
			sum.merge(c)
		}
	default:
		if a != b {
			t.Fatalf("%v became %v", a, b)
		}
	}
}

// TestRedactOnTextsMadeOfDigitsAndSeparators checks FuzzRedact's properties on many
// texts drawn (with a fixed seed) from digits, separators, letters and the mask
// character, where byte-level fuzzing rarely builds a 13-digit run.
func TestRedactOnTextsMadeOfDigitsAndSeparators(t *testing.T) {
	t.Parallel()
	const alphabet = "0123456789012345678901234567890123456789  --a_.•"
	runes := []rune(alphabet)
	rng := rand.New(rand.NewPCG(1, 2))
	rules := []*Redactor{mustNew(t, true), mustNew(t, true, Pattern{Name: "p", Pattern: `a\d?`}), mustNew(t, true, Pattern{Name: "p", Pattern: `\d{4}`})}
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(60) {
			b.WriteRune(runes[rng.IntN(len(runes))])
		}
		in := b.String()
		for _, r := range rules {
			out, _ := r.Redact(in)
			if again, c := r.Redact(out); again != out || c != nil {
				t.Fatalf("not idempotent: %q -> %q -> %q", in, out, again)
			}
			if c := surviving(out); c != "" {
				t.Fatalf("card number %q survived in %q (from %q)", c, out, in)
			}
		}
	}
}
