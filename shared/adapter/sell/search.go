package sell

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
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
	em := NormalizeEmail(v.Email)
	var ph string
	if strings.TrimSpace(v.Phone) != "" {
		if v.ReadPhone == nil {
			return nil, ErrNoPhoneReader
		}
		ph, _ = v.ReadPhone(v.Phone)
	}
	if em == "" && ph == "" {
		return nil, nil
	}
	offKey, err := c.cacheKey("v3off/" + s.resource)
	if err != nil {
		return nil, err
	}
	var found []T
	if _, off := c.cache.lookup(offKey); !off {
		found, err = searchV3(ctx, c, s, em, ph)
		if ae, ok := errorsAsAPI(err); ok && (ae.Kind == KindForbidden || ae.Kind == KindNotFound) {
			c.cache.store(offKey, true)
		} else if err != nil {
			return nil, err
		} else {
			return keepMatches(s, found, em, ph, v.ReadPhone), nil
		}
	}
	found, err = searchV2(ctx, c, s, em, ph)
	if err != nil {
		return nil, err
	}
	return keepMatches(s, found, em, ph, v.ReadPhone), nil
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

func searchV3[T any](ctx context.Context, c *Client, s searchSpec[T], em, ph string) ([]T, error) {
	proj := make([]wire.SearchAttribute, len(s.attrs))
	for i, a := range s.attrs {
		proj[i] = wire.SearchAttribute{Name: a}
	}
	perPage := searchPerPage
	query := func(f *wire.SearchFilter) wire.SearchItem {
		return wire.SearchItem{Data: wire.SearchQueryRequest{
			Query: wire.SearchQuery{Projection: proj, Filter: f}, PerPage: &perPage}}
	}
	var req wire.SearchRequest
	if em != "" {
		req.Items = append(req.Items, query(leaf(wire.SearchAttrEmail, em)))
	}
	if ph != "" {
		req.Items = append(req.Items, query(&wire.SearchFilter{Or: []*wire.SearchFilter{
			leaf(wire.SearchAttrPhone, ph), leaf(wire.SearchAttrMobile, ph)}}))
	}
	// The search body is not wrapped in {"data":…} like v2 writes, so it is
	// sent raw; a search changes nothing, so it is retried like a read.
	var resp wire.SearchResponse
	if err := c.doSearch(ctx, "/v3/"+s.resource+"/search", req, &resp); err != nil {
		return nil, err
	}
	var out []T
	for _, r := range resp.Items {
		if !r.Successful {
			return nil, &APIError{Kind: KindServer, Code: "search_failed"}
		}
		for _, it := range r.Items {
			var v T
			if err := json.Unmarshal(it.Data, &v); err != nil {
				return nil, fmt.Errorf("decode search result: %w", err)
			}
			out = append(out, v)
		}
	}
	return out, nil
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
