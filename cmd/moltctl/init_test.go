package main

import (
	"os"
	"os/exec"
	"testing"

	"github.com/moltctl/moltctl/internal/inittrace"
)

// maxInitMillis bounds every moltctl package's init: work done there is paid
// by every command, `moltctl --version` included. Regexps, tables and
// clients are built on first use instead.
const maxInitMillis = 1.0

// TestPackageInitsAreCheap runs `moltctl --version` with the runtime's init
// trace and fails when one of moltctl's own packages spends more than
// maxInitMillis in its init, judged by its fastest of several runs.
func TestPackageInitsAreCheap(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary several times")
	}
	t.Parallel()
	best, err := inittrace.Fastest(func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "--version")
		cmd.Env = append(os.Environ(), runMainEnv+"=1")
		return cmd
	}, 5)
	if err != nil {
		t.Fatal(err)
	}
	for pkg, ms := range best {
		if ms > maxInitMillis*raceSlowdown {
			t.Errorf("package %s spends %.2f ms in init (at best of 5 runs; limit %.1f ms): build what it needs on first use", pkg, ms, maxInitMillis*raceSlowdown)
		}
	}
}
