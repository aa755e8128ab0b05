package zendesktest

import (
	"cmp"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/sellchat/sellchat/shared/adapter/zendesk"
)

// accountCreated is the Chat account's create_date.
const accountCreated = "2024-01-15T09:00:00Z"

// pathID reads the {id} of a path, with or without Zendesk's optional ".json".
func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(strings.TrimSuffix(r.PathValue("id"), ".json"), 10, 64)
	return id, err == nil && id > 0
}

// adminPage opens a read of a paged Chat list, which only admins may read
// (requireAdmin): it reads the cursor parameter (0 when absent) and the limit (def
// when absent), answering 400 unless both are whole numbers and the limit is at
// least 1.
func adminPage(w http.ResponseWriter, r *http.Request, cursor string, def int) (from, limit int64, ok bool) {
	if !requireAdmin(w, callerOf(r), "read") {
		return 0, 0, false
	}
	q := r.URL.Query()
	from, err1 := strconv.ParseInt(cmp.Or(q.Get(cursor), "0"), 10, 64)
	limit, err2 := strconv.ParseInt(cmp.Or(q.Get("limit"), strconv.Itoa(def)), 10, 64)
	if err1 != nil || err2 != nil || from < 0 || limit < 1 {
		writeError(w, http.StatusBadRequest, "InvalidValue", cursor+" and limit must be whole numbers, limit at least 1")
		return 0, 0, false
	}
	return from, limit, true
}

// userJSON is a user as Zendesk writes it, with its API url.
func userJSON(r *http.Request, u zendesk.User) zendesk.User {
	u.URL = baseOf(r) + "/api/v2/users/" + strconv.FormatInt(u.ID, 10) + ".json"
	return u
}

// getUser answers GET /api/v2/users/{id}.json and /api/v2/users/me.json. Agents and
// admins read anyone; an end user only themselves.
func (s *Sandbox) getUser(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	if !c.may("users:read") {
		forbidden(w)
		return
	}
	id, ok := pathID(r)
	if r.PathValue("id") == "me.json" || r.PathValue("id") == "me" {
		id, ok = c.user.ID, true
	}
	if !ok {
		notFound(w)
		return
	}
	if id != c.user.ID && !c.user.IsStaff() {
		forbidden(w)
		return
	}
	u, found := s.User(id)
	if !found {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": userJSON(r, u)})
}

// requireAdmin answers 403 unless the caller administers the account and holds a read
// scope (zendesk.AdminOnlyAppsAndExport).
func requireAdmin(w http.ResponseWriter, c caller, scope string) bool {
	if (c.user.IsAdmin() || !zendesk.AdminOnlyAppsAndExport) && c.may(scope) {
		return true
	}
	forbidden(w)
	return false
}

// listInstallations answers GET /api/v2/apps/installations.json.
func (s *Sandbox) listInstallations(w http.ResponseWriter, r *http.Request) {
	if !requireAdmin(w, callerOf(r), "apps:read") {
		return
	}
	s.mu.Lock()
	out := make([]zendesk.Installation, 0, len(s.st.Apps))
	for _, a := range s.st.Apps {
		backend := a.BackendURL
		if backend == "" {
			backend = s.opts.BackendURL
		}
		settings, _ := json.Marshal(map[string]string{"name": a.Name, "backend_url": backend})
		out = append(out, zendesk.Installation{ID: a.InstallationID, AppID: a.ID, Product: a.Product, Enabled: true,
			Settings: settings, CreatedAt: accountCreated, UpdatedAt: accountCreated})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"installations": out})
}

// getPublicKey answers GET /api/v2/apps/{id}/public_key.pem with the app's key.
func (s *Sandbox) getPublicKey(w http.ResponseWriter, r *http.Request) {
	if !requireAdmin(w, callerOf(r), "apps:read") {
		return
	}
	id, _ := pathID(r)
	pemText := s.PublicKeyPEM(id)
	if pemText == nil {
		notFound(w)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(pemText)
}

// getChatAccount answers GET /api/v2/chat/account. Billing is shown to the owner only,
// as documented.
func (s *Sandbox) getChatAccount(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	if !requireAdmin(w, c, "read") {
		return
	}
	s.mu.Lock()
	plan := s.st.ChatPlan
	s.mu.Unlock()
	acct := map[string]any{
		"account_key": "sandbox-" + s.opts.Subdomain, "status": "active", "create_date": accountCreated,
		"plan": map[string]any{"name": plan, "rest_api": true, "integrations": true, "max_agents": 100},
	}
	if c.owner {
		acct["billing"] = map[string]any{"company": "Example Inc. (sandbox)", "country_code": "US"}
	}
	writeJSON(w, http.StatusOK, acct)
}

// Chat role ids of the built-in roles (the Roles API names Owner, Admin and Agent; the
// ids are the sandbox's).
const (
	chatRoleOwner = 1
	chatRoleAdmin = 2
	chatRoleAgent = 3
)

// chatAgentsLocked are the Chat agents: every active agent and admin, by id.
func (s *Sandbox) chatAgentsLocked() []zendesk.ChatAgent {
	var out []zendesk.ChatAgent
	for _, id := range slices.Sorted(maps.Keys(s.st.Users)) {
		u := s.st.Users[id]
		if !u.IsStaff() || !u.Active {
			continue
		}
		first, last, _ := strings.Cut(u.Name, " ")
		a := zendesk.ChatAgent{ID: u.ID, Email: u.Email, DisplayName: u.Name, FirstName: first, LastName: last,
			Enabled: 1, RoleID: chatRoleAgent, CreateDate: accountCreated}
		if u.IsAdmin() {
			a.RoleID, a.Roles.Administrator = chatRoleAdmin, true
		}
		if u.ID == s.st.OwnerID {
			a.RoleID, a.Roles.Owner = chatRoleOwner, true
		}
		out = append(out, a)
	}
	return out
}

// listChatAgents answers GET /api/v2/chat/agents, paged by since_id (inclusive) and
// limit (zendesk.ChatAgentsPageLimit at most).
func (s *Sandbox) listChatAgents(w http.ResponseWriter, r *http.Request) {
	since, limit, ok := adminPage(w, r, "since_id", zendesk.ChatAgentsPageLimit)
	if !ok {
		return
	}
	s.mu.Lock()
	agents := s.chatAgentsLocked()
	s.mu.Unlock()
	page := []zendesk.ChatAgent{}
	for _, a := range agents {
		if a.ID >= since && len(page) < min(int(limit), zendesk.ChatAgentsPageLimit) {
			page = append(page, a)
		}
	}
	writeJSON(w, http.StatusOK, page)
}

// getChatAgent answers GET /api/v2/chat/agents/{id} (admins) and /agents/me (anyone
// with a Chat seat).
func (s *Sandbox) getChatAgent(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	id, ok := pathID(r)
	if r.PathValue("id") == "me" {
		id, ok = c.user.ID, true
	} else if !requireAdmin(w, c, "read") {
		return
	}
	s.mu.Lock()
	agents := s.chatAgentsLocked()
	s.mu.Unlock()
	i := slices.IndexFunc(agents, func(a zendesk.ChatAgent) bool { return a.ID == id })
	if !ok || !c.may("read") || i < 0 {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, agents[i])
}

// AddUser adds a Support user; ID 0 gets a fresh id, Role defaults to agent. The
// stored user is returned.
func (s *Sandbox) AddUser(u zendesk.User) zendesk.User {
	defer s.changed()
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == 0 {
		u.ID = s.newIDLocked()
	}
	u.Role = cmp.Or(u.Role, zendesk.RoleAgent)
	s.st.Users[u.ID] = &u
	return u
}

// User returns a stored user.
func (s *Sandbox) User(id int64) (zendesk.User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.Users[id]
	if !ok {
		return zendesk.User{}, false
	}
	return *u, true
}

// SetOwner makes another user the account owner.
func (s *Sandbox) SetOwner(userID int64) {
	defer s.changed()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.OwnerID = userID
}

// SetChatPlan changes the Chat plan's name, as a plan change would.
func (s *Sandbox) SetChatPlan(name string) {
	defer s.changed()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.ChatPlan = name
}

// PublicKeyPEM returns what GET /api/v2/apps/{id}/public_key.pem serves, or nil for an
// unknown app: what an admin would paste.
func (s *Sandbox) PublicKeyPEM(appID int64) []byte {
	s.mu.Lock()
	key := s.keys[appID]
	s.mu.Unlock()
	if key == nil {
		return nil
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: zendesk.PublicKeyPEMType, Bytes: der})
}
