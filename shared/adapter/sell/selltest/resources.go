package selltest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/internal/wire"
)

var (
	usersSpec = listSpec{typ: "user", defaultSort: "id:asc", filters: map[string]filterMode{
		"ids": idList, "name": exact, "email": fold, "role": exact, "status": exact, "confirmed": boolean}}
	leadsSpec = listSpec{typ: "lead", defaultSort: "updated_at:asc", filters: map[string]filterMode{
		"ids": idList, "creator_id": exact, "owner_id": exact, "source_id": exact, "first_name": exact,
		"last_name": exact, "organization_name": exact, "status": exact, "email": fold,
		"address[city]": exact, "address[country]": exact, "address[postal_code]": exact}}
	contactsSpec = listSpec{typ: "contact", defaultSort: "last_name:asc", filters: map[string]filterMode{
		"ids": idList, "contact_id": exact, "email": fold, "first_name": exact, "last_name": exact,
		"name": exact, "is_organization": boolean, "owner_id": exact,
		"address[city]": exact, "address[country]": exact, "address[postal_code]": exact}}
	dealsSpec = listSpec{typ: "deal", defaultSort: "id:asc", filters: map[string]filterMode{
		"ids": idList, "contact_id": idList, "organization_id": exact, "creator_id": exact,
		"owner_id": exact, "hot": boolean, "source_id": exact, "stage_id": exact, "estimated_close_date": exact}}
	sourcesSpec  = listSpec{typ: "lead_source", defaultSort: "id:asc", filters: map[string]filterMode{"ids": idList, "name": exact}}
	statusesSpec = listSpec{typ: "lead_status", defaultSort: "id:asc", filters: map[string]filterMode{}}
	fieldsSpec   = listSpec{typ: "custom_field", defaultSort: "id:asc", filters: map[string]filterMode{}}
	notesSpec    = listSpec{typ: "note", defaultSort: "updated_at:asc", filters: map[string]filterMode{
		"ids": idList, "creator_id": exact, "q": substr, "resource_id": exact, "resource_type": exact}}
)

// canSeeLocked is the sandbox's permission model: admins see everything,
// other users what they own or what MakeVisible granted them.
func (s *Sandbox) canSeeLocked(c caller, resource string, id, owner int64) bool {
	return c.admin || owner == c.user || s.visible[visKey{c.user, resource, id}]
}

func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", "Not Found", "Requested resource was not found.")
		return 0, false
	}
	return id, true
}

func notFound(w http.ResponseWriter) {
	writeError(w, wire.HiddenRecordStatus, "not_found", "Not Found", "Requested resource was not found.")
}

func (s *Sandbox) getSelf(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	u := *s.users[callerOf(r).user]
	s.mu.Unlock()
	writeOne(w, http.StatusOK, "user", u)
}

func (s *Sandbox) getAccount(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a := s.account
	s.mu.Unlock()
	writeOne(w, http.StatusOK, "account", a)
}

func (s *Sandbox) listUsers(w http.ResponseWriter, r *http.Request) {
	listMap(s, w, r, usersSpec, s.users, nil)
}

func (s *Sandbox) getUser(w http.ResponseWriter, r *http.Request) {
	getMap(s, w, r, "user", s.users, nil)
}

// leadKeys, contactKeys and dealKeys give what visibility is decided by: the
// record's id and its owner.
func leadKeys(l *sell.Lead) (id, owner int64)       { return l.ID, l.OwnerID }
func contactKeys(c *sell.Contact) (id, owner int64) { return c.ID, c.OwnerID }
func dealKeys(d *sell.Deal) (id, owner int64)       { return d.ID, d.OwnerID }

// listMap serves the records of all that keep admits (every one when keep is nil),
// filtered, sorted and paged by spec as Sell does. keep runs under the lock.
func listMap[T any](s *Sandbox, w http.ResponseWriter, r *http.Request, spec listSpec, all map[int64]*T, keep func(*T) bool) {
	s.mu.Lock()
	var recs []record
	for _, v := range all {
		if keep == nil || keep(v) {
			recs = append(recs, toRecord(v))
		}
	}
	s.mu.Unlock()
	serveList(w, r, spec, recs)
}

// getMap serves the record of all named in the path as a typ; one that keep
// refuses is answered as Sell answers a missing one, 404. keep runs under the lock.
func getMap[T any](s *Sandbox, w http.ResponseWriter, r *http.Request, typ string, all map[int64]*T, keep func(*T) bool) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	v, ok := all[id]
	var cp T
	if ok = ok && (keep == nil || keep(v)); ok {
		cp = *v
	}
	s.mu.Unlock()
	if !ok {
		notFound(w)
		return
	}
	writeOne(w, http.StatusOK, typ, cp)
}

// seenBy admits the leads, contacts or deals c's token may see.
func seenBy[T any](s *Sandbox, c caller, resource string, keys func(*T) (id, owner int64)) func(*T) bool {
	return func(v *T) bool {
		id, owner := keys(v)
		return s.canSeeLocked(c, resource, id, owner)
	}
}

// listOwned serves a list of leads, contacts or deals: the records the caller's
// token may see, then filtered, sorted and paged by spec as Sell does.
func listOwned[T any](s *Sandbox, w http.ResponseWriter, r *http.Request, resource string, all map[int64]*T, spec listSpec, keys func(*T) (id, owner int64)) {
	listMap(s, w, r, spec, all, seenBy(s, callerOf(r), resource, keys))
}

// getOwned serves the lead, contact or deal named in the path; one the caller's
// token may not see is answered as Sell answers a missing one, 404.
func getOwned[T any](s *Sandbox, w http.ResponseWriter, r *http.Request, resource string, all map[int64]*T, keys func(*T) (id, owner int64)) {
	getMap(s, w, r, resource, all, seenBy(s, callerOf(r), resource, keys))
}

func (s *Sandbox) listLeads(w http.ResponseWriter, r *http.Request) {
	listOwned(s, w, r, sell.ResourceLead, s.leads, leadsSpec, leadKeys)
}

func (s *Sandbox) getLead(w http.ResponseWriter, r *http.Request) {
	getOwned(s, w, r, sell.ResourceLead, s.leads, leadKeys)
}

// decodeData reads {"data":{…}} into dst, refusing attributes dst does not
// have. It writes the error response itself and reports false.
func decodeData(w http.ResponseWriter, r *http.Request, resource string, dst any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var env wire.Envelope
	if err == nil {
		err = json.Unmarshal(body, &env)
	}
	if err != nil || len(env.Data) == 0 || env.Data[0] != '{' {
		writeError(w, http.StatusBadRequest, "invalid_payload", "invalid payload",
			"The request body must be a JSON object with a 'data' object.")
		return false
	}
	d := json.NewDecoder(bytes.NewReader(env.Data))
	d.DisallowUnknownFields()
	err = d.Decode(dst)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return true
	case errors.As(err, &te):
		writeErrors(w, http.StatusUnprocessableEntity, invalid(resource, "/"+strings.ReplaceAll(te.Field, ".", "/"), "invalid_type",
			fmt.Sprintf("The attribute '/%s' has an invalid type.", te.Field)))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		writeErrors(w, http.StatusUnprocessableEntity, invalid(resource, "/"+name, "unknown",
			fmt.Sprintf("The attribute '/%s' is not a known attribute for the '%s' resource.", name, resource)))
	default:
		writeError(w, http.StatusBadRequest, "invalid_payload", "invalid payload", "The request body is not valid JSON.")
	}
	return false
}

// createLead validates like Sell (name, status, source, owner, custom
// fields), resolves a pool owner to the pool's next member, and stores the
// lead.
func (s *Sandbox) createLead(w http.ResponseWriter, r *http.Request) {
	var in sell.NewLead
	if !decodeData(w, r, "lead", &in) {
		return
	}
	c := callerOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []fieldError
	if strings.TrimSpace(in.LastName) == "" && strings.TrimSpace(in.OrganizationName) == "" {
		errs = append(errs, invalid("lead", "/last_name", "missing",
			"The attribute '/last_name' is required unless '/organization_name' is given."))
	}
	if in.Status == "" && len(s.statuses) > 0 {
		in.Status = s.statuses[0].Name
	} else if in.Status != "" && !slices.ContainsFunc(s.statuses, func(st sell.LeadStatus) bool { return st.Name == in.Status }) {
		errs = append(errs, invalid("lead", "/status", "incorrect_value",
			"The attribute '/status' value is not one of the account's lead statuses."))
	}
	if in.SourceID != 0 && s.sources[in.SourceID] == nil {
		errs = append(errs, invalid("lead", "/source_id", "incorrect_value", "The attribute '/source_id' does not name a lead source."))
	}
	owner := in.OwnerID
	if owner == 0 {
		owner = c.user
	}
	if u := s.users[owner]; u == nil || !u.IsActive() {
		errs = append(errs, invalid("lead", "/owner_id", "incorrect_value", "The attribute '/owner_id' does not name an active user."))
	}
	errs = append(errs, s.checkCustomFieldsLocked("lead", in.CustomFields)...)
	if len(errs) > 0 {
		writeErrors(w, http.StatusUnprocessableEntity, errs...)
		return
	}
	if p := s.pools[owner]; p != nil {
		owner = p.pick(s.users)
	}
	now := s.opts.Now().UTC().Truncate(1e9)
	l := &sell.Lead{
		ID: s.newIDLocked(), CreatorID: c.user, OwnerID: owner, FirstName: in.FirstName, LastName: in.LastName,
		OrganizationName: in.OrganizationName, Status: in.Status, SourceID: in.SourceID, Title: in.Title,
		Description: in.Description, Email: in.Email, Phone: in.Phone, Mobile: in.Mobile, Website: in.Website,
		Address: in.Address, Tags: in.Tags, CustomFields: in.CustomFields, CreatedAt: now, UpdatedAt: now,
	}
	s.leads[l.ID] = l
	writeOne(w, wire.CreateStatus, "lead", *l)
}

// pick returns the next active member, rotating.
func (p *pool) pick(users map[int64]*sell.User) int64 {
	for range p.members {
		m := p.members[p.next%len(p.members)]
		p.next++
		if u := users[m]; u != nil && u.IsActive() {
			return m
		}
	}
	return p.members[0]
}

// checkCustomFieldsLocked validates values against the definitions of
// resource: known names and a value of the field's type.
func (s *Sandbox) checkCustomFieldsLocked(resource string, vals map[string]any) []fieldError {
	var errs []fieldError
	for name, v := range vals {
		i := slices.IndexFunc(s.fields[resource], func(f sell.CustomField) bool { return f.Name == name })
		ptr := "/custom_fields/" + name
		if i < 0 {
			errs = append(errs, invalid(resource, ptr, "unknown",
				fmt.Sprintf("The custom field '%s' is not defined for the '%s' resource.", name, resource)))
			continue
		}
		if v == nil {
			continue
		}
		if !validCustomValue(s.fields[resource][i], v) {
			errs = append(errs, invalid(resource, ptr, "incorrect_value",
				fmt.Sprintf("The value of custom field '%s' does not fit its type.", name)))
		}
	}
	return errs
}

func validCustomValue(f sell.CustomField, v any) bool {
	choice := func(x any) bool {
		name := ""
		switch x := x.(type) {
		case string:
			name = x
		case map[string]any:
			name, _ = x["name"].(string)
		}
		return slices.ContainsFunc(f.Choices, func(c sell.Choice) bool { return c.Name == name })
	}
	switch f.Type {
	case "bool", "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		switch x := v.(type) {
		case float64:
			return true
		case string:
			_, err := strconv.ParseFloat(x, 64)
			return err == nil
		}
		return false
	case "list":
		return choice(v)
	case "multi_select_list":
		arr, ok := v.([]any)
		return ok && !slices.ContainsFunc(arr, func(x any) bool { return !choice(x) })
	case "address":
		_, ok := v.(map[string]any)
		return ok
	default: // string, text, date, datetime, email, phone, url
		_, ok := v.(string)
		return ok
	}
}

func (s *Sandbox) newIDLocked() int64 {
	id := s.nextID
	s.nextID++
	return id
}

func (s *Sandbox) listContacts(w http.ResponseWriter, r *http.Request) {
	listOwned(s, w, r, sell.ResourceContact, s.contacts, contactsSpec, contactKeys)
}

func (s *Sandbox) getContact(w http.ResponseWriter, r *http.Request) {
	getOwned(s, w, r, sell.ResourceContact, s.contacts, contactKeys)
}

func (s *Sandbox) listDeals(w http.ResponseWriter, r *http.Request) {
	listOwned(s, w, r, sell.ResourceDeal, s.deals, dealsSpec, dealKeys)
}

func (s *Sandbox) getDeal(w http.ResponseWriter, r *http.Request) {
	getOwned(s, w, r, sell.ResourceDeal, s.deals, dealKeys)
}

func (s *Sandbox) listSources(w http.ResponseWriter, r *http.Request) {
	listMap(s, w, r, sourcesSpec, s.sources, nil)
}

func (s *Sandbox) getSource(w http.ResponseWriter, r *http.Request) {
	getMap(s, w, r, "lead_source", s.sources, nil)
}

func (s *Sandbox) createSource(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name         string `json:"name"`
		ResourceType string `json:"resource_type"`
	}
	if !decodeData(w, r, "lead_source", &in) {
		return
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		writeErrors(w, http.StatusUnprocessableEntity, invalid("lead_source", "/name", "blank", "The attribute '/name' can't be blank."))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, src := range s.sources {
		if strings.EqualFold(src.Name, name) {
			writeErrors(w, http.StatusUnprocessableEntity, invalid("lead_source", "/name", wire.CodeAlreadyExists,
				"The attribute '/name' must be unique; a lead source with this name exists."))
			return
		}
	}
	now := s.opts.Now().UTC().Truncate(1e9)
	src := &sell.LeadSource{ID: s.newIDLocked(), Name: name, ResourceType: "lead", CreatorID: callerOf(r).user, CreatedAt: now, UpdatedAt: now}
	s.sources[src.ID] = src
	writeOne(w, wire.CreateStatus, "lead_source", *src)
}

func (s *Sandbox) listStatuses(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var recs []record
	for _, st := range s.statuses {
		recs = append(recs, toRecord(st))
	}
	s.mu.Unlock()
	serveList(w, r, statusesSpec, recs)
}

func (s *Sandbox) listCustomFields(resource string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		var recs []record
		for _, f := range s.fields[resource] {
			recs = append(recs, toRecord(f))
		}
		s.mu.Unlock()
		serveList(w, r, fieldsSpec, recs)
	}
}

// ownerOfLocked returns the owner of a lead, contact or deal.
func (s *Sandbox) ownerOfLocked(resource string, id int64) (int64, bool) {
	switch resource {
	case sell.ResourceLead:
		if l := s.leads[id]; l != nil {
			return l.OwnerID, true
		}
	case sell.ResourceContact:
		if c := s.contacts[id]; c != nil {
			return c.OwnerID, true
		}
	case sell.ResourceDeal:
		if d := s.deals[id]; d != nil {
			return d.OwnerID, true
		}
	}
	return 0, false
}

func (s *Sandbox) noteVisibleLocked(c caller, n *sell.Note) bool {
	owner, ok := s.ownerOfLocked(n.ResourceType, n.ResourceID)
	return ok && s.canSeeLocked(c, n.ResourceType, n.ResourceID, owner)
}

func (s *Sandbox) listNotes(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	// The record filters are applied again by serveList; applying them first spares
	// converting every note of the account when the sandbox holds many (the soak).
	q := r.URL.Query()
	typ, rid := q.Get("resource_type"), q.Get("resource_id")
	s.mu.Lock()
	var notes []sell.Note
	for _, n := range s.notes {
		if (q.Has("resource_type") && n.ResourceType != typ) || (q.Has("resource_id") && strconv.FormatInt(n.ResourceID, 10) != rid) {
			continue
		}
		if s.noteVisibleLocked(c, n) {
			notes = append(notes, *n)
		}
	}
	s.mu.Unlock()
	recs := make([]record, len(notes))
	for i, n := range notes {
		recs[i] = toRecord(n)
	}
	serveList(w, r, notesSpec, recs)
}

func (s *Sandbox) getNote(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	getMap(s, w, r, "note", s.notes, func(n *sell.Note) bool { return s.noteVisibleLocked(c, n) })
}

func (s *Sandbox) createNote(w http.ResponseWriter, r *http.Request) {
	var in sell.NewNote
	if !decodeData(w, r, "note", &in) {
		return
	}
	c := callerOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch in.ResourceType {
	case sell.ResourceLead, sell.ResourceContact, sell.ResourceDeal:
	default:
		writeErrors(w, http.StatusUnprocessableEntity, invalid("note", "/resource_type", "incorrect_value",
			"The attribute '/resource_type' value is not included in the list"))
		return
	}
	if owner, ok := s.ownerOfLocked(in.ResourceType, in.ResourceID); !ok || !s.canSeeLocked(c, in.ResourceType, in.ResourceID, owner) {
		writeErrors(w, http.StatusUnprocessableEntity, invalid("note", "/resource_id", "incorrect_value",
			"The attribute '/resource_id' does not name a record you can see."))
		return
	}
	if strings.TrimSpace(in.Content) == "" {
		writeErrors(w, http.StatusUnprocessableEntity, invalid("note", "/content", "blank", "The attribute '/content' can't be blank."))
		return
	}
	now := s.opts.Now().UTC().Truncate(1e9)
	n := &sell.Note{ID: s.newIDLocked(), Content: in.Content, ResourceType: in.ResourceType, ResourceID: in.ResourceID,
		CreatorID: c.user, CreatedAt: now, UpdatedAt: now}
	s.notes[n.ID] = n
	writeOne(w, wire.CreateStatus, "note", *n)
}

// updateNote answers PUT /v2/notes/{id}: the content is replaced, as a note's
// update does; resource_type and resource_id cannot move a note.
func (s *Sandbox) updateNote(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var in struct {
		Content *string `json:"content"`
	}
	if !decodeData(w, r, "note", &in) {
		return
	}
	c := callerOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.notes[id]
	if !ok || !s.noteVisibleLocked(c, n) {
		notFound(w)
		return
	}
	if in.Content != nil {
		if strings.TrimSpace(*in.Content) == "" {
			writeErrors(w, http.StatusUnprocessableEntity, invalid("note", "/content", "blank", "The attribute '/content' can't be blank."))
			return
		}
		n.Content = *in.Content
		n.UpdatedAt = s.opts.Now().UTC().Truncate(1e9)
	}
	writeOne(w, http.StatusOK, "note", *n)
}

func (s *Sandbox) deleteNote(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	c := callerOf(r)
	s.mu.Lock()
	n, ok := s.notes[id]
	if ok = ok && s.noteVisibleLocked(c, n); ok {
		delete(s.notes, id)
	}
	s.mu.Unlock()
	if !ok {
		notFound(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
