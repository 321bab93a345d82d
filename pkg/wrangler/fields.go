package wrangler

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tailscale/hujson"

	"github.com/moltctl/moltctl/pkg/internal/suggest"
)

// The fields wrangler knows, as in cloudflare/workers-sdk
// packages/workers-utils/src/config/environment.ts (Environment) and
// config.ts (ConfigFields, ComputedFields, PagesConfigFields). wrangler
// warns "Unexpected fields found in top-level field: ..." for any other
// (validateAdditionalProperties in config/validation-helpers.ts); moltctl
// does the same, so a typo such as "contianers" is not silently dropped.
var (
	envFields = []string{
		"access", "account_id", "agent_memory", "ai", "ai_search", "ai_search_namespaces",
		"analytics_engine_datasets", "artifacts", "assets", "base_dir", "browser", "build", "cache",
		"cloudchamber", "compatibility_date", "compatibility_flags", "compliance_region", "connect",
		"containers", "d1_databases", "define", "dispatch_namespaces", "durable_objects", "exports",
		"find_additional_modules", "first_party_worker", "flagship", "hyperdrive", "images",
		"jsx_factory", "jsx_fragment", "keep_names", "kv_namespaces", "limits", "logfwdr", "logpush",
		"main", "media", "migrations", "minify", "mtls_certificates", "name", "no_bundle",
		"observability", "pipelines", "placement", "preserve_file_names", "preview_urls", "previews",
		"python_modules", "queues", "r2_buckets", "ratelimits", "route", "routes", "rules", "secrets",
		"secrets_store_secrets", "send_email", "services", "stream", "streaming_tail_consumers",
		"tail_consumers", "triggers", "tsconfig", "unsafe", "unsafe_hello_world", "upload_source_maps",
		"vars", "vectorize", "version_metadata", "vpc_networks", "vpc_services", "websearch",
		"worker_loaders", "workers_dev", "workflows",
	}
	topFields = append([]string{
		"$schema", "env", "addresses", "alias", "data_blobs", "dependencies_instrumentation", "dev",
		"keep_vars", "send_metrics", "site", "text_blobs", "wasm_modules", "pages_build_output_dir",
		// Computed fields, present in the flattened config a build writes.
		"configPath", "userConfigPath", "topLevelName", "definedEnvironments", "targetEnvironment",
	}, envFields...)
	// ContainerApp in environment.ts.
	containerFields = []string{
		"affinities", "authorized_keys", "class_name", "configuration", "constraints", "durable_objects",
		"image", "image_build_context", "image_vars", "instance_type", "instances", "max_instances",
		"name", "rollout_active_grace_period", "rollout_kind", "rollout_step_percentage",
		"scheduling_policy", "ssh", "trusted_user_ca_keys", "unsafe", "wrangler_ssh",
	}
	// validateR2Binding and validateDurableObjectBinding in config/validation.ts.
	r2Fields             = []string{"binding", "bucket_name", "jurisdiction", "local_dev", "preview_bucket_name", "remote"}
	durableObjectsFields = []string{"bindings"}
	doBindingFields      = []string{"class_name", "environment", "name", "script_name"}
)

// position is a line and column in the config file.
type position struct{ line, col int }

// inspect walks the parsed file: it returns wrangler's warnings about
// unexpected fields (each with the nearest known name) and the position
// of each field the caller may need to point at, by path ("name",
// "env.staging", "env.staging.name").
func inspect(file string, data []byte, root hujson.Value) (warnings []string, pos map[string]position) {
	pos = map[string]position{}
	at := func(v hujson.Value) position {
		l, c := lineColumn(data, v.StartOffset)
		return position{l, c}
	}
	check := func(path string, v hujson.Value, known []string) {
		obj, ok := v.Value.(*hujson.Object)
		if !ok {
			return
		}
		var unexpected []string
		var first position
		for _, m := range obj.Members {
			name := memberName(m)
			if !contains(known, name) {
				if len(unexpected) == 0 {
					first = at(m.Name)
				}
				hint := ""
				if s := suggest.Nearest(name, known); s != "" {
					hint = fmt.Sprintf(" (did you mean %q?)", s)
				}
				unexpected = append(unexpected, strconv.Quote(name)+hint)
			}
		}
		if len(unexpected) > 0 {
			warnings = append(warnings, fmt.Sprintf("%s:%d:%d: Unexpected fields found in %s field: %s",
				file, first.line, first.col, path, strings.Join(unexpected, ",")))
		}
	}
	each := func(v hujson.Value, fn func(i int, e hujson.Value)) {
		if arr, ok := v.Value.(*hujson.Array); ok {
			for i, e := range arr.Elements {
				fn(i, e)
			}
		}
	}
	var env func(prefix, label string, v hujson.Value, known []string)
	env = func(prefix, label string, v hujson.Value, known []string) {
		check(label, v, known)
		obj, ok := v.Value.(*hujson.Object)
		if !ok {
			return
		}
		for _, m := range obj.Members {
			name := memberName(m)
			switch name {
			case "name":
				pos[prefix+"name"] = at(m.Value)
			case "containers":
				each(m.Value, func(i int, e hujson.Value) { check("containers", e, containerFields) })
			case "r2_buckets":
				each(m.Value, func(i int, e hujson.Value) {
					check(fmt.Sprintf("r2_buckets[%d]", i), e, r2Fields)
					if b, ok := e.Value.(*hujson.Object); ok {
						for _, bm := range b.Members {
							if n := memberName(bm); n == "bucket_name" || n == "preview_bucket_name" {
								pos[fmt.Sprintf("%sr2_buckets[%d].%s", prefix, i, n)] = at(bm.Value)
							}
						}
					}
				})
			case "durable_objects":
				check("durable_objects", m.Value, durableObjectsFields)
				if do, ok := m.Value.Value.(*hujson.Object); ok {
					for _, dm := range do.Members {
						if memberName(dm) == "bindings" {
							each(dm.Value, func(i int, e hujson.Value) {
								check(fmt.Sprintf("durable_objects.bindings[%d]", i), e, doBindingFields)
							})
						}
					}
				}
			case "env":
				if prefix != "" {
					continue // not an environment field; reported above
				}
				if envs, ok := m.Value.Value.(*hujson.Object); ok {
					for _, em := range envs.Members {
						en := memberName(em)
						pos["env."+en] = at(em.Name)
						env("env."+en+".", "env."+en, em.Value, envFields)
					}
				}
			}
		}
	}
	env("", "top-level", root, topFields)
	return warnings, pos
}

func memberName(m hujson.ObjectMember) string {
	if lit, ok := m.Name.Value.(hujson.Literal); ok {
		return lit.String()
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, k := range list {
		if k == s {
			return true
		}
	}
	return false
}

// The name rules are compiled on first use, not at every moltctl start.

// workerNameRE is the name rule wrangler applies to "name" when it reads
// the config (isValidName in cloudflare/workers-sdk
// packages/workers-utils/src/config/validation-helpers.ts: lower-case
// letters, digits, "_" and "-", not starting with "-"), with the limits of
// checkWorkerNameValidity in packages/workers-utils/src/worker-name.ts
// (at most 63 characters, not ending with "-"). Such a name is also safe
// as a directory name and in a URL path.
var workerNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$`) })

// ValidWorkerName reports whether name is a Worker name wrangler accepts.
func ValidWorkerName(name string) bool { return workerNameRE().MatchString(name) }

// workerNameRule is the rule, for error messages.
const workerNameRule = "use lower-case letters, digits, - and _ (not first or last: -), at most 63 characters"

// envNameRE is what an environment name may be: wrangler names the
// environment's Worker "<name>-<env>", which must be a valid Worker name.
var envNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9_][a-z0-9_-]{0,61}$`) })

// ValidEnvName reports whether name can name an environment.
func ValidEnvName(name string) bool { return envNameRE().MatchString(name) }

// bucketNameRE is isValidR2BucketName in cloudflare/workers-sdk
// packages/workers-utils/src/config/validation.ts.
var bucketNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`) })

// bucketRule is wrangler's bucketFormatMessage.
const bucketRule = "bucket names must begin and end with an alphanumeric character, only contain lowercase letters, numbers, and hyphens, and be between 3 and 63 characters long"

// checkBuckets validates the R2 bucket names of one environment (prefix
// "" or "env.X."), which moltctl puts in API paths.
func checkBuckets(file, prefix string, buckets []R2Bucket, pos map[string]position) error {
	for i, b := range buckets {
		for _, f := range []struct{ field, name string }{{"bucket_name", b.BucketName}, {"preview_bucket_name", b.PreviewBucketName}} {
			if f.name != "" && !bucketNameRE().MatchString(f.name) {
				key := fmt.Sprintf("%sr2_buckets[%d].%s", prefix, i, f.field)
				p := pos[key]
				return &ParseError{File: file, Line: p.line, Column: p.col, Msg: fmt.Sprintf("%s is not a valid bucket name: %s", key, bucketRule)}
			}
		}
	}
	return nil
}

// checkNames validates the Worker name of the top level and of every
// environment (its own or the derived "<name>-<env>"), and the R2 bucket
// names, before any path, URL or request is built from them.
func checkNames(file string, cfg *Config, pos map[string]position) error {
	bad := func(p position, what string) error {
		return &ParseError{File: file, Line: p.line, Column: p.col, Msg: what + " is not a valid Worker name: " + workerNameRule}
	}
	if cfg.Name != "" && !ValidWorkerName(cfg.Name) {
		return bad(pos["name"], `"name"`)
	}
	if err := checkBuckets(file, "", cfg.R2Buckets, pos); err != nil {
		return err
	}
	envs := make([]string, 0, len(cfg.Env))
	for k := range cfg.Env {
		envs = append(envs, k)
	}
	sort.Strings(envs)
	for _, k := range envs {
		if !ValidEnvName(k) {
			p := pos["env."+k]
			return &ParseError{File: file, Line: p.line, Column: p.col,
				Msg: "environment " + quoteName(k) + " is not a valid environment name: " + workerNameRule}
		}
		e := cfg.Env[k]
		if err := checkBuckets(file, "env."+k+".", e.R2Buckets, pos); err != nil {
			return err
		}
		switch {
		case e.Name != "" && !ValidWorkerName(e.Name):
			return bad(pos["env."+k+".name"], `"env.`+k+`.name"`)
		case e.Name == "" && cfg.Name != "" && !ValidWorkerName(cfg.Name+"-"+k):
			p := pos["env."+k]
			return &ParseError{File: file, Line: p.line, Column: p.col,
				Msg: fmt.Sprintf("environment %s: its Worker name %q is not valid (%s); set \"name\" in it", k, cfg.Name+"-"+k, workerNameRule)}
		}
	}
	return nil
}

// quoteName quotes a name for a message, shortened when long.
func quoteName(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strconv.Quote(s)
}
