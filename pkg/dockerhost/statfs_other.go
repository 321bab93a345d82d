//go:build !(linux || darwin || freebsd)

package dockerhost

func freeDisk(string) int64 { return -1 }
