package selltest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/internal/wire"
)

// search implements the subset of the v3 Search API the client uses:
// batched queries, projections, eq/any leaves combined with and/or, 0-based
// paging. Email compares case-insensitively and phones in E.164, per the
// assumptions in wire.
func (s *Sandbox) search(resource string) http.HandlerFunc {
	typ := strings.TrimSuffix(resource, "s")
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		off := s.searchOff
		s.mu.Unlock()
		if off {
			writeError(w, wire.SearchUnavailableStatus, wire.SearchUnavailableCode, "Forbidden",
				"The account's plan does not include the Search API.")
			return
		}
		var req wire.SearchRequest
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err == nil {
			err = json.Unmarshal(body, &req)
		}
		if err != nil || len(req.Items) == 0 {
			writeError(w, http.StatusBadRequest, "invalid_payload", "invalid payload",
				`The request body must be {"items":[{"data":{"query":…}}]}.`)
			return
		}
		if len(req.Items) > wire.MaxSearchItems {
			writeInvalidParam(w, fmt.Sprintf("At most %d queries may be batched in one request.", wire.MaxSearchItems))
			return
		}
		recs := s.searchable(callerOf(r), resource)
		var resp wire.SearchResponse
		for _, it := range req.Items {
			q := it.Data
			page, perPage := 0, 50
			if q.Page != nil {
				page = *q.Page
			}
			if q.PerPage != nil {
				perPage = *q.PerPage
			}
			if page < 0 || perPage < 0 || perPage > wire.MaxSearchPerPage {
				writeInvalidParam(w, fmt.Sprintf("per_page must be between 0 and %d and page non-negative.", wire.MaxSearchPerPage))
				return
			}
			var hits []record
			for _, m := range recs {
				if q.Query.Filter == nil || s.eval(q.Query.Filter, m) {
					hits = append(hits, m)
				}
			}
			total := len(hits)
			start := min(page*perPage, total)
			end := min(start+perPage, total)
			res := wire.SearchResult{Successful: true, Items: []wire.Envelope{}}
			for _, m := range hits[start:end] {
				out := record{"id": m["id"], "version": 1}
				for _, a := range q.Query.Projection {
					v, ok := projected(m, a.Name)
					if !ok {
						writeInvalidParam(w, fmt.Sprintf("The projection attribute '%s' does not exist for '%s'.", a.Name, typ))
						return
					}
					out[a.Name] = v
				}
				data, _ := json.Marshal(out)
				res.Items = append(res.Items, wire.Envelope{Data: data, Meta: &wire.Meta{Type: typ}})
			}
			count := len(res.Items)
			res.Meta = wire.Meta{Type: "collection", Count: &count, TotalCount: &total,
				HTTPStatus: wire.HTTPStatusText(http.StatusOK), Links: &wire.Links{}}
			if end < total {
				res.Meta.Links.NextPage = strconv.Itoa(page + 1)
			}
			resp.Items = append(resp.Items, res)
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

// knownAttrs are the attributes a projection may name even when a record
// leaves them out (empty values are omitted from the JSON).
var knownAttrs = map[string]bool{}

func init() {
	for _, f := range strings.Fields(`id creator_id owner_id first_name last_name organization_name
		status source_id title description industry website email phone mobile fax twitter facebook
		linkedin skype address tags custom_fields created_at updated_at is_organization name contact_id
		customer_status prospect_status value currency hot stage_id organization_id estimated_close_date`) {
		knownAttrs[f] = true
	}
}

// projected reads attribute name of m, accepting the v3 spellings we know.
func projected(m record, name string) (any, bool) {
	switch name {
	case "is_organisation":
		return m["is_organization"], true
	case "display_name":
		if n := str(m["name"]); n != "" {
			return n, true
		}
		return strings.TrimSpace(str(m["first_name"]) + " " + str(m["last_name"])), true
	}
	v, ok := m[name]
	return v, ok || knownAttrs[name]
}

func (s *Sandbox) searchable(c caller, resource string) []record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var recs []record
	switch resource {
	case "leads":
		for _, l := range s.leads {
			if s.canSeeLocked(c, sell.ResourceLead, l.ID, l.OwnerID) {
				recs = append(recs, toRecord(l))
			}
		}
	case "contacts":
		for _, ct := range s.contacts {
			if s.canSeeLocked(c, sell.ResourceContact, ct.ID, ct.OwnerID) {
				recs = append(recs, toRecord(ct))
			}
		}
	case "deals":
		for _, d := range s.deals {
			if s.canSeeLocked(c, sell.ResourceDeal, d.ID, d.OwnerID) {
				recs = append(recs, toRecord(d))
			}
		}
	}
	return recs
}

func (s *Sandbox) eval(f *wire.SearchFilter, m record) bool {
	switch {
	case f.Filter != nil:
		v, _ := projected(m, f.Filter.Attribute.Name)
		p := f.Filter.Parameter
		if p.Eq != nil {
			return s.equal(f.Filter.Attribute.Name, v, p.Eq)
		}
		for _, want := range p.Any {
			if s.equal(f.Filter.Attribute.Name, v, want) {
				return true
			}
		}
		return false
	case len(f.And) > 0:
		for _, sub := range f.And {
			if !s.eval(sub, m) {
				return false
			}
		}
		return true
	case len(f.Or) > 0:
		for _, sub := range f.Or {
			if s.eval(sub, m) {
				return true
			}
		}
		return false
	}
	return true
}

func (s *Sandbox) equal(attrName string, got, want any) bool {
	switch attrName {
	case wire.SearchAttrEmail:
		return sell.SameEmail(str(got), str(want))
	case wire.SearchAttrPhone, wire.SearchAttrMobile:
		return phone.Equal(str(got), str(want), s.opts.Region)
	}
	return str(got) == str(want)
}
