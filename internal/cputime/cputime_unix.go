//go:build unix

// Package cputime reads the process's CPU time, which benchmarks and breakdowns report beside
// wall time: on a shared machine it depends much less on other load.
package cputime

import (
	"syscall"
	"time"
)

// Process is the user+system CPU time of the process so far (0 if it cannot be read).
func Process() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
