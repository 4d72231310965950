//go:build !unix

package bench

import "time"

// processCPUTime is not measured off unix: breakdowns then show 0 CPU time.
func processCPUTime() time.Duration { return 0 }
