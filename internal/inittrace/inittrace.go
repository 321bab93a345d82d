// Package inittrace measures how long moltctl's own packages spend in
// init, from the runtime's GODEBUG=inittrace=1 report of a whole process.
package inittrace

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
)

// line is one line of the trace:
// "init github.com/moltctl/moltctl/pkg/x @8.3 ms, 3.5 ms clock, 1541880 bytes, 15246 allocs".
var line = regexp.MustCompile(`^init (github\.com/moltctl/moltctl/\S+) @\S+ ms, ([0-9.]+) ms clock`)

// Fastest runs the command made by cmd runs times with the init trace on
// and returns, for each moltctl package, its fastest init in milliseconds:
// the machine is shared and noisy, so a package is judged by its best run.
func Fastest(cmd func() *exec.Cmd, runs int) (map[string]float64, error) {
	best := map[string]float64{}
	for range runs {
		c := cmd()
		if c.Env == nil {
			c.Env = os.Environ()
		}
		c.Env = append(c.Env, "GODEBUG=inittrace=1")
		var stderr bytes.Buffer
		c.Stderr = &stderr
		if err := c.Run(); err != nil {
			return nil, fmt.Errorf("%s: %v\n%s", c.Path, err, stderr.String())
		}
		sc := bufio.NewScanner(&stderr)
		for sc.Scan() {
			m := line.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			ms, _ := strconv.ParseFloat(m[2], 64)
			if prev, ok := best[m[1]]; !ok || ms < prev {
				best[m[1]] = ms
			}
		}
	}
	if len(best) == 0 {
		return nil, fmt.Errorf("no init trace of moltctl's packages: was GODEBUG ignored?")
	}
	return best, nil
}

// Slowest returns the package with the largest time in best.
func Slowest(best map[string]float64) (pkg string, ms float64) {
	for p, v := range best {
		if v > ms || pkg == "" {
			pkg, ms = p, v
		}
	}
	return pkg, ms
}
