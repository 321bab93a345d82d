package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// initLine is one line of GODEBUG=inittrace=1:
// "init github.com/moltctl/moltctl/pkg/x @8.3 ms, 3.5 ms clock, 1541880 bytes, 15246 allocs".
var initLine = regexp.MustCompile(`^init (github\.com/moltctl/moltctl/\S+) @\S+ ms, ([0-9.]+) ms clock, ([0-9]+) bytes`)

// maxInitMillis bounds every moltctl package's init: work done there is paid
// by every command, `moltctl --version` included. Regexps, tables and
// clients are built on first use instead.
const maxInitMillis = 1.0

// TestPackageInitsAreCheap runs `moltctl --version` with the runtime's init
// trace and fails when one of moltctl's own packages spends more than
// maxInitMillis in its init. The machine is shared and noisy, so each
// package is judged by its fastest of several runs.
func TestPackageInitsAreCheap(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary several times")
	}
	t.Parallel()
	fastest := map[string]float64{}
	for range 5 {
		cmd := exec.Command(os.Args[0], "--version")
		cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1", runMainEnv+"=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("moltctl --version: %v\n%s", err, stderr.String())
		}
		sc := bufio.NewScanner(&stderr)
		for sc.Scan() {
			m := initLine.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			ms, _ := strconv.ParseFloat(m[2], 64)
			if prev, ok := fastest[m[1]]; !ok || ms < prev {
				fastest[m[1]] = ms
			}
		}
	}
	if len(fastest) == 0 {
		t.Fatal("no init trace of moltctl's packages: was GODEBUG ignored?")
	}
	for pkg, ms := range fastest {
		if ms > maxInitMillis*raceSlowdown {
			t.Errorf("package %s spends %.2f ms in init (at best of 5 runs; limit %.1f ms): build what it needs on first use", pkg, ms, maxInitMillis*raceSlowdown)
		}
	}
}
