package cfapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
)

// SecretInfo is a Worker secret as the API lists it: a name, never a value.
type SecretInfo struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// MaxBulkSecrets is the most secrets one bulk request may change (as wrangler's secret bulk).
const MaxBulkSecrets = 100

type secretUpload struct {
	Name string `json:"name"`
	Text string `json:"text"`
	Type string `json:"type"`
}

func (c *Client) secretsPath(script string) string {
	return c.AccountPath("workers/scripts/%s/secrets", url.PathEscape(script))
}

// ListSecrets returns the names of script's secrets.
func (c *Client) ListSecrets(ctx context.Context, script string) ([]SecretInfo, error) {
	var out []SecretInfo
	if err := c.Do(ctx, Request{Method: http.MethodGet, Path: c.secretsPath(script)}, &out); err != nil {
		return nil, fmt.Errorf("list secrets of worker %q: %w", script, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// PutSecret creates or replaces one secret.
func (c *Client) PutSecret(ctx context.Context, script, name, value string) error {
	err := c.Do(ctx, Request{Method: http.MethodPut, Path: c.secretsPath(script),
		JSON: secretUpload{Name: name, Text: value, Type: "secret_text"}}, nil)
	if err != nil {
		return fmt.Errorf("set secret %s on worker %q: %w", name, script, err)
	}
	return nil
}

// DeleteSecret removes one secret.
func (c *Client) DeleteSecret(ctx context.Context, script, name string) error {
	err := c.Do(ctx, Request{Method: http.MethodDelete, Path: c.secretsPath(script) + "/" + url.PathEscape(name),
		Query: url.Values{"url_encoded": {"true"}}}, nil)
	if err != nil {
		return fmt.Errorf("delete secret %s from worker %q: %w", name, script, err)
	}
	return nil
}

// BulkSecrets sets every secret in set and deletes every name in unset in
// one request: PATCH .../secrets-bulk with a JSON merge patch
// (application/merge-patch+json; null deletes), as wrangler secret bulk
// sends it. The patch sets absolute values, so repeating it is safe.
func (c *Client) BulkSecrets(ctx context.Context, script string, set map[string]string, unset []string) error {
	if len(set)+len(unset) == 0 {
		return nil
	}
	if len(set)+len(unset) > MaxBulkSecrets {
		return fmt.Errorf("update secrets of worker %q: %d changes, at most %d per request", script, len(set)+len(unset), MaxBulkSecrets)
	}
	patch := make(map[string]*secretUpload, len(set)+len(unset))
	for _, n := range unset {
		patch[n] = nil
	}
	for n, v := range set {
		patch[n] = &secretUpload{Name: n, Text: v, Type: "secret_text"}
	}
	body, err := json.Marshal(map[string]any{"secrets": patch})
	if err != nil {
		return fmt.Errorf("update secrets of worker %q: encode: %w", script, err)
	}
	err = c.Do(ctx, Request{Method: http.MethodPatch, Path: c.AccountPath("workers/scripts/%s/secrets-bulk", url.PathEscape(script)),
		Body: body, ContentType: "application/merge-patch+json", Idempotent: true}, nil)
	if err != nil {
		return fmt.Errorf("update secrets of worker %q: %w", script, err)
	}
	return nil
}
