package coordconv

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/gazeml/gaze/engine/cpu"
)

// The rendering metric is the IOU of the output thresholded at sigmoid 0.5 (logit > 0) with the
// square (target > 0.5), on hand-made 4×4 masks.
func TestIOUByHand(t *testing.T) {
	square := []float32{ // a 2×2 square
		0, 0, 0, 0,
		0, 1, 1, 0,
		0, 1, 1, 0,
		0, 0, 0, 0,
	}
	logits := func(on ...int) []float32 {
		out := make([]float32, 16)
		for i := range out {
			out[i] = -3
		}
		for _, i := range on {
			out[i] = 2
		}
		return out
	}
	cases := []struct {
		name string
		out  []float32
		want float64
	}{
		{"exact", logits(5, 6, 9, 10), 1},
		{"nothing predicted", logits(), 0},
		{"disjoint", logits(0, 1, 2, 3), 0},
		// 3 predicted, 2 of them on the square: 2 / (4 + 3 − 2).
		{"partial", logits(5, 6, 0), 2.0 / 5},
		// the whole canvas: 4 / 16.
		{"everything", logits(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 4.0 / 16},
	}
	for _, c := range cases {
		if got := exampleMetric(Rendering, c.out, square); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: IOU %v, by hand %v", c.name, got, c.want)
		}
	}
	// A logit of exactly 0 is probability 0.5, not above it: not predicted.
	edge := logits(5, 6, 9)
	edge[10] = 0
	if got := exampleMetric(Rendering, edge, square); math.Abs(got-0.75) > 1e-12 {
		t.Errorf("a zero logit counted as predicted: IOU %v, want 3/4", got)
	}
}

// A seed stops at the first epoch whose train and test metrics are both perfect (and not at an
// epoch where only one is), that epoch is recorded as its last and best, and without
// StopPerfect it runs every epoch.
func TestStopAtFirstPerfectEpoch(t *testing.T) {
	script := [][2]float64{{0.5, 0.25}, {1, 0.75}, {0.75, 1}, {1, 1}, {1, 1}, {0.5, 0.5}}
	defer func(f func(*evaluator, *Examples, *Examples) (float64, float64, [][]float32, error)) {
		epochMetrics = f
	}(epochMetrics)
	var calls int
	epochMetrics = func(ev *evaluator, train, test *Examples) (float64, float64, [][]float32, error) {
		m := script[calls]
		calls++
		return m[0], m[1], nil, nil
	}
	cfg := Defaults(Classification, "coordconv")
	cfg.Epochs, cfg.Subsample, cfg.Seeds, cfg.Batch = 6, 1000, []uint64{0}, 8
	for _, stop := range []bool{true, false} {
		calls = 0
		cfg.StopPerfect = stop
		res, err := Run(context.Background(), cpu.New(), cfg, RunOptions{Dir: filepath.Join(t.TempDir(), "run")})
		if err != nil {
			t.Fatal(err)
		}
		sr := res.Seeds[0]
		want := 4
		if !stop {
			want = 6
		}
		if sr.Epochs != want || len(sr.Curve) != want || calls != want {
			t.Errorf("stop %v: ran %d epochs (%d evaluated), want %d", stop, sr.Epochs, calls, want)
		}
		if sr.BestEpoch != 4 || sr.BestTest != 1 || sr.TrainAtBest != 1 {
			t.Errorf("stop %v: best epoch %d (train %v, test %v), want 4 (1, 1)", stop, sr.BestEpoch, sr.TrainAtBest, sr.BestTest)
		}
	}
}
