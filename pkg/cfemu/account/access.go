package account

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// takenTeamNames are team names the emulator treats as owned by someone else.
var takenTeamNames = map[string]bool{"cloudflare": true, "example": true, "test": true, "team": true}

// accessNotFound is Access's answer for a missing object.
func accessNotFound() *Error {
	return errorf(http.StatusNotFound, 12130, "access.api.error.not_found")
}

func accessInvalid(msg string) *Error {
	return errorf(http.StatusBadRequest, 12130, "access.api.error.invalid_request: %s", msg)
}

// fill makes the Access maps non-nil.
func (a *AccessState) fill() {
	if a.Apps == nil {
		a.Apps = map[string]*AccessApp{}
	}
	if a.Policies == nil {
		a.Policies = map[string]*AccessPolicy{}
	}
	if a.ServiceTokens == nil {
		a.ServiceTokens = map[string]*ServiceToken{}
	}
}

// ---- organization ----

// Org is the Zero Trust organization, or 404 when there is none.
func (a *AccessState) Org() (*AccessOrganization, error) {
	if a.Organization == nil {
		return nil, accessNotFound()
	}
	return a.Organization, nil
}

// OrgRequest creates or changes the organization; nil fields are unchanged.
type OrgRequest struct {
	Name                   *string `json:"name"`
	AuthDomain             *string `json:"auth_domain"`
	AutoRedirectToIdentity *bool   `json:"auto_redirect_to_identity"`
	SessionDuration        *string `json:"session_duration"`
}

// validAuthDomain checks "<team>.cloudflareaccess.com" and that the team
// name is free.
func validAuthDomain(d string) error {
	team, found := strings.CutSuffix(d, ".cloudflareaccess.com")
	if !found || team == "" || strings.Contains(team, ".") {
		return accessInvalid("auth_domain must be <team-name>.cloudflareaccess.com")
	}
	if takenTeamNames[team] {
		return errorf(http.StatusBadRequest, 11003, "access.api.error.auth_domain_not_available")
	}
	return nil
}

// CreateOrg creates the organization (409 11002 when there is one).
func (a *AccessState) CreateOrg(now time.Time, req OrgRequest) (*AccessOrganization, error) {
	if req.Name == nil || *req.Name == "" || req.AuthDomain == nil || *req.AuthDomain == "" {
		return nil, accessInvalid("name and auth_domain are required")
	}
	if a.Organization != nil {
		return nil, errorf(http.StatusConflict, 11002, "access.api.error.organization_already_exists")
	}
	if err := validAuthDomain(*req.AuthDomain); err != nil {
		return nil, err
	}
	now = now.UTC()
	org := &AccessOrganization{Name: *req.Name, AuthDomain: *req.AuthDomain, SessionDuration: "24h", CreatedAt: now, UpdatedAt: now}
	if req.AutoRedirectToIdentity != nil {
		org.AutoRedirectToIdentity = *req.AutoRedirectToIdentity
	}
	if req.SessionDuration != nil {
		org.SessionDuration = *req.SessionDuration
	}
	a.Organization = org
	return org, nil
}

// UpdateOrg changes the organization.
func (a *AccessState) UpdateOrg(now time.Time, req OrgRequest) (*AccessOrganization, error) {
	org, err := a.Org()
	if err != nil {
		return nil, err
	}
	if req.AuthDomain != nil && *req.AuthDomain != org.AuthDomain {
		if err := validAuthDomain(*req.AuthDomain); err != nil {
			return nil, err
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
	org.UpdatedAt = now.UTC()
	return org, nil
}

// ---- policies ----

var ruleKinds = map[string]string{
	"email": "email", "email_domain": "domain", "service_token": "token_id",
	"any_valid_service_token": "", "everyone": "", "group": "id", "ip": "ip", "email_list": "id",
	"login_method": "id", "geo": "country_code", "certificate": "", "common_name": "common_name",
}

var decisions = map[string]bool{"allow": true, "deny": true, "non_identity": true, "bypass": true}

// PolicyRequest is an Access policy as the API takes it.
type PolicyRequest struct {
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

// newPolicy validates a policy body; the policy is not stored.
func (a *AccessState) newPolicy(now time.Time, req PolicyRequest) (*AccessPolicy, error) {
	a.fill()
	switch {
	case req.Name == "":
		return nil, accessInvalid("name is required")
	case !decisions[req.Decision]:
		return nil, accessInvalid("decision must be one of allow, deny, non_identity, bypass")
	case len(req.Include) == 0:
		return nil, accessInvalid("include must have at least one rule")
	}
	for _, rules := range [][]map[string]any{req.Include, req.Exclude, req.Require} {
		if msg := validRules(rules); msg != "" {
			return nil, accessInvalid(msg)
		}
	}
	for _, rule := range req.Include {
		if st, has := rule["service_token"].(map[string]any); has {
			if id, _ := st["token_id"].(string); a.ServiceTokens[id] == nil {
				return nil, accessInvalid("service token " + id + " does not exist")
			}
		}
	}
	now = now.UTC()
	nz := func(r []map[string]any) []map[string]any {
		if r == nil {
			return []map[string]any{}
		}
		return r
	}
	return &AccessPolicy{ID: NewUUID(), Name: req.Name, Decision: req.Decision, Precedence: req.Precedence,
		Include: req.Include, Exclude: nz(req.Exclude), Require: nz(req.Require), SessionDuration: req.SessionDuration,
		CreatedAt: now, UpdatedAt: now}, nil
}

// AppPolicies returns the app's policies in precedence order.
func (a *AccessState) AppPolicies(app *AccessApp) []*AccessPolicy {
	links := append([]PolicyLink(nil), app.PolicyLinks...)
	sort.SliceStable(links, func(i, j int) bool { return links[i].Precedence < links[j].Precedence })
	var out []*AccessPolicy
	for _, l := range links {
		if p := a.Policies[l.ID]; p != nil {
			out = append(out, p)
		}
	}
	return out
}

// LinkPrecedence is the precedence of policy id in app, 0 when not linked.
func LinkPrecedence(app *AccessApp, id string) int {
	for _, l := range app.PolicyLinks {
		if l.ID == id {
			return l.Precedence
		}
	}
	return 0
}

// PolicyUses counts the applications that link policy id.
func (a *AccessState) PolicyUses(id string) int {
	n := 0
	for _, app := range a.Apps {
		for _, l := range app.PolicyLinks {
			if l.ID == id {
				n++
			}
		}
	}
	return n
}

// App is the application id, or 404.
func (a *AccessState) App(id string) (*AccessApp, error) {
	a.fill()
	app := a.Apps[id]
	if app == nil {
		return nil, accessNotFound()
	}
	return app, nil
}

// CreateAppPolicy adds a policy of app's own, last unless a precedence is given.
func (a *AccessState) CreateAppPolicy(now time.Time, app *AccessApp, req PolicyRequest) (*AccessPolicy, error) {
	p, err := a.newPolicy(now, req)
	if err != nil {
		return nil, err
	}
	p.AppID = app.ID
	if p.Precedence == 0 {
		p.Precedence = len(app.PolicyLinks) + 1
	}
	a.Policies[p.ID] = p
	app.PolicyLinks = append(app.PolicyLinks, PolicyLink{ID: p.ID, Precedence: p.Precedence})
	return p, nil
}

// AppPolicy is policy id of app (its own or a linked reusable one), or 404.
func (a *AccessState) AppPolicy(app *AccessApp, id string) (*AccessPolicy, error) {
	p := a.Policies[id]
	if p == nil || LinkPrecedence(app, id) == 0 && p.AppID != app.ID {
		return nil, accessNotFound()
	}
	return p, nil
}

// AppPolicyEditable refuses a reusable policy, which is changed through
// /access/policies, not through an application.
func AppPolicyEditable(p *AccessPolicy) error {
	if p.Reusable {
		return accessInvalid("reusable policies are updated through /access/policies")
	}
	return nil
}

// UpdateAppPolicy replaces app's own policy p (a reusable one is refused).
func (a *AccessState) UpdateAppPolicy(now time.Time, app *AccessApp, p *AccessPolicy, req PolicyRequest) (*AccessPolicy, error) {
	if err := AppPolicyEditable(p); err != nil {
		return nil, err
	}
	np, err := a.newPolicy(now, req)
	if err != nil {
		return nil, err
	}
	np.ID, np.AppID, np.CreatedAt = p.ID, app.ID, p.CreatedAt
	if np.Precedence == 0 {
		np.Precedence = LinkPrecedence(app, p.ID)
	}
	for i := range app.PolicyLinks {
		if app.PolicyLinks[i].ID == p.ID {
			app.PolicyLinks[i].Precedence = np.Precedence
		}
	}
	a.Policies[p.ID] = np
	return np, nil
}

// DeleteAppPolicy unlinks p from app, deleting it unless it is reusable.
func (a *AccessState) DeleteAppPolicy(app *AccessApp, p *AccessPolicy) {
	links := app.PolicyLinks[:0]
	for _, l := range app.PolicyLinks {
		if l.ID != p.ID {
			links = append(links, l)
		}
	}
	app.PolicyLinks = links
	if !p.Reusable {
		delete(a.Policies, p.ID)
	}
}

// ReusablePolicy is the account-level policy id, or 404.
func (a *AccessState) ReusablePolicy(id string) (*AccessPolicy, error) {
	p := a.Policies[id]
	if p == nil || !p.Reusable {
		return nil, accessNotFound()
	}
	return p, nil
}

// ReusablePolicies are the account-level policies, oldest first.
func (a *AccessState) ReusablePolicies() []*AccessPolicy {
	var ps []*AccessPolicy
	for _, p := range a.Policies {
		if p.Reusable {
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool {
		return ps[i].CreatedAt.Before(ps[j].CreatedAt) || ps[i].CreatedAt.Equal(ps[j].CreatedAt) && ps[i].ID < ps[j].ID
	})
	return ps
}

// CreateReusablePolicy adds an account-level policy.
func (a *AccessState) CreateReusablePolicy(now time.Time, req PolicyRequest) (*AccessPolicy, error) {
	p, err := a.newPolicy(now, req)
	if err != nil {
		return nil, err
	}
	p.Reusable, p.Precedence = true, 0
	a.Policies[p.ID] = p
	return p, nil
}

// UpdateReusablePolicy replaces the account-level policy p.
func (a *AccessState) UpdateReusablePolicy(now time.Time, p *AccessPolicy, req PolicyRequest) (*AccessPolicy, error) {
	np, err := a.newPolicy(now, req)
	if err != nil {
		return nil, err
	}
	np.ID, np.Reusable, np.CreatedAt, np.Precedence = p.ID, true, p.CreatedAt, 0
	a.Policies[p.ID] = np
	return np, nil
}

// DeleteReusablePolicy deletes p unless an application uses it.
func (a *AccessState) DeleteReusablePolicy(p *AccessPolicy) error {
	for _, app := range a.Apps {
		if LinkPrecedence(app, p.ID) != 0 {
			return errorf(http.StatusBadRequest, 12130, "access.api.error.policy_in_use: the policy is used by application %s", app.ID)
		}
	}
	delete(a.Policies, p.ID)
	return nil
}

// ---- applications ----

// AppRequest is an Access application as the API takes it.
type AppRequest struct {
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
func (a *AccessState) linksFrom(now time.Time, raw []json.RawMessage, appID string) ([]PolicyLink, error) {
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
		var req PolicyRequest
		if err := json.Unmarshal(item, &req); err != nil {
			return nil, accessInvalid("policies must be policy ids or policies")
		}
		p, err := a.newPolicy(now, req)
		if err != nil {
			return nil, err
		}
		p.AppID = appID
		if p.Precedence == 0 {
			p.Precedence = i + 1
		}
		created = append(created, p)
		links = append(links, PolicyLink{ID: p.ID, Precedence: p.Precedence})
	}
	for _, l := range links {
		known := a.Policies[l.ID]
		isNew := false
		for _, p := range created {
			isNew = isNew || p.ID == l.ID
		}
		if !isNew && (known == nil || !known.Reusable && known.AppID != appID) {
			return nil, accessInvalid("policy " + l.ID + " does not exist")
		}
	}
	for _, p := range created {
		a.Policies[p.ID] = p
	}
	return links, nil
}

// applyApp validates req and applies it to app.
func (a *AccessState) applyApp(now time.Time, req AppRequest, app *AccessApp) error {
	if req.Name == "" {
		return accessInvalid("name is required")
	}
	if req.Type == "" {
		req.Type = "self_hosted"
	}
	if req.Type == "self_hosted" && req.Domain == "" && len(req.Destinations) == 0 {
		return accessInvalid("domain is required for self_hosted applications")
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
		return accessInvalid("session_duration must be a duration such as 24h")
	}
	if req.Policies != nil {
		links, err := a.linksFrom(now, req.Policies, app.ID)
		if err != nil {
			return err
		}
		for _, l := range app.PolicyLinks {
			if p := a.Policies[l.ID]; p != nil && !p.Reusable && !containsLink(links, l.ID) {
				delete(a.Policies, l.ID)
			}
		}
		app.PolicyLinks = links
	}
	app.Name, app.Type, app.Domain, app.Destinations, app.SessionDuration = req.Name, req.Type, req.Domain, req.Destinations, req.SessionDuration
	app.AutoRedirectToIdentity, app.ServiceAuth401Redirect = req.AutoRedirectToIdentity, req.ServiceAuth401Redirect
	app.AppLauncherVisible = req.AppLauncherVisible == nil || *req.AppLauncherVisible
	app.UpdatedAt = now.UTC()
	return nil
}

func containsLink(links []PolicyLink, id string) bool {
	for _, l := range links {
		if l.ID == id {
			return true
		}
	}
	return false
}

// AppsAllowed refuses applications while the account has no organization.
func (a *AccessState) AppsAllowed() error {
	if a.Organization == nil {
		return errorf(http.StatusBadRequest, 11003, "access.api.error.auth_domain_not_available")
	}
	return nil
}

// CreateApp creates an application; the account needs an organization.
func (a *AccessState) CreateApp(now time.Time, req AppRequest) (*AccessApp, error) {
	if err := a.AppsAllowed(); err != nil {
		return nil, err
	}
	a.fill()
	app := &AccessApp{ID: NewUUID(), AUD: NewID() + NewID(), CreatedAt: now.UTC()}
	if err := a.applyApp(now, req, app); err != nil {
		return nil, err
	}
	a.Apps[app.ID] = app
	return app, nil
}

// UpdateApp replaces app's settings (and its policies when req lists them).
func (a *AccessState) UpdateApp(now time.Time, app *AccessApp, req AppRequest) error {
	return a.applyApp(now, req, app)
}

// DeleteApp deletes app with its own policies.
func (a *AccessState) DeleteApp(app *AccessApp) {
	for _, p := range a.Policies {
		if p.AppID == app.ID {
			delete(a.Policies, p.ID)
		}
	}
	delete(a.Apps, app.ID)
}

// SortedApps are the applications, oldest first.
func (a *AccessState) SortedApps() []*AccessApp {
	apps := make([]*AccessApp, 0, len(a.Apps))
	for _, app := range a.Apps {
		apps = append(apps, app)
	}
	sort.Slice(apps, func(i, j int) bool {
		return apps[i].CreatedAt.Before(apps[j].CreatedAt) || apps[i].CreatedAt.Equal(apps[j].CreatedAt) && apps[i].ID < apps[j].ID
	})
	return apps
}

// ---- service tokens ----

// serviceTokenExpiry parses a duration ("8760h", or "forever").
func serviceTokenExpiry(now time.Time, d string) (*time.Time, error) {
	if d == "forever" {
		return nil, nil
	}
	dur, err := time.ParseDuration(d)
	if err != nil || dur <= 0 {
		return nil, accessInvalid("duration must be a duration such as 8760h, or forever")
	}
	t := now.Add(dur)
	return &t, nil
}

// CreateServiceToken creates a service token (valid a year unless duration
// says otherwise) and returns it with its client secret, which is kept
// only as a hash.
func (a *AccessState) CreateServiceToken(now time.Time, name, duration string) (*ServiceToken, string, error) {
	if name == "" {
		return nil, "", accessInvalid("name is required")
	}
	if duration == "" {
		duration = "8760h"
	}
	now = now.UTC()
	exp, err := serviceTokenExpiry(now, duration)
	if err != nil {
		return nil, "", err
	}
	a.fill()
	secret := NewID() + NewID()
	t := &ServiceToken{ID: NewUUID(), Name: name, ClientID: NewID() + ".access", ClientSecretSHA256: FullHash(secret),
		Duration: duration, ExpiresAt: exp, CreatedAt: now, UpdatedAt: now}
	a.ServiceTokens[t.ID] = t
	return t, secret, nil
}

// ServiceToken is service token id, or 404.
func (a *AccessState) ServiceToken(id string) (*ServiceToken, error) {
	t := a.ServiceTokens[id]
	if t == nil {
		return nil, accessNotFound()
	}
	return t, nil
}

// UpdateServiceToken renames t or changes its duration (from its creation).
func (a *AccessState) UpdateServiceToken(now time.Time, t *ServiceToken, name, duration *string) error {
	if name != nil && *name != "" {
		t.Name = *name
	}
	if duration != nil {
		exp, err := serviceTokenExpiry(t.CreatedAt, *duration)
		if err != nil {
			return err
		}
		t.Duration, t.ExpiresAt = *duration, exp
	}
	t.UpdatedAt = now.UTC()
	return nil
}

// SortedServiceTokens are the service tokens named name ("" = all), oldest first.
func (a *AccessState) SortedServiceTokens(name string) []*ServiceToken {
	ts := make([]*ServiceToken, 0, len(a.ServiceTokens))
	for _, t := range a.ServiceTokens {
		if name == "" || name == t.Name {
			ts = append(ts, t)
		}
	}
	sort.Slice(ts, func(i, j int) bool {
		return ts[i].CreatedAt.Before(ts[j].CreatedAt) || ts[i].CreatedAt.Equal(ts[j].CreatedAt) && ts[i].ID < ts[j].ID
	})
	return ts
}

// ---- what the Access edge asks ----

// CoveringApp returns the application whose domain or public destinations
// cover host (a workers.dev name, ".localhost" ignored) and path, or nil.
func (a *AccessState) CoveringApp(host, path string) *AccessApp {
	h := strings.TrimSuffix(host, ".localhost")
	for _, app := range a.Apps {
		uris := []string{app.Domain}
		for _, d := range app.Destinations {
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
				return app
			}
		}
	}
	return nil
}

// OnlyServiceAuth reports whether every policy of app is non_identity.
func (a *AccessState) OnlyServiceAuth(app *AccessApp) bool {
	only := true
	for _, p := range a.AppPolicies(app) {
		only = only && p.Decision == "non_identity"
	}
	return only
}

// ServiceTokenAdmitted reports whether a live service token with these
// credentials exists and a non_identity policy of app admits it (by id or
// any_valid_service_token).
func (a *AccessState) ServiceTokenAdmitted(app *AccessApp, clientID, clientSecret string, now time.Time) bool {
	for _, t := range a.ServiceTokens {
		if t.ClientID == clientID && t.ClientSecretSHA256 == FullHash(clientSecret) && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt)) && a.admitsServiceToken(app, t) {
			return true
		}
	}
	return false
}

func (a *AccessState) admitsServiceToken(app *AccessApp, t *ServiceToken) bool {
	for _, p := range a.AppPolicies(app) {
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

// EmailAdmitted reports whether an allow policy of app admits email (by
// everyone, the address, or its domain).
func (a *AccessState) EmailAdmitted(app *AccessApp, email string) bool {
	for _, p := range a.AppPolicies(app) {
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
