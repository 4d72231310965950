package intdim

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gazeml/gaze/engine"
	_ "github.com/gazeml/gaze/engine/cpu"
	"github.com/gazeml/gaze/internal/rundir"
)

func toySpec(dims ...int) Spec {
	return Spec{Model: ToyModelName, Data: ToyModelName, Proj: Dense, Dims: dims, Seeds: 2, Batch: 1, Epochs: 6000,
		Opt: engine.OptConfig{Kind: "sgd", LR: 1, Momentum: 0.99}, BaselineLR: 0.05, Global: 1}
}

func TestPointMapping(t *testing.T) {
	s := Spec{Dims: []int{10, 50, 100}, Seeds: 3}
	pts := s.Points()
	if len(pts) != 12 || s.NumPoints() != 12 {
		t.Fatalf("%d points, want 3 baselines + 3 dims × 3 seeds = 12", len(pts))
	}
	want := []string{"baseline-s0", "baseline-s1", "baseline-s2", "d10-s0", "d10-s1", "d10-s2", "d50-s0", "d50-s1", "d50-s2", "d100-s0", "d100-s1", "d100-s2"}
	for k, p := range pts {
		q, err := s.Point(k)
		if err != nil || q != p || p.Index != k || p.Name() != want[k] {
			t.Errorf("point %d: Points gives %+v (%s), Point gives %+v, %v; want %s", k, p, p.Name(), q, err, want[k])
		}
	}
	for _, k := range []int{-1, 12, 1000} {
		if _, err := s.Point(k); err == nil || !strings.Contains(err.Error(), "outside the sweep's 12 points (0 … 11)") {
			t.Errorf("Point(%d): error %v", k, err)
		}
	}
}

// The toy problem's intrinsic dimension is 10: no seed solves it at d = 9, every seed at d = 10.
func TestToyIntrinsicDimension(t *testing.T) {
	dir := t.TempDir()
	spec := toySpec(9, 10)
	st, err := Sweep(context.Background(), dir, spec, Options{Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	if st.Ran != 6 || st.Failed != 0 {
		t.Fatalf("ran %d points, %d failed; want 6 and 0", st.Ran, st.Failed)
	}
	_, res, missing, err := Collect(dir)
	if err != nil || len(missing) > 0 {
		t.Fatal(err, missing)
	}
	for _, r := range res {
		t.Logf("%s: accuracy %.2f, largest miss %.3g", r.Name(), r.TestAcc, r.TestLoss)
	}
	s := Summarize(spec, res, missing, 200)
	if s.Dims[0].Max >= 0.9 || s.Dims[1].Min != 1 || s.DInt90Global != 10 || s.DInt90Trained != 10 || s.CIGlobal != [2]int{10, 10} {
		t.Errorf("d = 9: %v, d = 10: %v; d_int90 %d (global), %d (trained), interval %v; want 10",
			s.Dims[0].Accs, s.Dims[1].Accs, s.DInt90Global, s.DInt90Trained, s.CIGlobal)
	}
	// Rerunning finds every point finished and rewrites nothing.
	before, _ := os.Stat(filepath.Join(dir, "points", "d10-s0.json"))
	st, err = Sweep(context.Background(), dir, spec, Options{})
	after, _ := os.Stat(filepath.Join(dir, "points", "d10-s0.json"))
	if err != nil || st.Ran != 0 || st.Skipped != 6 || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("second sweep: %+v, %v; the point file changed: %v", st, err, !after.ModTime().Equal(before.ModTime()))
	}
}

func TestSweepBadInput(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		mut  func(*Spec)
		want string
	}{
		{func(s *Spec) { s.Dims = []int{10, 0} }, "subspace dimension 0 must be ≥ 1"},
		{func(s *Spec) { s.Dims = []int{-5} }, "subspace dimension -5 must be ≥ 1"},
		{func(s *Spec) { s.Dims = []int{10, 10} }, "listed twice"},
		{func(s *Spec) { s.Dims = []int{10, 1001} }, "point 4 (d1001-s0): subspace dimension d = 1001 must be in [1, D = 1000]"},
		{func(s *Spec) { s.Proj = "dense2" }, `unknown projection "dense2"`},
		{func(s *Spec) { s.Seeds = 0 }, "--seeds 0"},
		{func(s *Spec) { s.Data = "mnist" }, "the toy model takes --data toy"},
	} {
		s := toySpec(10)
		c.mut(&s)
		_, err := Sweep(ctx, t.TempDir(), s, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}

	// A folder holding another sweep is refused; dims and seeds may change.
	dir := t.TempDir()
	spec := toySpec(10)
	spec.Epochs = 5
	if err := InitSweep(dir, spec); err != nil {
		t.Fatal(err)
	}
	other := spec
	other.Opt.LR = 0.5
	if err := InitSweep(dir, other); err == nil || !strings.Contains(err.Error(), "holds another sweep") {
		t.Errorf("a different learning rate on the same folder: %v", err)
	}
	grown := spec
	grown.Dims, grown.Seeds = []int{10, 20}, 3
	if err := InitSweep(dir, grown); err != nil {
		t.Errorf("growing dims and seeds: %v", err)
	}
	if _, _, err := RunPoint(ctx, dir, 12, Options{}); err == nil || !strings.Contains(err.Error(), "point index 12 is outside the sweep's 9 points") {
		t.Errorf("index out of range: %v", err)
	}
	if _, _, err := RunPoint(ctx, t.TempDir(), 0, Options{}); err == nil || !strings.Contains(err.Error(), "holds no sweep") {
		t.Errorf("no sweep: %v", err)
	}
}

// A diverging point is recorded as failed with its reason and the sweep goes on; a finished
// point is never overwritten; --retry-failed keeps the old record.
func TestDivergingPoint(t *testing.T) {
	dir := t.TempDir()
	spec := toySpec(10)
	spec.Epochs, spec.BaselineLR = 300, 10 // the baseline's SGD diverges at lr 10, the subspace converges
	st, err := Sweep(context.Background(), dir, spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Ran != 4 || st.Failed != 2 {
		t.Fatalf("ran %d, failed %d; want 4 and 2", st.Ran, st.Failed)
	}
	r, ok, err := ReadResult(dir, Point{Baseline: true, Seed: 0})
	if err != nil || !ok || r.Status != StatusFailed || !strings.Contains(r.Reason, "training diverged") {
		t.Fatalf("baseline: %+v %v %v", r, ok, err)
	}
	r, _, _ = ReadResult(dir, Point{Dim: 10, Seed: 1})
	if r.Status != StatusOK {
		t.Errorf("d10-s1 after the failed baselines: %s %s", r.Status, r.Reason)
	}
	if err := rundir.WriteNew(pointPath(dir, Point{Dim: 10, Seed: 1}), []byte("{}")); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Errorf("overwriting a finished point: %v", err)
	}
	if _, skipped, err := RunPoint(context.Background(), dir, 0, Options{}); err != nil || !skipped {
		t.Errorf("a failed point without --retry-failed must be left alone: skipped %v, %v", skipped, err)
	}
	if _, skipped, err := RunPoint(context.Background(), dir, 0, Options{RetryFailed: true}); err != nil || skipped {
		t.Errorf("--retry-failed: skipped %v, %v", skipped, err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "points", "baseline-s0.failed-*.json"))
	if len(old) != 1 {
		t.Errorf("the retried point's old record: %v", old)
	}
}

// Collect merges point files from folders of the same sweep and refuses other sweeps.
func TestCollectMerge(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	spec := toySpec(10)
	spec.Epochs = 50
	for _, dir := range []string{a, b} {
		if err := InitSweep(dir, spec); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	for _, k := range []int{0, 2} {
		if _, _, err := RunPoint(ctx, a, k, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []int{1, 2, 3} {
		if _, _, err := RunPoint(ctx, b, k, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	_, res, missing, err := Collect(a, b)
	if err != nil || len(res) != 4 || len(missing) != 0 {
		t.Fatalf("merged %d results, missing %v, %v", len(res), missing, err)
	}
	c := t.TempDir()
	other := spec
	other.Proj = Sparse
	InitSweep(c, other)
	if _, _, _, err := Collect(a, c); err == nil || !strings.Contains(err.Error(), "another sweep") {
		t.Errorf("merging another sweep: %v", err)
	}
}

func TestSummarize(t *testing.T) {
	spec := Spec{Dims: []int{100, 10, 50}, Seeds: 3, Global: 1}
	var res []Result
	add := func(p Point, acc float64) { res = append(res, Result{Point: p, Status: StatusOK, TestAcc: acc}) }
	for s, a := range []float64{0.98, 0.97, 0.99} {
		add(Point{Baseline: true, Seed: s}, a)
	}
	for s, a := range []float64{0.5, 0.6, 0.55} {
		add(Point{Dim: 10, Seed: s}, a)
	}
	for s, a := range []float64{0.88, 0.89, 0.93} { // mean 0.90: not above 0.9, but above 0.9·0.98
		add(Point{Dim: 50, Seed: s}, a)
	}
	for s, a := range []float64{0.95, 0.96, 0.97} {
		add(Point{Dim: 100, Seed: s}, a)
	}
	res = append(res, Result{Point: Point{Dim: 100, Seed: 3}, Status: StatusFailed, Reason: "diverged"})
	s := Summarize(spec, res, []int{7}, 1000)
	if s.DInt90Global != 100 || s.DInt90Trained != 50 {
		t.Errorf("d_int90 %d (global), %d (trained); want 100 and 50", s.DInt90Global, s.DInt90Trained)
	}
	// Resampling d = 50's seeds can push its mean above 0.9 (drawing 0.93 twice) or below 0.882.
	if s.CIGlobal != [2]int{50, 100} || s.CITrained != [2]int{50, 100} {
		t.Errorf("intervals %v (global), %v (trained); want [50 100] for both", s.CIGlobal, s.CITrained)
	}
	if len(s.Failed) != 1 || s.Dims[2].Failed != 1 || len(s.Dims[2].Accs) != 3 {
		t.Errorf("the failed point: %+v", s.Dims[2])
	}
	high := Summarize(Spec{Dims: []int{10}, Seeds: 1, Global: 1}, []Result{{Point: Point{Dim: 10}, Status: StatusOK, TestAcc: 0.5}}, nil, 10)
	if high.DInt90Global != 0 || high.CIGlobal != [2]int{0, 0} {
		t.Errorf("never reached: %d %v", high.DInt90Global, high.CIGlobal)
	}
	var b strings.Builder
	high.WriteText(&b, Spec{Dims: []int{10}})
	if !strings.Contains(b.String(), "d_int90 = > 10 (not reached)") {
		t.Errorf("report: %s", b.String())
	}
	b.Reset()
	if err := s.WriteSVG(&b, spec); err != nil || !strings.Contains(b.String(), "d_int90 = 100") {
		t.Errorf("plot: %v", err)
	}
}

// A sweep still running has d's without a finished seed: its report is still written, with
// null statistics for those d's (NaN has no JSON form), and d_int90 over the finished ones.
func TestReportOfPartialSweep(t *testing.T) {
	dir := t.TempDir()
	spec := toySpec(10)
	spec.Dims = []int{5, 20}
	spec.Epochs = 50
	if err := InitSweep(dir, spec); err != nil {
		t.Fatal(err)
	}
	// Only point 2 (d = 5, seed 0; the baselines come first) finishes: d = 20 and the baseline
	// have none.
	if _, _, err := RunPoint(context.Background(), dir, 2, Options{}); err != nil {
		t.Fatal(err)
	}
	_, s, err := WriteReport(dir, 100)
	if err != nil {
		t.Fatalf("report of a partial sweep: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Dims []struct {
			Dim  int
			Mean *float64
		}
		Missing []int
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Dims) != 2 || back.Dims[0].Mean == nil || *back.Dims[0].Mean != s.Dims[0].Mean || back.Dims[1].Mean != nil {
		t.Errorf("summary.json's dims: %s", b)
	}
	if len(back.Missing) != spec.NumPoints()-1 {
		t.Errorf("missing %v of %d points", back.Missing, spec.NumPoints())
	}
}

// Two sweeps over one folder share its points: a point whose lock another process holds is
// left to it (counted, not an error, no result written), and a later sweep finishes it.
func TestSweepLeavesLockedPoint(t *testing.T) {
	dir := t.TempDir()
	spec := toySpec(10)
	spec.Epochs = 50
	if err := InitSweep(dir, spec); err != nil {
		t.Fatal(err)
	}
	held := Point{Index: 3, Dim: 10, Seed: 1}
	lock, err := rundir.AcquireLock(strings.TrimSuffix(pointPath(dir, held), ".json")+".lock", "the test's hold on d10-s1")
	if err != nil {
		t.Fatal(err)
	}
	st, err := Sweep(context.Background(), dir, spec, Options{})
	if err != nil || st.Ran != 3 || st.Elsewhere != 1 || st.Skipped != 0 {
		t.Fatalf("sweep beside a held point: %+v, %v; want 3 run, 1 elsewhere", st, err)
	}
	if _, ok, err := ReadResult(dir, held); ok || err != nil {
		t.Fatalf("the held point has a result (%v, %v)", ok, err)
	}
	if _, _, missing, err := Collect(dir); err != nil || len(missing) != 1 || missing[0] != held.Index {
		t.Fatalf("missing %v (%v), want [%d]", missing, err, held.Index)
	}
	if err := lock.Release(); err != nil {
		t.Fatal(err)
	}
	st, err = Sweep(context.Background(), dir, spec, Options{})
	if err != nil || st.Ran != 1 || st.Skipped != 3 || st.Elsewhere != 0 {
		t.Fatalf("sweep after the release: %+v, %v; want 1 run, 3 skipped", st, err)
	}
	if r, ok, err := ReadResult(dir, held); !ok || err != nil || r.Status != StatusOK {
		t.Fatalf("the released point: %+v, %v, %v", r, ok, err)
	}
}

// A sweep logs each point's first epoch (then one every progressEvery) with the point's ETA,
// and after each point the sweep's ETA from the points run so far.
func TestSweepLogsProgress(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, fmt.Sprintf(format, args...))
	}
	spec := toySpec(10)
	spec.Epochs = 50
	if _, err := Sweep(context.Background(), t.TempDir(), spec, Options{Log: logf}); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{
		"point 0 baseline-s0: epoch 1/50, test accuracy ",
		"point 3 d10-s1: epoch 1/50, test accuracy ",
		"sweep: 1 of 4 points run here (0 found done, 0 left to other processes), 3 to go: ETA ",
		"sweep: 3 of 4 points run here (0 found done, 0 left to other processes), 1 to go: ETA ",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the log lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "0 to go") || strings.Contains(all, "epoch 50/50") {
		t.Errorf("the log has an ETA for nothing:\n%s", all)
	}
}

// Sweeps that differ only in the projection share baselines: a sweep with copied baseline files
// skips them and its report uses them; a copied subspace point of the other projection is
// still refused.
func TestSweepsShareBaselinesAcrossProjections(t *testing.T) {
	dense, sparse := t.TempDir(), t.TempDir()
	a := toySpec(10)
	a.Epochs = 300
	if _, err := Sweep(context.Background(), dense, a, Options{}); err != nil {
		t.Fatal(err)
	}
	b := a
	b.Proj = Sparse
	if err := InitSweep(sparse, b); err != nil {
		t.Fatal(err)
	}
	copyPoint := func(name string) {
		data, err := os.ReadFile(filepath.Join(dense, "points", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sparse, "points", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyPoint("baseline-s0.json")
	copyPoint("baseline-s1.json")
	st, err := Sweep(context.Background(), sparse, b, Options{})
	if err != nil || st.Ran != 2 || st.Skipped != 2 {
		t.Fatalf("sparse sweep with copied baselines: %+v, %v; want 2 run, 2 skipped", st, err)
	}
	_, res, missing, err := Collect(sparse)
	if err != nil || len(res) != 4 || len(missing) != 0 {
		t.Fatalf("collect: %d results, missing %v, %v", len(res), missing, err)
	}
	base, _, _ := ReadResult(dense, Point{Baseline: true, Seed: 1})
	if res[1].TestAcc != base.TestAcc || res[1].TestLoss != base.TestLoss {
		t.Errorf("the sparse sweep's baseline-s1 is %+v, the dense sweep's %+v", res[1], base)
	}
	if err := os.Remove(filepath.Join(sparse, "points", "d10-s0.json")); err != nil {
		t.Fatal(err)
	}
	copyPoint("d10-s0.json")
	if _, _, _, err := Collect(sparse); err == nil || !strings.Contains(err.Error(), `proj: saved "dense"`) {
		t.Errorf("a dense subspace point in a sparse sweep: %v", err)
	}
}
