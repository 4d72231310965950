package intdim

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Two toy sweeps (d_int = 10 by construction) with different dims: the tables give each its
// d_int90 under both baselines and put every d any of them swept in one column, blank where a
// sweep did not sweep it; the plot is a PNG or an SVG.
func TestCompareToySweeps(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if _, err := Sweep(context.Background(), a, toySpec(9, 10), Options{}); err != nil {
		t.Fatal(err)
	}
	sb := toySpec(10, 12)
	sb.Seeds = 1
	if _, err := Sweep(context.Background(), b, sb, Options{}); err != nil {
		t.Fatal(err)
	}
	cs, err := Compare([]string{a, b}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	WriteCompareTables(&w, cs)
	out := w.String()
	for _, want := range []string{
		"| toy on toy, dense | 2 × 6000 | 1.0000 (2) | 10 [10, 10] | 10 [10, 10] |",
		"| toy on toy, dense | 1 × 6000 | 1.0000 (1) | 10 [10, 10] | 10 [10, 10] |",
		"| mean test accuracy (min–max) | d = 9 | d = 10 | d = 12 | trained baseline |",
		"| toy on toy, dense | 0.0000 (0.0000–0.0000) | 1.0000 (1.0000–1.0000) | | 1.0000 (1.0000–1.0000) |",
		"| toy on toy, dense | | 1.0000 | 1.0000 | 1.0000 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("tables lack %q:\n%s", want, out)
		}
	}
	for format, magic := range map[string]string{"png": "\x89PNG\r\n", "svg": "<?xml"} {
		var p bytes.Buffer
		if err := WriteComparePlot(&p, cs, format); err != nil || !strings.HasPrefix(p.String(), magic) {
			t.Errorf("%s plot: %v, starts %q", format, err, p.String()[:min(p.Len(), 8)])
		}
	}
	if _, err := Compare(nil, 10); err == nil {
		t.Error("Compare of no folders: no error")
	}
}
