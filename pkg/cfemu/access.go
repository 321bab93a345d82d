package cfemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Permissions of the Access endpoints.
const (
	permAccessApps     = "Access: Apps and Policies Write"
	permServiceTokens  = "Access: Service Tokens Write"
	permAccessOrgRead  = "Access: Organizations, Identity Providers, and Groups Read"
	permAccessOrgWrite = "Access: Organizations, Identity Providers, and Groups Write"
)

// takenTeamNames are team names the emulator treats as owned by someone else.
var takenTeamNames = map[string]bool{"cloudflare": true, "example": true, "test": true, "team": true}

func (s *Server) registerAccess() {
	base := "/accounts/{account_id}/access"
	s.handle("GET", base+"/organizations", s.accessGuard(permAccessOrgRead, s.getAccessOrg))
	s.handle("POST", base+"/organizations", s.accessGuard(permAccessOrgWrite, s.createAccessOrg))
	s.handle("PUT", base+"/organizations", s.accessGuard(permAccessOrgWrite, s.updateAccessOrg))

	s.handle("GET", base+"/apps", s.accessGuard(permAccessApps, s.listAccessApps))
	s.handle("POST", base+"/apps", s.accessGuard(permAccessApps, s.createAccessApp))
	s.handle("GET", base+"/apps/{app_id}", s.accessGuard(permAccessApps, s.getAccessApp))
	s.handle("PUT", base+"/apps/{app_id}", s.accessGuard(permAccessApps, s.updateAccessApp))
	s.handle("DELETE", base+"/apps/{app_id}", s.accessGuard(permAccessApps, s.deleteAccessApp))

	s.handle("GET", base+"/apps/{app_id}/policies", s.accessGuard(permAccessApps, s.listAppPolicies))
	s.handle("POST", base+"/apps/{app_id}/policies", s.accessGuard(permAccessApps, s.createAppPolicy))
	s.handle("GET", base+"/apps/{app_id}/policies/{policy_id}", s.accessGuard(permAccessApps, s.getAppPolicy))
	s.handle("PUT", base+"/apps/{app_id}/policies/{policy_id}", s.accessGuard(permAccessApps, s.updateAppPolicy))
	s.handle("DELETE", base+"/apps/{app_id}/policies/{policy_id}", s.accessGuard(permAccessApps, s.deleteAppPolicy))

	s.handle("GET", base+"/policies", s.accessGuard(permAccessApps, s.listReusablePolicies))
	s.handle("POST", base+"/policies", s.accessGuard(permAccessApps, s.createReusablePolicy))
	s.handle("GET", base+"/policies/{policy_id}", s.accessGuard(permAccessApps, s.getReusablePolicy))
	s.handle("PUT", base+"/policies/{policy_id}", s.accessGuard(permAccessApps, s.updateReusablePolicy))
	s.handle("DELETE", base+"/policies/{policy_id}", s.accessGuard(permAccessApps, s.deleteReusablePolicy))

	s.handle("GET", base+"/service_tokens", s.accessGuard(permServiceTokens, s.listServiceTokens))
	s.handle("POST", base+"/service_tokens", s.accessGuard(permServiceTokens, s.createServiceToken))
	s.handle("GET", base+"/service_tokens/{token_id}", s.accessGuard(permServiceTokens, s.getServiceToken))
	s.handle("PUT", base+"/service_tokens/{token_id}", s.accessGuard(permServiceTokens, s.updateServiceToken))
	s.handle("DELETE", base+"/service_tokens/{token_id}", s.accessGuard(permServiceTokens, s.deleteServiceToken))
}

func (s *Server) accessGuard(permission string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.authorize(w, r, permission); !ok {
			return
		}
		if !s.checkAccount(w, r) {
			return
		}
		a := &s.state.Access
		if a.Apps == nil {
			a.Apps = map[string]*AccessApp{}
		}
		if a.Policies == nil {
			a.Policies = map[string]*AccessPolicy{}
		}
		if a.ServiceTokens == nil {
			a.ServiceTokens = map[string]*ServiceToken{}
		}
		h(w, r)
	}
}

// accessNotFound is Access's answer for a missing object.
func accessNotFound(w http.ResponseWriter) {
	fail(w, http.StatusNotFound, 12130, "access.api.error.not_found")
}

func accessInvalid(w http.ResponseWriter, msg string) {
	fail(w, http.StatusBadRequest, 12130, "access.api.error.invalid_request: %s", msg)
}

// ---- organization ----

func (s *Server) getAccessOrg(w http.ResponseWriter, r *http.Request) {
	if s.state.Access.Organization == nil {
		accessNotFound(w)
		return
	}
	ok(w, http.StatusOK, s.state.Access.Organization)
}

type orgRequest struct {
	Name                   *string `json:"name"`
	AuthDomain             *string `json:"auth_domain"`
	AutoRedirectToIdentity *bool   `json:"auto_redirect_to_identity"`
	SessionDuration        *string `json:"session_duration"`
}

// validAuthDomain checks "<team>.cloudflareaccess.com" and that the team
// name is free, answering the error when it is not.
func validAuthDomain(w http.ResponseWriter, d string) bool {
	team, found := strings.CutSuffix(d, ".cloudflareaccess.com")
	if !found || team == "" || strings.Contains(team, ".") {
		accessInvalid(w, "auth_domain must be <team-name>.cloudflareaccess.com")
		return false
	}
	if takenTeamNames[team] {
		fail(w, http.StatusBadRequest, 11003, "access.api.error.auth_domain_not_available")
		return false
	}
	return true
}

func (s *Server) createAccessOrg(w http.ResponseWriter, r *http.Request) {
	var req orgRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.Name == nil || *req.Name == "" || req.AuthDomain == nil || *req.AuthDomain == "" {
		accessInvalid(w, "name and auth_domain are required")
		return
	}
	if s.state.Access.Organization != nil {
		fail(w, http.StatusConflict, 11002, "access.api.error.organization_already_exists")
		return
	}
	if !validAuthDomain(w, *req.AuthDomain) {
		return
	}
	now := s.opts.Now().UTC()
	org := &AccessOrganization{Name: *req.Name, AuthDomain: *req.AuthDomain, SessionDuration: "24h", CreatedAt: now, UpdatedAt: now}
	if req.AutoRedirectToIdentity != nil {
		org.AutoRedirectToIdentity = *req.AutoRedirectToIdentity
	}
	if req.SessionDuration != nil {
		org.SessionDuration = *req.SessionDuration
	}
	s.state.Access.Organization = org
	ok(w, http.StatusCreated, org)
}

func (s *Server) updateAccessOrg(w http.ResponseWriter, r *http.Request) {
	org := s.state.Access.Organization
	if org == nil {
		accessNotFound(w)
		return
	}
	var req orgRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.AuthDomain != nil && *req.AuthDomain != org.AuthDomain {
		if !validAuthDomain(w, *req.AuthDomain) {
			return
		}
		org.AuthDomain = *req.AuthDomain
	}
	if req.Name != nil {
		org.Name = *req.Name
	}
	if req.AutoRedirectToIdentity != nil {
		org.AutoRedirectToIdentity = *req.AutoRedirectToIdentity
	}
	if req.SessionDuration != nil {
		org.SessionDuration = *req.SessionDuration
	}
	org.UpdatedAt = s.opts.Now().UTC()
	ok(w, http.StatusOK, org)
}

// ---- policies ----

var ruleKinds = map[string]string{
	"email": "email", "email_domain": "domain", "service_token": "token_id",
	"any_valid_service_token": "", "everyone": "", "group": "id", "ip": "ip", "email_list": "id",
	"login_method": "id", "geo": "country_code", "certificate": "", "common_name": "common_name",
}

var decisions = map[string]bool{"allow": true, "deny": true, "non_identity": true, "bypass": true}

type policyRequest struct {
	Name            string           `json:"name"`
	Decision        string           `json:"decision"`
	Precedence      int              `json:"precedence"`
	Include         []map[string]any `json:"include"`
	Exclude         []map[string]any `json:"exclude"`
	Require         []map[string]any `json:"require"`
	SessionDuration string           `json:"session_duration"`
}

// validRules checks each rule is one known kind with its field.
func validRules(rules []map[string]any) string {
	for _, rule := range rules {
		if len(rule) != 1 {
			return "each rule must have exactly one type"
		}
		for kind, v := range rule {
			field, known := ruleKinds[kind]
			if !known {
				return "unknown rule type " + kind
			}
			m, isObj := v.(map[string]any)
			if !isObj {
				return kind + " must be an object"
			}
			if field != "" {
				if s, _ := m[field].(string); s == "" {
					return kind + "." + field + " is required"
				}
			}
		}
	}
	return ""
}

// policyFrom validates a policy body, answering 400 when it is wrong.
func (s *Server) policyFrom(w http.ResponseWriter, req policyRequest) *AccessPolicy {
	switch {
	case req.Name == "":
		accessInvalid(w, "name is required")
		return nil
	case !decisions[req.Decision]:
		accessInvalid(w, "decision must be one of allow, deny, non_identity, bypass")
		return nil
	case len(req.Include) == 0:
		accessInvalid(w, "include must have at least one rule")
		return nil
	}
	for _, rules := range [][]map[string]any{req.Include, req.Exclude, req.Require} {
		if msg := validRules(rules); msg != "" {
			accessInvalid(w, msg)
			return nil
		}
	}
	for _, rule := range req.Include {
		if st, has := rule["service_token"].(map[string]any); has {
			if id, _ := st["token_id"].(string); s.state.Access.ServiceTokens[id] == nil {
				accessInvalid(w, "service token "+id+" does not exist")
				return nil
			}
		}
	}
	now := s.opts.Now().UTC()
	nz := func(r []map[string]any) []map[string]any {
		if r == nil {
			return []map[string]any{}
		}
		return r
	}
	return &AccessPolicy{ID: uuid(), Name: req.Name, Decision: req.Decision, Precedence: req.Precedence,
		Include: req.Include, Exclude: nz(req.Exclude), Require: nz(req.Require), SessionDuration: req.SessionDuration,
		CreatedAt: now, UpdatedAt: now}
}

func (s *Server) policyView(p *AccessPolicy, precedence int) map[string]any {
	b, _ := json.Marshal(p)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	delete(m, "app_id")
	if precedence > 0 {
		m["precedence"] = precedence
	}
	if p.Reusable {
		n := 0
		for _, a := range s.state.Access.Apps {
			for _, l := range a.PolicyLinks {
				if l.ID == p.ID {
					n++
				}
			}
		}
		m["app_count"] = n
	}
	return m
}

// appPolicies returns the app's policies in precedence order.
func (s *Server) appPolicies(a *AccessApp) []*AccessPolicy {
	links := append([]PolicyLink(nil), a.PolicyLinks...)
	sort.SliceStable(links, func(i, j int) bool { return links[i].Precedence < links[j].Precedence })
	var out []*AccessPolicy
	for _, l := range links {
		if p := s.state.Access.Policies[l.ID]; p != nil {
			out = append(out, p)
		}
	}
	return out
}

func (s *Server) appFromPath(w http.ResponseWriter, r *http.Request) *AccessApp {
	a := s.state.Access.Apps[r.PathValue("app_id")]
	if a == nil {
		accessNotFound(w)
	}
	return a
}

func (s *Server) linkPrecedence(a *AccessApp, id string) int {
	for _, l := range a.PolicyLinks {
		if l.ID == id {
			return l.Precedence
		}
	}
	return 0
}

func (s *Server) listAppPolicies(w http.ResponseWriter, r *http.Request) {
	a := s.appFromPath(w, r)
	if a == nil {
		return
	}
	out := []any{}
	for _, p := range s.appPolicies(a) {
		out = append(out, s.policyView(p, s.linkPrecedence(a, p.ID)))
	}
	okList(w, out, len(out))
}

func (s *Server) createAppPolicy(w http.ResponseWriter, r *http.Request) {
	a := s.appFromPath(w, r)
	if a == nil {
		return
	}
	var req policyRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	p := s.policyFrom(w, req)
	if p == nil {
		return
	}
	p.AppID = a.ID
	if p.Precedence == 0 {
		p.Precedence = len(a.PolicyLinks) + 1
	}
	s.state.Access.Policies[p.ID] = p
	a.PolicyLinks = append(a.PolicyLinks, PolicyLink{ID: p.ID, Precedence: p.Precedence})
	ok(w, http.StatusCreated, s.policyView(p, p.Precedence))
}

func (s *Server) appPolicyFromPath(w http.ResponseWriter, r *http.Request) (*AccessApp, *AccessPolicy) {
	a := s.appFromPath(w, r)
	if a == nil {
		return nil, nil
	}
	id := r.PathValue("policy_id")
	p := s.state.Access.Policies[id]
	if p == nil || s.linkPrecedence(a, id) == 0 && p.AppID != a.ID {
		accessNotFound(w)
		return nil, nil
	}
	return a, p
}

func (s *Server) getAppPolicy(w http.ResponseWriter, r *http.Request) {
	if a, p := s.appPolicyFromPath(w, r); p != nil {
		ok(w, http.StatusOK, s.policyView(p, s.linkPrecedence(a, p.ID)))
	}
}

func (s *Server) updateAppPolicy(w http.ResponseWriter, r *http.Request) {
	a, p := s.appPolicyFromPath(w, r)
	if p == nil {
		return
	}
	if p.Reusable {
		accessInvalid(w, "reusable policies are updated through /access/policies")
		return
	}
	var req policyRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	np := s.policyFrom(w, req)
	if np == nil {
		return
	}
	np.ID, np.AppID, np.CreatedAt = p.ID, a.ID, p.CreatedAt
	if np.Precedence == 0 {
		np.Precedence = s.linkPrecedence(a, p.ID)
	}
	for i := range a.PolicyLinks {
		if a.PolicyLinks[i].ID == p.ID {
			a.PolicyLinks[i].Precedence = np.Precedence
		}
	}
	s.state.Access.Policies[p.ID] = np
	ok(w, http.StatusOK, s.policyView(np, np.Precedence))
}

func (s *Server) deleteAppPolicy(w http.ResponseWriter, r *http.Request) {
	a, p := s.appPolicyFromPath(w, r)
	if p == nil {
		return
	}
	s.unlinkPolicy(a, p.ID)
	if !p.Reusable {
		delete(s.state.Access.Policies, p.ID)
	}
	ok(w, http.StatusAccepted, map[string]any{"id": p.ID})
}

func (s *Server) unlinkPolicy(a *AccessApp, id string) {
	links := a.PolicyLinks[:0]
	for _, l := range a.PolicyLinks {
		if l.ID != id {
			links = append(links, l)
		}
	}
	a.PolicyLinks = links
}

func (s *Server) reusableFromPath(w http.ResponseWriter, r *http.Request) *AccessPolicy {
	p := s.state.Access.Policies[r.PathValue("policy_id")]
	if p == nil || !p.Reusable {
		accessNotFound(w)
		return nil
	}
	return p
}

func (s *Server) listReusablePolicies(w http.ResponseWriter, r *http.Request) {
	var ps []*AccessPolicy
	for _, p := range s.state.Access.Policies {
		if p.Reusable {
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool {
		return ps[i].CreatedAt.Before(ps[j].CreatedAt) || ps[i].CreatedAt.Equal(ps[j].CreatedAt) && ps[i].ID < ps[j].ID
	})
	out := []any{}
	for _, p := range ps {
		out = append(out, s.policyView(p, 0))
	}
	okList(w, out, len(out))
}

func (s *Server) createReusablePolicy(w http.ResponseWriter, r *http.Request) {
	var req policyRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	p := s.policyFrom(w, req)
	if p == nil {
		return
	}
	p.Reusable, p.Precedence = true, 0
	s.state.Access.Policies[p.ID] = p
	ok(w, http.StatusCreated, s.policyView(p, 0))
}

func (s *Server) getReusablePolicy(w http.ResponseWriter, r *http.Request) {
	if p := s.reusableFromPath(w, r); p != nil {
		ok(w, http.StatusOK, s.policyView(p, 0))
	}
}

func (s *Server) updateReusablePolicy(w http.ResponseWriter, r *http.Request) {
	p := s.reusableFromPath(w, r)
	if p == nil {
		return
	}
	var req policyRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	np := s.policyFrom(w, req)
	if np == nil {
		return
	}
	np.ID, np.Reusable, np.CreatedAt, np.Precedence = p.ID, true, p.CreatedAt, 0
	s.state.Access.Policies[p.ID] = np
	ok(w, http.StatusOK, s.policyView(np, 0))
}

func (s *Server) deleteReusablePolicy(w http.ResponseWriter, r *http.Request) {
	p := s.reusableFromPath(w, r)
	if p == nil {
		return
	}
	for _, a := range s.state.Access.Apps {
		if s.linkPrecedence(a, p.ID) != 0 {
			fail(w, http.StatusBadRequest, 12130, "access.api.error.policy_in_use: the policy is used by application %s", a.ID)
			return
		}
	}
	delete(s.state.Access.Policies, p.ID)
	ok(w, http.StatusAccepted, map[string]any{"id": p.ID})
}

// ---- applications ----

type appCreateRequest struct {
	Name                   string              `json:"name"`
	Domain                 string              `json:"domain"`
	Type                   string              `json:"type"`
	SessionDuration        string              `json:"session_duration"`
	Destinations           []AccessDestination `json:"destinations"`
	AutoRedirectToIdentity bool                `json:"auto_redirect_to_identity"`
	AppLauncherVisible     *bool               `json:"app_launcher_visible"`
	ServiceAuth401Redirect bool                `json:"service_auth_401_redirect"`
	Policies               []json.RawMessage   `json:"policies"`
}

// linksFrom turns the app body's policies (ids, {id, precedence} links or
// inline policies) into links, creating inline ones for appID.
func (s *Server) linksFrom(w http.ResponseWriter, raw []json.RawMessage, appID string) ([]PolicyLink, bool) {
	var links []PolicyLink
	var created []*AccessPolicy
	for i, item := range raw {
		var id string
		if json.Unmarshal(item, &id) == nil {
			links = append(links, PolicyLink{ID: id, Precedence: i + 1})
			continue
		}
		var obj struct {
			ID         string `json:"id"`
			Precedence int    `json:"precedence"`
		}
		_ = json.Unmarshal(item, &obj)
		if obj.ID != "" {
			links = append(links, PolicyLink{ID: obj.ID, Precedence: max(obj.Precedence, i+1)})
			continue
		}
		var req policyRequest
		if err := json.Unmarshal(item, &req); err != nil {
			accessInvalid(w, "policies must be policy ids or policies")
			return nil, false
		}
		p := s.policyFrom(w, req)
		if p == nil {
			return nil, false
		}
		p.AppID = appID
		if p.Precedence == 0 {
			p.Precedence = i + 1
		}
		created = append(created, p)
		links = append(links, PolicyLink{ID: p.ID, Precedence: p.Precedence})
	}
	for _, l := range links {
		known := s.state.Access.Policies[l.ID]
		isNew := false
		for _, p := range created {
			isNew = isNew || p.ID == l.ID
		}
		if !isNew && (known == nil || !known.Reusable && known.AppID != appID) {
			accessInvalid(w, "policy "+l.ID+" does not exist")
			return nil, false
		}
	}
	for _, p := range created {
		s.state.Access.Policies[p.ID] = p
	}
	return links, true
}

func (s *Server) accessAppView(a *AccessApp) map[string]any {
	b, _ := json.Marshal(a)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	delete(m, "policy_links")
	pols := []any{}
	for _, p := range s.appPolicies(a) {
		pols = append(pols, s.policyView(p, s.linkPrecedence(a, p.ID)))
	}
	m["policies"] = pols
	if a.Domain != "" {
		m["self_hosted_domains"] = []string{a.Domain}
	}
	return m
}

func (s *Server) appFromRequest(w http.ResponseWriter, req appCreateRequest, a *AccessApp) bool {
	if req.Name == "" {
		accessInvalid(w, "name is required")
		return false
	}
	if req.Type == "" {
		req.Type = "self_hosted"
	}
	if req.Type == "self_hosted" && req.Domain == "" && len(req.Destinations) == 0 {
		accessInvalid(w, "domain is required for self_hosted applications")
		return false
	}
	if req.Domain == "" && len(req.Destinations) > 0 {
		req.Domain = req.Destinations[0].URI
	}
	if len(req.Destinations) == 0 && req.Domain != "" {
		req.Destinations = []AccessDestination{{Type: "public", URI: req.Domain}}
	}
	if req.SessionDuration == "" {
		req.SessionDuration = "24h"
	}
	if _, err := time.ParseDuration(req.SessionDuration); err != nil {
		accessInvalid(w, "session_duration must be a duration such as 24h")
		return false
	}
	if req.Policies != nil {
		links, good := s.linksFrom(w, req.Policies, a.ID)
		if !good {
			return false
		}
		for _, l := range a.PolicyLinks {
			if p := s.state.Access.Policies[l.ID]; p != nil && !p.Reusable && !containsLink(links, l.ID) {
				delete(s.state.Access.Policies, l.ID)
			}
		}
		a.PolicyLinks = links
	}
	a.Name, a.Type, a.Domain, a.Destinations, a.SessionDuration = req.Name, req.Type, req.Domain, req.Destinations, req.SessionDuration
	a.AutoRedirectToIdentity, a.ServiceAuth401Redirect = req.AutoRedirectToIdentity, req.ServiceAuth401Redirect
	a.AppLauncherVisible = req.AppLauncherVisible == nil || *req.AppLauncherVisible
	a.UpdatedAt = s.opts.Now().UTC()
	return true
}

func containsLink(links []PolicyLink, id string) bool {
	for _, l := range links {
		if l.ID == id {
			return true
		}
	}
	return false
}

func (s *Server) listAccessApps(w http.ResponseWriter, r *http.Request) {
	apps := make([]*AccessApp, 0, len(s.state.Access.Apps))
	for _, a := range s.state.Access.Apps {
		apps = append(apps, a)
	}
	sort.Slice(apps, func(i, j int) bool {
		return apps[i].CreatedAt.Before(apps[j].CreatedAt) || apps[i].CreatedAt.Equal(apps[j].CreatedAt) && apps[i].ID < apps[j].ID
	})
	q := r.URL.Query()
	out := []any{}
	for _, a := range apps {
		if (q.Get("name") != "" && a.Name != q.Get("name")) || (q.Get("domain") != "" && a.Domain != q.Get("domain")) || (q.Get("aud") != "" && a.AUD != q.Get("aud")) {
			continue
		}
		out = append(out, s.accessAppView(a))
	}
	okAccessPage(w, r, out)
}

// Access lists come in pages (cloudflare-go v6 and terraform-provider-
// cloudflare page through them). The default page size, 25, and the
// maximum, 100, are guesses: nobody outside Cloudflare documents them, and
// moltctl asks for 50 a page and reads every page.
const (
	accessDefaultPerPage = 25
	accessMaxPerPage     = 100
)

// okAccessPage answers one page of items, as ?page= and ?per_page= ask.
func okAccessPage(w http.ResponseWriter, r *http.Request, items []any) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	perPage, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	page = max(page, 1)
	if perPage <= 0 {
		perPage = accessDefaultPerPage
	}
	perPage = min(perPage, accessMaxPerPage)
	from := min((page-1)*perPage, len(items))
	to := min(from+perPage, len(items))
	writeJSON(w, http.StatusOK, envelope{Success: true, Errors: []apiError{}, Messages: []any{}, Result: items[from:to],
		ResultInfo: &resultInfo{Page: page, PerPage: perPage, Count: to - from, TotalCount: len(items)}})
}

func (s *Server) createAccessApp(w http.ResponseWriter, r *http.Request) {
	if s.state.Access.Organization == nil {
		fail(w, http.StatusBadRequest, 11003, "access.api.error.auth_domain_not_available")
		return
	}
	var req appCreateRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	now := s.opts.Now().UTC()
	a := &AccessApp{ID: uuid(), AUD: newID() + newID(), CreatedAt: now}
	if !s.appFromRequest(w, req, a) {
		return
	}
	s.state.Access.Apps[a.ID] = a
	ok(w, http.StatusCreated, s.accessAppView(a))
}

func (s *Server) getAccessApp(w http.ResponseWriter, r *http.Request) {
	if a := s.appFromPath(w, r); a != nil {
		ok(w, http.StatusOK, s.accessAppView(a))
	}
}

func (s *Server) updateAccessApp(w http.ResponseWriter, r *http.Request) {
	a := s.appFromPath(w, r)
	if a == nil {
		return
	}
	var req appCreateRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if !s.appFromRequest(w, req, a) {
		return
	}
	ok(w, http.StatusOK, s.accessAppView(a))
}

func (s *Server) deleteAccessApp(w http.ResponseWriter, r *http.Request) {
	a := s.appFromPath(w, r)
	if a == nil {
		return
	}
	for _, p := range s.state.Access.Policies {
		if p.AppID == a.ID {
			delete(s.state.Access.Policies, p.ID)
		}
	}
	delete(s.state.Access.Apps, a.ID)
	ok(w, http.StatusAccepted, map[string]any{"id": a.ID})
}

// ---- service tokens ----

func (s *Server) tokenView(t *ServiceToken) map[string]any {
	m := map[string]any{"id": t.ID, "name": t.Name, "client_id": t.ClientID, "duration": t.Duration,
		"created_at": t.CreatedAt, "updated_at": t.UpdatedAt}
	if t.ExpiresAt != nil {
		m["expires_at"] = *t.ExpiresAt
	}
	return m
}

func (s *Server) listServiceTokens(w http.ResponseWriter, r *http.Request) {
	ts := make([]*ServiceToken, 0, len(s.state.Access.ServiceTokens))
	for _, t := range s.state.Access.ServiceTokens {
		if q := r.URL.Query().Get("name"); q == "" || q == t.Name {
			ts = append(ts, t)
		}
	}
	sort.Slice(ts, func(i, j int) bool {
		return ts[i].CreatedAt.Before(ts[j].CreatedAt) || ts[i].CreatedAt.Equal(ts[j].CreatedAt) && ts[i].ID < ts[j].ID
	})
	out := []any{}
	for _, t := range ts {
		out = append(out, s.tokenView(t))
	}
	okAccessPage(w, r, out)
}

// serviceTokenExpiry parses a duration ("8760h", or "forever").
func serviceTokenExpiry(now time.Time, d string) (*time.Time, bool) {
	if d == "forever" {
		return nil, true
	}
	dur, err := time.ParseDuration(d)
	if err != nil || dur <= 0 {
		return nil, false
	}
	t := now.Add(dur)
	return &t, true
}

func (s *Server) createServiceToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name     string `json:"name"`
		Duration string `json:"duration"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.Name == "" {
		accessInvalid(w, "name is required")
		return
	}
	if req.Duration == "" {
		req.Duration = "8760h"
	}
	now := s.opts.Now().UTC()
	exp, good := serviceTokenExpiry(now, req.Duration)
	if !good {
		accessInvalid(w, "duration must be a duration such as 8760h, or forever")
		return
	}
	secret := newID() + newID()
	t := &ServiceToken{ID: uuid(), Name: req.Name, ClientID: newID() + ".access", ClientSecretSHA256: fullHash(secret),
		Duration: req.Duration, ExpiresAt: exp, CreatedAt: now, UpdatedAt: now}
	s.state.Access.ServiceTokens[t.ID] = t
	out := s.tokenView(t)
	delete(out, "expires_at")
	out["client_secret"] = secret
	ok(w, http.StatusCreated, out)
}

func (s *Server) serviceTokenFromPath(w http.ResponseWriter, r *http.Request) *ServiceToken {
	t := s.state.Access.ServiceTokens[r.PathValue("token_id")]
	if t == nil {
		accessNotFound(w)
	}
	return t
}

func (s *Server) getServiceToken(w http.ResponseWriter, r *http.Request) {
	if t := s.serviceTokenFromPath(w, r); t != nil {
		ok(w, http.StatusOK, s.tokenView(t))
	}
}

func (s *Server) updateServiceToken(w http.ResponseWriter, r *http.Request) {
	t := s.serviceTokenFromPath(w, r)
	if t == nil {
		return
	}
	var req struct {
		Name     *string `json:"name"`
		Duration *string `json:"duration"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.Name != nil && *req.Name != "" {
		t.Name = *req.Name
	}
	if req.Duration != nil {
		exp, good := serviceTokenExpiry(t.CreatedAt, *req.Duration)
		if !good {
			accessInvalid(w, "duration must be a duration such as 8760h, or forever")
			return
		}
		t.Duration, t.ExpiresAt = *req.Duration, exp
	}
	t.UpdatedAt = s.opts.Now().UTC()
	ok(w, http.StatusOK, s.tokenView(t))
}

func (s *Server) deleteServiceToken(w http.ResponseWriter, r *http.Request) {
	t := s.serviceTokenFromPath(w, r)
	if t == nil {
		return
	}
	delete(s.state.Access.ServiceTokens, t.ID)
	ok(w, http.StatusOK, s.tokenView(t))
}

// coveringApp returns the Access app whose domain or destinations cover
// host+path. The caller holds s.mu.
func (s *Server) coveringApp(host, path string) *AccessApp {
	h := strings.TrimSuffix(host, ".localhost")
	for _, a := range s.state.Access.Apps {
		uris := []string{a.Domain}
		for _, d := range a.Destinations {
			if d.Type == "" || d.Type == "public" {
				uris = append(uris, d.URI)
			}
		}
		for _, u := range uris {
			if u == "" {
				continue
			}
			dh, dp, _ := strings.Cut(u, "/")
			if dh != h && !(strings.HasPrefix(dh, "*.") && strings.HasSuffix(h, dh[1:])) {
				continue
			}
			dp = "/" + strings.TrimSuffix(dp, "*")
			if dp == "/" || strings.HasPrefix(path, dp) || path+"/" == dp {
				return a
			}
		}
	}
	return nil
}

// serviceTokenAllowed reports whether the app admits the service token
// through a non_identity policy. The caller holds s.mu.
func (s *Server) serviceTokenAllowed(a *AccessApp, t *ServiceToken) bool {
	for _, p := range s.appPolicies(a) {
		if p.Decision != "non_identity" {
			continue
		}
		for _, rule := range p.Include {
			if _, any := rule["any_valid_service_token"]; any {
				return true
			}
			if st, has := rule["service_token"].(map[string]any); has && st["token_id"] == t.ID {
				return true
			}
		}
	}
	return false
}

// emailAllowed reports whether an allow policy of the app admits email.
func (s *Server) emailAllowed(a *AccessApp, email string) bool {
	for _, p := range s.appPolicies(a) {
		if p.Decision != "allow" {
			continue
		}
		for _, rule := range p.Include {
			if _, has := rule["everyone"]; has {
				return true
			}
			if e, has := rule["email"].(map[string]any); has && strings.EqualFold(fmt.Sprint(e["email"]), email) {
				return true
			}
			if d, has := rule["email_domain"].(map[string]any); has && strings.HasSuffix(strings.ToLower(email), "@"+strings.ToLower(fmt.Sprint(d["domain"]))) {
				return true
			}
		}
	}
	return false
}
