// Command bench measures moltctl side by side with what users do today
// (wrangler), in one run, against the Cloudflare API emulator with injected
// latency. `make bench` runs it; docs/benchmarks.md explains how to read it.
//
//	go run ./bench -runs 5 -latency 50ms -out bench/results
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Row is one line of the results table: a measurement of moltctl next to
// the alternative, both taken in this run.
type Row struct {
	Name        string  `json:"name"`
	Metric      string  `json:"metric"`
	Moltctl     float64 `json:"moltctl"`
	Alternative float64 `json:"alternative"`
	AltName     string  `json:"alternative_name"`
	// Ratio is alternative / moltctl: above 1 means moltctl is ahead.
	Ratio float64 `json:"ratio"`
	Unit  string  `json:"unit"`
	Note  string  `json:"note,omitempty"`
	Error string  `json:"error,omitempty"`
}

// Results is what is written to bench/results/<time>.json.
type Results struct {
	Time     time.Time         `json:"time"`
	Machine  map[string]string `json:"machine"`
	Settings map[string]string `json:"settings"`
	Rows     []Row             `json:"rows"`
}

type config struct {
	runs     int
	latency  time.Duration
	out      string
	moltctl  string
	wrangler string
	repo     string
	only     string
	// cleanBuild also times a build of moltctl with an empty build cache.
	cleanBuild bool
}

func main() {
	var c config
	flag.IntVar(&c.runs, "runs", 5, "runs per measurement; medians are reported")
	flag.DurationVar(&c.latency, "latency", 50*time.Millisecond, "latency the emulator adds to every API request")
	flag.StringVar(&c.out, "out", "bench/results", "directory for the Markdown and JSON results")
	flag.StringVar(&c.moltctl, "moltctl", "bin/moltctl", "moltctl binary to measure")
	flag.StringVar(&c.wrangler, "wrangler", os.Getenv("MOLTCTL_WRANGLER"), "wrangler CLI to compare with")
	flag.StringVar(&c.only, "only", "", "comma-separated measurements to run (start-up, secrets, preflight, image, deploy, build); default all")
	flag.BoolVar(&c.cleanBuild, "clean-build", false, "also time a build of moltctl with an empty build cache (minutes)")
	flag.Parse()
	wd, _ := os.Getwd()
	c.repo = wd
	if abs, err := filepath.Abs(c.moltctl); err == nil {
		c.moltctl = abs
	}
	if c.wrangler == "" {
		if p, err := exec.LookPath("wrangler"); err == nil {
			c.wrangler = p
		}
	}
	if c.wrangler == "" {
		fatal("wrangler not found: run `source .ci/node.sh` first (make bench does)")
	}
	res := Results{Time: time.Now().UTC(), Machine: machine(c), Settings: map[string]string{
		"runs": fmt.Sprint(c.runs), "latency": c.latency.String(),
	}}
	for _, m := range measurements {
		if !selected(c.only, m.name) {
			continue
		}
		fmt.Fprintf(os.Stderr, "== %s\n", m.name)
		rows, err := m.run(c)
		if err != nil {
			rows = append(rows, Row{Name: m.name, Error: err.Error()})
			fmt.Fprintf(os.Stderr, "   error: %v\n", err)
		}
		res.Rows = append(res.Rows, rows...)
	}
	md := markdown(res)
	fmt.Print(md)
	if err := write(c.out, res, md); err != nil {
		fatal(err.Error())
	}
	for _, r := range res.Rows {
		if r.Error != "" {
			os.Exit(1)
		}
	}
}

type measurement struct {
	name string
	run  func(config) ([]Row, error)
}

// measurements are run in order; each builds its own emulator and project.
var measurements = []measurement{
	{"start-up", benchStartup},
	{"secrets", benchSecrets},
	{"preflight", benchPreflight},
	{"image", benchImage},
	{"deploy (no change)", benchRedeploy},
	{"build", benchBuild},
}

// selected reports whether measurement name is in the -only list (all when empty).
func selected(only, name string) bool {
	if only == "" {
		return true
	}
	for _, o := range strings.Split(only, ",") {
		if o = strings.TrimSpace(o); o != "" && strings.HasPrefix(name, o) {
			return true
		}
	}
	return false
}

func machine(c config) map[string]string {
	m := map[string]string{"os": runtime.GOOS, "arch": runtime.GOARCH, "cpus": fmt.Sprint(runtime.NumCPU()), "go": runtime.Version()}
	if out, err := exec.Command(c.moltctl, "--version").Output(); err == nil {
		m["moltctl"] = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command(c.wrangler, "--version").Output(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		m["wrangler"] = strings.TrimSpace(lines[len(lines)-1])
	}
	if out, err := exec.Command("node", "--version").Output(); err == nil {
		m["node"] = strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Output(); err == nil {
		m["docker"] = strings.TrimSpace(string(out))
	}
	return m
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ratio(alt, ours float64) float64 {
	if ours == 0 {
		return 0
	}
	return alt / ours
}

func markdown(r Results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## moltctl benchmarks, %s\n\n", r.Time.Format(time.RFC3339))
	keys := make([]string, 0, len(r.Machine))
	for k := range r.Machine {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "- %s: %s\n", k, r.Machine[k])
	}
	fmt.Fprintf(&b, "- settings: %d runs (medians), %s API latency\n\n", atoi(r.Settings["runs"]), r.Settings["latency"])
	b.WriteString("| measurement | metric | moltctl | alternative | value | ratio (alt/moltctl) | note |\n|---|---|---:|---|---:|---:|---|\n")
	for _, row := range r.Rows {
		if row.Error != "" {
			msg := strings.ReplaceAll(strings.ReplaceAll(row.Error, "|", "\\|"), "\n", " ")
			fmt.Fprintf(&b, "| %s | error | | | | | %s |\n", row.Name, msg)
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", row.Name, row.Metric,
			format(row.Moltctl, row.Unit), row.AltName, format(row.Alternative, row.Unit), formatRatio(row.Ratio), row.Note)
	}
	return b.String()
}

func formatRatio(r float64) string {
	if r == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", r)
}

func format(v float64, unit string) string {
	switch unit {
	case "ms":
		switch {
		case v != 0 && v < 1:
			return fmt.Sprintf("%.2f ms", v)
		case v < 10:
			return fmt.Sprintf("%.1f ms", v)
		}
		return fmt.Sprintf("%.0f ms", v)
	case "MiB":
		return fmt.Sprintf("%.1f MiB", v)
	case "MB":
		return fmt.Sprintf("%.1f MB", v)
	case "× latency":
		return fmt.Sprintf("%.1f× latency", v)
	case "bytes":
		return fmt.Sprintf("%.0f B", v)
	default:
		return fmt.Sprintf("%.0f %s", v, unit)
	}
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

func write(dir string, r Results, md string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	stamp := r.Time.Format("20060102T150405Z")
	b, _ := json.MarshalIndent(r, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, stamp+".json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, stamp+".md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "results written to %s/%s.{md,json}\n", dir, stamp)
	return nil
}

func fatal(msg string) {
	fmt.Fprintln(os.Stderr, "bench:", msg)
	os.Exit(1)
}
