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
	u, err := getOne[User](ctx, c, "/v2/users/self", nil)
	if err != nil {
		return User{}, fmt.Errorf("sell: get current user: %w", err)
	}
	return u, nil
}

// Account returns the token's Sell account (/v2/accounts/self).
func (c *Client) Account(ctx context.Context) (Account, error) {
	a, err := getOne[Account](ctx, c, "/v2/accounts/self", nil)
	if err != nil {
		return Account{}, fmt.Errorf("sell: get account: %w", err)
	}
	return a, nil
}

// Users returns every user of the account, pool phantoms included, from the
// metadata cache when fresh.
func (c *Client) Users(ctx context.Context) ([]User, error) {
	us, err := c.cachedList(ctx, "users", func() (any, error) {
		return listAll[User](ctx, c, "/v2/users", url.Values{"sort_by": {"id:asc"}}, metaPages)
	})
	if err != nil {
		return nil, fmt.Errorf("sell: list users: %w", err)
	}
	return slices.Clone(us.([]User)), nil
}

// User returns one user.
func (c *Client) User(ctx context.Context, id int64) (User, error) {
	u, err := getOne[User](ctx, c, idPath("/v2/users", id), nil)
	if err != nil {
		return User{}, fmt.Errorf("sell: get user %d: %w", id, err)
	}
	return u, nil
}

// Lead returns one lead. A lead the token may not see is ErrNotFound.
func (c *Client) Lead(ctx context.Context, id int64) (Lead, error) {
	l, err := getOne[Lead](ctx, c, idPath("/v2/leads", id), nil)
	if err != nil {
		return Lead{}, fmt.Errorf("sell: get lead %d: %w", id, err)
	}
	return l, nil
}

// Leads returns the leads with the given ids (one call per 100 ids).
func (c *Client) Leads(ctx context.Context, ids ...int64) ([]Lead, error) {
	out, err := byIDs[Lead](ctx, c, "/v2/leads", ids)
	if err != nil {
		return nil, fmt.Errorf("sell: list leads: %w", err)
	}
	return out, nil
}

// CreateLead creates a lead. When l.OwnerID is a distribution pool's phantom
// user, Sell assigns the pool's next member; the returned lead shows the owner
// Sell chose. Creation is not retried after a server error or timeout (it may
// have happened), only after a 429, which Sell answers before doing anything.
func (c *Client) CreateLead(ctx context.Context, l NewLead) (Lead, error) {
	out, err := postOne[Lead](ctx, c, "/v2/leads", l)
	if err != nil {
		return Lead{}, fmt.Errorf("sell: create lead: %w", err)
	}
	return out, nil
}

// Contact returns one contact (person or company).
func (c *Client) Contact(ctx context.Context, id int64) (Contact, error) {
	ct, err := getOne[Contact](ctx, c, idPath("/v2/contacts", id), nil)
	if err != nil {
		return Contact{}, fmt.Errorf("sell: get contact %d: %w", id, err)
	}
	return ct, nil
}

// Contacts returns the contacts with the given ids, e.g. the companies of
// matched persons.
func (c *Client) Contacts(ctx context.Context, ids ...int64) ([]Contact, error) {
	out, err := byIDs[Contact](ctx, c, "/v2/contacts", ids)
	if err != nil {
		return nil, fmt.Errorf("sell: list contacts: %w", err)
	}
	return out, nil
}

func byIDs[T any](ctx context.Context, c *Client, path string, ids []int64) ([]T, error) {
	ids = uniqueIDs(ids)
	var g errgroup.Group
	chunks := slices.Collect(slices.Chunk(ids, wire.MaxPerPage))
	res := make([][]T, len(chunks))
	for i, chunk := range chunks {
		g.Go(func() error {
			q := url.Values{"ids": {joinIDs(chunk)}, "per_page": {strconv.Itoa(wire.MaxPerPage)}}
			items, err := listPage[T](ctx, c, path, q)
			res[i] = items
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return slices.Concat(res...), nil
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

func (c *Client) dealsByContactList(ctx context.Context, ids []int64) ([]Deal, error) {
	var g errgroup.Group
	chunks := slices.Collect(slices.Chunk(ids, wire.MaxPerPage))
	res := make([][]Deal, len(chunks))
	for i, chunk := range chunks {
		g.Go(func() error {
			q := url.Values{"contact_id": {joinIDs(chunk)}, "sort_by": {"updated_at:desc"}}
			d, err := listAll[Deal](ctx, c, "/v2/deals", q, dealPages)
			res[i] = d
			return err
		})
	}
	err := g.Wait()
	return slices.Concat(res...), err
}

func (c *Client) dealsOneByOne(ctx context.Context, ids []int64) ([]Deal, error) {
	g, gctx := errgroup.WithContext(ctx)
	res := make([][]Deal, len(ids))
	for i, id := range ids {
		g.Go(func() error {
			q := url.Values{"contact_id": {strconv.FormatInt(id, 10)}, "sort_by": {"updated_at:desc"}}
			d, err := listAll[Deal](gctx, c, "/v2/deals", q, dealPages)
			res[i] = d
			return err
		})
	}
	err := g.Wait()
	return slices.Concat(res...), err
}

// LeadSources returns the account's lead sources (cached).
func (c *Client) LeadSources(ctx context.Context) ([]LeadSource, error) {
	v, err := c.cachedList(ctx, "lead_sources", func() (any, error) {
		return listAll[LeadSource](ctx, c, "/v2/lead_sources", nil, metaPages)
	})
	if err != nil {
		return nil, fmt.Errorf("sell: list lead sources: %w", err)
	}
	return slices.Clone(v.([]LeadSource)), nil
}

// CreateLeadSource creates a lead source. A name already in use is an error
// matching ErrAlreadyExists; the cached list is dropped so the new source
// shows at once.
func (c *Client) CreateLeadSource(ctx context.Context, name string) (LeadSource, error) {
	s, err := postOne[LeadSource](ctx, c, "/v2/lead_sources", map[string]string{"name": name})
	if err != nil {
		return LeadSource{}, fmt.Errorf("sell: create lead source: %w", err)
	}
	if key, kerr := c.cacheKey("lead_sources"); kerr == nil {
		c.cache.forget(key)
	}
	return s, nil
}

// LeadStatuses returns the account's lead statuses (cached); a lead's status
// must be one of their names.
func (c *Client) LeadStatuses(ctx context.Context) ([]LeadStatus, error) {
	v, err := c.cachedList(ctx, "lead_statuses", func() (any, error) {
		return listAll[LeadStatus](ctx, c, "/v2/lead_statuses", nil, metaPages)
	})
	if err != nil {
		return nil, fmt.Errorf("sell: list lead statuses: %w", err)
	}
	return slices.Clone(v.([]LeadStatus)), nil
}

// CustomFields returns the custom field definitions of a resource type
// (ResourceLead, ResourceContact or ResourceDeal), cached.
func (c *Client) CustomFields(ctx context.Context, resourceType string) ([]CustomField, error) {
	switch resourceType {
	case ResourceLead, ResourceContact, ResourceDeal:
	default:
		return nil, fmt.Errorf("sell: list custom fields: unknown resource type %q", resourceType)
	}
	v, err := c.cachedList(ctx, "custom_fields/"+resourceType, func() (any, error) {
		return listAll[CustomField](ctx, c, "/v2/"+resourceType+"/custom_fields", nil, metaPages)
	})
	if err != nil {
		return nil, fmt.Errorf("sell: list %s custom fields: %w", resourceType, err)
	}
	return slices.Clone(v.([]CustomField)), nil
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

func (c *Client) cachedList(ctx context.Context, name string, load func() (any, error)) (any, error) {
	key, err := c.cacheKey(name)
	if err != nil {
		return nil, err
	}
	return cached(c.cache, key, load)
}

// CreateNote adds a note to a lead, contact or deal and returns it; its ID
// is what DeleteNote needs later.
func (c *Client) CreateNote(ctx context.Context, n NewNote) (Note, error) {
	out, err := postOne[Note](ctx, c, "/v2/notes", n)
	if err != nil {
		return Note{}, fmt.Errorf("sell: create note on %s %d: %w", n.ResourceType, n.ResourceID, err)
	}
	return out, nil
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
