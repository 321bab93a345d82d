//go:build race

package main

// The race detector slows every memory access, init included.
const raceSlowdown = 5
