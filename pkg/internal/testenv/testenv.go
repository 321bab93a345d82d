// Package testenv tells tests whether the real parts they need (a Docker
// daemon, the wrangler CLI) are here. Locally a missing part skips the test
// with the reason; in CI (MOLTCTL_REQUIRE_DOCKER=1, MOLTCTL_REQUIRE_WRANGLER=1)
// it fails it, so nothing silently goes untested.
package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
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
