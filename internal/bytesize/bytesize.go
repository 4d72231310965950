// Package bytesize formats byte counts for people, and parses the sizes people give: the one
// formatter of the module's messages (disk space of a run, memory of a projection) and the
// parser of its size flags (--max-disk).
package bytesize

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

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

// units are Parse's suffixes, case-insensitive: binary ones (KiB, and K alone), decimal ones
// (kB, MB, …) and bytes (B or none).
var units = map[string]float64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tib": 1 << 40,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
}

// Parse reads a size such as 20GiB, 1.5 TB, 512M or 4096: a number, optionally with a unit
// (KiB, MiB, GiB, TiB or K, M, G, T alone are powers of 1024; kB, MB, GB, TB powers of 1000).
// The size must be positive and at most 2^62 bytes.
func Parse(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	v, err := strconv.ParseFloat(num, 64)
	mul, ok := units[unit]
	if err != nil || !ok {
		return 0, fmt.Errorf("size %q: want a number and a unit such as 20GiB, 500MB or 4096 (bytes)", s)
	}
	b := v * mul
	if !(b >= 1) || b > 1<<62 {
		return 0, fmt.Errorf("size %q: must be between 1 byte and 4 EiB", s)
	}
	return int64(math.Round(b)), nil
}
