package coordconv

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// seedRun is a seed whose test metric per epoch is given, one second of wall time per epoch.
func seedRun(params int, test ...float64) SeedResult {
	sr := SeedResult{Params: params, BestEpoch: -1}
	m := TaskMetric(Classification)
	for i, v := range test {
		e := EpochResult{Epoch: i + 1, TestMetric: v, Seconds: float64(i + 1)}
		sr.Curve = append(sr.Curve, e)
		if sr.BestEpoch < 0 || m.better(v, sr.BestTest) {
			sr.BestEpoch, sr.BestTest, sr.TimeToBest = e.Epoch, v, e.Seconds
		}
	}
	sr.Wall = float64(len(test))
	return sr
}

func TestCompare(t *testing.T) {
	cfg := func(model string, lr float64) Config {
		return Config{Task: Classification, Split: "uniform", Model: model, LR: lr}
	}
	cc := &Result{Config: cfg("coordconv", 0.001), Seeds: []SeedResult{
		seedRun(7553, 0.1, 0.2, 0.5, 1),      // matches 0.3 at 3 s
		seedRun(7553, 0.1, 0.35, 1),          // at 2 s
		seedRun(7553, 0.1, 0.1, 0.1, 0.1, 0), // never
	}}
	weak := &Result{Config: cfg("conv", 0.01), Seeds: []SeedResult{seedRun(103585, 0.1, 0.2)}}
	best := &Result{Config: cfg("conv", 0.002), Seeds: []SeedResult{
		seedRun(103585, 0.05, 0.1, 0.25, 0.2),
		seedRun(103585, 0.1, 0.2, 0.3, 0.3, 0.3, 0.3), // the best seed: 0.3 after 3 s
	}}
	other := &Result{Config: Config{Task: Classification, Split: "quadrant", Model: "coordconv"}, Seeds: []SeedResult{seedRun(7553, 1)}}
	cs := Compare([]*Result{weak, cc, other, best})
	if len(cs) != 1 {
		t.Fatalf("got %d comparisons, want 1 (the quadrant split has no baseline)", len(cs))
	}
	c := cs[0]
	want := Comparison{Task: "classification", Split: "uniform", CoordParams: 7553, ConvParams: 103585,
		ConvBest: 0.3, ConvTime: 3, ConvWall: 2 + 4 + 6, CoordBest: 1, CoordBestTime: 3, CoordTime: 2.5, CoordMatched: 2, CoordSeeds: 3}
	c.Metric = Metric{}
	if c != want {
		t.Errorf("Compare:\n got %+v\nwant %+v", c, want)
	}
	var b bytes.Buffer
	if err := WriteComparisons(&b, cs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "103585 / 7553 = 13.7×") || !strings.Contains(b.String(), "| 1.2× |") {
		t.Errorf("comparison table lacks the parameter or time ratio:\n%s", b.String())
	}

	// Baselines with the same test metric (0 on the unseen quadrant) rank by their train metric.
	fit := func(params int, train float64) *Result {
		sr := seedRun(params, 0, 0)
		sr.TrainAtBest = train
		return &Result{Config: cfg("conv", 0.001), Seeds: []SeedResult{sr}}
	}
	rs := []*Result{fit(46465, 0.28), fit(183553, 0.46), fit(103585, 0.41)}
	SortBest(rs)
	if rs[0].Seeds[0].Params != 183553 || rs[2].Seeds[0].Params != 46465 {
		t.Errorf("ties on the test metric ranked %d, %d, %d; want the best train metric first", rs[0].Seeds[0].Params, rs[1].Seeds[0].Params, rs[2].Seeds[0].Params)
	}

	// A CoordConv run that never matches the baseline says so rather than dividing by NaN.
	cc.Seeds = cc.Seeds[2:]
	cs = Compare([]*Result{cc, best})
	if !math.IsNaN(cs[0].CoordTime) || cs[0].CoordMatched != 0 {
		t.Errorf("no seed matched, got time %v and %d matching", cs[0].CoordTime, cs[0].CoordMatched)
	}
	b.Reset()
	if err := WriteComparisons(&b, cs); err != nil || !strings.Contains(b.String(), "| never | — |") {
		t.Errorf("unmatched comparison printed as %q (err %v)", b.String(), err)
	}
}
