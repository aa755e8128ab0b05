// Package panel serves the panel function: what a chat agent sees in the Sell app
// beside a live chat — the Sell leads, people and companies (with their deals) that
// match the visitor, shown with the fields the admin published — and the owners the
// agent may pick for a new lead.
package panel

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/domain/access"
	"github.com/sellchat/sellchat/shared/domain/owners"
	"github.com/sellchat/sellchat/shared/domain/widgets"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
	"github.com/sellchat/sellchat/shared/platform/webpage"
)

// web holds the panel page the Zendesk Chat iframe loads: plain HTML, CSS and
// JavaScript, no build step, no framework.
//
//go:embed web
var web embed.FS

// PagePath is where the panel page lives; the Chat app's manifest points its iframe
// here. "/apps/panel" (no slash) serves the same page.
const PagePath = "/apps/panel/"

// Deps are what the panel's routes use, built once by the function's main.
type Deps struct {
	Gate     access.Gate
	Verifier *auth.Verifier
	Logger   *slog.Logger
	// Entry exchanges the token Zendesk posts to the page for a session (the
	// signed-app-token rule); nil answers 503 sessions_not_configured.
	Entry webpage.Exchange
	// Zendesk opens the account's Zendesk connection (the token vault's
	// ZendeskClient), to read a ticket's requester (requester.go); nil: never.
	Zendesk func(ctx context.Context, account string) (*zendesk.Client, error)
}

type handler struct {
	deps     Deps
	recent   recentClients
	maxBytes int // of a lookup's answer; httpx.MaxAnswerBytes, smaller in tests
}

// New returns the panel function's routes.
func New(d Deps) *httpx.Router {
	return newRouter(d, httpx.MaxAnswerBytes)
}

func newRouter(d Deps, maxBytes int) *httpx.Router {
	h := &handler{deps: d, maxBytes: maxBytes}
	rt := httpx.NewRouter(d.Logger)
	rt.Handle("GET /panel", d.Verifier.Require(h.lookup))
	rt.Handle("GET /panel/owners", d.Verifier.Require(h.owners))
	// The page is public: it holds no data and signs its calls with the agent's token.
	page, _ := fs.Sub(web, "web")
	webpage.Mount(rt, strings.TrimSuffix(PagePath, "/"), page, webpage.Logger(d.Logger), webpage.SignedEntry(d.Entry))
	return rt
}

// Match is one Sell record that matches the visitor.
type Match struct {
	Type   widgets.Name    `json:"type"`
	ID     int64           `json:"id"`
	Name   string          `json:"name"`
	Fields []widgets.Value `json:"fields"`
	Deals  []Deal          `json:"deals,omitempty"`
}

// Deal is a deal of a matched person or company.
type Deal struct {
	ID                 int64  `json:"id"`
	Name               string `json:"name"`
	Value              string `json:"value,omitempty"`
	Hot                bool   `json:"hot,omitempty"`
	EstimatedCloseDate string `json:"estimatedCloseDate,omitempty"`
}

// Visitor is who the panel looked for.
type Visitor struct {
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
	Name  string `json:"name,omitempty"`
}

// Lookup is GET /panel's answer.
type Lookup struct {
	Visitor Visitor `json:"visitor"`
	// VisitorFrom is "ticket" when the visitor is the requester of the ticket the
	// page named, read from Zendesk (requester.go), and absent when the page's own
	// details were searched.
	VisitorFrom string  `json:"visitorFrom,omitempty"`
	Matches     []Match `json:"matches"`
	NoMatch     string  `json:"noMatch,omitempty"`
	// Omitted counts the matches left out because the answer would have outgrown
	// its byte bound (see bound); absent when every match is shown.
	Omitted int `json:"omitted,omitempty"`
}

func (h *handler) lookup(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	q := r.URL.Query()
	v := Visitor{Email: strings.TrimSpace(q.Get("email")), Phone: strings.TrimSpace(q.Get("phone")), Name: strings.TrimSpace(q.Get("name"))}
	ticket, err := ticketOf(q.Get("ticketId"))
	if err != nil {
		return err
	}
	from := ""
	if ticket != 0 {
		rv, ok, err := h.requester(r.Context(), id.Account, ticket)
		if err != nil {
			return err
		}
		if ok {
			v, from = rv, "ticket"
		}
	}
	switch {
	case v.Email == "" && v.Phone == "":
		return httpx.Invalid("email", "visitor_unidentified", "Give the visitor's email or phone number to look them up.")
	case len(v.Email) > 254 || (v.Email != "" && !strings.Contains(v.Email, "@")):
		return httpx.Invalid("email", "invalid_value", "email must be an email address.")
	case len(v.Phone) > 40:
		return httpx.Invalid("phone", "invalid_value", "phone must be a phone number.")
	case len(v.Name) > 200:
		return httpx.Invalid("name", "invalid_value", "name is too long.")
	}
	agentKey := id.Account + "/" + id.UserID
	pre := h.recent.startEarly(r.Context(), agentKey, v)
	defer pre.drop() // whatever of it was not used
	// The published widgets are read in the same batch as the session.
	sess, err := h.deps.Gate.Open(r.Context(), id, widgets.Names...)
	if err != nil {
		h.recent.forget(agentKey)
		return err
	}
	published := map[widgets.Name][]string{}
	for _, name := range widgets.Names {
		published[name] = sess.Widgets[name].Published
	}
	out, next, err := h.find(r.Context(), sess, v, published, pre)
	if err != nil {
		h.recent.forget(agentKey)
		return sess.SellError(r.Context(), err)
	}
	h.recent.put(agentKey, sess, v, next)
	out.VisitorFrom = from
	bound(&out, h.maxBytes)
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// find runs the lookup: the two searches (unless pre already made them with the
// session's credential) and the metadata (cached after the first call) at once,
// then the deals of matched contacts (and the names of persons' companies that did
// not match themselves), unless pre already fetched exactly those. It also returns
// the ids that second step needed, for the next lookup's pre.
func (h *handler) find(ctx context.Context, sess *access.Session, v Visitor, published map[widgets.Name][]string, pre *early) (Lookup, second, error) {
	var (
		found sell.Matches
		meta  sell.Metadata
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		if m, ok := pre.take(sess.Credential); ok {
			found = m
			return nil
		}
		found, err = sess.Sell.Find(gctx, visitorQuery(v))
		return
	})
	g.Go(func() (err error) { meta, err = sess.Sell.Metadata(gctx); return })
	if err := g.Wait(); err != nil {
		return Lookup{}, second{}, err
	}

	var contactIDs []int64
	companies := map[int64]string{}
	for _, c := range found.Contacts {
		contactIDs = append(contactIDs, c.ID)
		if c.IsOrganization {
			companies[c.ID] = c.DisplayName()
		}
	}
	var missingCompanies []int64
	for _, c := range found.Contacts {
		if _, known := companies[c.ContactID]; !c.IsOrganization && c.ContactID != 0 && !known {
			missingCompanies = append(missingCompanies, c.ContactID)
		}
	}
	var shownCompanies []int64 // fetched only when the person widget shows them
	if contains(published[widgets.Person], "company") {
		shownCompanies = missingCompanies
	}
	need := newSecond(contactIDs, shownCompanies)
	deals, extra, ok := pre.takeNext(sess.Credential, need)
	if !ok {
		g, gctx = errgroup.WithContext(ctx)
		if len(need.contacts) > 0 {
			g.Go(func() (err error) { deals, err = sess.Sell.DealsForContacts(gctx, need.contacts...); return })
		}
		if len(need.companies) > 0 {
			g.Go(func() (err error) { extra, err = sess.Sell.Contacts(gctx, need.companies...); return })
		}
		if err := g.Wait(); err != nil {
			return Lookup{}, second{}, err
		}
	}
	for _, c := range extra {
		companies[c.ID] = c.DisplayName()
	}
	return render(v, found, deals, companies, meta, published), need, nil
}

// render turns what Sell returned into the panel's matches: leads, then people, then
// companies, each with its published fields in order.
func render(v Visitor, found sell.Matches, deals []sell.Deal, companies map[int64]string, meta sell.Metadata, published map[widgets.Name][]string) Lookup {
	users := map[int64]string{}
	for _, u := range meta.Users {
		users[u.ID] = u.Name
	}
	sources := map[int64]string{}
	for _, s := range meta.LeadSources {
		sources[s.ID] = s.Name
	}
	catalogue := map[widgets.Name][]widgets.Field{
		widgets.Lead:    widgets.Catalogue(widgets.Lead, meta.CustomFields[sell.ResourceLead]),
		widgets.Person:  widgets.Catalogue(widgets.Person, meta.CustomFields[sell.ResourceContact]),
		widgets.Company: widgets.Catalogue(widgets.Company, meta.CustomFields[sell.ResourceContact]),
	}
	dealsOf := map[int64][]Deal{}
	for _, d := range deals {
		dealsOf[d.ContactID] = append(dealsOf[d.ContactID], Deal{ID: d.ID, Name: d.Name, Value: widgets.FormatMoney(d.Value, d.Currency), Hot: d.Hot, EstimatedCloseDate: d.EstimatedCloseDate})
	}
	out := Lookup{Visitor: v, Matches: []Match{}}
	for _, l := range found.Leads {
		out.Matches = append(out.Matches, Match{Type: widgets.Lead, ID: l.ID, Name: leadName(l),
			Fields: widgets.Render(widgets.Lead, published[widgets.Lead], catalogue[widgets.Lead], l, users, sources)})
	}
	var people, orgs []Match
	for _, c := range found.Contacts {
		m := Match{ID: c.ID, Name: c.DisplayName(), Deals: dealsOf[c.ID]}
		if c.IsOrganization {
			m.Type = widgets.Company
			m.Fields = widgets.Render(widgets.Company, published[widgets.Company], catalogue[widgets.Company], c, users, sources)
			orgs = append(orgs, m)
		} else {
			m.Type = widgets.Person
			rec := widgets.PersonRecord{Contact: c, Company: companies[c.ContactID]}
			m.Fields = widgets.Render(widgets.Person, published[widgets.Person], catalogue[widgets.Person], rec, users, sources)
			people = append(people, m)
		}
	}
	sort.SliceStable(people, func(i, j int) bool { return people[i].Name < people[j].Name })
	sort.SliceStable(orgs, func(i, j int) bool { return orgs[i].Name < orgs[j].Name })
	out.Matches = append(append(out.Matches, people...), orgs...)
	for i := range out.Matches {
		if out.Matches[i].Fields == nil {
			out.Matches[i].Fields = []widgets.Value{}
		}
	}
	if len(out.Matches) == 0 {
		who := v.Email
		if who == "" {
			who = v.Phone
		}
		out.NoMatch = fmt.Sprintf("No lead, person or company in Sell matches %s. You can create a lead from this chat.", who)
	}
	return out
}

func leadName(l sell.Lead) string {
	name := strings.TrimSpace(l.FirstName + " " + l.LastName)
	if name == "" {
		return l.OrganizationName
	}
	return name
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// OwnersAnswer is GET /panel/owners's answer.
type OwnersAnswer = owners.Options

func (h *handler) owners(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	sess, err := h.deps.Gate.Open(r.Context(), id)
	if err != nil {
		return err
	}
	opts, err := sess.OwnerOptions(r.Context())
	if err != nil {
		return sess.SellError(r.Context(), err)
	}
	httpx.WriteJSON(w, http.StatusOK, opts)
	return nil
}
