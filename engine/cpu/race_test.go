//go:build race

package cpu

// raceEnabled: the race detector makes sync.Pool drop items at random, so allocation counts
// are not meaningful in race builds.
const raceEnabled = true
