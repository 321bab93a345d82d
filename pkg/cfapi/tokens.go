package cfapi

import (
	"context"
	"net/http"
	"net/url"
)

// R2BucketItemWrite is the id of the "Workers R2 Storage Bucket Item Write"
// permission group, which a bucket-scoped R2 token needs. Prefer looking it
// up with ListPermissionGroups; this is the fallback.
const R2BucketItemWrite = "2efd5506f9c8494dacb1fa10a3e7d5b6"

// R2BucketResource is the token resource key for one R2 bucket in the
// default jurisdiction.
func R2BucketResource(accountID, bucket string) string {
	return "com.cloudflare.edge.r2.bucket." + accountID + "_default_" + bucket
}

// CreateAccountToken creates an account-owned API token (POST
// /accounts/{id}/tokens). The answer's Value is the secret: it is returned
// only once, and must never be printed.
func (c *Client) CreateAccountToken(ctx context.Context, name string, policies []TokenPolicy) (*Token, error) {
	body := map[string]any{"name": name, "policies": policies}
	var t Token
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: c.AccountPath("tokens"), JSON: body}, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// ListPermissionGroups lists the permission groups an account token can
// be given; name ("" = all) filters by exact name.
func (c *Client) ListPermissionGroups(ctx context.Context, name string) ([]PermissionGroup, error) {
	var q url.Values
	if name != "" {
		q = url.Values{"name": {name}}
	}
	var gs []PermissionGroup
	if err := c.Do(ctx, Request{Method: http.MethodGet, Path: c.AccountPath("tokens/permission_groups"), Query: q}, &gs); err != nil {
		return nil, err
	}
	if name == "" {
		return gs, nil
	}
	out := gs[:0]
	for _, g := range gs {
		if g.Name == name {
			out = append(out, g)
		}
	}
	return out, nil
}
