package streams

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Lambda's event filtering, as an event source mapping's FilterCriteria applies it
// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html, and
// for DynamoDB https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html):
// each filter's Pattern is a JSON object shaped like the record; a record matches a
// filter when every field the pattern names is in the record and matches (or is
// missing where the pattern asks for its absence, see exists below), fields the
// pattern does not name being ignored, and it reaches the function when it matches
// any of the filters (at most five by default). A record that matches none is
// dropped before batching, and the stream's iterator moves past it all the same.
//
// Of the rule syntax (EventBridge's) only what can be matched faithfully here is
// supported: nested objects, and at a leaf an array of exact values (strings,
// numbers, booleans, null; numbers compare by their text, as Lambda's "300, 300.0
// and 3.0e2 are not equal"), {"prefix": "..."} and {"exists": true|false}. Any
// other operator (anything-but, numeric, suffix, ...) is refused when the pattern
// is parsed rather than matched loosely: a filter that passed what Lambda drops,
// or the reverse, would make the local stack lie about the deployed one.
//
// Exists, as EventBridge has it, is about leaves only: {"exists": true} matches a
// field whose value is a string, number, boolean or null (or an array holding
// one), and {"exists": false} matches where there is no leaf at the field's path:
// the field is missing, or an object on the way to it is, or its value is an
// object or an empty array. So with DynamoDB's typed JSON the test goes under the
// type key, {"queued": {"BOOL": [{"exists": false}]}}: {"queued": [{"exists":
// false}]} would match every record, queued or not, queued's value being an
// object.

// Filters is a set of parsed filter patterns; a record passes when it matches any of
// them. No filters at all pass every record, as an event source mapping without
// FilterCriteria does.
type Filters []*Filter

// Filter is one parsed FilterCriteria pattern.
type Filter struct {
	pattern string
	root    map[string]rule
}

// rule is what a pattern asks of one field: either fields of a nested object, or (at
// a leaf) values one of which the field's value must match.
type rule struct {
	fields map[string]rule
	values []value
}

// value is one entry of a leaf's array: an exact JSON value, a string prefix, or
// whether the field exists.
type value struct {
	exact  any // string, json.Number, bool or nil
	prefix *string
	exists *bool
}

// ParseFilters parses FilterCriteria patterns. An invalid pattern, or one that uses
// an operator this matcher does not support, is an error.
func ParseFilters(patterns []string) (Filters, error) {
	out := make(Filters, 0, len(patterns))
	for i, p := range patterns {
		f, err := ParseFilter(p)
		if err != nil {
			return nil, fmt.Errorf("filter %d: %w", i+1, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// ParseFilter parses one FilterCriteria pattern.
func ParseFilter(pattern string) (*Filter, error) {
	doc, err := decode([]byte(pattern))
	if err != nil {
		return nil, fmt.Errorf("pattern %s: %w", pattern, err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("pattern %s: not a JSON object", pattern)
	}
	root, err := parseFields(obj, "")
	if err != nil {
		return nil, fmt.Errorf("pattern %s: %w", pattern, err)
	}
	return &Filter{pattern: pattern, root: root}, nil
}

// String returns the pattern as written.
func (f *Filter) String() string { return f.pattern }

func parseFields(obj map[string]any, path string) (map[string]rule, error) {
	if len(obj) == 0 {
		return nil, fmt.Errorf("%s: an empty object matches nothing Lambda would name", orRoot(path))
	}
	fields := make(map[string]rule, len(obj))
	for k, v := range obj {
		r, err := parseRule(v, path+"."+k)
		if err != nil {
			return nil, err
		}
		fields[k] = r
	}
	return fields, nil
}

func parseRule(v any, path string) (rule, error) {
	switch v := v.(type) {
	case map[string]any:
		fields, err := parseFields(v, path)
		return rule{fields: fields}, err
	case []any:
		if len(v) == 0 {
			return rule{}, fmt.Errorf("%s: an empty array of values", path)
		}
		values := make([]value, 0, len(v))
		for _, e := range v {
			val, err := parseValue(e, path)
			if err != nil {
				return rule{}, err
			}
			values = append(values, val)
		}
		return rule{values: values}, nil
	default:
		return rule{}, fmt.Errorf("%s: a leaf must be an array of values, got %s", path, jsonOf(v))
	}
}

func parseValue(e any, path string) (value, error) {
	switch e := e.(type) {
	case string, json.Number, bool, nil:
		return value{exact: e}, nil
	case map[string]any:
		if p, ok := e["prefix"].(string); ok && len(e) == 1 {
			return value{prefix: &p}, nil
		}
		if x, ok := e["exists"]; ok && len(e) == 1 {
			b, ok := x.(bool)
			if !ok {
				return value{}, fmt.Errorf("%s: unsupported operator \"exists\" with %s (it takes true or false)", path, jsonOf(x))
			}
			return value{exists: &b}, nil
		}
		return value{}, fmt.Errorf("%s: unsupported operator %s (only exact values, prefix and exists are matched locally)", path, operatorNames(e))
	default:
		return value{}, fmt.Errorf("%s: unsupported value %s", path, jsonOf(e))
	}
}

// Match reports whether rec passes the filters: any of them matches, or there are
// none.
func (fs Filters) Match(rec events.DynamoDBEventRecord) (bool, error) {
	if len(fs) == 0 {
		return true, nil
	}
	doc, err := recordJSON(rec)
	if err != nil {
		return false, err
	}
	for _, f := range fs {
		if matchFields(f.root, doc) {
			return true, nil
		}
	}
	return false, nil
}

// Keep returns the records of recs that pass the filters, in order.
func (fs Filters) Keep(recs []events.DynamoDBEventRecord) ([]events.DynamoDBEventRecord, error) {
	if len(fs) == 0 {
		return recs, nil
	}
	kept := make([]events.DynamoDBEventRecord, 0, len(recs))
	for _, r := range recs {
		ok, err := fs.Match(r)
		if err != nil {
			return nil, err
		}
		if ok {
			kept = append(kept, r)
		}
	}
	return kept, nil
}

// Match reports whether rec matches this one filter.
func (f *Filter) Match(rec events.DynamoDBEventRecord) (bool, error) {
	doc, err := recordJSON(rec)
	if err != nil {
		return false, err
	}
	return matchFields(f.root, doc), nil
}

// recordJSON is the record as Lambda filters it: the event record's JSON (eventName,
// dynamodb.Keys/NewImage/OldImage in DynamoDB's typed form, userIdentity, ...),
// which is what aws-lambda-go's DynamoDBEventRecord marshals to.
func recordJSON(rec events.DynamoDBEventRecord) (map[string]any, error) {
	raw, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("filter record %s: %w", rec.Change.SequenceNumber, err)
	}
	doc, err := decode(raw)
	if err != nil {
		return nil, fmt.Errorf("filter record %s: %w", rec.Change.SequenceNumber, err)
	}
	return doc.(map[string]any), nil
}

// matchFields matches an object's fields. A field the object lacks matches only a
// rule that accepts absence.
func matchFields(fields map[string]rule, obj map[string]any) bool {
	for k, r := range fields {
		v, ok := obj[k]
		if !ok {
			if !r.acceptsAbsence() {
				return false
			}
			continue
		}
		if !matchRule(r, v) {
			return false
		}
	}
	return true
}

// acceptsAbsence reports whether the rule matches where the record has no leaf at
// its path: a leaf rule with {"exists": false} among its values, or a nested rule
// all of whose fields accept absence.
func (r rule) acceptsAbsence() bool {
	if r.fields != nil {
		for _, f := range r.fields {
			if !f.acceptsAbsence() {
				return false
			}
		}
		return true
	}
	for _, w := range r.values {
		if w.exists != nil && !*w.exists {
			return true
		}
	}
	return false
}

// matchRule matches one field's value. An array in the record matches when any of
// its elements does, as in EventBridge; an empty one holds no leaf, so it matches
// as a missing field would.
func matchRule(r rule, v any) bool {
	if arr, ok := v.([]any); ok {
		if len(arr) == 0 {
			return r.acceptsAbsence()
		}
		for _, e := range arr {
			if matchRule(r, e) {
				return true
			}
		}
		return false
	}
	if r.fields != nil {
		obj, ok := v.(map[string]any)
		if !ok {
			return r.acceptsAbsence() // a leaf has nothing below it
		}
		return matchFields(r.fields, obj)
	}
	if _, isObj := v.(map[string]any); isObj {
		// A leaf's values match leaves only; an object is no leaf, so only
		// {"exists": false} matches it.
		return r.acceptsAbsence()
	}
	for _, want := range r.values {
		if want.matches(v) {
			return true
		}
	}
	return false
}

// matches matches a leaf value: one that is there, so exists is its answer.
func (w value) matches(v any) bool {
	if w.exists != nil {
		return *w.exists
	}
	if w.prefix != nil {
		s, ok := v.(string)
		return ok && strings.HasPrefix(s, *w.prefix)
	}
	return w.exact == v // same JSON type and, for numbers, the same text
}

// decode reads JSON keeping numbers as their text (json.Number).
func decode(raw []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

func operatorNames(m map[string]any) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, fmt.Sprintf("%q", k))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func orRoot(path string) string {
	if path == "" {
		return "the pattern"
	}
	return path
}
