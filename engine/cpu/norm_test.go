package cpu

import (
	"math"
	"math/rand"
	"testing"
)

// BatchNormTrain's one-pass statistics on channels whose mean dwarfs their spread (x = 1e6 +
// N(0,1) or −3e5 + N(0,0.5), as float32), on every path, runs of whole vectors and not: the
// mean and 1/std against two float64 passes over the same floats, to float32's precision. The
// shift is what makes this hold: about 0 the variance would be E[x²] − mean², 1e12 − 1e12 in
// float64, with a relative error near 1e-4.
func TestBatchNormLargeMean(t *testing.T) {
	forPaths(t, func(t *testing.T) {
		for _, s := range [][3]int{{8, 3, 64}, {4, 2, 1024}, {5, 2, 49}} {
			n, c, hw := s[0], s[1], s[2]
			r := rand.New(rand.NewSource(int64(hw)))
			centre, spread := []float64{1e6, -3e5, 1e6}, []float64{1, 0.5, 2}
			x := make([]float32, n*c*hw)
			for img := 0; img < n; img++ {
				for ch := 0; ch < c; ch++ {
					for i := 0; i < hw; i++ {
						x[(img*c+ch)*hw+i] = float32(centre[ch] + spread[ch]*r.NormFloat64())
					}
				}
			}
			d := New()
			sm, si := Wrap(make([]float32, c)), Wrap(make([]float32, c))
			d.BatchNormTrain(Wrap(x), Wrap(make([]float32, len(x))), Wrap(fill(c, 1)), Wrap(fill(c, 0)), sm, si, nil, nil, n, c, hw, 0, 1e-5)
			for ch := 0; ch < c; ch++ {
				var sum, ss float64
				for img := 0; img < n; img++ {
					for _, v := range x[(img*c+ch)*hw : (img*c+ch+1)*hw] {
						sum += float64(v)
					}
				}
				mean := sum / float64(n*hw)
				for img := 0; img < n; img++ {
					for _, v := range x[(img*c+ch)*hw : (img*c+ch+1)*hw] {
						ss += (float64(v) - mean) * (float64(v) - mean)
					}
				}
				invStd := 1 / math.Sqrt(ss/float64(n*hw)+1e-5)
				if got := float64(Data(sm)[ch]); math.Abs(got-mean) > 1e-7*math.Abs(mean) {
					t.Errorf("%v channel %d: mean %v, want %v", s, ch, got, mean)
				}
				if got := float64(Data(si)[ch]); math.Abs(got-invStd) > 2e-7*invStd {
					t.Errorf("%v channel %d: 1/std %v, want %v (relative error %.2g)", s, ch, got, invStd, math.Abs(got-invStd)/invStd)
				}
			}
		}
	})
}
