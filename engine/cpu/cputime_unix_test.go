//go:build unix

package cpu

import (
	"syscall"
	"time"
)

// processCPUTime is the user+system CPU time of the process so far: on a shared machine the
// benchmarks report it beside wall time, as it depends much less on other load.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
