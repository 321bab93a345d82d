package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

// workerStep uploads the Worker as wrangler does: static assets first
// (only the files Cloudflare lacks), then the multipart module upload with
// bindings and Durable Object migrations. Nothing is sent when the content
// is what the last deploy uploaded and Cloudflare still has it.
type workerStep struct{}

func (*workerStep) Name() string { return "worker" }
func (*workerStep) String() string {
	return "upload the Worker, its bindings, migrations and static assets"
}

// workerBundle is what the upload is made of, read from disk.
type workerBundle struct {
	meta     cfapi.WorkerMetadata
	modules  []cfapi.Module
	assets   cfapi.AssetManifest
	assetDir string
	hash     string
}

// ruleTypes maps a wrangler module rule type to the part Content-Type
// wrangler sends for it.
var ruleTypes = map[string]string{
	"ESModule":     "application/javascript+module",
	"CommonJS":     "application/javascript",
	"Text":         "text/plain",
	"Data":         "application/octet-stream",
	"CompiledWasm": "application/wasm",
}

// defaultRules are wrangler's, applied after the configuration's own.
var defaultRules = []wrangler.Rule{
	{Type: "ESModule", Globs: []string{"**/*.js", "**/*.mjs"}},
	{Type: "CommonJS", Globs: []string{"**/*.cjs"}},
	{Type: "Text", Globs: []string{"**/*.txt", "**/*.html", "**/*.sql"}},
	{Type: "Data", Globs: []string{"**/*.bin"}},
	{Type: "CompiledWasm", Globs: []string{"**/*.wasm", "**/*.wasm?module"}},
}

// moduleType maps a module (a slash path relative to the entry's
// directory) to the part Content-Type its rule gives, or "" when no rule
// covers it. The rules of the user's own wrangler.jsonc (moltworker:
// .html as Text, .png as Data) count as well as the build output's.
func moduleType(name string, cfg *wrangler.Config) string {
	var rules []wrangler.Rule
	rules = append(rules, cfg.Rules...)
	if cfg.Own != nil {
		rules = append(rules, cfg.Own.Rules...)
	}
	rules = append(rules, defaultRules...)
	for _, r := range rules {
		for _, g := range r.Globs {
			if globMatch(g, name) {
				return ruleTypes[r.Type]
			}
		}
	}
	return ""
}

// globMatch matches wrangler's module globs: "**/" is any number of
// directories, "*" and "?" stay inside one path segment.
func globMatch(glob, name string) bool {
	if strings.HasPrefix(glob, "**/") {
		rest := glob[3:]
		for {
			if globMatch(rest, name) {
				return true
			}
			i := strings.IndexByte(name, '/')
			if i < 0 {
				return false
			}
			name = name[i+1:]
		}
	}
	ok, err := path.Match(glob, name)
	return err == nil && ok
}

func (*workerStep) bundle(st *State) (*workerBundle, error) {
	cfg := st.In.Config
	if cfg.Main == "" {
		return nil, &clierr.UsageError{Err: fmt.Errorf("%s has no \"main\"", filepath.Base(cfg.Path)), Fix: "set main to the Worker's built entry module"}
	}
	mainPath := cfg.Resolve(cfg.Main)
	switch strings.ToLower(filepath.Ext(mainPath)) {
	case ".js", ".mjs":
	default:
		return nil, &clierr.HintError{Err: fmt.Errorf("the Worker's entry %s is not built JavaScript", cfg.Main),
			Fix: "build the project first (npm run build), or set build.command in wrangler.jsonc so moltctl runs it"}
	}
	if _, err := os.Stat(mainPath); err != nil {
		return nil, &clierr.HintError{Err: fmt.Errorf("the Worker's entry module: %w", err), Fix: "build the project first (npm run build)"}
	}
	b := &workerBundle{}
	root := filepath.Dir(mainPath)
	mainName := filepath.Base(mainPath)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (skipDirs[d.Name()] || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		ct := moduleType(rel, cfg)
		if ct == "" {
			return nil
		}
		if cfg.Assets != nil && cfg.Assets.Directory != "" && strings.HasPrefix(p, cfg.Resolve(cfg.Assets.Directory)+string(filepath.Separator)) {
			return nil
		}
		content, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		b.modules = append(b.modules, cfapi.Module{Name: rel, ContentType: ct, Content: content})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the Worker's modules: %w", err)
	}
	// The main module goes first, the rest in name order.
	sort.SliceStable(b.modules, func(i, j int) bool {
		if (b.modules[i].Name == mainName) != (b.modules[j].Name == mainName) {
			return b.modules[i].Name == mainName
		}
		return b.modules[i].Name < b.modules[j].Name
	})

	m := cfapi.WorkerMetadata{
		MainModule:         mainName,
		CompatibilityDate:  cfg.CompatibilityDate,
		CompatibilityFlags: cfg.CompatibilityFlags,
		KeepBindings:       []string{"secret_text", "secret_key"},
		Bindings:           []cfapi.Binding{},
	}
	if cfg.DurableObjects != nil {
		for _, d := range cfg.DurableObjects.Bindings {
			m.Bindings = append(m.Bindings, cfapi.Binding{Type: "durable_object_namespace", Name: d.Name, ClassName: d.ClassName, ScriptName: d.ScriptName, Environment: d.Environment})
		}
	}
	for _, r := range cfg.R2Buckets {
		m.Bindings = append(m.Bindings, cfapi.Binding{Type: "r2_bucket", Name: r.Binding, BucketName: r.BucketName, Jurisdiction: r.Jurisdiction})
	}
	if cfg.Browser != nil && cfg.Browser.Binding != "" {
		m.Bindings = append(m.Bindings, cfapi.Binding{Type: "browser", Name: cfg.Browser.Binding})
	}
	vars := map[string]string{}
	for k, v := range cfg.Vars {
		if s, ok := v.(string); ok {
			vars[k] = s
		} else {
			j, _ := json.Marshal(v)
			vars[k] = string(j)
		}
	}
	if st.In.Manifest != nil {
		for k, v := range st.In.Manifest.Vars {
			vars[k] = v
		}
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		m.Bindings = append(m.Bindings, cfapi.Binding{Type: "plain_text", Name: k, Text: vars[k]})
	}
	for _, ct := range cfg.Containers {
		m.Containers = append(m.Containers, cfapi.ScriptContainer{Name: cfg.ContainerAppName(ct), ClassName: ct.ClassName})
	}
	if o := cfg.Observability; o != nil && o.Enabled != nil {
		m.Observability = map[string]any{"enabled": *o.Enabled}
	}
	if a := cfg.Assets; a != nil && a.Directory != "" {
		b.assetDir = cfg.Resolve(a.Directory)
		man, _, err := cfapi.ReadAssets(b.assetDir)
		if err != nil {
			return nil, err
		}
		b.assets = man
		conf := map[string]any{}
		if a.HTMLHandling != "" {
			conf["html_handling"] = a.HTMLHandling
		}
		if a.NotFoundHandling != "" {
			conf["not_found_handling"] = a.NotFoundHandling
		}
		if len(a.RunWorkerFirst) > 0 {
			var v any
			if json.Unmarshal(a.RunWorkerFirst, &v) == nil {
				conf["run_worker_first"] = v
			}
		}
		m.Assets = &cfapi.ScriptAssets{Config: conf}
		if a.Binding != "" {
			m.Bindings = append(m.Bindings, cfapi.Binding{Type: "assets", Name: a.Binding})
		}
	}
	b.meta = m

	h := sha256.New()
	mj, _ := json.Marshal(m)
	h.Write(mj)
	for _, mod := range b.modules {
		fmt.Fprintf(h, "\x00%s\x00%s\x00%d\x00", mod.Name, mod.ContentType, len(mod.Content))
		h.Write(mod.Content)
	}
	aj, _ := json.Marshal(b.assets)
	h.Write(aj)
	if n := len(cfg.Migrations); n > 0 {
		fmt.Fprintf(h, "\x00migration:%s", cfg.Migrations[n-1].Tag)
	}
	b.hash = hex.EncodeToString(h.Sum(nil))
	return b, nil
}

// migrations computes what to send from the deployed migration tag, as
// wrangler's helpers/durable.ts does.
func (*workerStep) migrations(st *State, deployedTag string) *cfapi.Migrations {
	all := st.In.Config.Migrations
	if len(all) == 0 {
		return nil
	}
	last := all[len(all)-1].Tag
	if deployedTag == last {
		return nil
	}
	start := 0
	for i, m := range all {
		if m.Tag == deployedTag {
			start = i + 1
		}
	}
	out := &cfapi.Migrations{OldTag: deployedTag, NewTag: last}
	for _, m := range all[start:] {
		s := cfapi.MigrationStep{NewClasses: m.NewClasses, NewSQLiteClasses: m.NewSqliteClasses, DeletedClasses: m.DeletedClasses}
		for _, r := range m.RenamedClasses {
			s.RenamedClasses = append(s.RenamedClasses, map[string]any{"from": r.From, "to": r.To})
		}
		out.Steps = append(out.Steps, s)
	}
	return out
}

// sandboxNamespace picks the namespace id of the container's Durable
// Object class from bindings.
func (*workerStep) sandboxNamespace(st *State, bs []cfapi.Binding) string {
	class := "Sandbox"
	if ct, ok := st.In.container(); ok {
		class = ct.ClassName
	}
	var any string
	for _, b := range bs {
		if b.Type != "durable_object_namespace" || b.NamespaceID == "" || (b.ScriptName != "" && b.ScriptName != st.WorkerName()) {
			continue
		}
		if b.ClassName == class {
			return b.NamespaceID
		}
		any = b.NamespaceID
	}
	return any
}

// remoteCurrent is the cheap remote check that the Worker the state
// describes is still there, bound to the Durable Object namespace learn
// took from the state: one read of its settings.
func (w *workerStep) remoteCurrent(ctx context.Context, st *State) (bool, error) {
	s, err := read(st.Deps.Reads, readScriptSettings, func() (*cfapi.ScriptSettings, error) {
		return st.Deps.API.GetScriptSettings(ctx, st.WorkerName())
	})
	if err != nil {
		if cfapi.WorkerMissing(err) {
			return false, nil
		}
		return false, err
	}
	ns := w.sandboxNamespace(st, s.Bindings)
	if _, hasCt := st.In.container(); hasCt && (ns == "" || ns != st.Learned.NamespaceID) {
		return false, nil
	}
	return true, nil
}

func (w *workerStep) Skip(ctx context.Context, st *State) (bool, string) {
	b, err := w.bundle(st)
	if err != nil || st.Saved.Dep.Worker.ContentHash == "" || b.hash != st.Saved.Dep.Worker.ContentHash {
		return false, "upload the Worker"
	}
	if ok, err := w.remoteCurrent(ctx, st); err != nil || !ok {
		return false, "upload the Worker (Cloudflare's copy differs)"
	}
	return true, "unchanged since version " + st.Saved.Dep.Worker.VersionID
}

func (w *workerStep) Run(ctx context.Context, st *State) error {
	name := st.WorkerName()
	b, err := w.bundle(st)
	if err != nil {
		return err
	}
	deployedTag := ""
	svc, err := st.Deps.API.GetService(ctx, name)
	switch {
	case err == nil:
		deployedTag = svc.MigrationTag
	case cfapi.WorkerMissing(err):
	default:
		return fmt.Errorf("read Worker %q: %w", name, err)
	}
	b.meta.Migrations = w.migrations(st, deployedTag)
	assetsDetail := ""
	if b.assetDir != "" {
		jwt, stats, err := st.Deps.API.UploadAssets(ctx, name, b.assetDir)
		if err != nil {
			return err
		}
		b.meta.Assets.JWT = jwt
		assetsDetail = fmt.Sprintf(", assets: %d uploaded, %d unchanged", stats.Uploaded, stats.Skipped)
	}
	up := cfapi.ScriptUpload{Metadata: b.meta, Modules: b.modules}
	res, err := st.Deps.API.UploadScript(ctx, name, up)
	st.Deps.Reads.Forget(readScriptSettings, readScriptSubdomain)
	if err != nil {
		if cfapi.HasCode(err, cfapi.CodeMigrationTag) {
			return clierr.WithHint(fmt.Errorf("upload Worker %q: %w", name, err), "the deployed Durable Object migrations differ from wrangler.jsonc's; check the migrations list")
		}
		return fmt.Errorf("upload Worker %q: %w", name, err)
	}
	st.Learned.VersionID = res.VersionID
	if _, hasCt := st.In.container(); hasCt {
		v, err := st.Deps.API.GetVersion(ctx, name, res.VersionID)
		if err != nil {
			return fmt.Errorf("read version %s of Worker %q: %w", res.VersionID, name, err)
		}
		st.Learned.NamespaceID = w.sandboxNamespace(st, v.Bindings)
		if st.Learned.NamespaceID == "" {
			return errors.New("the uploaded Worker has no Durable Object namespace for its container class")
		}
	}
	st.Saved.Dep.Worker.VersionID = res.VersionID
	st.Saved.Dep.Worker.ContentHash = b.hash
	st.Saved.Dep.Worker.DurableObjectNamespaceID = st.Learned.NamespaceID
	st.Learned.Details["worker"] = fmt.Sprintf("version %s, %d module(s)%s", res.VersionID, len(b.modules), assetsDetail)
	return nil
}
