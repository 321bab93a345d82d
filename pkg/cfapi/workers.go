package cfapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// GetSubdomain returns the account's workers.dev subdomain ("" with a
// NotFound error when the account has none yet).
func (c *Client) GetSubdomain(ctx context.Context) (string, error) {
	var out struct {
		Subdomain string `json:"subdomain"`
	}
	if err := c.Do(ctx, Request{Method: http.MethodGet, Path: c.AccountPath("workers/subdomain")}, &out); err != nil {
		return "", err
	}
	return out.Subdomain, nil
}

// PutSubdomain registers the account's workers.dev subdomain.
func (c *Client) PutSubdomain(ctx context.Context, name string) (string, error) {
	var out struct {
		Subdomain string `json:"subdomain"`
	}
	err := c.Do(ctx, Request{Method: http.MethodPut, Path: c.AccountPath("workers/subdomain"), JSON: map[string]string{"subdomain": name}}, &out)
	return out.Subdomain, err
}

// Service is what GET /workers/services/{name} says about a Worker; wrangler
// reads the deployed migration tag from it.
type Service struct {
	ID           string
	Etag         string
	MigrationTag string
}

// GetService reads Worker name. A Worker that does not exist answers
// CodeNotFound (NotFound is true).
func (c *Client) GetService(ctx context.Context, name string) (*Service, error) {
	var out struct {
		ID                 string `json:"id"`
		DefaultEnvironment struct {
			Script struct {
				Etag         string  `json:"etag"`
				MigrationTag *string `json:"migration_tag"`
			} `json:"script"`
		} `json:"default_environment"`
	}
	if err := c.Do(ctx, Request{Method: http.MethodGet, Path: c.AccountPath("workers/services/%s", url.PathEscape(name))}, &out); err != nil {
		return nil, err
	}
	s := &Service{ID: out.ID, Etag: out.DefaultEnvironment.Script.Etag}
	if out.DefaultEnvironment.Script.MigrationTag != nil {
		s.MigrationTag = *out.DefaultEnvironment.Script.MigrationTag
	}
	return s, nil
}

// WorkerMissing reports whether err says the Worker does not exist.
func WorkerMissing(err error) bool {
	return HasCode(err, CodeNotFound) || HasCode(err, 10090) || IsStatus(err, http.StatusNotFound)
}

// Binding is one Worker binding, in the upload's and the API's shape.
type Binding struct {
	Type        string `json:"type"`
	Name        string `json:"name"`
	Text        string `json:"text,omitempty"`
	ClassName   string `json:"class_name,omitempty"`
	ScriptName  string `json:"script_name,omitempty"`
	Environment string `json:"environment,omitempty"`
	NamespaceID string `json:"namespace_id,omitempty"`
	BucketName  string `json:"bucket_name,omitempty"`
	// Jurisdiction of an R2 bucket ("" = default).
	Jurisdiction string `json:"jurisdiction,omitempty"`
}

// Migrations are the Durable Object migrations of one upload.
type Migrations struct {
	OldTag string          `json:"old_tag,omitempty"`
	NewTag string          `json:"new_tag,omitempty"`
	Steps  []MigrationStep `json:"steps"`
}

// MigrationStep is one migration (a wrangler.jsonc entry without its tag).
type MigrationStep struct {
	NewClasses       []string         `json:"new_classes,omitempty"`
	NewSQLiteClasses []string         `json:"new_sqlite_classes,omitempty"`
	DeletedClasses   []string         `json:"deleted_classes,omitempty"`
	RenamedClasses   []map[string]any `json:"renamed_classes,omitempty"`
}

// ScriptAssets points an upload at completed static assets.
type ScriptAssets struct {
	JWT    string         `json:"jwt"`
	Config map[string]any `json:"config,omitempty"`
}

// ScriptContainer names a container class of the Worker.
type ScriptContainer struct {
	Name      string `json:"name,omitempty"`
	ClassName string `json:"class_name"`
}

// WorkerMetadata is the upload's metadata part (wrangler's WorkerMetadataPut).
type WorkerMetadata struct {
	MainModule         string            `json:"main_module"`
	CompatibilityDate  string            `json:"compatibility_date,omitempty"`
	CompatibilityFlags []string          `json:"compatibility_flags,omitempty"`
	Bindings           []Binding         `json:"bindings"`
	KeepBindings       []string          `json:"keep_bindings,omitempty"`
	Migrations         *Migrations       `json:"migrations,omitempty"`
	Containers         []ScriptContainer `json:"containers,omitempty"`
	Observability      map[string]any    `json:"observability,omitempty"`
	Assets             *ScriptAssets     `json:"assets,omitempty"`
	Annotations        map[string]string `json:"annotations,omitempty"`
}

// Module is one module part of an upload.
type Module struct {
	Name        string
	ContentType string
	Content     []byte
}

// ScriptUpload is a whole Worker upload.
type ScriptUpload struct {
	Metadata WorkerMetadata
	Modules  []Module
}

// UploadResult is the answer to an upload. VersionID is the response's
// deployment_id, which wrangler uses as the version id.
type UploadResult struct {
	ID           string `json:"id"`
	Etag         string `json:"etag"`
	VersionID    string `json:"deployment_id"`
	MigrationTag string `json:"migration_tag"`
}

// EncodeUpload builds the multipart body of an upload as wrangler does:
// a metadata part, then one part per module named by the module.
func EncodeUpload(up ScriptUpload) (body []byte, contentType string, err error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	meta, err := json.Marshal(up.Metadata)
	if err != nil {
		return nil, "", err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="metadata"`)
	h.Set("Content-Type", "application/json")
	w, err := mw.CreatePart(h)
	if err != nil {
		return nil, "", err
	}
	_, _ = w.Write(meta)
	for _, m := range up.Modules {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, m.Name, m.Name))
		ct := m.ContentType
		if ct == "" {
			ct = "application/javascript+module"
		}
		h.Set("Content-Type", ct)
		w, err := mw.CreatePart(h)
		if err != nil {
			return nil, "", err
		}
		_, _ = w.Write(m.Content)
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

// UploadScript uploads and deploys Worker name (PUT, as `wrangler deploy`
// does for a Worker with containers and migrations). A PUT of the same
// content is safe to repeat, so it is retried.
func (c *Client) UploadScript(ctx context.Context, name string, up ScriptUpload) (*UploadResult, error) {
	body, ct, err := EncodeUpload(up)
	if err != nil {
		return nil, fmt.Errorf("encode upload: %w", err)
	}
	var out UploadResult
	q := url.Values{"excludeScript": {"true"}, "bindings_inherit": {"strict"}}
	if err := c.Do(ctx, Request{Method: http.MethodPut, Path: c.AccountPath("workers/scripts/%s", url.PathEscape(name)), Query: q, Body: body, ContentType: ct}, &out); err != nil {
		return nil, err
	}
	out.VersionID = hyphenUUID(out.VersionID)
	return &out, nil
}

// hyphenUUID inserts hyphens into a 32-hex id, as wrangler's parseNonHyphenedUuid does.
func hyphenUUID(s string) string {
	if len(s) != 32 || strings.Contains(s, "-") {
		return s
	}
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// Version is one Worker version with its bindings.
type Version struct {
	ID       string    `json:"id"`
	Number   int       `json:"number"`
	Bindings []Binding `json:"-"`
}

// CodeVersionNotFound is the API's answer to reading a Worker version it
// does not know yet: right after an upload the new version can take a
// moment to become readable (wrangler's fetchUploadedVersion,
// packages/wrangler/src/containers/deploy.ts).
const CodeVersionNotFound = 100146

// VersionLag bounds the wait for a just-uploaded version to become
// readable: wrangler reads it up to 5 times, 500 ms apart.
var VersionLag = LagPolicy{Attempts: 5, Delay: 500 * time.Millisecond}

// LagPolicy bounds re-reading something that was just written and is not
// visible yet (eventual consistency, not a failure).
type LagPolicy struct {
	Attempts int
	Delay    time.Duration
}

// await calls read until it succeeds, fails with something other than
// lagging, or the attempts run out.
func (p LagPolicy) await(ctx context.Context, lagging func(error) bool, read func() error) error {
	for attempt := 1; ; attempt++ {
		err := read()
		if err == nil || attempt >= p.Attempts || !lagging(err) {
			return err
		}
		t := time.NewTimer(p.Delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// versionLagging reports whether err is the 404 the API answers for a
// version that was just uploaded and is not readable yet.
func versionLagging(err error) bool {
	return IsStatus(err, http.StatusNotFound) && HasCode(err, CodeVersionNotFound)
}

// GetVersion reads version id of Worker script with its bindings (where
// the Durable Object namespace ids are). Right after an upload the version
// may not be readable yet; GetVersion waits for it as wrangler does.
func (c *Client) GetVersion(ctx context.Context, script, id string) (*Version, error) {
	var out struct {
		ID        string `json:"id"`
		Number    int    `json:"number"`
		Resources struct {
			Bindings []Binding `json:"bindings"`
		} `json:"resources"`
	}
	req := Request{Method: http.MethodGet, Path: c.AccountPath("workers/scripts/%s/versions/%s", url.PathEscape(script), url.PathEscape(id))}
	if err := VersionLag.await(ctx, versionLagging, func() error { return c.Do(ctx, req, &out) }); err != nil {
		return nil, err
	}
	return &Version{ID: out.ID, Number: out.Number, Bindings: out.Resources.Bindings}, nil
}

// ScriptSettings are a deployed Worker's settings: its bindings (secrets
// appear by name, as secret_text), compatibility date and flags.
type ScriptSettings struct {
	Bindings           []Binding `json:"bindings"`
	CompatibilityDate  string    `json:"compatibility_date"`
	CompatibilityFlags []string  `json:"compatibility_flags"`
}

// GetScriptSettings reads Worker name's settings.
func (c *Client) GetScriptSettings(ctx context.Context, name string) (*ScriptSettings, error) {
	var out ScriptSettings
	if err := c.Do(ctx, Request{Method: http.MethodGet, Path: c.AccountPath("workers/scripts/%s/settings", url.PathEscape(name))}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ScriptSubdomain is whether a Worker is served on workers.dev and whether
// its versions get preview URLs (<version>-<worker>.<subdomain>.workers.dev).
type ScriptSubdomain struct {
	Enabled         bool `json:"enabled"`
	PreviewsEnabled bool `json:"previews_enabled"`
}

// ScriptAPIDate is the API version wrangler pins for the per-Worker
// subdomain call (header Cloudflare-Workers-Script-Api-Date,
// packages/deploy-helpers/src/triggers/deploy.ts): from it on,
// previews_enabled is taken as sent rather than following enabled.
const ScriptAPIDate = "2025-08-01"

// GetScriptSubdomain reads whether Worker name is served on workers.dev and
// has preview URLs.
func (c *Client) GetScriptSubdomain(ctx context.Context, name string) (ScriptSubdomain, error) {
	var out ScriptSubdomain
	err := c.Do(ctx, Request{Method: http.MethodGet, Path: c.AccountPath("workers/scripts/%s/subdomain", url.PathEscape(name))}, &out)
	return out, err
}

// EnableScriptSubdomain serves Worker name on workers.dev without preview
// URLs: those are other hosts, which the Access application in front of
// the Worker does not cover (and Durable Object Workers get none anyway).
// Setting the same values again changes nothing, so it is safe to retry,
// as wrangler retries it.
func (c *Client) EnableScriptSubdomain(ctx context.Context, name string) error {
	return c.Do(ctx, Request{Method: http.MethodPost, Path: c.AccountPath("workers/scripts/%s/subdomain", url.PathEscape(name)),
		JSON:   ScriptSubdomain{Enabled: true, PreviewsEnabled: false},
		Header: http.Header{"Cloudflare-Workers-Script-Api-Date": {ScriptAPIDate}}, Idempotent: true}, nil)
}

// ScriptInfo is one entry of the account's Worker list.
type ScriptInfo struct {
	ID           string `json:"id"`
	Etag         string `json:"etag"`
	MigrationTag string `json:"migration_tag"`
	HasAssets    bool   `json:"has_assets"`
}

// ListScripts lists the account's Workers.
func (c *Client) ListScripts(ctx context.Context) ([]ScriptInfo, error) {
	var out []ScriptInfo
	if err := c.Do(ctx, Request{Method: http.MethodGet, Path: c.AccountPath("workers/scripts")}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// DeployedVersion returns the ID of the version the Worker's latest
// deployment serves (the one at 100%, or its first), "" when it has none.
// A secret change makes a new version and deployment, so moltctl reads
// this after one to know the version it made.
func (c *Client) DeployedVersion(ctx context.Context, script string) (string, error) {
	var deps struct {
		Deployments []struct {
			Versions []struct {
				VersionID  string  `json:"version_id"`
				Percentage float64 `json:"percentage"`
			} `json:"versions"`
		} `json:"deployments"`
	}
	if err := c.Do(ctx, Request{Method: http.MethodGet, Path: c.AccountPath("workers/scripts/%s/deployments", url.PathEscape(script))}, &deps); err != nil {
		return "", err
	}
	id := ""
	if len(deps.Deployments) > 0 {
		for _, v := range deps.Deployments[0].Versions {
			if id == "" || v.Percentage >= 100 {
				id = v.VersionID
			}
		}
	}
	return id, nil
}
