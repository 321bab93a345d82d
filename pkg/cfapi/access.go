package cfapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AccessOrganization is the account's Zero Trust organization. AuthDomain
// ("<team>.cloudflareaccess.com") is what moltworker calls CF_ACCESS_TEAM_DOMAIN.
type AccessOrganization struct {
	Name       string `json:"name"`
	AuthDomain string `json:"auth_domain"`
}

// GetAccessOrganization reads the account's Zero Trust organization. An
// account without one answers 404 (NotFound is true).
func (c *Client) GetAccessOrganization(ctx context.Context) (*AccessOrganization, error) {
	var o AccessOrganization
	if err := c.Do(ctx, Request{Method: http.MethodGet, Path: c.AccountPath("access/organizations")}, &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// CreateAccessOrganization sets up the account's Zero Trust organization
// with team domain authDomain ("<team>.cloudflareaccess.com").
func (c *Client) CreateAccessOrganization(ctx context.Context, name, authDomain string) (*AccessOrganization, error) {
	var o AccessOrganization
	body := map[string]any{"name": name, "auth_domain": authDomain}
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: c.AccountPath("access/organizations"), JSON: body}, &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// AccessDestination is one hostname (optionally with a path) an Access
// application covers: {"type":"public","uri":"host/path"}.
type AccessDestination struct {
	Type string `json:"type"`
	URI  string `json:"uri,omitempty"`
}

// AccessApp is an Access application. AUD is the audience tag the Worker
// checks (CF_ACCESS_AUD).
type AccessApp struct {
	ID                     string              `json:"id,omitempty"`
	Name                   string              `json:"name"`
	Domain                 string              `json:"domain,omitempty"`
	Type                   string              `json:"type"`
	AUD                    string              `json:"aud,omitempty"`
	SessionDuration        string              `json:"session_duration,omitempty"`
	Destinations           []AccessDestination `json:"destinations,omitempty"`
	AutoRedirectToIdentity bool                `json:"auto_redirect_to_identity"`
	AppLauncherVisible     bool                `json:"app_launcher_visible"`
	// ServiceAuth401Redirect makes requests with a bad service token get a
	// 401 rather than a login redirect.
	ServiceAuth401Redirect bool `json:"service_auth_401_redirect,omitempty"`
}

// Hosts returns every hostname the application covers (domain and destinations, without paths).
func (a *AccessApp) Hosts() []string {
	var out []string
	add := func(u string) {
		if u == "" {
			return
		}
		if i := indexAny(u, "/"); i >= 0 {
			u = u[:i]
		}
		out = append(out, u)
	}
	add(a.Domain)
	for _, d := range a.Destinations {
		add(d.URI)
	}
	return out
}

func indexAny(s, chars string) int {
	for i := range s {
		for j := range chars {
			if s[i] == chars[j] {
				return i
			}
		}
	}
	return -1
}

// accessPageSize is the page size of Access lists. The API's maximum is
// documented nowhere, so a small page is asked for and every page read
// (cloudflare-go v6 pages through Access lists, as terraform-provider-
// cloudflare's zero_trust_access_application list data source shows).
const accessPageSize = 50

// listPages reads every page of an Access list at path into out.
func listPages[T any](ctx context.Context, c *Client, path string) ([]T, error) {
	var all []T
	for page := 1; page <= 1000; page++ {
		env, err := c.DoEnvelope(ctx, Request{Method: http.MethodGet, Path: path,
			Query: url.Values{"page": {strconv.Itoa(page)}, "per_page": {strconv.Itoa(accessPageSize)}}})
		if err != nil {
			return nil, err
		}
		var batch []T
		if err := unmarshalResult(env, &batch); err != nil {
			return nil, fmt.Errorf("GET %s: unexpected result: %w", path, err)
		}
		all = append(all, batch...)
		ri := env.ResultInfo
		if len(batch) == 0 || ri == nil || (ri.TotalCount > 0 && len(all) >= ri.TotalCount) || (ri.TotalCount == 0 && len(batch) < accessPageSize) {
			break
		}
	}
	return all, nil
}

// ListAccessApps lists the account's Access applications, every page.
func (c *Client) ListAccessApps(ctx context.Context) ([]AccessApp, error) {
	return listPages[AccessApp](ctx, c, c.AccountPath("access/apps"))
}

// CreateAccessApp creates an Access application and returns it with its id and AUD.
func (c *Client) CreateAccessApp(ctx context.Context, app AccessApp) (*AccessApp, error) {
	var out AccessApp
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: c.AccountPath("access/apps"), JSON: app}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateAccessApp replaces application id's settings (PUT).
func (c *Client) UpdateAccessApp(ctx context.Context, id string, app AccessApp) (*AccessApp, error) {
	var out AccessApp
	if err := c.Do(ctx, Request{Method: http.MethodPut, Path: c.AccountPath("access/apps/%s", url.PathEscape(id)), JSON: app}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AccessPolicy is an application's policy. Rules are Cloudflare's JSON
// objects: {"email":{"email":"me@x"}}, {"email_domain":{"domain":"x"}},
// {"service_token":{"token_id":"…"}}, {"everyone":{}}.
type AccessPolicy struct {
	ID         string           `json:"id,omitempty"`
	Name       string           `json:"name"`
	Decision   string           `json:"decision"` // allow, deny, non_identity, bypass
	Precedence int              `json:"precedence,omitempty"`
	Include    []map[string]any `json:"include"`
	Exclude    []map[string]any `json:"exclude,omitempty"`
	Require    []map[string]any `json:"require,omitempty"`
}

// ListAppPolicies lists application appID's policies.
func (c *Client) ListAppPolicies(ctx context.Context, appID string) ([]AccessPolicy, error) {
	var ps []AccessPolicy
	if err := c.Do(ctx, Request{Method: http.MethodGet, Path: c.AccountPath("access/apps/%s/policies", url.PathEscape(appID))}, &ps); err != nil {
		return nil, err
	}
	return ps, nil
}

// CreateAppPolicy adds policy p to application appID.
func (c *Client) CreateAppPolicy(ctx context.Context, appID string, p AccessPolicy) (*AccessPolicy, error) {
	var out AccessPolicy
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: c.AccountPath("access/apps/%s/policies", url.PathEscape(appID)), JSON: p}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ServiceToken is an Access service token. ClientSecret is set only in the
// answer to creating it: store it at once, 0600, and never print it.
type ServiceToken struct {
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	ClientID     string     `json:"client_id"`
	ClientSecret string     `json:"client_secret,omitempty"`
	Duration     string     `json:"duration,omitempty"`
	ExpiresAt    *time.Time `json:"expires_at,omitempty"`
}

// CreateServiceToken creates a service token valid for duration ("8760h"; "" = Cloudflare's default).
func (c *Client) CreateServiceToken(ctx context.Context, name, duration string) (*ServiceToken, error) {
	body := map[string]any{"name": name}
	if duration != "" {
		body["duration"] = duration
	}
	var out ServiceToken
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: c.AccountPath("access/service_tokens"), JSON: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListServiceTokens lists the account's service tokens (without secrets), every page.
func (c *Client) ListServiceTokens(ctx context.Context) ([]ServiceToken, error) {
	return listPages[ServiceToken](ctx, c, c.AccountPath("access/service_tokens"))
}
