package deploy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/internal/shell"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/state"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

// buildStep runs the project's own build (wrangler.jsonc build.command,
// moltworker's `npm run build`), installing its dependencies first when
// they are missing or older than package.json or the lockfile. Whether to
// build is decided from the user's own wrangler.jsonc and a hash of the
// sources, never from the generated config (which has no build) or mtimes
// (a git checkout resets them).
type buildStep struct{}

func (*buildStep) Name() string { return "build" }
func (*buildStep) String() string {
	return "install dependencies and build the Worker and its assets (build.command) when the sources changed"
}

// skipDirs are never sources of a build.
var skipDirs = map[string]bool{"node_modules": true, ".git": true, ".moltctl": true, ".wrangler": true, "dist": true}

// buildStamp records what the last build by moltctl was made from and what
// it wrote, in the deploy state directory of the Worker it was built for.
type buildStamp struct {
	Command string `json:"command"`
	Env     string `json:"env,omitempty"`
	Sources string `json:"sources"`
	Output  string `json:"output"`
}

const buildStampFile = "build.json"

func (*buildStep) Skip(_ context.Context, st *State) (bool, string) {
	b := st.In.Config.Source().Build
	if b == nil || strings.TrimSpace(b.Command) == "" {
		return true, "no build.command; the project ships its build output"
	}
	stale, why := buildStale(st)
	if !stale {
		return true, "build output is up to date with the sources"
	}
	return false, why
}

// buildStale compares the sources and the output with what the last build
// recorded.
func buildStale(st *State) (bool, string) {
	cfg := st.In.Config
	if !builtEntry(cfg) {
		return true, "not built yet for this environment"
	}
	last, ok := readBuildStamp(st.Saved.Store)
	if !ok {
		return true, "no record of a build by moltctl"
	}
	cur, err := currentStamp(cfg)
	if err != nil {
		return true, err.Error()
	}
	switch {
	case last.Command != cur.Command || last.Env != cur.Env:
		return true, "build.command or environment changed"
	case last.Sources != cur.Sources:
		return true, "sources changed since the last build"
	case last.Output != cur.Output:
		return true, "the build output was changed or rebuilt outside moltctl"
	}
	return false, ""
}

// builtEntry reports whether the configuration's main module is built
// JavaScript that exists.
func builtEntry(cfg *wrangler.Config) bool {
	if cfg.Main == "" {
		return false
	}
	switch strings.ToLower(filepath.Ext(cfg.Main)) {
	case ".js", ".mjs", ".cjs":
	default:
		return false
	}
	_, err := os.Stat(cfg.Resolve(cfg.Main))
	return err == nil
}

func currentStamp(cfg *wrangler.Config) (buildStamp, error) {
	src := cfg.Source()
	s := buildStamp{Command: src.Build.Command, Env: cfg.EnvName}
	var err error
	if s.Sources, err = sourcesHash(cfg); err != nil {
		return s, fmt.Errorf("hash the sources: %w", err)
	}
	if s.Output, err = outputHash(cfg); err != nil {
		return s, fmt.Errorf("hash the build output: %w", err)
	}
	return s, nil
}

// outputDirs are the directories a build writes, which are not sources.
func outputDirs(cfg *wrangler.Config) map[string]bool {
	out := map[string]bool{}
	if cfg.Own != nil {
		out[cfg.Dir()] = true
	}
	if builtEntry(cfg) {
		if d := filepath.Dir(cfg.Resolve(cfg.Main)); d != cfg.ProjectDir() {
			out[d] = true
		}
	}
	if a := cfg.Assets; a != nil && a.Directory != "" {
		out[cfg.Resolve(a.Directory)] = true
	}
	return out
}

// sourcesHash hashes the content of every file that can feed the build:
// the project without dependencies, outputs, hidden files (which may hold
// secrets, like .dev.vars) and moltctl's own files.
func sourcesHash(cfg *wrangler.Config) (string, error) {
	root := cfg.ProjectDir()
	outs := outputDirs(cfg)
	h := sha256.New()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (skipDirs[name] || strings.HasPrefix(name, ".") || outs[p]) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(name, ".") || name == manifest.FileName || !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		return hashFile(h, filepath.ToSlash(rel), p)
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

// outputHash hashes the generated config and the entry module: another
// build (npm run build by hand, another environment) changes them.
func outputHash(cfg *wrangler.Config) (string, error) {
	h := sha256.New()
	files := []string{cfg.Resolve(cfg.Main)}
	if cfg.Own != nil {
		files = append(files, cfg.Path)
	}
	for _, p := range files {
		if err := hashFile(h, p, p); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(h io.Writer, name, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(h, "%s\x00", name)
	_, err = io.Copy(h, f)
	fmt.Fprint(h, "\x00")
	return err
}

// buildStampPath is where the build stamp is kept ("" without a store:
// a plan writes nothing).
func buildStampPath(store *state.Store) string {
	if store == nil {
		return ""
	}
	return filepath.Join(store.Dir, buildStampFile)
}

func readBuildStamp(store *state.Store) (buildStamp, bool) {
	var s buildStamp
	p := buildStampPath(store)
	if p == "" {
		return s, false
	}
	b, err := os.ReadFile(p)
	if err != nil || json.Unmarshal(b, &s) != nil {
		return s, false
	}
	return s, true
}

func writeBuildStamp(store *state.Store, s buildStamp) error {
	p := buildStampPath(store)
	if p == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	return os.WriteFile(p, append(b, '\n'), 0o600)
}

func (*buildStep) Run(ctx context.Context, st *State) error {
	src := st.In.Config.Source()
	b := src.Build
	dir := src.Dir()
	if b.Cwd != "" {
		dir = filepath.Join(dir, b.Cwd)
	}
	_, why := buildStale(st)
	env := buildEnv(st.In.Config.EnvName)
	if err := installDeps(ctx, st, dir, env); err != nil {
		return err
	}
	how := b.Command
	if st.In.Config.EnvName != "" {
		how = "CLOUDFLARE_ENV=" + st.In.Config.EnvName + " " + how
	}
	st.Deps.logf("building: %s (in %s): %s", how, dir, why)
	started := st.Deps.now()
	if _, err := runCmd(st, shell.Command(ctx, b.Command), dir, env); err != nil {
		return &clierr.HintError{Err: fmt.Errorf("build command %q: %w", b.Command, err),
			Fix: "run " + b.Command + " in " + dir + " to see the whole error; moltctl runs it again on the next deploy"}
	}
	// A Vite build leaves a flattened config for the deploy: read the one
	// for this environment, refusing output built for another Worker.
	cfg, err := wrangler.LoadBuilt(src.Path, st.In.Config.EnvName)
	if err != nil {
		return fmt.Errorf("read the built configuration: %w", err)
	}
	if !builtEntry(cfg) {
		return &clierr.HintError{Err: fmt.Errorf("%q ran, but the Worker's entry %s is not built JavaScript", b.Command, cfg.Main),
			Fix: "make build.command write the bundle that \"main\" names (moltworker: npm run build with @cloudflare/vite-plugin)"}
	}
	st.In.Config = cfg
	stamp, err := currentStamp(cfg)
	if err == nil {
		err = writeBuildStamp(st.Saved.Store, stamp)
	}
	if err != nil {
		// Only costs a rebuild next time.
		st.Deps.warn("could not record the build (%v); the next deploy builds again", err)
	}
	st.Learned.Details["build"] = fmt.Sprintf("ran %s in %s", b.Command, st.Deps.since(started).Round(100*time.Millisecond))
	return nil
}

// buildEnv is the build's environment: the process's, with CLOUDFLARE_ENV
// naming the environment being deployed (and unset for the top level, so a
// stray value in the shell does not build another Worker).
func buildEnv(envName string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLOUDFLARE_ENV=") {
			out = append(out, kv)
		}
	}
	if envName != "" {
		out = append(out, "CLOUDFLARE_ENV="+envName)
	}
	return out
}

// runTool runs a build tool in dir, streaming its output to the deploy's
// log (progress) and returning it too, for diagnosis.
func runTool(ctx context.Context, st *State, dir string, env []string, name string, args ...string) (string, error) {
	return runCmd(st, exec.CommandContext(ctx, name, args...), dir, env)
}

// runCmd runs cmd in dir with env, its output logged, and returns the output.
func runCmd(st *State, cmd *exec.Cmd, dir string, env []string) (string, error) {
	name := cmd.Path
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	var w io.Writer = &out
	if st.Deps.Log != nil {
		w = io.MultiWriter(&out, st.Deps.Log)
	}
	cmd.Stdout, cmd.Stderr = w, w
	err := cmd.Run()
	if errors.Is(err, exec.ErrNotFound) {
		return "", &clierr.HintError{Err: fmt.Errorf("%s is not installed", name),
			Fix: "install Node.js 20 or later (it brings npm): https://nodejs.org/en/download, then run moltctl doctor"}
	}
	return out.String(), err
}

// installNeeded says why dir's dependencies must be installed, or "".
func installNeeded(dir string) string {
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		return ""
	}
	nm := filepath.Join(dir, "node_modules")
	// npm rewrites node_modules/.package-lock.json on every install.
	marker, err := os.Stat(filepath.Join(nm, ".package-lock.json"))
	if err != nil {
		if marker, err = os.Stat(nm); err != nil {
			return "node_modules is missing"
		}
	}
	var newer []string
	for _, f := range []string{"package.json", "package-lock.json", "npm-shrinkwrap.json", "pnpm-lock.yaml", "yarn.lock"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err == nil && fi.ModTime().After(marker.ModTime()) {
			newer = append(newer, f)
		}
	}
	if len(newer) > 0 {
		sort.Strings(newer)
		return "node_modules is older than " + strings.Join(newer, " and ")
	}
	return ""
}

// lockfileRefused returns what npm ci said when it refused a lockfile that
// does not match package.json (moltworker's, for current npm: "Missing: …
// from lock file"), which npm install repairs; "" for any other failure.
func lockfileRefused(out string) string {
	if !strings.Contains(out, "in sync") && !strings.Contains(out, "from lock file") {
		return ""
	}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(line, "npm error"))
		if strings.HasPrefix(line, "Missing:") || strings.HasPrefix(line, "Invalid:") {
			return line
		}
	}
	return "package.json and package-lock.json are not in sync"
}

func installDeps(ctx context.Context, st *State, dir string, env []string) error {
	why := installNeeded(dir)
	if why == "" {
		return nil
	}
	exists := func(f string) bool { _, err := os.Stat(filepath.Join(dir, f)); return err == nil }
	quiet := []string{"--no-audit", "--no-fund"}
	switch {
	case exists("pnpm-lock.yaml"):
		st.Deps.logf("installing dependencies: pnpm install --frozen-lockfile (%s)", why)
		if _, err := runTool(ctx, st, dir, env, "pnpm", "install", "--frozen-lockfile"); err != nil {
			return installError("pnpm install --frozen-lockfile", dir, err)
		}
	case exists("yarn.lock"):
		st.Deps.logf("installing dependencies: yarn install --frozen-lockfile (%s)", why)
		if _, err := runTool(ctx, st, dir, env, "yarn", "install", "--frozen-lockfile"); err != nil {
			return installError("yarn install --frozen-lockfile", dir, err)
		}
	case exists("package-lock.json") || exists("npm-shrinkwrap.json"):
		st.Deps.logf("installing dependencies: npm ci (%s)", why)
		out, err := runTool(ctx, st, dir, env, "npm", append([]string{"ci"}, quiet...)...)
		if err == nil {
			break
		}
		var he *clierr.HintError
		reason := lockfileRefused(out)
		if errors.As(err, &he) || ctx.Err() != nil || reason == "" {
			return installError("npm ci", dir, err)
		}
		st.Deps.logf("npm ci refused the lockfile, which does not match package.json for %s (%s); running npm install instead, as moltworker's README does", npmVersionNote(ctx, dir, env), reason)
		if _, err := runTool(ctx, st, dir, env, "npm", append([]string{"install"}, quiet...)...); err != nil {
			return installError("npm install", dir, err)
		}
		st.Deps.warn("npm install updated package-lock.json; commit it so the next install is reproducible")
	default:
		st.Deps.logf("installing dependencies: npm install (%s; there is no lockfile)", why)
		if _, err := runTool(ctx, st, dir, env, "npm", append([]string{"install"}, quiet...)...); err != nil {
			return installError("npm install", dir, err)
		}
	}
	return nil
}

func npmVersionNote(ctx context.Context, dir string, env []string) string {
	cmd := exec.CommandContext(ctx, "npm", "--version")
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.Output()
	if err != nil {
		return "npm"
	}
	return "npm " + strings.TrimSpace(string(out))
}

func installError(what, dir string, err error) error {
	var he *clierr.HintError
	if errors.As(err, &he) {
		return err
	}
	return &clierr.HintError{Err: fmt.Errorf("install dependencies (%s): %w", what, err),
		Fix: "run " + what + " in " + dir + " to see the whole error (a network or registry problem, or a Node.js older than the project needs: moltctl doctor)"}
}
