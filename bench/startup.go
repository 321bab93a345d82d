package main

import (
	"os/exec"
	"syscall"
	"time"
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
	return []Row{
		{Name: "start-up: --version", Metric: "wall time", Moltctl: median(mt), AltName: "wrangler --version", Alternative: median(wt), Ratio: ratio(median(wt), median(mt)), Unit: "ms"},
		{Name: "start-up: --version", Metric: "peak memory", Moltctl: median(mm), AltName: "wrangler --version", Alternative: median(wm), Ratio: ratio(median(wm), median(mm)), Unit: "MiB"},
	}, nil
}

// runMeasured runs a command and returns its wall time and peak RSS in MiB.
func runMeasured(name string, args ...string) (time.Duration, float64, error) {
	cmd := exec.Command(name, args...)
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, err
	}
	d := time.Since(start)
	var rss float64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = float64(ru.Maxrss) / 1024 // Linux reports KiB
	}
	return d, rss, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
