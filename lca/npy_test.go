package lca

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestStreamRoundTripAndPrefixAfterKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.npy")
	s, err := CreateStream(path, Float32, 3)
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < 3; r++ {
		if err := s.AppendF32([]float32{float32(r), float32(r) + 0.5, -float32(r)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	// Two more rows reach the file but the process "dies" before the next Sync: a reader sees
	// the three complete rows the header claims.
	s.AppendF32([]float32{9, 9, 9})
	s.AppendF32([]float32{8, 8, 8})
	s.f.Write([]byte{1, 2}) // and half a value
	m, err := ReadNPY(path, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows() != 3 || m.Cols() != 3 || m.Row(2)[1] != 2.5 || m.Row(1)[2] != -1 {
		t.Fatalf("prefix after a kill: shape %v, rows %v", m.Shape, m.Data)
	}
	s.f.Close()
	// Reopening for a resume at row 2 cuts the rest off and appends after it.
	s2, err := OpenStream(path, Float32, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	s2.AppendF32([]float32{7, 7, 7})
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	m, _ = ReadNPY(path, 0, -1)
	if m.Rows() != 3 || m.Row(2)[0] != 7 || m.Row(1)[0] != 1 {
		t.Fatalf("after resume at row 2: %v", m.Data)
	}
	if _, err := OpenStream(path, Float32, 3, 5); err == nil {
		t.Error("reopening for 5 rows of a 3-row file: no error")
	}
	if _, err := OpenStream(path, Float64, 3, 1); err == nil {
		t.Error("reopening with another dtype: no error")
	}
	// Truncating the data under a header that claims more is reported.
	st, _ := os.Stat(path)
	os.Truncate(path, st.Size()-4)
	if _, err := ReadNPY(path, 0, -1); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated file: %v", err)
	}
}

// numpy itself reads what gaze writes, when it is installed.
func TestNumpyReadsOurFiles(t *testing.T) {
	py := ""
	for _, cand := range []string{"python3", "/usr/bin/python3"} {
		if p, err := exec.LookPath(cand); err == nil && exec.Command(p, "-c", "import numpy").Run() == nil {
			py = p
			break
		}
	}
	if py == "" {
		t.Skip("no python3 with numpy is installed")
	}
	dir := t.TempDir()
	s, _ := CreateStream(filepath.Join(dir, "a.npy"), Float64, 2)
	s.AppendF64([]float64{1.5, -2})
	s.AppendF64([]float64{3, 4.25})
	s.Close()
	if err := WriteNPY(filepath.Join(dir, "b.npy"), Int32, []int{3}, nil, []int32{1, -2, 3}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", `import numpy as np, sys
a = np.load(sys.argv[1]); b = np.load(sys.argv[2])
print(a.shape, a.dtype, a.sum(), b.shape, b.dtype, b.tolist())`, filepath.Join(dir, "a.npy"), filepath.Join(dir, "b.npy")).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "(2, 2) float64 6.75 (3,) int32 [1, -2, 3]" {
		t.Errorf("numpy read %q", got)
	}
}

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
