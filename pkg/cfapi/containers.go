package cfapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// ContainersFix explains what a 401/403 from the Containers API or the
// registry means: the account's plan, Containers not enabled, or a token
// without the Containers permission.
const ContainersFix = "Cloudflare Containers need the Workers Paid plan with Containers enabled " +
	"(dash.cloudflare.com → Workers & Pages → Containers) and an API token with the account permission " +
	"\"Containers: Edit\" (Cloudflare Containers Write); run `moltctl doctor` to see which is missing"

// ContainersLimits are the account's per-deployment and total limits.
type ContainersLimits struct {
	VCPUPerDeployment      float64 `json:"vcpu_per_deployment"`
	MemoryMiBPerDeployment int64   `json:"memory_mib_per_deployment"`
	DiskMBPerDeployment    int64   `json:"disk_mb_per_deployment"`
	TotalVCPU              float64 `json:"total_vcpu"`
	TotalMemoryMiB         int64   `json:"total_memory_mib"`
	TotalDiskMB            int64   `json:"total_disk_mb"`
}

// ContainersAccount is GET /accounts/{id}/containers/me.
type ContainersAccount struct {
	// ExternalAccountID is the account segment of registry image names.
	ExternalAccountID string           `json:"external_account_id"`
	LegacyIdentity    string           `json:"legacy_identity"`
	Limits            ContainersLimits `json:"limits"`
}

// ContainersMe returns the account's Containers profile. A 401/403 means
// Containers cannot be used (see ContainersUnavailable and ContainersFix).
func (c *Client) ContainersMe(ctx context.Context) (*ContainersAccount, error) {
	var out ContainersAccount
	if err := c.Do(ctx, Request{Method: http.MethodGet, Path: c.AccountPath("containers/me")}, &out); err != nil {
		return nil, fmt.Errorf("read Containers account: %w", err)
	}
	return &out, nil
}

// RegistryCredentials is a short-lived registry login. Password is a
// secret: String and GoString never show it.
type RegistryCredentials struct {
	AccountID    string `json:"account_id"`
	RegistryHost string `json:"registry_host"`
	Username     string `json:"username"`
	Password     string `json:"password"`
}

// String describes the credentials without the password.
func (r RegistryCredentials) String() string {
	return fmt.Sprintf("registry credentials for %s (user %s, password redacted)", r.RegistryHost, r.Username)
}

// GoString is String, so %#v does not print the password either.
func (r RegistryCredentials) GoString() string { return r.String() }

// Registry permissions for RegistryCredentials.
var (
	RegistryPush = []string{"push", "pull"}
	RegistryPull = []string{"pull"}
)

// RegistryCredentials asks for credentials for the registry host (e.g.
// registry.cloudflare.com) with the given permissions ("push", "pull"),
// valid for minutes (wrangler uses 15 to push).
func (c *Client) RegistryCredentials(ctx context.Context, host string, perms []string, minutes int) (*RegistryCredentials, error) {
	if minutes <= 0 {
		minutes = 15
	}
	if len(perms) == 0 {
		perms = RegistryPush
	}
	body := map[string]any{"expiration_minutes": minutes, "permissions": perms}
	var out RegistryCredentials
	err := c.Do(ctx, Request{Method: http.MethodPost,
		Path: c.AccountPath("containers/registries/%s/credentials", url.PathEscape(host)),
		JSON: body, Idempotent: true}, &out)
	if err != nil {
		return nil, fmt.Errorf("get credentials for registry %s: %w", host, err)
	}
	if out.Username == "" {
		out.Username = "v1"
	}
	return &out, nil
}

// ContainersUnavailable reports whether err is the API's refusal to use
// Containers on this account with this token (401 or 403).
func ContainersUnavailable(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	return ae.StatusCode == http.StatusUnauthorized || ae.StatusCode == http.StatusForbidden
}
