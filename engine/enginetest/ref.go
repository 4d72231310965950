package enginetest

import (
	"math"

	"github.com/gazeml/gaze/engine"
)

// Reference implementations in float64, written from the definitions in engine/device.go with
// naive loops and no cleverness: they are the ground truth that every device, the CPU device
// included, is compared against. Besides the value, the accumulating ones return a magnitude per
// output element (Σ|term| of the sum that produced it) so that tolerances can scale with the
// rounding error a float32 accumulation of those terms may legitimately make.

// refGemm returns C = alpha*op(A)*op(B) + beta*C over the whole stored C (elements between n and
// ldc are copied unchanged) and the per-element magnitude Σ|alpha·a·b| + |beta·c|.
// With beta 0 the old C is never read, as the contract says.
func refGemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) (out, mag []float64) {
	out = append([]float64(nil), c...)
	mag = make([]float64, len(c))
	opA := func(i, p int) float64 {
		if transA {
			return a[p*lda+i]
		}
		return a[i*lda+p]
	}
	opB := func(p, j int) float64 {
		if transB {
			return b[j*ldb+p]
		}
		return b[p*ldb+j]
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sm float64
			for p := 0; p < k; p++ {
				v := opA(i, p) * opB(p, j)
				s += v
				sm += math.Abs(v)
			}
			v, vm := alpha*s, math.Abs(alpha)*sm
			if beta != 0 {
				v += beta * c[i*ldc+j]
				vm += math.Abs(beta * c[i*ldc+j])
			}
			out[i*ldc+j], mag[i*ldc+j] = v, vm
		}
	}
	return out, mag
}

// convTaps calls f for every (input index, weight index, output index) triple of the
// cross-correlation described by g; padding taps are skipped. All three conv references are
// written in terms of it, so they agree on the geometry by construction, and it follows the
// definition literally: y[n,k,oh,ow] = Σ_{c,r,s} x[n,c,oh·sh−ph+r, ow·sw−pw+s]·w[k,c,r,s].
func convTaps(g engine.ConvGeom, f func(xi, wi, yi int)) {
	for n := 0; n < g.N; n++ {
		for k := 0; k < g.K; k++ {
			for oh := 0; oh < g.OutH; oh++ {
				for ow := 0; ow < g.OutW; ow++ {
					yi := ((n*g.K+k)*g.OutH+oh)*g.OutW + ow
					for c := 0; c < g.C; c++ {
						for r := 0; r < g.R; r++ {
							h := oh*g.StrideH - g.PadH + r
							if h < 0 || h >= g.H {
								continue
							}
							for s := 0; s < g.S; s++ {
								w := ow*g.StrideW - g.PadW + s
								if w < 0 || w >= g.W {
									continue
								}
								xi := ((n*g.C+c)*g.H+h)*g.W + w
								wi := ((k*g.C+c)*g.R+r)*g.S + s
								f(xi, wi, yi)
							}
						}
					}
				}
			}
		}
	}
}

func refConvForward(g engine.ConvGeom, x, w []float64) (y, mag []float64) {
	y = make([]float64, g.OutputLen())
	mag = make([]float64, len(y))
	convTaps(g, func(xi, wi, yi int) {
		y[yi] += x[xi] * w[wi]
		mag[yi] += math.Abs(x[xi] * w[wi])
	})
	return y, mag
}

// refConvBackwardData: dx = beta*dx0 + Σ dy·w over every tap that reads x (the adjoint of the
// forward, which is also the forward of the transposed convolution).
func refConvBackwardData(g engine.ConvGeom, dy, w, dx0 []float64, beta float64) (dx, mag []float64) {
	dx = make([]float64, g.InputLen())
	mag = make([]float64, len(dx))
	convTaps(g, func(xi, wi, yi int) {
		dx[xi] += dy[yi] * w[wi]
		mag[xi] += math.Abs(dy[yi] * w[wi])
	})
	if beta != 0 {
		for i := range dx {
			dx[i] += beta * dx0[i]
			mag[i] += math.Abs(beta * dx0[i])
		}
	}
	return dx, mag
}

// refConvBackwardFilter: dw = dw0 + Σ dy·x over every tap that uses w.
func refConvBackwardFilter(g engine.ConvGeom, x, dy, dw0 []float64) (dw, mag []float64) {
	dw = append([]float64(nil), dw0...)
	mag = make([]float64, len(dw))
	for i := range dw0 {
		mag[i] = math.Abs(dw0[i])
	}
	convTaps(g, func(xi, wi, yi int) {
		dw[wi] += dy[yi] * x[xi]
		mag[wi] += math.Abs(dy[yi] * x[xi])
	})
	return dw, mag
}

// poolWindows calls f for every output element with the input indices of its window that lie
// inside the input, in row-major window order (the order that defines the "first" maximum).
// It also passes the window's full size KH·KW, the AvgPool divisor (padding counts as zeros).
func poolWindows(g engine.PoolGeom, f func(yi int, xs []int)) {
	xs := make([]int, 0, g.KH*g.KW)
	for nc := 0; nc < g.N*g.C; nc++ {
		for oh := 0; oh < g.OutH; oh++ {
			for ow := 0; ow < g.OutW; ow++ {
				xs = xs[:0]
				for r := 0; r < g.KH; r++ {
					h := oh*g.StrideH - g.PadH + r
					if h < 0 || h >= g.H {
						continue
					}
					for s := 0; s < g.KW; s++ {
						w := ow*g.StrideW - g.PadW + s
						if w < 0 || w >= g.W {
							continue
						}
						xs = append(xs, (nc*g.H+h)*g.W+w)
					}
				}
				f((nc*g.OutH+oh)*g.OutW+ow, xs)
			}
		}
	}
}

// refMaxPool returns y and, for every output, the input index of the first maximum.
func refMaxPool(g engine.PoolGeom, x []float64) (y []float64, arg []int) {
	y = make([]float64, g.OutputLen())
	arg = make([]int, len(y))
	poolWindows(g, func(yi int, xs []int) {
		best := xs[0]
		for _, xi := range xs[1:] {
			if x[xi] > x[best] {
				best = xi
			}
		}
		y[yi], arg[yi] = x[best], best
	})
	return y, arg
}

func refMaxPoolBackward(g engine.PoolGeom, x, dy []float64) []float64 {
	dx := make([]float64, g.InputLen())
	_, arg := refMaxPool(g, x)
	for yi, xi := range arg {
		dx[xi] += dy[yi]
	}
	return dx
}

func refAvgPool(g engine.PoolGeom, x []float64) []float64 {
	y := make([]float64, g.OutputLen())
	div := float64(g.KH * g.KW)
	poolWindows(g, func(yi int, xs []int) {
		for _, xi := range xs {
			y[yi] += x[xi]
		}
		y[yi] /= div
	})
	return y
}

func refAvgPoolBackward(g engine.PoolGeom, dy []float64) []float64 {
	dx := make([]float64, g.InputLen())
	div := float64(g.KH * g.KW)
	poolWindows(g, func(yi int, xs []int) {
		for _, xi := range xs {
			dx[xi] += dy[yi] / div
		}
	})
	return dx
}

// bnIndex calls f(channel, index) for every element of an [n, c, hw] tensor.
func bnIndex(n, c, hw int, f func(ch, i int)) {
	for in := 0; in < n; in++ {
		for ch := 0; ch < c; ch++ {
			for j := 0; j < hw; j++ {
				f(ch, (in*c+ch)*hw+j)
			}
		}
	}
}

// bnStats returns the per-channel mean and biased variance (two-pass, float64).
func bnStats(x []float64, n, c, hw int) (mean, variance []float64) {
	mean = make([]float64, c)
	variance = make([]float64, c)
	cnt := float64(n * hw)
	bnIndex(n, c, hw, func(ch, i int) { mean[ch] += x[i] })
	for ch := range mean {
		mean[ch] /= cnt
	}
	bnIndex(n, c, hw, func(ch, i int) { d := x[i] - mean[ch]; variance[ch] += d * d })
	for ch := range variance {
		variance[ch] /= cnt
	}
	return mean, variance
}

type bnTrainOut struct {
	y, saveMean, saveInvStd, runMean, runVar []float64
}

func refBatchNormTrain(x, gamma, beta, runMean, runVar []float64, n, c, hw int, momentum, eps float64) bnTrainOut {
	mean, variance := bnStats(x, n, c, hw)
	o := bnTrainOut{
		y:          make([]float64, len(x)),
		saveMean:   mean,
		saveInvStd: make([]float64, c),
		runMean:    append([]float64(nil), runMean...),
		runVar:     append([]float64(nil), runVar...),
	}
	cnt := float64(n * hw)
	for ch := 0; ch < c; ch++ {
		o.saveInvStd[ch] = 1 / math.Sqrt(variance[ch]+eps)
		if momentum != 0 {
			o.runMean[ch] = (1-momentum)*runMean[ch] + momentum*mean[ch]
			o.runVar[ch] = (1-momentum)*runVar[ch] + momentum*variance[ch]*cnt/(cnt-1)
		}
	}
	bnIndex(n, c, hw, func(ch, i int) {
		o.y[i] = gamma[ch]*(x[i]-mean[ch])*o.saveInvStd[ch] + beta[ch]
	})
	return o
}

func refBatchNormInfer(x, gamma, beta, runMean, runVar []float64, n, c, hw int, eps float64) (y, saveMean, saveInvStd []float64) {
	y = make([]float64, len(x))
	saveMean = append([]float64(nil), runMean...)
	saveInvStd = make([]float64, c)
	for ch := range saveInvStd {
		saveInvStd[ch] = 1 / math.Sqrt(runVar[ch]+eps)
	}
	bnIndex(n, c, hw, func(ch, i int) {
		y[i] = gamma[ch]*(x[i]-saveMean[ch])*saveInvStd[ch] + beta[ch]
	})
	return y, saveMean, saveInvStd
}

type bnBackOut struct {
	dx, dgamma, dbeta []float64
	// Magnitudes: the terms whose float32 rounding bounds the device's error.
	dxMag, dgammaMag, dbetaMag []float64
}

// refBatchNormBackward differentiates y = γ·x̂ + β with x̂ = (x−μ)·invStd. In training mode μ and
// invStd depend on x (the standard result dx = γ·invStd/M·(M·dy − Σdy − x̂·Σdy·x̂));
// in inference mode they are constants and dx = γ·invStd·dy. dgamma, dbeta accumulate.
func refBatchNormBackward(x, dy, gamma, saveMean, saveInvStd, dgamma0, dbeta0 []float64, n, c, hw int, batchStats bool) bnBackOut {
	o := bnBackOut{
		dx:        make([]float64, len(x)),
		dgamma:    append([]float64(nil), dgamma0...),
		dbeta:     append([]float64(nil), dbeta0...),
		dxMag:     make([]float64, len(x)),
		dgammaMag: make([]float64, c),
		dbetaMag:  make([]float64, c),
	}
	for ch := 0; ch < c; ch++ {
		o.dgammaMag[ch] = math.Abs(dgamma0[ch])
		o.dbetaMag[ch] = math.Abs(dbeta0[ch])
	}
	sdy := make([]float64, c)
	sdyx := make([]float64, c)
	absDy := make([]float64, c)
	absDyx := make([]float64, c)
	xhat := func(ch, i int) float64 { return (x[i] - saveMean[ch]) * saveInvStd[ch] }
	bnIndex(n, c, hw, func(ch, i int) {
		xh := xhat(ch, i)
		sdy[ch] += dy[i]
		sdyx[ch] += dy[i] * xh
		absDy[ch] += math.Abs(dy[i])
		absDyx[ch] += math.Abs(dy[i] * xh)
	})
	for ch := 0; ch < c; ch++ {
		o.dgamma[ch] += sdyx[ch]
		o.dbeta[ch] += sdy[ch]
		o.dgammaMag[ch] += absDyx[ch]
		o.dbetaMag[ch] += absDy[ch]
	}
	cnt := float64(n * hw)
	bnIndex(n, c, hw, func(ch, i int) {
		k := gamma[ch] * saveInvStd[ch]
		if !batchStats {
			o.dx[i] = k * dy[i]
			o.dxMag[i] = math.Abs(o.dx[i])
			return
		}
		xh := xhat(ch, i)
		o.dx[i] = k / cnt * (cnt*dy[i] - sdy[ch] - xh*sdyx[ch])
		o.dxMag[i] = math.Abs(k) / cnt * (cnt*math.Abs(dy[i]) + absDy[ch] + math.Abs(xh)*absDyx[ch])
	})
	return o
}

// refSoftmaxXent returns the per-row losses via log-sum-exp with the max subtracted, the
// gradient scale*(softmax − onehot), and a per-row loss magnitude |max| + |z_label| + log k
// (the size of the quantities a float32 implementation subtracts).
func refSoftmaxXent(logits, labels []float64, n, k int, scale float64) (losses, dlogits, lossMag []float64) {
	losses = make([]float64, n)
	lossMag = make([]float64, n)
	dlogits = make([]float64, n*k)
	for i := 0; i < n; i++ {
		row := logits[i*k : (i+1)*k]
		mx := math.Inf(-1)
		for _, z := range row {
			mx = math.Max(mx, z)
		}
		var se float64
		for _, z := range row {
			se += math.Exp(z - mx)
		}
		lse := mx + math.Log(se)
		lab := int(labels[i])
		losses[i] = lse - row[lab]
		lossMag[i] = math.Abs(mx) + math.Abs(row[lab]) + math.Log(float64(k)) + 1
		for j, z := range row {
			p := math.Exp(z - lse)
			if j == lab {
				p--
			}
			dlogits[i*k+j] = scale * p
		}
	}
	return losses, dlogits, lossMag
}

func refMSE(pred, target []float64, n, k int, scale float64) (losses, dpred []float64) {
	losses = make([]float64, n)
	dpred = make([]float64, n*k)
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			d := pred[i*k+j] - target[i*k+j]
			losses[i] += d * d
			dpred[i*k+j] = 2 * scale * d
		}
	}
	return losses, dpred
}

// refSigmoidBCE returns losses, scale*(σ(z) − t) and the per-row magnitude Σ|max(z,0)| + |z·t| +
// log1p(e^−|z|), the terms a float32 implementation adds and cancels.
func refSigmoidBCE(logits, target []float64, n, k int, scale float64) (losses, dlogits, lossMag []float64) {
	losses = make([]float64, n)
	lossMag = make([]float64, n)
	dlogits = make([]float64, n*k)
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			z, t := logits[i*k+j], target[i*k+j]
			l1p := math.Log1p(math.Exp(-math.Abs(z)))
			losses[i] += math.Max(z, 0) - z*t + l1p
			lossMag[i] += math.Max(z, 0) + math.Abs(z*t) + l1p
			dlogits[i*k+j] = scale * (1/(1+math.Exp(-z)) - t)
		}
	}
	return losses, dlogits, lossMag
}

func refArgmax(x []float64, n, k int) []float64 {
	out := make([]float64, n)
	for i := 0; i < n; i++ {
		best := 0
		for j := 1; j < k; j++ {
			if x[i*k+j] > x[i*k+best] {
				best = j
			}
		}
		out[i] = float64(best)
	}
	return out
}

// refSGD applies one step of PyTorch's SGD in place (vel may be nil when momentum is 0).
func refSGD(theta, grad, vel []float64, lr, momentum, wd float64, nesterov bool) {
	for i := range theta {
		g := grad[i] + wd*theta[i]
		if momentum == 0 {
			theta[i] -= lr * g
			continue
		}
		vel[i] = momentum*vel[i] + g
		if nesterov {
			theta[i] -= lr * (g + momentum*vel[i])
		} else {
			theta[i] -= lr * vel[i]
		}
	}
}

// refAdam applies one step of PyTorch's Adam at step t in place.
func refAdam(theta, grad, m, v []float64, lr, beta1, beta2, eps, wd float64, t int) {
	bc1 := 1 - math.Pow(beta1, float64(t))
	bc2 := 1 - math.Pow(beta2, float64(t))
	for i := range theta {
		g := grad[i] + wd*theta[i]
		m[i] = beta1*m[i] + (1-beta1)*g
		v[i] = beta2*v[i] + (1-beta2)*g*g
		theta[i] -= lr / bc1 * m[i] / (math.Sqrt(v[i])/math.Sqrt(bc2) + eps)
	}
}
