// Package bytesize formats byte counts for people: the one formatter of the module's messages
// (disk space of a run, memory of a projection).
package bytesize

import "fmt"

// Format gives b in binary units with one decimal: 812 B, 1.5 KiB, 96.0 MiB, 2.3 GiB.
func Format(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}
