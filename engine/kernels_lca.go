package engine

// LCAKernels are the kernels loss change allocation needs.
type LCAKernels interface {
	// GradDelta writes out[i] = g[i]·delta[i] (the per-parameter LCA of one iteration) and sets
	// sums[s] to the float64 sum of out over segment s = [bounds[s], bounds[s+1]) (one segment
	// per layer), so len(bounds) = len(sums)+1, bounds[0] ≥ 0 and the last bound ≤ len(out);
	// both may be empty.
	// out may alias g or delta. The host values make it a synchronisation point, like Sum.
	GradDelta(g, delta, out Buffer, bounds []int, sums []float64)
}

// The checks (check.go): equal lengths, and a segment table of one more bound than sums (or
// neither) whose bounds never decrease and stay within the buffers: O(segments), one per layer.

func (c checked) GradDelta(g, delta, out Buffer, bounds []int, sums []float64) {
	sameLen("GradDelta", "g, delta, out", g, delta, out)
	if len(bounds) != len(sums)+1 && len(bounds)+len(sums) != 0 {
		fail("GradDelta", msgBounds, len(bounds), len(sums))
	}
	n, prev := blen(out), 0
	for _, b := range bounds {
		if b < prev || b > n {
			fail("GradDelta", msgBoundOrder, bounds, n)
		}
		prev = b
	}
	c.d.GradDelta(g, delta, out, bounds, sums)
}
