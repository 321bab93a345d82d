package preflight

import (
	"encoding/json"
	"net/url"
	"strings"
)

// Permission is one API token permission deploy needs.
type Permission struct {
	// Name is the API's spelling ("Workers Scripts Write").
	Name string
	// Key and Type are the dashboard token template's permissionGroupKeys entry.
	Key, Type string
	// Why says what deploy uses it for.
	Why string
	// Unconfirmed marks a name no Cloudflare source confirms: a token
	// whose list lacks it is reported unverified, not blocked.
	Unconfirmed bool
}

// Dashboard returns the permission as the dashboard shows it: "Write" is "Edit".
func (p Permission) Dashboard() string {
	if n, ok := strings.CutSuffix(p.Name, " Write"); ok {
		return n + " Edit"
	}
	return p.Name
}

// RequiredPermissions are what `moltctl deploy` needs from the API token.
var RequiredPermissions = []Permission{
	{Name: "Workers Scripts Write", Key: "workers_scripts", Type: "edit", Why: "upload the Worker, its secrets and workers.dev route"},
	{Name: "Cloudflare Containers Write", Key: "containers", Type: "edit", Why: "push the image and create the container application", Unconfirmed: true},
	{Name: "Workers R2 Storage Write", Key: "workers_r2", Type: "edit", Why: "create the bucket the assistant persists to"},
	{Name: "Access: Apps and Policies Write", Key: "access", Type: "edit", Why: "protect the Worker with an Access application"},
	{Name: "Access: Service Tokens Write", Key: "access_service_tokens", Type: "edit", Why: "create moltctl's service token for status and devices"},
	{Name: "Access: Organizations, Identity Providers, and Groups Read", Key: "access_organizations", Type: "read", Why: "read the team domain (CF_ACCESS_TEAM_DOMAIN)"},
	// POST /accounts/{id}/tokens needs the account permission; "API Tokens
	// Write" is the user permission for /user/tokens (terraform-provider-
	// cloudflare docs/resources/account_token.md and api_token.md).
	{Name: "Account API Tokens Write", Key: "account_api_tokens", Type: "edit", Why: "create the bucket-scoped R2 token for the container"},
	{Name: "Account Settings Read", Key: "account_settings", Type: "read", Why: "resolve the account"},
}

// OptionalPermissions help doctor but are not needed by deploy.
var OptionalPermissions = []Permission{
	{Name: "Access: Organizations, Identity Providers, and Groups Write", Key: "access_organizations", Type: "edit", Why: "let doctor --fix create the Zero Trust organization"},
	{Name: "Billing Read", Key: "billing", Type: "read", Why: "tell whether the account is on Workers Paid"},
}

// Grants reports whether a token holding names grants permission p: a
// Write grant covers the matching Read.
func Grants(names []string, p string) bool {
	for _, n := range names {
		if n == p {
			return true
		}
		if r, ok := strings.CutSuffix(p, " Read"); ok && n == r+" Write" {
			return true
		}
	}
	return false
}

// TokenTemplateURL is the dashboard's token form pre-filled with perms
// (user token form: https://dash.cloudflare.com/profile/api-tokens with
// permissionGroupKeys, accountId, zoneId and name).
func TokenTemplateURL(perms []Permission, accountID string) string {
	type key struct {
		Key  string `json:"key"`
		Type string `json:"type"`
	}
	keys := make([]key, 0, len(perms))
	for _, p := range perms {
		keys = append(keys, key{p.Key, p.Type})
	}
	b, _ := json.Marshal(keys)
	if accountID == "" {
		accountID = "*"
	}
	q := url.Values{}
	q.Set("permissionGroupKeys", string(b))
	q.Set("accountId", accountID)
	q.Set("zoneId", "all")
	q.Set("name", "moltctl")
	return "https://dash.cloudflare.com/profile/api-tokens?" + q.Encode()
}

// DashLink returns a dashboard deep link for an account page, path being
// relative to the account ("workers/plans"): https://dash.cloudflare.com/?to=/:account/<path>.
// The dashboard replaces :account with the signed-in user's account (asking
// which one when there are several).
func (e *Env) DashLink(path string) string {
	base := e.Dashboard
	if base == "" {
		base = "https://dash.cloudflare.com"
	}
	return strings.TrimRight(base, "/") + "/?to=/:account/" + strings.TrimLeft(path, "/")
}
