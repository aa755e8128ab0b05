package sell

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/sellchat/sellchat/shared/adapter/sell/internal/wire"
)

// Visitor lookup.
//
// The panel wants leads and contacts matching a chat visitor's email or phone
// in about one round trip. v2 cannot do that: neither /v2/leads nor
// /v2/contacts filters by phone, so phone matching on v2 means scanning pages.
// The v3 Search API can: one POST per resource carries several queries
// ({"items":[email query, phone query]}), so Find costs two calls made in
// parallel. Plans without the Search API get a v2 fallback (email filter plus
// a bounded scan of recently updated records for the phone), and the client
// remembers for a cache TTL that v3 is unavailable so it does not pay a failed
// call per lookup. Both paths compare the results locally (E.164 for phones,
// case-insensitive for emails), so a looser search never yields a wrong match.
// FindMany does the same for a batch of visitors, packing all their queries
// into one search per resource (chunked at wire.MaxSearchItems).

// A Visitor is who to look for: an email, a phone number, or both.
type Visitor struct {
	Email string
	Phone string
	// ReadPhone reads a phone number as E.164 (ok false when raw is not a
	// number); it is required when Phone is set. The caller brings it
	// (shared/adapter/phone.E164) because sell itself reads no phone numbers: the phone
	// library's metadata and protobuf runtime add 7 MB to a binary, and only
	// the functions that match visitors need them.
	ReadPhone func(raw string) (e164 string, ok bool)
}

// ErrNoPhoneReader is returned by a search for a phone without a ReadPhone.
var ErrNoPhoneReader = errors.New("sell: a phone search needs Visitor.ReadPhone")

// NormalizeEmail is how emails are compared: trimmed, case-insensitive.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// SameEmail reports whether a and b are the same, non-empty email.
func SameEmail(a, b string) bool {
	na := NormalizeEmail(a)
	return na != "" && na == NormalizeEmail(b)
}

// Matches are the Sell records matching a visitor.
type Matches struct {
	Leads    []Lead
	Contacts []Contact
}

// Find returns the leads and contacts whose email equals v.Email or whose phone
// or mobile equals v.Phone (E.164 comparison); either may be empty. The two
// searches run concurrently: two Sell calls and one round trip with the
// Search API.
func (c *Client) Find(ctx context.Context, v Visitor) (Matches, error) {
	var m Matches
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { m.Leads, err = c.FindLeads(gctx, v); return })
	g.Go(func() (err error) { m.Contacts, err = c.FindContacts(gctx, v); return })
	if err := g.Wait(); err != nil {
		return Matches{}, err
	}
	return m, nil
}

// FindMany is Find for many visitors at once, Matches[i] being visitors[i]'s:
// one v3 search per resource carries the queries of every visitor (as many
// requests as wire.MaxSearchItems queries need), so a stream batch of chats costs
// two Sell calls instead of two per chat. Visitors that search for the same
// email and phone share their queries. Without the Search API each visitor is
// looked up on v2 as Find does. A visitor with a phone and no ReadPhone fails
// the whole call with ErrNoPhoneReader.
func (c *Client) FindMany(ctx context.Context, visitors []Visitor) ([]Matches, error) {
	keys, vs, which := make([]visitorKey, 0, len(visitors)), make([]Visitor, 0, len(visitors)), make([]int, len(visitors))
	seen := make(map[visitorKey]int, len(visitors))
	for i, v := range visitors {
		k, err := keyOf(v)
		if err != nil {
			return nil, fmt.Errorf("sell: find visitor %d: %w", i, err)
		}
		j, ok := seen[k]
		if !ok {
			j = len(keys)
			seen[k] = j
			keys, vs = append(keys, k), append(vs, v)
		}
		which[i] = j
	}
	var leads [][]Lead
	var contacts [][]Contact
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { leads, err = findMany(gctx, c, leadSearch, keys, vs); return })
	g.Go(func() (err error) { contacts, err = findMany(gctx, c, contactSearch, keys, vs); return })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]Matches, len(visitors))
	for i, j := range which {
		// Visitors sharing a key get their own slices, so a caller editing one
		// does not edit another's.
		out[i] = Matches{Leads: slices.Clone(leads[j]), Contacts: slices.Clone(contacts[j])}
	}
	return out, nil
}

func findMany[T any](ctx context.Context, c *Client, s searchSpec[T], keys []visitorKey, vs []Visitor) ([][]T, error) {
	out, err := matchMany(ctx, c, s, keys, vs)
	if err != nil {
		return nil, fmt.Errorf("sell: find %s: %w", s.resource, err)
	}
	return out, nil
}

// FindLeads returns the leads matching email or phone (see Find).
func (c *Client) FindLeads(ctx context.Context, v Visitor) ([]Lead, error) {
	return find(ctx, c, leadSearch, v)
}

// FindContacts returns the persons and companies matching email or phone
// (see Find).
func (c *Client) FindContacts(ctx context.Context, v Visitor) ([]Contact, error) {
	return find(ctx, c, contactSearch, v)
}

// leadSearch and contactSearch say where Find looks and what it compares.
var (
	leadSearch = searchSpec[Lead]{
		resource: "leads", attrs: leadAttrs,
		id:      func(l Lead) int64 { return l.ID },
		contact: func(l Lead) (string, string, string) { return l.Email, l.Phone, l.Mobile },
	}
	contactSearch = searchSpec[Contact]{
		resource: "contacts", attrs: contactAttrs,
		id:      func(ct Contact) int64 { return ct.ID },
		contact: func(ct Contact) (string, string, string) { return ct.Email, ct.Phone, ct.Mobile },
	}
)

// Projections ask v3 for everything the panel can display, so no second call
// is needed to fetch the records. Names follow wire's assumption.
var (
	leadAttrs = []string{"id", "creator_id", "owner_id", "first_name", "last_name", "organization_name",
		"status", "source_id", "title", "description", "industry", "website", "email", "phone", "mobile",
		"fax", "twitter", "facebook", "linkedin", "skype", "address", "tags", "custom_fields",
		"created_at", "updated_at"}
	contactAttrs = []string{"id", "creator_id", "owner_id", "is_organization", "name", "first_name",
		"last_name", "contact_id", "customer_status", "prospect_status", "title", "description",
		"industry", "website", "email", "phone", "mobile", "fax", "twitter", "facebook", "linkedin",
		"skype", "address", "tags", "custom_fields", "created_at", "updated_at"}
)

type searchSpec[T any] struct {
	resource string // path segment: leads or contacts
	attrs    []string
	id       func(T) int64
	contact  func(T) (email, phone, mobile string)
}

// searchPerPage caps matches per query; a visitor matching more records than
// this is not someone a chat agent can act on anyway.
const searchPerPage = 100

// find returns the records of s.resource matching v, with the resource named in
// its error.
func find[T any](ctx context.Context, c *Client, s searchSpec[T], v Visitor) ([]T, error) {
	out, err := match(ctx, c, s, v)
	if err != nil {
		return nil, fmt.Errorf("sell: find %s: %w", s.resource, err)
	}
	return out, nil
}

func match[T any](ctx context.Context, c *Client, s searchSpec[T], v Visitor) ([]T, error) {
	k, err := keyOf(v)
	if err != nil {
		return nil, err
	}
	out, err := matchMany(ctx, c, s, []visitorKey{k}, []Visitor{v})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// A visitorKey is what a search compares: the normalised email and the E.164
// phone ("" when absent or not a number).
type visitorKey struct{ em, ph string }

func (k visitorKey) empty() bool { return k.em == "" && k.ph == "" }

func keyOf(v Visitor) (visitorKey, error) {
	k := visitorKey{em: NormalizeEmail(v.Email)}
	if strings.TrimSpace(v.Phone) != "" {
		if v.ReadPhone == nil {
			return visitorKey{}, ErrNoPhoneReader
		}
		k.ph, _ = v.ReadPhone(v.Phone)
	}
	return k, nil
}

// matchMany returns the records matching each key (vs[i] brings key i's
// ReadPhone): one v3 search per MaxSearchItems queries, or the v2 fallback per
// key when the plan has no Search API.
func matchMany[T any](ctx context.Context, c *Client, s searchSpec[T], keys []visitorKey, vs []Visitor) ([][]T, error) {
	if !slices.ContainsFunc(keys, func(k visitorKey) bool { return !k.empty() }) {
		return make([][]T, len(keys)), nil
	}
	offKey, err := c.cacheKey("v3off/" + s.resource)
	if err != nil {
		return nil, err
	}
	var found [][]T
	if _, off := c.cache.lookup(offKey); !off {
		found, err = searchV3(ctx, c, s, keys)
		if ae, ok := errorsAsAPI(err); ok && (ae.Kind == KindForbidden || ae.Kind == KindNotFound) {
			c.cache.store(offKey, true)
			found = nil
		} else if err != nil {
			return nil, err
		}
	}
	if found == nil {
		if found, err = searchV2Each(ctx, c, s, keys); err != nil {
			return nil, err
		}
	}
	out := make([][]T, len(keys))
	for i, k := range keys {
		out[i] = keepMatches(s, found[i], k.em, k.ph, vs[i].ReadPhone)
	}
	return out, nil
}

// v2Workers bounds the visitors FindMany looks up at once on v2 (each lookup
// makes up to two listings of its own).
const v2Workers = 4

func searchV2Each[T any](ctx context.Context, c *Client, s searchSpec[T], keys []visitorKey) ([][]T, error) {
	out := make([][]T, len(keys))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(v2Workers)
	for i, k := range keys {
		if k.empty() {
			continue
		}
		g.Go(func() (err error) {
			out[i], err = searchV2(gctx, c, s, k.em, k.ph)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// keepMatches drops duplicates and records that do not really match.
func keepMatches[T any](s searchSpec[T], in []T, em, ph string, readPhone func(string) (string, bool)) []T {
	samePhone := func(raw string) bool {
		if ph == "" || strings.TrimSpace(raw) == "" {
			return false
		}
		got, ok := readPhone(raw)
		return ok && got == ph
	}
	seen := make(map[int64]bool, len(in))
	var out []T
	for _, r := range in {
		id := s.id(r)
		if seen[id] {
			continue
		}
		e, p, m := s.contact(r)
		hit := (em != "" && SameEmail(e, em)) || samePhone(p) || samePhone(m)
		if hit {
			seen[id] = true
			out = append(out, r)
		}
	}
	return out
}

func leaf(attr string, v any) *wire.SearchFilter {
	return &wire.SearchFilter{Filter: &wire.SearchLeaf{
		Attribute: wire.SearchAttribute{Name: attr}, Parameter: wire.SearchParameter{Eq: v}}}
}

// searchV3 searches for every key, batching their queries (an email query and
// a phone query per key, as many as each has) MaxSearchItems to a request, the
// requests running concurrently. Results come back per query, in order, and
// are gathered per key.
func searchV3[T any](ctx context.Context, c *Client, s searchSpec[T], keys []visitorKey) ([][]T, error) {
	items, owners := searchItems(s, keys)
	res := make([][]json.RawMessage, len(items))
	g, gctx := errgroup.WithContext(ctx)
	for from := 0; from < len(items); from += wire.MaxSearchItems {
		to := min(from+wire.MaxSearchItems, len(items))
		g.Go(func() error { return searchChunk(gctx, c, s.resource, items[from:to], res[from:to]) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([][]T, len(keys))
	for i, hits := range res {
		for _, h := range hits {
			var v T
			if err := json.Unmarshal(h, &v); err != nil {
				return nil, fmt.Errorf("decode search result: %w", err)
			}
			out[owners[i]] = append(out[owners[i]], v)
		}
	}
	return out, nil
}

// searchItems are the queries for keys, and for each query the index of its key.
func searchItems[T any](s searchSpec[T], keys []visitorKey) ([]wire.SearchItem, []int) {
	proj := make([]wire.SearchAttribute, len(s.attrs))
	for i, a := range s.attrs {
		proj[i] = wire.SearchAttribute{Name: a}
	}
	query := func(f *wire.SearchFilter) wire.SearchItem {
		perPage := searchPerPage
		return wire.SearchItem{Data: wire.SearchQueryRequest{
			Query: wire.SearchQuery{Projection: proj, Filter: f}, PerPage: &perPage}}
	}
	var items []wire.SearchItem
	var owners []int
	for i, k := range keys {
		if k.em != "" {
			items, owners = append(items, query(leaf(wire.SearchAttrEmail, k.em))), append(owners, i)
		}
		if k.ph != "" {
			items = append(items, query(&wire.SearchFilter{Or: []*wire.SearchFilter{
				leaf(wire.SearchAttrPhone, k.ph), leaf(wire.SearchAttrMobile, k.ph)}}))
			owners = append(owners, i)
		}
	}
	return items, owners
}

// searchChunk sends one search request and writes each query's hits to res.
func searchChunk(ctx context.Context, c *Client, resource string, items []wire.SearchItem, res [][]json.RawMessage) error {
	// The search body is not wrapped in {"data":…} like v2 writes, so it is
	// sent raw; a search changes nothing, so it is retried like a read.
	var resp wire.SearchResponse
	if err := c.doSearch(ctx, "/v3/"+resource+"/search", wire.SearchRequest{Items: items}, &resp); err != nil {
		return err
	}
	if len(resp.Items) != len(items) {
		return &APIError{Kind: KindServer, Code: "search_failed",
			Message: fmt.Sprintf("%d results for %d queries", len(resp.Items), len(items))}
	}
	for i, r := range resp.Items {
		if !r.Successful {
			return &APIError{Kind: KindServer, Code: "search_failed"}
		}
		for _, it := range r.Items {
			res[i] = append(res[i], it.Data)
		}
	}
	return nil
}

func searchV2[T any](ctx context.Context, c *Client, s searchSpec[T], em, ph string) ([]T, error) {
	path := "/v2/" + s.resource
	var byEmail, byPhone []T
	g, gctx := errgroup.WithContext(ctx)
	if em != "" {
		g.Go(func() (err error) {
			byEmail, err = listAll[T](gctx, c, path, url.Values{"email": {em}}, 2)
			return err
		})
	}
	if ph != "" {
		// No phone filter exists on v2, so scan the most recently updated
		// records; a visitor who chats is usually a recent record.
		g.Go(func() (err error) {
			byPhone, err = listAll[T](gctx, c, path, url.Values{"sort_by": {"updated_at:desc"}}, wire.PhoneScanPages)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return append(byEmail, byPhone...), nil
}

// doSearch posts a v3 search body as is (no data envelope).
func (c *Client) doSearch(ctx context.Context, path string, req wire.SearchRequest, out *wire.SearchResponse) error {
	return c.do(ctx, methodSearch, path, nil, rawBody{req}, out)
}

// methodSearch marks a POST that reads: do sends it as POST but treats it as
// idempotent for retries.
const methodSearch = "SEARCH"

// rawBody tells do to send v without the {"data":…} envelope.
type rawBody struct{ v any }
