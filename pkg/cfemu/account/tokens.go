package account

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"time"
)

// The token endpoints' permissions, as the API spells them: user tokens
// (/user/tokens) need the user permission "API Tokens …", account tokens
// (/accounts/{id}/tokens) the account permission "Account API Tokens …"
// (terraform-provider-cloudflare docs/resources/api_token.md and
// account_token.md). Reading a token, even the caller itself, needs Read.
const (
	PermAPITokensWrite        = "API Tokens Write"
	PermAPITokensRead         = "API Tokens Read"
	PermAccountAPITokensWrite = "Account API Tokens Write"
	PermAccountAPITokensRead  = "Account API Tokens Read"
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
	PermAPITokensWrite, PermAPITokensRead, PermAccountAPITokensWrite, PermAccountAPITokensRead,
	"Account Settings Read", "Billing Read",
}

// PermissionGroups lists every group with its id and scope.
func PermissionGroups() []PermissionGroup {
	out := make([]PermissionGroup, 0, len(PermissionGroupNames))
	for _, n := range PermissionGroupNames {
		id := permissionGroupIDs[n]
		if id == "" {
			id = FullHash("permission group " + n)[:32]
		}
		scope := "com.cloudflare.api.account"
		switch n {
		case "Workers R2 Storage Bucket Item Write", "Workers R2 Storage Bucket Item Read":
			scope = "com.cloudflare.edge.r2.bucket"
		case PermAPITokensWrite, PermAPITokensRead:
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

// TokenPolicy is a policy of an API token.
type TokenPolicy struct {
	ID               string            `json:"id,omitempty"`
	Effect           string            `json:"effect"`
	PermissionGroups []PermissionGroup `json:"permission_groups"`
	Resources        map[string]any    `json:"resources"`
}

// TokenPolicies returns the token's policies with named permission groups.
func TokenPolicies(t *Token) []TokenPolicy {
	var pols []TokenPolicy
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
	return []TokenPolicy{{ID: FullHash(t.ID)[:32], Effect: "allow", PermissionGroups: groups, Resources: map[string]any{"com.cloudflare.api.account.*": "*"}}}
}

// Active reports whether t may be used at now.
func (t *Token) Active(now time.Time) bool {
	if t.Status != "active" {
		return false
	}
	return t.ExpiresOn == nil || now.Before(*t.ExpiresOn)
}

// Allows reports whether t grants permission ("" = any); a Write
// grant covers the matching Read, and nil Permissions grant everything.
func (t *Token) Allows(permission string) bool {
	if t.Permissions == nil || permission == "" {
		return true
	}
	for _, p := range t.Permissions {
		if p == permission || (strings.HasSuffix(permission, " Read") && p == strings.TrimSuffix(permission, " Read")+" Write") {
			return true
		}
	}
	return false
}

// NewToken is a token as POST /user/tokens and /accounts/{id}/tokens take it.
type NewToken struct {
	Name      string          `json:"name"`
	Policies  []TokenPolicy   `json:"policies"`
	ExpiresOn *time.Time      `json:"expires_on"`
	Condition json.RawMessage `json:"condition"`
}

// CreateToken creates an API token owned by owner ("user" or "account")
// and returns its value: the permissions it holds are the allow policies'
// groups, named from their ids.
func (st *State) CreateToken(owner string, req NewToken) (string, *Token, error) {
	if req.Name == "" || len(req.Policies) == 0 {
		return "", nil, errorf(http.StatusBadRequest, 400, "name and policies are required")
	}
	var perms []string
	for i, p := range req.Policies {
		if p.Effect != "allow" && p.Effect != "deny" {
			return "", nil, errorf(http.StatusBadRequest, 400, "policies[%d].effect must be allow or deny", i)
		}
		if len(p.PermissionGroups) == 0 || len(p.Resources) == 0 {
			return "", nil, errorf(http.StatusBadRequest, 400, "policies[%d] needs permission_groups and resources", i)
		}
		for j, g := range p.PermissionGroups {
			known, found := permissionGroupByID(g.ID)
			if !found {
				return "", nil, errorf(http.StatusBadRequest, 400, "policies[%d].permission_groups[%d]: unknown permission group %s", i, j, g.ID)
			}
			req.Policies[i].PermissionGroups[j] = known
			if p.Effect == "allow" {
				perms = append(perms, known.Name)
			}
		}
		req.Policies[i].ID = NewID()
	}
	pols, _ := json.Marshal(req.Policies)
	value := "cfemu_" + NewID() + NewID()[:8]
	t := &Token{ID: NewID(), Name: req.Name, Status: "active", Owner: owner, ExpiresOn: req.ExpiresOn,
		Permissions: append([]string{}, perms...), Policies: pols}
	st.Tokens[value] = t
	return value, t, nil
}

// OwnedTokens are the tokens of owner, by name then id.
func (st *State) OwnedTokens(owner string) []*Token {
	var out []*Token
	for _, t := range st.Tokens {
		if t.Owner == owner || owner == "user" && t.Owner == "" {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Name < out[j].Name || out[i].Name == out[j].Name && out[i].ID < out[j].ID
	})
	return out
}

// TokenByID is owner's token id and its value, or 404 1003.
func (st *State) TokenByID(owner, id string) (string, *Token, error) {
	for v, t := range st.Tokens {
		if t.ID == id && (t.Owner == owner || owner == "user" && t.Owner == "") {
			return v, t, nil
		}
	}
	return "", nil, errorf(http.StatusNotFound, 1003, "Invalid token id")
}

// DeleteToken deletes owner's token id.
func (st *State) DeleteToken(owner, id string) (*Token, error) {
	v, t, err := st.TokenByID(owner, id)
	if err != nil {
		return nil, err
	}
	delete(st.Tokens, v)
	return t, nil
}
