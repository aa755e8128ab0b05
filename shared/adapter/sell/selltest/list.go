package selltest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/sellchat/sellchat/shared/adapter/sell/internal/wire"
)

type filterMode int

const (
	exact   filterMode = iota // string equality
	fold                      // case-insensitive equality
	idList                    // comma-separated list of values
	boolean                   // true / false
	substr                    // case-insensitive substring (notes' q)
)

// listSpec says how a collection can be filtered and sorted.
type listSpec struct {
	typ         string // meta.type of items
	filters     map[string]filterMode
	defaultSort string
}

// record is a resource as generic JSON, for filtering and sorting.
type record = map[string]any

func toRecord(v any) record {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m record
	if err := d.Decode(&m); err != nil {
		panic(err)
	}
	return m
}

// attr returns the value at key, reading "address[city]" as a nested key.
func attr(m record, key string) any {
	if outer, inner, ok := strings.Cut(key, "["); ok {
		sub, _ := m[outer].(map[string]any)
		return sub[strings.TrimSuffix(inner, "]")]
	}
	return m[key]
}

func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// serveList filters, sorts and paginates recs the way Sell's v2 lists do and
// writes the collection.
func serveList(w http.ResponseWriter, r *http.Request, spec listSpec, recs []record) {
	q := r.URL.Query()
	page, perPage := 1, wire.DefaultPerPage
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeInvalidParam(w, fmt.Sprintf("The request query parameter 'page' is malformed, missing, or has an invalid value (must be a positive integer, given: %s)", v))
			return
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > wire.MaxPerPage {
			writeInvalidParam(w, fmt.Sprintf("The request query parameter 'per_page' is malformed, missing, or has an invalid value (must be between 1 and %d, given: %s)", wire.MaxPerPage, v))
			return
		}
		perPage = n
	}
	for key, vals := range q {
		switch key {
		case "page", "per_page", "sort_by":
			continue
		}
		mode, ok := spec.filters[key]
		if !ok {
			writeInvalidParam(w, fmt.Sprintf("The request query parameter '%s' is not supported.", key))
			return
		}
		name := key
		switch key {
		case "ids":
			name = "id"
		case "q":
			name = "content"
		}
		recs = slices.DeleteFunc(recs, func(m record) bool { return !matches(attr(m, name), vals[0], mode) })
	}
	sortBy := q.Get("sort_by")
	if sortBy == "" {
		sortBy = spec.defaultSort
	}
	field, dir, _ := strings.Cut(sortBy, ":")
	if dir == "" {
		dir = "asc"
	}
	if (dir != "asc" && dir != "desc") || !sortable(recs, field) {
		writeInvalidParam(w, fmt.Sprintf("The request query parameter 'sort_by' has an invalid value (given: %s)", sortBy))
		return
	}
	slices.SortStableFunc(recs, func(a, b record) int {
		c := compare(attr(a, field), attr(b, field))
		if dir == "desc" {
			c = -c
		}
		if c == 0 {
			c = compare(a["id"], b["id"])
		}
		return c
	})

	start := min((page-1)*perPage, len(recs))
	end := min(start+perPage, len(recs))
	items := recs[start:end]
	coll := wire.Collection{Items: make([]wire.Envelope, len(items))}
	for i, m := range items {
		data, _ := json.Marshal(m)
		coll.Items[i] = wire.Envelope{Data: data, Meta: &wire.Meta{Type: spec.typ}}
	}
	count := len(items)
	links := &wire.Links{Self: pageURL(r, page), FirstPage: pageURL(r, 1)}
	if page > 1 {
		links.PrevPage = pageURL(r, page-1)
	}
	if end < len(recs) {
		links.NextPage = pageURL(r, page+1)
	}
	coll.Meta = wire.Meta{Type: "collection", Count: &count, Links: links}
	writeJSON(w, http.StatusOK, coll)
}

func pageURL(r *http.Request, page int) string {
	q := r.URL.Query()
	q.Set("page", strconv.Itoa(page))
	u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
	return u.String()
}

func matches(v any, want string, mode filterMode) bool {
	got := str(v)
	switch mode {
	case fold:
		return strings.EqualFold(strings.TrimSpace(got), strings.TrimSpace(want))
	case idList:
		return slices.Contains(strings.Split(want, ","), got)
	case boolean:
		b, _ := v.(bool)
		return strconv.FormatBool(b) == strings.ToLower(want)
	case substr:
		return strings.Contains(strings.ToLower(got), strings.ToLower(want))
	default:
		return got == want
	}
}

// sortable accepts attributes the resources define or that some record
// has (Sell validates against its schema, which we approximate).
func sortable(recs []record, field string) bool {
	if knownAttrs[field] {
		return true
	}
	return slices.ContainsFunc(recs, func(m record) bool { _, ok := m[field]; return ok })
}

// compare orders numbers numerically, everything else as case-insensitive
// text, with missing values first.
func compare(a, b any) int {
	na, aok := a.(json.Number)
	nb, bok := b.(json.Number)
	if aok && bok {
		fa, _ := na.Float64()
		fb, _ := nb.Float64()
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	return strings.Compare(strings.ToLower(str(a)), strings.ToLower(str(b)))
}
