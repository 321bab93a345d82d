package deploy

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/moltctl/moltctl/pkg/wrangler"
)

// buildStep runs the project's own build (wrangler.jsonc build.command,
// moltworker's `npm run build`) when its output is older than its sources.
type buildStep struct{}

func (*buildStep) Name() string { return "build" }
func (*buildStep) String() string {
	return "build the Worker and its assets (build.command) when stale"
}

// skipDirs are never sources of a build.
var skipDirs = map[string]bool{"node_modules": true, ".git": true, ".moltctl": true, ".wrangler": true, "dist": true}

func (*buildStep) Skip(_ context.Context, st *State) (bool, string) {
	if st.Config.Build == nil || strings.TrimSpace(st.Config.Build.Command) == "" {
		return true, "no build.command; the project ships its build output"
	}
	stale, why := buildStale(st.Config)
	if !stale {
		return true, "build output is up to date"
	}
	return false, why
}

// buildStale compares the newest source file with the oldest output.
func buildStale(cfg *wrangler.Config) (bool, string) {
	var outputs []string
	if cfg.Main != "" {
		outputs = append(outputs, cfg.Resolve(cfg.Main))
	}
	if cfg.Assets != nil && cfg.Assets.Directory != "" {
		outputs = append(outputs, cfg.Resolve(cfg.Assets.Directory))
	}
	if len(outputs) == 0 {
		return true, "no output to compare"
	}
	var oldestOut time.Time
	for _, o := range outputs {
		t, ok := newest(o, false)
		if !ok {
			return true, "build output " + o + " is missing"
		}
		if oldestOut.IsZero() || t.Before(oldestOut) {
			oldestOut = t
		}
	}
	srcNewest, _ := newest(cfg.ProjectDir(), true)
	if srcNewest.After(oldestOut) {
		return true, "sources changed since the last build"
	}
	return false, ""
}

// newest returns the latest modification time under p; sources skips
// output and dependency directories.
func newest(p string, sources bool) (time.Time, bool) {
	var t time.Time
	found := false
	_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if sources && q != p && (skipDirs[d.Name()] || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		found = true
		if info.ModTime().After(t) {
			t = info.ModTime()
		}
		return nil
	})
	return t, found
}

func (*buildStep) Run(ctx context.Context, st *State) error {
	b := st.Config.Build
	dir := st.Config.ProjectDir()
	if b.Cwd != "" {
		dir = filepath.Join(dir, b.Cwd)
	}
	st.logf("running %s in %s", b.Command, dir)
	cmd := exec.CommandContext(ctx, "sh", "-c", b.Command)
	cmd.Dir = dir
	var w io.Writer = io.Discard
	if st.Log != nil {
		w = st.Log
	}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.Env = os.Environ()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build command %q: %w", b.Command, err)
	}
	// A Vite build leaves a flattened config for the deploy: read it.
	src := st.Config.SourcePath
	if src == "" {
		src = st.Config.Path
	}
	cfg, err := wrangler.LoadDeploy(src, st.Config.EnvName)
	if err != nil {
		return fmt.Errorf("read the built configuration: %w", err)
	}
	st.Config = cfg
	st.Details["build"] = "ran " + b.Command
	return nil
}
