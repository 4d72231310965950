package npy

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gazeml/gaze/internal/rundir"
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
	m, err := Read(path, 0, -1)
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
	m, _ = Read(path, 0, -1)
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
	if _, err := Read(path, 0, -1); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated file: %v", err)
	}
}

// A stream of rows that are matrices (T × C × L) grows, is cut back on resume and reads back in
// row-major order; int64 arrays round-trip exactly.
func TestStreamShapeAndInt64(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.npy")
	s, err := CreateStreamShape(path, Float64, []int{2, 3})
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < 3; r++ {
		row := make([]float64, 6)
		for i := range row {
			row[i] = float64(10*r + i)
		}
		if err := s.AppendF64(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendF64(make([]float64, 5)); err == nil {
		t.Error("a row of 5 values was accepted for rows of shape (2, 3)")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStream(path, Float64, 6, 2); err == nil {
		t.Error("a (3, 2, 3) file was reopened as rows of 6")
	}
	s2, err := OpenStreamShape(path, Float64, []int{2, 3}, 2)
	if err != nil {
		t.Fatal(err)
	}
	s2.AppendF64([]float64{-1, -2, -3, -4, -5, -6})
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := Read(path, 1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Shape) != 3 || m.Rows() != 2 || m.Cols() != 6 || m.Row(0)[4] != 14 || m.Row(1)[5] != -6 {
		t.Fatalf("shape %v, data %v", m.Shape, m.Data)
	}
	ip := filepath.Join(t.TempDir(), "i.npy")
	big := []int64{0, 59999, 1 << 40, -3}
	if err := Write(ip, []int{4}, big); err != nil {
		t.Fatal(err)
	}
	got, err := ReadInt64(ip)
	if err != nil || !slices.Equal(got, big) {
		t.Fatalf("int64 round trip: %v, %v", got, err)
	}
	if _, err := ReadInt64(path); err == nil {
		t.Error("ReadInt64 read a float64 file")
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
	if err := Write(filepath.Join(dir, "b.npy"), []int{3}, []int32{1, -2, 3}); err != nil {
		t.Fatal(err)
	}
	c, _ := CreateStreamShape(filepath.Join(dir, "c.npy"), Float32, []int{2, 2})
	c.AppendF32([]float32{1, 2, 3, 4})
	c.Close()
	if err := Write(filepath.Join(dir, "d.npy"), []int{2}, []int64{7, 1 << 40}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", `import numpy as np, sys
a, b, c, d = (np.load(p) for p in sys.argv[1:])
print(a.shape, a.dtype, a.sum(), b.shape, b.dtype, b.tolist(), c.shape, c[0, 1, 0], d.dtype, d.tolist())`,
		filepath.Join(dir, "a.npy"), filepath.Join(dir, "b.npy"), filepath.Join(dir, "c.npy"), filepath.Join(dir, "d.npy")).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "(2, 2) float64 6.75 (3,) int32 [1, -2, 3] (1, 2, 2) 3.0 int64 [7, 1099511627776]" {
		t.Errorf("numpy read %q", got)
	}
}

// A stream whose rows were cut off on disk (its header still claiming them) is refused when a
// resumed run needs those rows: it is never extended with zeros.
func TestOpenStreamNeverZeroFills(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.npy")
	s, _ := CreateStream(path, Float32, 4)
	for r := 0; r < 5; r++ {
		s.AppendF32([]float32{1, 2, 3, float32(r + 1)})
	}
	s.Close()
	st, _ := os.Stat(path)
	os.Truncate(path, st.Size()-2*16-3) // two rows and part of a third gone, header says 5
	_, err := OpenStream(path, Float32, 4, 4)
	if err == nil || !strings.Contains(err.Error(), "holds 2 complete rows") || !strings.Contains(err.Error(), "needs 4") {
		t.Fatalf("reopening a truncated stream for 4 rows: %v", err)
	}
	if st2, _ := os.Stat(path); st2.Size() != st.Size()-2*16-3 {
		t.Errorf("a refused stream changed size: %d", st2.Size())
	}
	// Two rows are there: a resume at two rows keeps them, without a zero.
	s2, err := OpenStream(path, Float32, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	m, err := Read(path, 0, -1)
	if err != nil || m.Rows() != 2 || m.Row(1)[3] != 2 {
		t.Errorf("after a resume at 2 rows: %v %v", m, err)
	}
}

// Commit records a stream's state; ResumeStream reopens it there, cutting later rows, and
// refuses a file shorter than recorded or whose rows changed.
func TestCommitAndResumeStream(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "l.npy")
	reg := rundir.NewStreams()
	s, err := OpenIn(reg, path, Float64, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.AppendF64([]float64{1, 2})
	s.AppendF64([]float64{3, 4})
	states, err := reg.Commit()
	if err != nil || len(states) != 1 || states[0].Rows != 2 || states[0].File != "l.npy" || states[0].Bytes != headerLen+32 {
		t.Fatalf("commit: %+v %v", states, err)
	}
	s.AppendF64([]float64{5, 6}) // after the checkpoint
	s.Close()

	reg.Restore(states)
	s, err = OpenIn(reg, path, Float64, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	s.AppendF64([]float64{7, 8})
	s.Close()
	if m, _ := Read(path, 0, -1); m.Rows() != 3 || m.Row(2)[0] != 7 || m.Row(1)[1] != 4 {
		t.Errorf("resumed stream: %v", m.Data)
	}
	if _, err := OpenIn(reg, path, Float64, 2, 3); err == nil || !strings.Contains(err.Error(), "recorded 2 rows") {
		t.Errorf("a run that needs other rows than recorded: %v", err)
	}
	b, _ := os.ReadFile(path)
	b[headerLen+9] ^= 0x40 // row 0
	os.WriteFile(path, b, 0o644)
	if _, err := ResumeStream(path, Float64, 2, states[0]); err == nil || !strings.Contains(err.Error(), "CRC-32") {
		t.Errorf("a changed row: %v", err)
	}
	os.Truncate(path, headerLen+20)
	if _, err := ResumeStream(path, Float64, 2, states[0]); err == nil || !strings.Contains(err.Error(), "truncated") || !strings.Contains(err.Error(), path) {
		t.Errorf("a truncated stream: %v", err)
	}
}
