package cfemu

import (
	"encoding/json"
	"net/http"
	"sort"
	"time"
)

// The token endpoints' permissions, as the API spells them: user tokens
// (/user/tokens) need the user permission "API Tokens …", account tokens
// (/accounts/{id}/tokens) the account permission "Account API Tokens …"
// (terraform-provider-cloudflare docs/resources/api_token.md and
// account_token.md). Reading a token, even the caller itself, needs Read.
const (
	permAPITokensWrite        = "API Tokens Write"
	permAPITokensRead         = "API Tokens Read"
	permAccountAPITokensWrite = "Account API Tokens Write"
	permAccountAPITokensRead  = "Account API Tokens Read"
)

// userScope marks the permission groups that only a user token can hold.
const userScope = "com.cloudflare.api.user"

// PermissionGroup is an API token permission group.
type PermissionGroup struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

// permissionGroupIDs pins the ids known from Cloudflare; the rest are stable
// ids derived from the name.
var permissionGroupIDs = map[string]string{
	"Workers R2 Storage Bucket Item Write": "2efd5506f9c8494dacb1fa10a3e7d5b6",
	"Workers R2 Storage Bucket Item Read":  "6a018a9f2fc74eb6b293b0c548f38b39",
	"Workers R2 Storage Write":             "bf7481a1826f439697cb59a20b22293e",
}

// PermissionGroupNames are the permission groups the emulator enforces.
var PermissionGroupNames = []string{
	"Workers Scripts Write", "Workers Scripts Read", "Workers R2 Storage Write", "Workers R2 Storage Read",
	"Workers R2 Storage Bucket Item Write", "Workers R2 Storage Bucket Item Read", "Cloudflare Containers Write",
	"Access: Apps and Policies Write", "Access: Service Tokens Write",
	"Access: Organizations, Identity Providers, and Groups Read", "Access: Organizations, Identity Providers, and Groups Write",
	permAPITokensWrite, permAPITokensRead, permAccountAPITokensWrite, permAccountAPITokensRead,
	"Account Settings Read", "Billing Read",
}

// PermissionGroups lists every group with its id and scope.
func PermissionGroups() []PermissionGroup {
	out := make([]PermissionGroup, 0, len(PermissionGroupNames))
	for _, n := range PermissionGroupNames {
		id := permissionGroupIDs[n]
		if id == "" {
			id = fullHash("permission group " + n)[:32]
		}
		scope := "com.cloudflare.api.account"
		switch n {
		case "Workers R2 Storage Bucket Item Write", "Workers R2 Storage Bucket Item Read":
			scope = "com.cloudflare.edge.r2.bucket"
		case permAPITokensWrite, permAPITokensRead:
			scope = userScope
		}
		out = append(out, PermissionGroup{ID: id, Name: n, Scopes: []string{scope}})
	}
	return out
}

func permissionGroupByID(id string) (PermissionGroup, bool) {
	for _, g := range PermissionGroups() {
		if g.ID == id {
			return g, true
		}
	}
	return PermissionGroup{}, false
}

type tokenPolicy struct {
	ID               string            `json:"id,omitempty"`
	Effect           string            `json:"effect"`
	PermissionGroups []PermissionGroup `json:"permission_groups"`
	Resources        map[string]any    `json:"resources"`
}

func (s *Server) registerTokens() {
	for _, base := range []string{"/user/tokens", "/accounts/{account_id}/tokens"} {
		owner, write, read := "user", permAPITokensWrite, permAPITokensRead
		if base != "/user/tokens" {
			owner, write, read = "account", permAccountAPITokensWrite, permAccountAPITokensRead
		}
		s.handle("GET", base+"/permission_groups", s.tokensGuard(read, s.listPermissionGroups))
		s.handle("POST", base, s.tokensGuard(write, s.createAPIToken(owner)))
		s.handle("GET", base, s.tokensGuard(read, s.listAPITokens(owner)))
		s.handle("GET", base+"/{token_id}", s.tokensGuard(read, s.getAPIToken(owner)))
		s.handle("DELETE", base+"/{token_id}", s.tokensGuard(write, s.deleteAPIToken(owner)))
	}
}

func (s *Server) tokensGuard(permission string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.authorize(w, r, permission); !ok {
			return
		}
		if !s.checkAccount(w, r) {
			return
		}
		h(w, r)
	}
}

func (s *Server) listPermissionGroups(w http.ResponseWriter, r *http.Request) {
	name, scope := r.URL.Query().Get("name"), r.URL.Query().Get("scope")
	out := []PermissionGroup{}
	for _, g := range PermissionGroups() {
		if (name == "" || g.Name == name) && (scope == "" || g.Scopes[0] == scope) {
			out = append(out, g)
		}
	}
	okList(w, out, len(out))
}

// tokenPolicies returns the token's policies with named permission groups.
func tokenPolicies(t *Token) []tokenPolicy {
	var pols []tokenPolicy
	if len(t.Policies) > 0 && json.Unmarshal(t.Policies, &pols) == nil {
		return pols
	}
	names := t.Permissions
	if names == nil {
		names = PermissionGroupNames
	}
	var groups []PermissionGroup
	for _, g := range PermissionGroups() {
		if t.Owner == "account" && g.Scopes[0] == userScope {
			continue // an account token cannot hold a user permission
		}
		for _, n := range names {
			if g.Name == n {
				groups = append(groups, g)
			}
		}
	}
	return []tokenPolicy{{ID: fullHash(t.ID)[:32], Effect: "allow", PermissionGroups: groups, Resources: map[string]any{"com.cloudflare.api.account.*": "*"}}}
}

func tokenView(t *Token) map[string]any {
	m := map[string]any{"id": t.ID, "name": t.Name, "status": t.Status, "policies": tokenPolicies(t)}
	if t.ExpiresOn != nil {
		m["expires_on"] = t.ExpiresOn
	}
	return m
}

func (s *Server) createAPIToken(owner string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Name      string          `json:"name"`
			Policies  []tokenPolicy   `json:"policies"`
			ExpiresOn *time.Time      `json:"expires_on"`
			Condition json.RawMessage `json:"condition"`
		}
		if !decodeJSON(w, r, &req) {
			return
		}
		if req.Name == "" || len(req.Policies) == 0 {
			fail(w, http.StatusBadRequest, 400, "name and policies are required")
			return
		}
		var perms []string
		for i, p := range req.Policies {
			if p.Effect != "allow" && p.Effect != "deny" {
				fail(w, http.StatusBadRequest, 400, "policies[%d].effect must be allow or deny", i)
				return
			}
			if len(p.PermissionGroups) == 0 || len(p.Resources) == 0 {
				fail(w, http.StatusBadRequest, 400, "policies[%d] needs permission_groups and resources", i)
				return
			}
			for j, g := range p.PermissionGroups {
				known, found := permissionGroupByID(g.ID)
				if !found {
					fail(w, http.StatusBadRequest, 400, "policies[%d].permission_groups[%d]: unknown permission group %s", i, j, g.ID)
					return
				}
				req.Policies[i].PermissionGroups[j] = known
				if p.Effect == "allow" {
					perms = append(perms, known.Name)
				}
			}
			req.Policies[i].ID = newID()
		}
		pols, _ := json.Marshal(req.Policies)
		value := "cfemu_" + newID() + newID()[:8]
		t := &Token{ID: newID(), Name: req.Name, Status: "active", Owner: owner, ExpiresOn: req.ExpiresOn,
			Permissions: append([]string{}, perms...), Policies: pols}
		s.state.Tokens[value] = t
		out := tokenView(t)
		now := s.opts.Now().UTC()
		out["issued_on"], out["modified_on"], out["value"] = now, now, value
		if len(req.Condition) > 0 {
			out["condition"] = req.Condition
		}
		ok(w, http.StatusOK, out)
	}
}

func (s *Server) ownedTokens(owner string) []*Token {
	var out []*Token
	for _, t := range s.state.Tokens {
		if t.Owner == owner || owner == "user" && t.Owner == "" {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Name < out[j].Name || out[i].Name == out[j].Name && out[i].ID < out[j].ID
	})
	return out
}

func (s *Server) listAPITokens(owner string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		out := []any{}
		for _, t := range s.ownedTokens(owner) {
			out = append(out, tokenView(t))
		}
		okList(w, out, len(out))
	}
}

func (s *Server) tokenByID(owner, id string) (string, *Token) {
	for v, t := range s.state.Tokens {
		if t.ID == id && (t.Owner == owner || owner == "user" && t.Owner == "") {
			return v, t
		}
	}
	return "", nil
}

// getAPIToken reads one token; tokensGuard has checked the Read
// permission, which Cloudflare asks even of a token reading itself.
func (s *Server) getAPIToken(owner string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, t := s.tokenByID(owner, r.PathValue("token_id"))
		if t == nil {
			fail(w, http.StatusNotFound, 1003, "Invalid token id")
			return
		}
		ok(w, http.StatusOK, tokenView(t))
	}
}

func (s *Server) deleteAPIToken(owner string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, t := s.tokenByID(owner, r.PathValue("token_id"))
		if t == nil {
			fail(w, http.StatusNotFound, 1003, "Invalid token id")
			return
		}
		delete(s.state.Tokens, v)
		ok(w, http.StatusOK, map[string]any{"id": t.ID})
	}
}
