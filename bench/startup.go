package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	dir, err := os.MkdirTemp("", "moltctl-floor-")
	if err != nil {
		return rows, err
	}
	defer os.RemoveAll(dir)
	floor, err := buildFloor(dir)
	if err != nil {
		return rows, err
	}
	deps, n, err := buildDepsFloor(c, dir)
	if err != nil {
		return rows, err
	}
	// A start takes a few milliseconds: many more runs than the slow rows,
	// taken in turn so that a busy moment slows all three alike.
	var ours, ft, dt []float64
	for i := 0; i < max(30, 10*c.runs); i++ {
		for _, m := range []struct {
			bin  string
			args []string
			to   *[]float64
		}{{c.moltctl, []string{"--version"}, &ours}, {floor, nil, &ft}, {deps, nil, &dt}} {
			d, _, err := runMeasured(m.bin, m.args...)
			if err != nil {
				return rows, err
			}
			*m.to = append(*m.to, ms(d))
		}
	}
	r := Row{Name: "start-up: --version", Metric: "wall time vs floor", Moltctl: median(ours), AltName: "Go binary linking net/http that prints a line",
		Alternative: median(ft), Ratio: ratio(median(ft), median(ours)), Unit: "ms", Note: "target: moltctl ≤ 1.5× the floor (ratio ≥ 0.67×)"}
	if r.Moltctl > 1.5*r.Alternative {
		r.Note += "; MISSED"
	}
	rows = append(rows, r)
	rows = append(rows, Row{Name: "start-up: --version", Metric: "wall time vs its dependencies", Moltctl: median(ours),
		AltName:     fmt.Sprintf("Go binary linking the %d third-party packages moltctl links (none of its code) that prints a line", n),
		Alternative: median(dt), Ratio: ratio(median(dt), median(ours)), Unit: "ms",
		Note: fmt.Sprintf("the dependencies alone take %.2f× the floor: their package inits (Docker's client, go-containerregistry) and size", ratio(median(dt), median(ft)))})
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

// buildFloor compiles, into dir, the smallest program that starts as
// moltctl must: a Go binary that links net/http and prints one line.
func buildFloor(dir string) (string, error) {
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

// buildDepsFloor compiles, into dir, the floor program with a blank import
// of every third-party package moltctl links (at the versions go.mod
// pins): what starting costs before any of moltctl's own code. It returns
// the binary and how many packages it imports.
func buildDepsFloor(c config, dir string) (string, int, error) {
	list := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}} {{.Name}}{{end}}", "./cmd/moltctl")
	list.Dir = c.repo
	out, err := list.Output()
	if err != nil {
		return "", 0, fmt.Errorf("list moltctl's packages: %v", err)
	}
	var src strings.Builder
	src.WriteString("package main\n\nimport (\n\t\"fmt\"\n\t\"net/http\"\n")
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, name, _ := strings.Cut(line, " ")
		// Their internal packages come with the public ones that use them.
		if name == "main" || strings.HasPrefix(path, moltctlModule+"/") || strings.Contains("/"+path+"/", "/internal/") {
			continue
		}
		fmt.Fprintf(&src, "\t_ %q\n", path)
		n++
	}
	src.WriteString(")\n\nfunc main() { fmt.Println(\"floor\", http.DefaultClient != nil) }\n")
	main := filepath.Join(dir, "deps.go")
	if err := os.WriteFile(main, []byte(src.String()), 0o644); err != nil {
		return "", 0, err
	}
	// The program builds inside moltctl's module, for its go.mod's
	// versions, through an overlay: nothing is written to the checkout.
	pkgDir := filepath.Join(c.repo, "internal", "benchdepsfloor")
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(pkgDir, "main.go"): main}})
	ov := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ov, overlay, 0o644); err != nil {
		return "", 0, err
	}
	bin := filepath.Join(dir, "depsfloor")
	cmd := exec.Command("go", "build", "-overlay", ov, "-trimpath", "-ldflags", "-s -w", "-o", bin, "./internal/benchdepsfloor")
	cmd.Dir = c.repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", 0, fmt.Errorf("build the dependencies' floor binary: %v\n%s", err, out)
	}
	return bin, n, nil
}

// moltctlModule is moltctl's module path.
const moltctlModule = "github.com/moltctl/moltctl"

// runMeasured runs a command and returns its wall time and peak RSS in MiB.
func runMeasured(name string, args ...string) (time.Duration, float64, error) {
	cmd := exec.Command(name, args...)
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, err
	}
	return time.Since(start), peakMiB(cmd.ProcessState), nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
