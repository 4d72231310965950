package lca

import "testing"

func TestParseRange(t *testing.T) {
	for _, c := range []struct {
		s    string
		a, b int
		ok   bool
	}{{":", 0, 100, true}, {"10:20", 10, 20, true}, {":50", 0, 50, true}, {"90:", 90, 100, true},
		{"20:10", 0, 0, false}, {"0:101", 0, 0, false}, {"-1:5", 0, 0, false}, {"5", 0, 0, false}, {"a:b", 0, 0, false}} {
		a, b, err := ParseRange(c.s, 100)
		if (err == nil) != c.ok || (c.ok && (a != c.a || b != c.b)) {
			t.Errorf("ParseRange(%q) = %d, %d, %v", c.s, a, b, err)
		}
	}
}

// Peaks follow the documented definition.
func TestPeaks(t *testing.T) {
	x := make([]float64, 40)
	for i := range x {
		x[i] = 0.01 * float64(i%3) // small noise around 0
	}
	x[10], x[11], x[25] = -1, -0.5, -2 // 10 and 25 are window minima far below the median
	got := Peaks(x)
	if len(got) != 2 || got[0] != 10 || got[1] != 25 {
		t.Errorf("Peaks = %v, want [10 25]", got)
	}
	// Two layers peaking together coincide far more often than shifted peaks.
	a := []int{5, 30, 55, 80}
	s := Synchronisation([][]int{a, a}, 100, 100, 1)
	if s.Observed != 1 || !(s.Ratio > 3) {
		t.Errorf("identical peaks: observed %v, shifted %v, ratio %v", s.Observed, s.Shuffled, s.Ratio)
	}
}
