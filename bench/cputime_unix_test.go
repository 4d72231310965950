//go:build unix

package bench

import (
	"syscall"
	"time"
)

// processCPUTime is the user+system CPU time of the process so far, which depends much less
// on other load on a shared machine than wall time.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
