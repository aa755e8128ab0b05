// Package redact masks what must never be kept from a chat, before anything stores
// it: payment card numbers and the admin's own patterns (account numbers, national
// ids…). It is pure Go: no I/O, no logging, and nothing it is given is kept.
//
// The card rule masks a run of 13 to 19 digits, written with or without single
// spaces or dashes between groups, that passes the Luhn check: "4111 1111 1111 1111"
// becomes "•••• 1111". A run glued to letters or other digits ("INV4111111111111111")
// is an identifier, not a typed card, and is left alone; so are the four digits a
// card mask keeps ("•••• 1111" is never masked again).
//
// An admin pattern is an RE2 expression (package regexp: matching is linear in the
// text, whatever the pattern); every match becomes Mask, counted under the pattern's
// name. Patterns are bounded (MaxPatterns, MaxPatternBytes, a compiled size) and one
// that can match an empty string is refused: it would insert masks everywhere.
//
// Redacting twice changes nothing. Rules can feed each other (a pattern masks the
// letters before a card number, a pattern matches the four digits a card mask kept),
// so Redact applies every rule again until nothing changes; a match made only of
// mask characters is never counted nor replaced. Each change removes unmasked
// characters, so this ends, and a value still changing after maxPasses (a pattern
// built to chew one character per pass) is masked whole rather than looped on.
//
// RedactChat applies the rules to every string value of a Chat API chat object
// except those that identify the chat or that matching depends on (exemptValue):
//
//	id, type, agent_ids, zendesk_ticket_id, department_id   at the top level
//	visitor.id, visitor.email, visitor.phone                 who the visitor is: matching reads them
//	history[].type                                           which events are messages
//	nick                                                     at any depth: who wrote an event
//	any key containing "timestamp"                           at any depth: when things happened
//
// Keys, numbers, key order, spacing and every unchanged string stay byte for byte as
// they arrived; only the string values that change are written anew.
package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mask replaces what a pattern matched; a card keeps its last four digits after it.
const Mask = "••••"

// CardRule names the card rule in Counts; no admin pattern may take the name.
const CardRule = "card_number"

// Bounds on the admin's patterns.
const (
	MaxPatterns     = 20
	MaxPatternBytes = 200
	MaxNameLength   = 40
	// maxProgram bounds a pattern's compiled size: RE2's time is linear in the text
	// but proportional to the program, and `\d{1000}` is 200 bytes short.
	maxProgram = 2000
)

// Card numbers are 13 to 19 digits long (ISO/IEC 7812).
const (
	minCardDigits = 13
	maxCardDigits = 19
)

// maxPasses bounds how many times Redact applies the rules to one value.
const maxPasses = 5

// Pattern is one of the admin's rules: every match of Pattern is masked and counted
// under Name.
type Pattern struct {
	Name    string `json:"name"`
	Pattern string `json:"pattern"`
}

// Counts says how many matches each rule masked, by rule name (CardRule or a
// pattern's name). It is nil when nothing was masked.
type Counts map[string]int

func (c *Counts) add(rule string, n int) {
	if n == 0 {
		return
	}
	if *c == nil {
		*c = Counts{}
	}
	(*c)[rule] += n
}

// merge adds o into c.
func (c *Counts) merge(o Counts) {
	for k, n := range o {
		c.add(k, n)
	}
}

// Error codes of a PatternError.
const (
	CodeTooMany        = "too_many"
	CodeInvalidName    = "invalid_name"
	CodeDuplicateName  = "duplicate_name"
	CodeInvalidPattern = "invalid_pattern"
)

// PatternError says which of the admin's patterns is refused and why.
type PatternError struct {
	Index   int    // the pattern's place in the list; -1 for the list as a whole
	Field   string // "name" or "pattern"; "" for the list as a whole
	Code    string // one of the Code constants
	Message string // says what is wrong, naming the pattern
}

func (e *PatternError) Error() string { return e.Message }

// Redactor masks text with a fixed set of rules. It is safe for concurrent use.
type Redactor struct {
	cards    bool
	patterns []rule
}

type rule struct {
	name string
	re   *regexp.Regexp
}

// New compiles the rules: the card rule when cards is true, and patterns in order.
// A refused pattern is a *PatternError.
func New(cards bool, patterns []Pattern) (*Redactor, error) {
	rules, err := compile(patterns)
	if err != nil {
		return nil, err
	}
	return &Redactor{cards: cards, patterns: rules}, nil
}

// Check reports the first refused pattern (a *PatternError), or nil.
func Check(patterns []Pattern) error {
	_, err := compile(patterns)
	return err
}

func compile(patterns []Pattern) ([]rule, error) {
	if len(patterns) > MaxPatterns {
		return nil, &PatternError{Index: -1, Code: CodeTooMany,
			Message: fmt.Sprintf("At most %d redaction patterns may be set.", MaxPatterns)}
	}
	rules := make([]rule, 0, len(patterns))
	seen := map[string]bool{}
	for i, p := range patterns {
		if err := checkName(i, p.Name); err != nil {
			return nil, err
		}
		if seen[p.Name] {
			return nil, &PatternError{Index: i, Field: "name", Code: CodeDuplicateName,
				Message: fmt.Sprintf("Pattern %d: the name %q is used by an earlier pattern.", i, p.Name)}
		}
		seen[p.Name] = true
		re, err := compileOne(p.Pattern)
		if err != nil {
			return nil, &PatternError{Index: i, Field: "pattern", Code: CodeInvalidPattern,
				Message: fmt.Sprintf("Pattern %d (%q): %s", i, p.Name, err.Error())}
		}
		rules = append(rules, rule{name: p.Name, re: re})
	}
	return rules, nil
}

func checkName(i int, name string) error {
	bad := func(why string) error {
		return &PatternError{Index: i, Field: "name", Code: CodeInvalidName, Message: fmt.Sprintf("Pattern %d: %s", i, why)}
	}
	if name == CardRule {
		return bad(fmt.Sprintf("the name %q is the card rule's.", CardRule))
	}
	if name == "" || len(name) > MaxNameLength {
		return bad(fmt.Sprintf("a name is 1 to %d characters.", MaxNameLength))
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' && r != '-' {
			return bad(fmt.Sprintf("the name %q may hold only a-z, 0-9, _ and -.", name))
		}
	}
	return nil
}

// compileOne checks one pattern against the bounds and compiles it.
func compileOne(p string) (*regexp.Regexp, error) {
	if p == "" {
		return nil, errors.New("the pattern is empty.")
	}
	if len(p) > MaxPatternBytes {
		return nil, fmt.Errorf("a pattern is at most %d bytes long.", MaxPatternBytes)
	}
	tree, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("not a valid RE2 expression: %w", err)
	}
	if nullable(tree) {
		return nil, errors.New("the pattern can match an empty string (as x*, ^ or \\b alone do), which would put masks everywhere.")
	}
	prog, err := syntax.Compile(tree.Simplify())
	if err != nil {
		return nil, fmt.Errorf("not a valid RE2 expression: %w", err)
	}
	if len(prog.Inst) > maxProgram {
		return nil, errors.New("the pattern is too complex (large repeat counts); simplify it.")
	}
	return regexp.Compile(p)
}

// nullable reports whether re may match an empty string somewhere. Assertions
// (^, $, \b…) are taken to hold, since some position in some text satisfies them.
func nullable(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpStar, syntax.OpQuest:
		return true
	case syntax.OpLiteral:
		return len(re.Rune) == 0
	case syntax.OpCapture, syntax.OpPlus:
		return nullable(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min == 0 || nullable(re.Sub[0])
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !nullable(s) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if nullable(s) {
				return true
			}
		}
		return false
	default: // characters and classes consume one; OpNoMatch matches nothing
		return false
	}
}

// Active reports whether any rule is set: an inactive Redactor changes nothing.
func (r *Redactor) Active() bool { return r != nil && (r.cards || len(r.patterns) > 0) }

// Redact masks s and counts what it masked. Redact(Redact(s)) is Redact(s), with
// nothing counted.
func (r *Redactor) Redact(s string) (string, Counts) {
	if !r.Active() {
		return s, nil
	}
	var counts Counts
	for passes := 0; ; passes++ {
		next, last := r.pass(s, &counts)
		if last == "" {
			return s, counts
		}
		if passes == maxPasses {
			// The rules keep finding something new: mask the whole value, which no
			// rule changes, rather than go on.
			counts.add(last, 1)
			return Mask, counts
		}
		s = next
	}
}

// pass applies every rule once: the patterns in order, then the card rule (last, so
// that a pattern masking what sits next to a number is seen). It returns the text
// and the last rule that changed it ("" when none did).
func (r *Redactor) pass(s string, counts *Counts) (string, string) {
	last := ""
	for _, p := range r.patterns {
		if out, n := p.apply(s); n > 0 {
			s, last = out, p.name
			counts.add(p.name, n)
		}
	}
	if r.cards {
		if out, n := maskCards(s); n > 0 {
			s, last = out, CardRule
			counts.add(CardRule, n)
		}
	}
	return s, last
}

func (p rule) apply(s string) (string, int) {
	if p.re.FindStringIndex(s) == nil {
		return s, 0
	}
	n := 0
	out := p.re.ReplaceAllStringFunc(s, func(m string) string {
		if onlyMask(m) {
			return m // already masked: replacing it would change nothing but the count
		}
		n++
		return Mask
	})
	return out, n
}

// onlyMask reports whether m holds nothing but mask characters (or nothing).
func onlyMask(m string) bool {
	for _, r := range m {
		if r != '•' {
			return false
		}
	}
	return true
}

// group is a block of ASCII digits, s[start:end].
type group struct{ start, end int }

// maskCards masks the card numbers of s and counts them.
func maskCards(s string) (string, int) {
	if !enoughDigits(s) {
		return s, 0
	}
	var out strings.Builder
	copied, n := 0, 0
	var groups []group
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		groups = readRun(s, i, groups[:0])
		for _, sp := range cardSpans(s, groups) {
			if out.Len() == 0 {
				out.Grow(len(s))
			}
			first, last := groups[sp[0]], groups[sp[1]]
			out.WriteString(s[copied:first.start])
			out.WriteString(Mask + " ")
			out.WriteString(lastFour(s, groups[sp[0]:sp[1]+1]))
			copied = last.end
			n++
		}
		i = groups[len(groups)-1].end
	}
	if n == 0 {
		return s, 0
	}
	out.WriteString(s[copied:])
	return out.String(), n
}

// enoughDigits reports whether s holds at least one card's worth of digits.
func enoughDigits(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			if n++; n == minCardDigits {
				return true
			}
		}
	}
	return false
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// readRun appends to groups the digit blocks of the run starting at s[i]: blocks
// joined by single spaces or dashes.
func readRun(s string, i int, groups []group) []group {
	for {
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		groups = append(groups, group{i, j})
		if j+1 < len(s) && (s[j] == ' ' || s[j] == '-') && isDigit(s[j+1]) {
			i = j + 1
			continue
		}
		return groups
	}
}

// cardSpans picks the card numbers of one run, as [first, last] group indexes: from
// the leftmost group that starts one, the longest Luhn-valid span of whole groups
// of 13 to 19 digits; then on after it.
func cardSpans(s string, groups []group) [][2]int {
	var spans [][2]int
	g := 0
	if !openBefore(s, groups[0]) {
		g = 1
	}
	lastOK := openAfter(s, groups[len(groups)-1].end)
	for g < len(groups) {
		best, digits := -1, 0
		for h := g; h < len(groups); h++ {
			digits += groups[h].end - groups[h].start
			if digits > maxCardDigits || (h == len(groups)-1 && !lastOK) {
				break
			}
			if digits >= minCardDigits && luhn(s, groups[g:h+1]) {
				best = h
			}
		}
		if best < 0 {
			g++
			continue
		}
		spans = append(spans, [2]int{g, best})
		g = best + 1
	}
	return spans
}

// openBefore reports whether a card may start at the run's first group g: not glued
// to a word, and not the four digits a card mask keeps ("•••• 1111").
func openBefore(s string, g group) bool {
	if g.start == 0 {
		return true
	}
	r, n := utf8.DecodeLastRuneInString(s[:g.start])
	if wordRune(r) {
		return false
	}
	if (r == ' ' || r == '-') && g.end-g.start == 4 {
		prev, _ := utf8.DecodeLastRuneInString(s[:g.start-n])
		return prev != '•'
	}
	return true
}

// openAfter reports whether a card may end at s[i]: not glued to a word.
func openAfter(s string, i int) bool {
	if i == len(s) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return !wordRune(r)
}

func wordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// luhn checks the digits of groups, read together, against the Luhn checksum.
func luhn(s string, groups []group) bool {
	sum, double := 0, false
	for k := len(groups) - 1; k >= 0; k-- {
		for i := groups[k].end - 1; i >= groups[k].start; i-- {
			d := int(s[i] - '0')
			if double {
				if d *= 2; d > 9 {
					d -= 9
				}
			}
			sum += d
			double = !double
		}
	}
	return sum%10 == 0
}

// lastFour returns the last four digits of groups, read together.
func lastFour(s string, groups []group) string {
	var b [4]byte
	n := 4
	for k := len(groups) - 1; k >= 0 && n > 0; k-- {
		for i := groups[k].end - 1; i >= groups[k].start && n > 0; i-- {
			n--
			b[n] = s[i]
		}
	}
	return string(b[n:])
}

// ErrNotObject: RedactChat was given something other than one JSON object.
var ErrNotObject = errors.New("redact: the chat is not one JSON object")

// RedactChat masks the string values of raw, a Chat API chat object, but those that
// identify the chat or that matching reads (see the package documentation). What
// it does not change stays byte for byte; raw itself is returned when nothing
// changes. It fails with ErrNotObject when raw is not one JSON object.
func (r *Redactor) RedactChat(raw []byte) ([]byte, Counts, error) {
	edits, counts, err := r.chatEdits(raw)
	if err != nil {
		return nil, nil, err
	}
	if len(edits) == 0 {
		return raw, nil, nil
	}
	out := make([]byte, 0, len(raw)+len(raw)/8)
	at := 0
	for _, e := range edits {
		out = append(out, raw[at:e.start]...)
		out = append(out, e.text...)
		at = e.end
	}
	return append(out, raw[at:]...), counts, nil
}

// edit replaces raw[start:end], a string literal, with text.
type edit struct {
	start, end int
	text       []byte
}

// frame is a JSON object or array being read.
type frame struct {
	object  bool
	name    string // the key it is the value of; "[]" for an array's element, "" for the chat
	key     string // an object's key being read
	wantKey bool   // an object's next string is a key
	exempt  bool   // nothing below is redacted
}

// chatEdits walks raw and lists the string values redaction changes. raw is checked
// first (json.Valid), so the walk need only follow the structure: a string after
// "{" or "," in an object is a key, anything else a value.
func (r *Redactor) chatEdits(raw []byte) ([]edit, Counts, error) {
	first := skipSpace(raw, 0)
	if !json.Valid(raw) || first == len(raw) || raw[first] != '{' {
		return nil, nil, ErrNotObject
	}
	var (
		stack  []frame
		edits  []edit
		counts Counts
	)
	for i := first; i < len(raw); i++ {
		switch raw[i] {
		case ' ', '\t', '\r', '\n', ',', ':':
		case '{', '[':
			child := frame{object: raw[i] == '{', wantKey: raw[i] == '{'}
			if len(stack) > 0 {
				child.name, child.exempt = childOf(stack)
			}
			stack = append(stack, child)
		case '}', ']':
			if stack = stack[:len(stack)-1]; len(stack) > 0 {
				valueRead(&stack[len(stack)-1])
			}
		case '"':
			end := stringEnd(raw, i)
			top := &stack[len(stack)-1]
			if top.object && top.wantKey {
				top.key, top.wantKey = unquote(raw[i:end]), false
			} else {
				if _, exempt := childOf(stack); !exempt {
					if red, c := r.Redact(unquote(raw[i:end])); c != nil {
						edits = append(edits, edit{start: i, end: end, text: quote(red)})
						counts.merge(c)
					}
				}
				valueRead(top)
			}
			i = end - 1
		default: // a number, true, false or null
			for i+1 < len(raw) && !endsScalar(raw[i+1]) {
				i++
			}
			valueRead(&stack[len(stack)-1])
		}
	}
	return edits, counts, nil
}

// endsScalar reports whether b, after a number, true, false or null, ends it.
func endsScalar(b byte) bool {
	switch b {
	case ',', '}', ']', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// stringEnd returns the index just after the string literal starting at raw[i].
func stringEnd(raw []byte, i int) int {
	for j := i + 1; j < len(raw); j++ {
		switch raw[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(raw) // not reached: raw is valid JSON
}

// unquote decodes a valid JSON string literal.
func unquote(lit []byte) string {
	if bytes.IndexByte(lit, '\\') < 0 {
		return string(lit[1 : len(lit)-1])
	}
	var s string
	_ = json.Unmarshal(lit, &s) // valid JSON: it decodes
	return s
}

// valueRead notes that a value of f was read.
func valueRead(f *frame) {
	if f.object {
		f.wantKey = true
	}
}

// childOf names the value about to be read in the innermost frame of stack and says
// whether it is exempt from redaction.
func childOf(stack []frame) (string, bool) {
	top := stack[len(stack)-1]
	if !top.object {
		return "[]", top.exempt
	}
	return top.key, top.exempt || exemptValue(stack, top.key)
}

// topLevelExempt are the chat's own fields that identify it.
var topLevelExempt = map[string]bool{"id": true, "type": true, "agent_ids": true, "zendesk_ticket_id": true, "department_id": true}

// visitorExempt are the visitor's fields matching reads.
var visitorExempt = map[string]bool{"id": true, "email": true, "phone": true}

// exemptValue reports whether the value of key in the innermost object of stack is
// left as it is (the list is in the package documentation).
func exemptValue(stack []frame, key string) bool {
	if key == "nick" || strings.Contains(strings.ToLower(key), "timestamp") {
		return true
	}
	switch len(stack) {
	case 1:
		return topLevelExempt[key]
	case 2:
		return stack[1].name == "visitor" && visitorExempt[key]
	case 3:
		return stack[1].name == "history" && !stack[1].object && key == "type"
	}
	return false
}

// quote writes s as a JSON string. HTML characters stay as they are: the raw chat
// is data, and whatever shows it escapes it for its own page.
func quote(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
