//go:build unix

package main

import (
	"os"
	"runtime"
	"syscall"
)

// peakMiB is a finished process's peak resident memory in MiB (from the
// kernel's accounting, not Go's heap statistics).
func peakMiB(ps *os.ProcessState) float64 {
	if ps == nil {
		return 0
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return float64(ru.Maxrss) / (1 << 20) // bytes
	}
	return float64(ru.Maxrss) / 1024 // KiB
}
