package sell

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sellchat/sellchat/shared/adapter/sell/internal/wire"
)

// metaPages bounds metadata lists (users, sources, statuses, fields): 5,000
// entries is far beyond any Sell account and stops a runaway loop.
const metaPages = 50

func idPath(prefix string, id int64) string { return prefix + "/" + strconv.FormatInt(id, 10) }

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}

// Self returns the user owning the token (/v2/users/self). It is also the
// cheapest way to check that a token works.
func (c *Client) Self(ctx context.Context) (User, error) {
	return get[User](ctx, c, "/v2/users/self", "current user")
}

// Account returns the token's Sell account (/v2/accounts/self).
func (c *Client) Account(ctx context.Context) (Account, error) {
	return get[Account](ctx, c, "/v2/accounts/self", "account")
}

// Users returns every user of the account, pool phantoms included, from the
// metadata cache when fresh.
func (c *Client) Users(ctx context.Context) ([]User, error) {
	return cachedMeta[User](ctx, c, "users", "/v2/users", url.Values{"sort_by": {"id:asc"}}, "users")
}

// User returns one user.
func (c *Client) User(ctx context.Context, id int64) (User, error) {
	return getByID[User](ctx, c, "/v2/users", "user", id)
}

// Lead returns one lead. A lead the token may not see is ErrNotFound.
func (c *Client) Lead(ctx context.Context, id int64) (Lead, error) {
	return getByID[Lead](ctx, c, "/v2/leads", "lead", id)
}

// Leads returns the leads with the given ids (one call per 100 ids).
func (c *Client) Leads(ctx context.Context, ids ...int64) ([]Lead, error) {
	return byIDs[Lead](ctx, c, "leads", ids)
}

// CreateLead creates a lead. When l.OwnerID is a distribution pool's phantom
// user, Sell assigns the pool's next member; the returned lead shows the owner
// Sell chose. Creation is not retried after a server error or timeout (it may
// have happened), only after a 429, which Sell answers before doing anything.
func (c *Client) CreateLead(ctx context.Context, l NewLead) (Lead, error) {
	return create[Lead](ctx, c, "/v2/leads", l, "lead")
}

// Contact returns one contact (person or company).
func (c *Client) Contact(ctx context.Context, id int64) (Contact, error) {
	return getByID[Contact](ctx, c, "/v2/contacts", "contact", id)
}

// Contacts returns the contacts with the given ids, e.g. the companies of
// matched persons.
func (c *Client) Contacts(ctx context.Context, ids ...int64) ([]Contact, error) {
	return byIDs[Contact](ctx, c, "contacts", ids)
}

// get fetches the record at path; what names it in the error.
func get[T any](ctx context.Context, c *Client, path, what string) (T, error) {
	v, err := getOne[T](ctx, c, path, nil)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("sell: get %s: %w", what, err)
	}
	return v, nil
}

// getByID fetches record id of the collection at path; kind names it in the error.
func getByID[T any](ctx context.Context, c *Client, path, kind string, id int64) (T, error) {
	return get[T](ctx, c, idPath(path, id), kind+" "+strconv.FormatInt(id, 10))
}

// create posts in to the collection at path and returns the record Sell made;
// what names it in the error.
func create[T any](ctx context.Context, c *Client, path string, in any, what string) (T, error) {
	v, err := postOne[T](ctx, c, path, in)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("sell: create %s: %w", what, err)
	}
	return v, nil
}

// byIDs lists the records of a collection ("leads", "contacts") with the given
// ids: one call per 100 ids, run concurrently.
func byIDs[T any](ctx context.Context, c *Client, collection string, ids []int64) ([]T, error) {
	var g errgroup.Group
	out, err := gather(&g, slices.Collect(slices.Chunk(uniqueIDs(ids), wire.MaxPerPage)), func(chunk []int64) ([]T, error) {
		q := url.Values{"ids": {joinIDs(chunk)}, "per_page": {strconv.Itoa(wire.MaxPerPage)}}
		return listPage[T](ctx, c, "/v2/"+collection, q)
	})
	if err != nil {
		return nil, fmt.Errorf("sell: list %s: %w", collection, err)
	}
	return out, nil
}

// gather runs fetch for every part on g and concatenates the results in the
// parts' order, with g's first error.
func gather[P, T any](g *errgroup.Group, parts []P, fetch func(P) ([]T, error)) ([]T, error) {
	res := make([][]T, len(parts))
	for i, p := range parts {
		g.Go(func() (err error) {
			res[i], err = fetch(p)
			return err
		})
	}
	err := g.Wait()
	return slices.Concat(res...), err
}

func uniqueIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// DealsForContacts returns the deals whose primary contact is one of ids, in
// as few calls as Sell allows: one contact_id list per 100 contacts. Should
// Sell refuse a list (see wire.DealsContactIDList) it falls back to one call
// per contact, run concurrently.
func (c *Client) DealsForContacts(ctx context.Context, ids ...int64) ([]Deal, error) {
	ids = uniqueIDs(ids)
	if len(ids) == 0 {
		return nil, nil
	}
	deals, err := c.dealsByContactList(ctx, ids)
	if ae, ok := errorsAsAPI(err); ok && ae.Kind == KindBadRequest && len(ids) > 1 {
		deals, err = c.dealsOneByOne(ctx, ids)
	}
	if err != nil {
		return nil, fmt.Errorf("sell: list deals of contacts: %w", err)
	}
	return deals, nil
}

// dealPages bounds deals per contact list; a chat visitor with more than 500
// deals is shown the 500 most recently updated.
const dealPages = 5

// DealsListCap is the most deals DealsForContacts returns for up to 100
// contacts: a caller that asked for the deals of several visitors' contacts at
// once and got this many may be missing some a per-visitor call would return.
const DealsListCap = dealPages * wire.MaxPerPage

// dealsByContactList asks for the deals of up to 100 contacts per call; the calls
// run concurrently and all run to the end, whatever the others answer.
func (c *Client) dealsByContactList(ctx context.Context, ids []int64) ([]Deal, error) {
	var g errgroup.Group
	return gather(&g, slices.Collect(slices.Chunk(ids, wire.MaxPerPage)), func(chunk []int64) ([]Deal, error) {
		return c.dealsOf(ctx, joinIDs(chunk))
	})
}

// dealsOneByOne asks for the deals of each contact in its own call; the first
// failure cancels the rest.
func (c *Client) dealsOneByOne(ctx context.Context, ids []int64) ([]Deal, error) {
	g, gctx := errgroup.WithContext(ctx)
	return gather(g, ids, func(id int64) ([]Deal, error) {
		return c.dealsOf(gctx, strconv.FormatInt(id, 10))
	})
}

// dealsOf lists the deals of contactIDs (one id or a comma-separated list), the
// most recently updated first.
func (c *Client) dealsOf(ctx context.Context, contactIDs string) ([]Deal, error) {
	q := url.Values{"contact_id": {contactIDs}, "sort_by": {"updated_at:desc"}}
	return listAll[Deal](ctx, c, "/v2/deals", q, dealPages)
}

// LeadSources returns the account's lead sources (cached).
func (c *Client) LeadSources(ctx context.Context) ([]LeadSource, error) {
	return cachedMeta[LeadSource](ctx, c, "lead_sources", "/v2/lead_sources", nil, "lead sources")
}

// CreateLeadSource creates a lead source. A name already in use is an error
// matching ErrAlreadyExists; the cached list is dropped so the new source
// shows at once.
func (c *Client) CreateLeadSource(ctx context.Context, name string) (LeadSource, error) {
	s, err := create[LeadSource](ctx, c, "/v2/lead_sources", map[string]string{"name": name}, "lead source")
	if err != nil {
		return LeadSource{}, err
	}
	if key, kerr := c.cacheKey("lead_sources"); kerr == nil {
		c.cache.forget(key)
	}
	return s, nil
}

// LeadStatuses returns the account's lead statuses (cached); a lead's status
// must be one of their names.
func (c *Client) LeadStatuses(ctx context.Context) ([]LeadStatus, error) {
	return cachedMeta[LeadStatus](ctx, c, "lead_statuses", "/v2/lead_statuses", nil, "lead statuses")
}

// CustomFields returns the custom field definitions of a resource type
// (ResourceLead, ResourceContact or ResourceDeal), cached.
func (c *Client) CustomFields(ctx context.Context, resourceType string) ([]CustomField, error) {
	switch resourceType {
	case ResourceLead, ResourceContact, ResourceDeal:
	default:
		return nil, fmt.Errorf("sell: list custom fields: unknown resource type %q", resourceType)
	}
	return cachedMeta[CustomField](ctx, c, "custom_fields/"+resourceType, "/v2/"+resourceType+"/custom_fields", nil,
		resourceType+" custom fields")
}

// cachedMeta lists the metadata collection at path (name in the cache) from the
// cache when fresh; what names it in the error. Callers get a copy, so that none
// can change the cached list under the others.
func cachedMeta[T any](ctx context.Context, c *Client, name, path string, query url.Values, what string) ([]T, error) {
	key, err := c.cacheKey(name)
	var v []T
	if err == nil {
		v, err = cached(c.cache, key, func() ([]T, error) {
			return listAll[T](ctx, c, path, query, metaPages)
		})
	}
	if err != nil {
		return nil, fmt.Errorf("sell: list %s: %w", what, err)
	}
	return slices.Clone(v), nil
}

// Metadata is everything a settings page or panel needs to render Sell
// fields and dropdowns.
type Metadata struct {
	Users        []User
	LeadSources  []LeadSource
	LeadStatuses []LeadStatus
	CustomFields map[string][]CustomField // by resource type
}

// Metadata loads users, lead sources, lead statuses and the custom fields of
// leads, contacts and deals concurrently (from the cache when fresh).
func (c *Client) Metadata(ctx context.Context) (Metadata, error) {
	var m Metadata
	var lf, cf, df []CustomField
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { m.Users, err = c.Users(gctx); return })
	g.Go(func() (err error) { m.LeadSources, err = c.LeadSources(gctx); return })
	g.Go(func() (err error) { m.LeadStatuses, err = c.LeadStatuses(gctx); return })
	g.Go(func() (err error) { lf, err = c.CustomFields(gctx, ResourceLead); return })
	g.Go(func() (err error) { cf, err = c.CustomFields(gctx, ResourceContact); return })
	g.Go(func() (err error) { df, err = c.CustomFields(gctx, ResourceDeal); return })
	if err := g.Wait(); err != nil {
		return Metadata{}, err
	}
	m.CustomFields = map[string][]CustomField{ResourceLead: lf, ResourceContact: cf, ResourceDeal: df}
	return m, nil
}

// CreateNote adds a note to a lead, contact or deal and returns it; its ID
// is what DeleteNote needs later.
func (c *Client) CreateNote(ctx context.Context, n NewNote) (Note, error) {
	return create[Note](ctx, c, "/v2/notes", n, fmt.Sprintf("note on %s %d", n.ResourceType, n.ResourceID))
}

// UpdateNote replaces a note's content and returns the note
// (PUT /v2/notes/:id {"data":{"content":…}}: the notes service's update, in
// shared/reference/sell-api.md §6.9). A re-solved messaging conversation updates its
// note rather than add a second one.
func (c *Client) UpdateNote(ctx context.Context, id int64, content string) (Note, error) {
	var env struct {
		Data Note `json:"data"`
	}
	in := struct {
		Content string `json:"content"`
	}{content}
	if err := c.do(ctx, http.MethodPut, idPath("/v2/notes", id), nil, in, &env); err != nil {
		return Note{}, fmt.Errorf("sell: update note %d: %w", id, err)
	}
	return env.Data, nil
}

// DeleteNote deletes a note. Deleting a note that is already gone succeeds,
// so that replays of a "hide history" job converge.
func (c *Client) DeleteNote(ctx context.Context, id int64) error {
	err := c.do(ctx, http.MethodDelete, idPath("/v2/notes", id), nil, nil, nil)
	if ae, ok := errorsAsAPI(err); ok && ae.Kind == KindNotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sell: delete note %d: %w", id, err)
	}
	return nil
}

// notePages bounds notes per record (1,000).
const notePages = 10

// Notes lists the notes of one record, newest first.
func (c *Client) Notes(ctx context.Context, resourceType string, resourceID int64) ([]Note, error) {
	q := url.Values{
		"resource_type": {resourceType},
		"resource_id":   {strconv.FormatInt(resourceID, 10)},
		"sort_by":       {"created_at:desc"},
	}
	ns, err := listAll[Note](ctx, c, "/v2/notes", q, notePages)
	if err != nil {
		return nil, fmt.Errorf("sell: list notes of %s %d: %w", resourceType, resourceID, err)
	}
	return ns, nil
}

// maxNotePagesSince bounds NotesSince (100,000 notes): past it, an error rather than
// a partial list, since a caller searching for one note must not miss it.
const maxNotePagesSince = 1000

// NotesSince lists the notes of one record, newest first, reading pages until it
// reaches notes Sell dates before since (Notes stops at 1,000, which on a busy
// record may not reach back far enough).
func (c *Client) NotesSince(ctx context.Context, resourceType string, resourceID int64, since time.Time) ([]Note, error) {
	q := url.Values{
		"resource_type": {resourceType},
		"resource_id":   {strconv.FormatInt(resourceID, 10)},
		"sort_by":       {"created_at:desc"},
		"per_page":      {strconv.Itoa(wire.MaxPerPage)},
	}
	var all []Note
	for page := 1; page <= maxNotePagesSince; page++ {
		q.Set("page", strconv.Itoa(page))
		ns, err := listPage[Note](ctx, c, "/v2/notes", q)
		if err != nil {
			return nil, fmt.Errorf("sell: list notes of %s %d: %w", resourceType, resourceID, err)
		}
		all = append(all, ns...)
		if len(ns) < wire.MaxPerPage {
			return all, nil
		}
		if last := ns[len(ns)-1].CreatedAt; !last.IsZero() && last.Before(since) {
			return all, nil
		}
	}
	return nil, fmt.Errorf("sell: list notes of %s %d: more than %d notes since %s", resourceType, resourceID, maxNotePagesSince*wire.MaxPerPage, since.Format(time.RFC3339))
}
