package enginetest

import "github.com/gazeml/gaze/engine"

func (refDev) GradDelta(g, delta, out engine.Buffer, bounds []int, sums []float64) {
	gs, ds := rd(g), rd(delta)
	p := make([]float64, len(gs))
	for i := range p {
		p[i] = gs[i] * ds[i]
	}
	for s := range sums {
		sums[s] = 0
		for i := bounds[s]; i < bounds[s+1]; i++ {
			sums[s] += p[i]
		}
	}
	put(out, p)
}
