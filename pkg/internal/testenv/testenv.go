// Package testenv tells tests whether the real parts they need (a Docker
// daemon, the wrangler CLI) are here. Locally a missing part skips the test
// with the reason; in CI (MOLTCTL_REQUIRE_DOCKER=1, MOLTCTL_REQUIRE_WRANGLER=1)
// it fails it, so nothing silently goes untested.
package testenv

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RequireDocker skips or fails t unless a Docker daemon answers.
func RequireDocker(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := exec.CommandContext(ctx, "docker", "info").Run(); err != nil {
		missing(t, "MOLTCTL_REQUIRE_DOCKER", "no Docker daemon answers (docker info: "+err.Error()+"); run bash .ci/docker.sh")
	}
}

// Wrangler returns the path of the wrangler CLI (Node 22), skipping or failing t when there is none.
func Wrangler(t testing.TB) string {
	t.Helper()
	p := os.Getenv("MOLTCTL_WRANGLER")
	if p == "" {
		if lp, err := exec.LookPath("wrangler"); err == nil {
			p = lp
		}
	}
	if p == "" {
		// Where .ci/node.sh installs it, so a plain `go test` finds it too.
		if home, err := os.UserHomeDir(); err == nil {
			cached := filepath.Join(home, ".cache", "moltctl", "node22-wrangler-4.164.0", "node_modules", ".bin", "wrangler")
			if _, err := os.Stat(cached); err == nil {
				p = cached
			}
		}
	}
	if p == "" {
		missing(t, "MOLTCTL_REQUIRE_WRANGLER", "wrangler not found; run `source .ci/node.sh` (needs the npm registry)")
	}
	return p
}

func missing(t testing.TB, requireVar, why string) {
	t.Helper()
	if os.Getenv(requireVar) == "1" {
		t.Fatalf("%s is set but %s", requireVar, why)
	}
	t.Skip(why)
}

// CopyExample copies examples/moltworker, without its local state
// (.moltctl), into a new temporary directory and returns it.
func CopyExample(t testing.TB) string {
	t.Helper()
	src, err := exampleDir()
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	err = filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if strings.HasPrefix(rel, ".moltctl") {
			return filepath.SkipDir
		}
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// exampleDir finds examples/moltworker from a test's package directory.
func exampleDir() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "examples", "moltworker"), nil
}

// moduleRoot walks up from the test's package directory to go.mod's.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// UpstreamTarball is the snapshot of cloudflare/moltworker that the
// real-project tests deploy: ../shared/fixtures/ beside the project root
// (MOLTCTL_FIXTURES names another directory). Missing, it fails the test
// in CI (CI set) and skips it elsewhere.
func UpstreamTarball(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("MOLTCTL_FIXTURES")
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(filepath.Dir(root), "shared", "fixtures")
	}
	p := filepath.Join(dir, "moltworker-aa5f75b.tar.gz")
	if _, err := os.Stat(p); err != nil {
		why := p + " is missing (the shared fixtures live in ../shared beside the project; MOLTCTL_FIXTURES names another place)"
		if os.Getenv("CI") != "" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	return p
}

// RequireNPM skips or fails t (in CI, or with MOLTCTL_REQUIRE_NPM=1)
// unless npm is on PATH.
func RequireNPM(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("npm"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but npm is not on PATH: the real-project tests need Node.js and the npm registry")
		}
		missing(t, "MOLTCTL_REQUIRE_NPM", "npm is not on PATH; the real-project tests need Node.js and the npm registry")
	}
}

// TrackModule makes go test's result cache depend on every file of the
// module. A test that runs the go command or a build on the sources reads
// them in a child process, where the cache cannot see it, so a cached pass
// would outlive the change that breaks it. go test records the files a
// test stats and the directories it lists, and runs the test again when
// one of them changes.
func TrackModule(t testing.TB) {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// What git does not track: build output, local state, packages.
			rel, _ := filepath.Rel(root, p)
			switch {
			case rel == ".git", rel == "bin", rel == "dist", d.Name() == ".moltctl", d.Name() == "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		_, err = os.Stat(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
