package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/moltctl/moltctl/internal/inittrace"
)

// benchStartup compares `moltctl --version` with `wrangler --version`:
// wall time and peak resident memory of the whole process.
func benchStartup(c config) ([]Row, error) {
	var mt, wt, mm, wm []float64
	for i := 0; i < c.runs; i++ {
		d, rss, err := runMeasured(c.moltctl, "--version")
		if err != nil {
			return nil, err
		}
		mt, mm = append(mt, ms(d)), append(mm, rss)
		d, rss, err = runMeasured(c.wrangler, "--version")
		if err != nil {
			return nil, err
		}
		wt, wm = append(wt, ms(d)), append(wm, rss)
	}
	rows := []Row{
		{Name: "start-up: --version", Metric: "wall time", Moltctl: median(mt), AltName: "wrangler --version", Alternative: median(wt), Ratio: ratio(median(wt), median(mt)), Unit: "ms"},
		{Name: "start-up: --version", Metric: "peak memory", Moltctl: median(mm), AltName: "wrangler --version", Alternative: median(wm), Ratio: ratio(median(wm), median(mm)), Unit: "MiB"},
	}
	floor, err := buildFloor()
	if err != nil {
		return rows, err
	}
	defer os.RemoveAll(filepath.Dir(floor))
	var ft, ours []float64
	for i := 0; i < c.runs; i++ {
		d, _, err := runMeasured(c.moltctl, "--version")
		if err != nil {
			return rows, err
		}
		ours = append(ours, ms(d))
		if d, _, err = runMeasured(floor); err != nil {
			return rows, err
		}
		ft = append(ft, ms(d))
	}
	r := Row{Name: "start-up: --version", Metric: "wall time vs floor", Moltctl: median(ours), AltName: "Go binary linking net/http that prints a line",
		Alternative: median(ft), Ratio: ratio(median(ft), median(ours)), Unit: "ms", Note: "target: moltctl ≤ 1.5× the floor (ratio ≥ 0.67×)"}
	if r.Moltctl > 1.5*r.Alternative {
		r.Note += "; MISSED"
	}
	rows = append(rows, r)
	best, err := inittrace.Fastest(func() *exec.Cmd { return exec.Command(c.moltctl, "--version") }, max(c.runs, 3))
	if err != nil {
		return rows, err
	}
	pkg, slowest := inittrace.Slowest(best)
	r = Row{Name: "start-up: package init", Metric: "slowest moltctl package init (best of runs)", Moltctl: slowest, AltName: "limit", Alternative: 1, Ratio: ratio(1, slowest), Unit: "ms", Note: pkg}
	if slowest > 1 {
		r.Error = fmt.Sprintf("package %s spends %.2f ms in init, over the 1 ms limit: build what it needs on first use", pkg, slowest)
	}
	return append(rows, r), nil
}

// buildFloor compiles the smallest program that starts as moltctl must: a
// Go binary that links net/http and prints one line.
func buildFloor() (string, error) {
	dir, err := os.MkdirTemp("", "moltctl-floor-")
	if err != nil {
		return "", err
	}
	src := "package main\n\nimport (\n\t\"fmt\"\n\t\"net/http\"\n)\n\nfunc main() { fmt.Println(\"floor\", http.DefaultClient != nil) }\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module floor\n\ngo 1.22\n"), 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "floor")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the floor binary: %v\n%s", err, out)
	}
	return bin, nil
}

// runMeasured runs a command and returns its wall time and peak RSS in MiB.
func runMeasured(name string, args ...string) (time.Duration, float64, error) {
	cmd := exec.Command(name, args...)
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, err
	}
	return time.Since(start), peakMiB(cmd.ProcessState), nil
}

// peakMiB is a finished process's peak resident memory in MiB (from the
// kernel's accounting, not Go's heap statistics).
func peakMiB(ps *os.ProcessState) float64 {
	if ps == nil {
		return 0
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return float64(ru.Maxrss) / 1024 // Linux reports KiB
	}
	return 0
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
