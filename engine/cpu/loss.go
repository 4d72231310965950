package cpu

import (
	"fmt"
	"math"

	"github.com/gazeml/gaze/engine"
)

// SoftmaxXent writes losses[i] = logsumexp(logits[i,:]) - logits[i,label] and, when dlogits is
// not nil, dlogits = scale*(softmax - onehot). The log-sum-exp is taken in float64 around the
// row maximum, so no exp overflows.
func (d *Device) SoftmaxXent(logits, labels, losses, dlogits engine.Buffer, n, k int, scale float32) {
	zs, ls, out, gs := Data(logits), Data(labels), Data(losses), Data(dlogits)
	launch(d, &d.k.xent, xentArgs{zs, ls, out, gs, k, scale}, n, max(grainHeavy/max(k, 1), 1))
}

type xentArgs struct {
	logits, labels, losses, dlogits []float32
	k                               int
	scale                           float32
}

func (a *xentArgs) run(lo, hi int) {
	zs, ls, out, gs, k, scale := a.logits, a.labels, a.losses, a.dlogits, a.k, a.scale
	for i := lo; i < hi; i++ {
		row := zs[i*k : (i+1)*k]
		lf := ls[i]
		label := int(lf)
		if float32(label) != lf || label < 0 || label >= k {
			panic(fmt.Sprintf("cpu: SoftmaxXent: row %d has label %v, want an integer in [0, %d)", i, lf, k))
		}
		m := row[0]
		for _, v := range row[1:] {
			if v > m {
				m = v
			}
		}
		mf := float64(m)
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v) - mf)
		}
		lse := mf + math.Log(s)
		out[i] = float32(lse - float64(row[label]))
		if gs != nil {
			g := gs[i*k : (i+1)*k]
			for j, v := range row {
				g[j] = scale * float32(math.Exp(float64(v)-lse))
			}
			g[label] -= scale
		}
	}
}

// MSE writes losses[i] = Σ_j (pred-target)² (summed in float64) and, when dpred is not nil,
// dpred = 2*scale*(pred-target).
func (d *Device) MSE(pred, target, losses, dpred engine.Buffer, n, k int, scale float32) {
	ps, ts, out, gs := Data(pred), Data(target), Data(losses), Data(dpred)
	s2 := 2 * scale
	for i := 0; i < n; i++ {
		var s float64
		for j := i * k; j < (i+1)*k; j++ {
			e := ps[j] - ts[j]
			s += float64(e) * float64(e)
			if gs != nil {
				gs[j] = s2 * e
			}
		}
		out[i] = float32(s)
	}
}

// SigmoidBCE writes losses[i] = Σ_j [max(z,0) - z*t + log(1+exp(-|z|))] and, when dlogits is
// not nil, dlogits = scale*(sigmoid(z) - t). Both are evaluated in float64 in forms that never
// overflow.
func (d *Device) SigmoidBCE(logits, target, losses, dlogits engine.Buffer, n, k int, scale float32) {
	zs, ts, out, gs := Data(logits), Data(target), Data(losses), Data(dlogits)
	launch(d, &d.k.bce, bceArgs{zs, ts, out, gs, k, scale}, n, max(grainHeavy/max(k, 1), 1))
}

type bceArgs struct {
	logits, target, losses, dlogits []float32
	k                               int
	scale                           float32
}

func (a *bceArgs) run(lo, hi int) {
	zs, ts, out, gs, k, scale := a.logits, a.target, a.losses, a.dlogits, a.k, a.scale
	for i := lo; i < hi; i++ {
		var s float64
		for j := i * k; j < (i+1)*k; j++ {
			z, t := float64(zs[j]), float64(ts[j])
			e := math.Exp(-math.Abs(z)) // in (0, 1]
			s += max(z, 0) - z*t + math.Log1p(e)
			if gs != nil {
				var sig float64
				if z >= 0 {
					sig = 1 / (1 + e)
				} else {
					sig = e / (1 + e)
				}
				gs[j] = scale * float32(sig-t)
			}
		}
		out[i] = float32(s)
	}
}

// Argmax writes out[i] = the index of the first maximum of x[i,:], as float32.
func (d *Device) Argmax(x, out engine.Buffer, n, k int) {
	xs, os := Data(x), Data(out)
	for i := 0; i < n; i++ {
		row := xs[i*k : (i+1)*k]
		best, m := 0, row[0]
		for j, v := range row[1:] {
			if v > m { // strict: ties keep the first
				best, m = j+1, v
			}
		}
		os[i] = float32(best)
	}
}
