package lca

import (
	"strconv"
	"strings"
	"testing"
)

// The N parts of a run tile its iterations: contiguous, no gap, no overlap, every index one
// range, sizes within one of each other; a bad K/N is refused naming what is allowed.
func TestPartsTileTheRun(t *testing.T) {
	for T := 1; T <= 40; T++ {
		for n := 1; n <= T; n++ {
			next, lo, hi := 0, T, 0
			for k := range n {
				a, b, err := ParsePart(strings.Join([]string{itoa(k), itoa(n)}, "/"), T, 1)
				if err != nil {
					t.Fatalf("part %d/%d of %d: %v", k, n, T, err)
				}
				if a != next || b <= a {
					t.Fatalf("part %d/%d of %d is %d:%d, want it to start at %d and be non-empty", k, n, T, a, b, next)
				}
				next = b
				lo, hi = min(lo, b-a), max(hi, b-a)
			}
			if next != T || hi-lo > 1 {
				t.Fatalf("%d parts of %d end at %d, sizes %d to %d", n, T, next, lo, hi)
			}
		}
	}
	for _, c := range []struct{ s, want string }{
		{"3/3", "from 0 to 2"}, {"-1/3", "from 0 to 2"}, {"0/11", "1 to 10 parts"}, {"0/0", "1 to 10 parts"},
		{"1", "want K/N"}, {"a/2", "want K/N"}, {"1/b", "want K/N"},
	} {
		if _, _, err := ParsePart(c.s, 10, 1); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--part %s of 10 iterations: %v, want %q", c.s, err, c.want)
		}
	}
}

func itoa(v int) string { return strconv.Itoa(v) }
