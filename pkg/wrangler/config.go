// Package wrangler reads a project's wrangler.jsonc (or wrangler.json) into
// typed Go values, the way wrangler itself reads it: comments and trailing
// commas allowed, environments selected with --env, and the redirected
// deploy config that @cloudflare/vite-plugin leaves after a build honoured.
package wrangler

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
)

// Config is the subset of wrangler's configuration that moltctl uses:
// every field moltworker's wrangler.jsonc sets, plus the common ones a
// fork is likely to add. Unknown fields are kept out, not rejected.
type Config struct {
	Schema             string            `json:"$schema,omitempty"`
	Name               string            `json:"name,omitempty"`
	Main               string            `json:"main,omitempty"`
	AccountID          string            `json:"account_id,omitempty"`
	CompatibilityDate  string            `json:"compatibility_date,omitempty"`
	CompatibilityFlags []string          `json:"compatibility_flags,omitempty"`
	WorkersDev         *bool             `json:"workers_dev,omitempty"`
	PreviewURLs        *bool             `json:"preview_urls,omitempty"`
	Routes             []Route           `json:"routes,omitempty"`
	Observability      *Observability    `json:"observability,omitempty"`
	Assets             *Assets           `json:"assets,omitempty"`
	Rules              []Rule            `json:"rules,omitempty"`
	Build              *Build            `json:"build,omitempty"`
	Containers         []Container       `json:"containers,omitempty"`
	DurableObjects     *DurableObjects   `json:"durable_objects,omitempty"`
	Migrations         []Migration       `json:"migrations,omitempty"`
	R2Buckets          []R2Bucket        `json:"r2_buckets,omitempty"`
	Browser            *Browser          `json:"browser,omitempty"`
	Vars               map[string]any    `json:"vars,omitempty"`
	Triggers           *Triggers         `json:"triggers,omitempty"`
	Env                map[string]Config `json:"env,omitempty"`

	// TopLevelName is set in the flattened config the Vite plugin writes.
	TopLevelName string `json:"topLevelName,omitempty"`

	// Path is the file this configuration was read from.
	Path string `json:"-"`
	// EnvName is the environment that was applied, or "".
	EnvName string `json:"-"`
	// SourcePath is the user's own config file when Path is a redirected build output.
	SourcePath string `json:"-"`
	// Warnings are wrangler's warnings about the file (fields it does not
	// know, with the nearest known name), each starting with file:line:col.
	Warnings []string `json:"-"`
	// Own is the user's own configuration with the environment applied
	// when this one is build output (nil otherwise; see Source).
	Own *Config `json:"-"`
}

// Source is the user's own configuration with the environment applied:
// its build, rules and Worker name count, not the build output's, which
// has them removed or rewritten.
func (c *Config) Source() *Config {
	if c.Own != nil {
		return c.Own
	}
	return c
}

// Route is a route pattern; wrangler accepts a bare string or an object.
type Route struct {
	Pattern      string `json:"pattern"`
	ZoneName     string `json:"zone_name,omitempty"`
	ZoneID       string `json:"zone_id,omitempty"`
	CustomDomain bool   `json:"custom_domain,omitempty"`
}

// UnmarshalJSON accepts "example.com/*" as well as {"pattern": ...}.
func (r *Route) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		r.Pattern = s
		return nil
	}
	type plain Route
	return json.Unmarshal(b, (*plain)(r))
}

// Observability is the Workers Logs setting.
type Observability struct {
	Enabled          *bool    `json:"enabled,omitempty"`
	HeadSamplingRate *float64 `json:"head_sampling_rate,omitempty"`
	Logs             *struct {
		Enabled *bool `json:"enabled,omitempty"`
	} `json:"logs,omitempty"`
}

// Assets configures the static assets uploaded beside the Worker.
type Assets struct {
	Directory        string          `json:"directory,omitempty"`
	Binding          string          `json:"binding,omitempty"`
	NotFoundHandling string          `json:"not_found_handling,omitempty"`
	HTMLHandling     string          `json:"html_handling,omitempty"`
	RunWorkerFirst   json.RawMessage `json:"run_worker_first,omitempty"` // bool or list of patterns
}

// Rule maps file globs to module types.
type Rule struct {
	Type        string   `json:"type"`
	Globs       []string `json:"globs"`
	Fallthrough *bool    `json:"fallthrough,omitempty"`
}

// Build is the custom build step.
type Build struct {
	Command  string `json:"command,omitempty"`
	Cwd      string `json:"cwd,omitempty"`
	WatchDir any    `json:"watch_dir,omitempty"`
}

// Container is one entry of "containers".
type Container struct {
	ClassName         string            `json:"class_name"`
	Image             string            `json:"image"`
	Name              string            `json:"name,omitempty"`
	InstanceType      InstanceType      `json:"instance_type,omitempty"`
	MaxInstances      int               `json:"max_instances,omitempty"`
	ImageBuildContext string            `json:"image_build_context,omitempty"`
	ImageVars         map[string]string `json:"image_vars,omitempty"`
	RolloutStepPct    int               `json:"rollout_step_percentage,omitempty"`
}

// InstanceType is a container's instance_type: a named type
// ("standard-1") or, as wrangler also accepts, a custom one given as
// {"vcpu": 1, "memory_mib": 1024, "disk_mb": 4000}.
type InstanceType struct {
	Name      string
	VCPU      float64 `json:"vcpu,omitempty"`
	MemoryMiB int64   `json:"memory_mib,omitempty"`
	DiskMB    int64   `json:"disk_mb,omitempty"`
}

// UnmarshalJSON accepts a string or an object.
func (t *InstanceType) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*t = InstanceType{Name: s}
		return nil
	}
	type plain InstanceType
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*t = InstanceType(p)
	t.Name = ""
	return nil
}

// MarshalJSON writes the form it was read in.
func (t InstanceType) MarshalJSON() ([]byte, error) {
	if t.Custom() {
		type plain InstanceType
		return json.Marshal(plain(t))
	}
	return json.Marshal(t.Name)
}

// Custom reports whether the type is given by its resources.
func (t InstanceType) Custom() bool {
	return t.Name == "" && (t.VCPU != 0 || t.MemoryMiB != 0 || t.DiskMB != 0)
}

// IsZero reports whether instance_type is not set.
func (t InstanceType) IsZero() bool { return t.Name == "" && !t.Custom() }

// String is the name, or the resources of a custom type.
func (t InstanceType) String() string {
	if t.Custom() {
		return fmt.Sprintf("custom (%g vCPU, %d MiB, %d MB disk)", t.VCPU, t.MemoryMiB, t.DiskMB)
	}
	return t.Name
}

// DurableObjects lists the Durable Object bindings.
type DurableObjects struct {
	Bindings []DurableObjectBinding `json:"bindings"`
}

// DurableObjectBinding binds a Durable Object class to a name.
type DurableObjectBinding struct {
	Name        string `json:"name"`
	ClassName   string `json:"class_name"`
	ScriptName  string `json:"script_name,omitempty"`
	Environment string `json:"environment,omitempty"`
}

// Migration is one Durable Object migration step.
type Migration struct {
	Tag              string          `json:"tag"`
	NewClasses       []string        `json:"new_classes,omitempty"`
	NewSqliteClasses []string        `json:"new_sqlite_classes,omitempty"`
	RenamedClasses   []RenamedClass  `json:"renamed_classes,omitempty"`
	DeletedClasses   []string        `json:"deleted_classes,omitempty"`
	TransferredClass json.RawMessage `json:"transferred_classes,omitempty"`
}

// RenamedClass is a Durable Object class rename.
type RenamedClass struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// R2Bucket binds an R2 bucket.
type R2Bucket struct {
	Binding           string `json:"binding"`
	BucketName        string `json:"bucket_name,omitempty"`
	PreviewBucketName string `json:"preview_bucket_name,omitempty"`
	Jurisdiction      string `json:"jurisdiction,omitempty"`
}

// Browser binds Browser Rendering.
type Browser struct {
	Binding string `json:"binding"`
}

// Triggers holds cron triggers.
type Triggers struct {
	Crons []string `json:"crons"`
}

// Dir is the directory relative paths in the configuration are resolved from.
func (c *Config) Dir() string { return filepath.Dir(c.Path) }

// ProjectDir is the directory of the user's own config file, which is the
// project root even when the configuration came from build output.
func (c *Config) ProjectDir() string {
	if c.SourcePath != "" {
		return filepath.Dir(c.SourcePath)
	}
	return c.Dir()
}

// Resolve makes a path from the configuration absolute.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir(), p)
}

// ContainerAppName is the name Cloudflare gives the container application
// for c, as wrangler computes it: "<worker>-<class>", lower case.
func (c *Config) ContainerAppName(ct Container) string {
	if ct.Name != "" {
		return ct.Name
	}
	return strings.ToLower(strings.ReplaceAll(c.Name+"-"+ct.ClassName, " ", "-"))
}

// Bucket returns the R2 bucket bound under binding, or the first one when binding is "".
func (c *Config) Bucket(binding string) (R2Bucket, bool) {
	for _, b := range c.R2Buckets {
		if binding == "" || b.Binding == binding {
			return b, true
		}
	}
	return R2Bucket{}, false
}

// ServesWorkersDev reports whether the Worker is reachable on workers.dev:
// wrangler's default is yes when no routes are configured.
func (c *Config) ServesWorkersDev() bool {
	if c.WorkersDev != nil {
		return *c.WorkersDev
	}
	return len(c.Routes) == 0
}

// RunWorkerFirst reports whether run_worker_first is true (a bare boolean).
func (a *Assets) RunWorkerFirstBool() bool {
	var b bool
	return a != nil && json.Unmarshal(a.RunWorkerFirst, &b) == nil && b
}
