package enginetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/gazeml/gaze/engine"
)

const (
	bnEps      = 1e-5
	bnMomentum = 0.1
	// bnPointRtol covers the handful of roundings of a per-element formula (subtract, multiply,
	// add; 1/sqrt, which CUDA's rsqrtf computes to 2 ulp).
	bnPointRtol = 8 * u32
)

// bnShapes are [n, c, hw]: conv activations, a batch of one image, Linear activations ([N,C],
// hw 1), an odd length per channel of 2002, and wide ones.
var bnShapes = [][3]int{{4, 3, 49}, {2, 16, 64}, {1, 2, 17}, {32, 10, 1}, {3, 5, 1}, {2, 1, 1001},
	{2, 600, 64}, {4, 20000, 1}} // many channels: split across blocks and cores

// bnInput is x = 1 + 2·N(0,1) per element: a mean that is not zero (so one-pass variance
// formulas lose a little, as they would on real activations) but not so large that a correct
// float32 implementation is pathological.
func (h *harness) bnInput(n int) []float32 {
	x := h.randn(n)
	for i := range x {
		x[i] = 1 + 2*x[i]
	}
	return x
}

// bnParams returns gamma ≈ 1 ± 0.5, beta ~ N(0,1), running mean ~ N(0,1), running var in [0.5, 2).
func (h *harness) bnParams(c int) (gamma, beta, runMean, runVar []float32) {
	gamma = h.randn(c)
	for i := range gamma {
		gamma[i] = 1 + 0.5*gamma[i]
	}
	return gamma, h.randn(c), h.randn(c), h.uniform(c, 0.5, 2)
}

// bnTrainMags returns the magnitudes that bound a float32 BatchNormTrain's errors: the per-channel
// mean is a sum of M terms of size |x| (error ≈ accumRtol(M)·mean|x|), and the variance's relative
// error is at most accumRtol(M)·E[x²]/var (one-pass formulas subtract mean² from E[x²]).
func bnTrainMags(x, gamma, beta []float64, o bnTrainOut, n, c, hw int) (yMag, meanMag, invStdMag []float64) {
	m := float64(n * hw)
	absMean, sqMean := make([]float64, c), make([]float64, c)
	bnIndex(n, c, hw, func(ch, i int) { absMean[ch] += math.Abs(x[i]) / m; sqMean[ch] += x[i] * x[i] / m })
	yMag = make([]float64, len(x))
	meanMag, invStdMag = absMean, make([]float64, c)
	cond := make([]float64, c)
	for ch := 0; ch < c; ch++ {
		variance := 1/(o.saveInvStd[ch]*o.saveInvStd[ch]) - bnEps
		cond[ch] = 1 + sqMean[ch]/variance
		invStdMag[ch] = o.saveInvStd[ch] * cond[ch]
	}
	bnIndex(n, c, hw, func(ch, i int) {
		xh := math.Abs(x[i]-o.saveMean[ch]) * o.saveInvStd[ch]
		yMag[i] = math.Abs(gamma[ch])*(o.saveInvStd[ch]*(absMean[ch]+math.Abs(x[i]))+xh*cond[ch]) + math.Abs(beta[ch])
	})
	return yMag, meanMag, invStdMag
}

func testBatchNorm(t *testing.T, dev engine.Device) {
	for _, s := range bnShapes {
		n, c, hw := s[0], s[1], s[2]
		m := n * hw
		rt := accumRtol(m) + bnPointRtol
		shape := fmt.Sprintf("n%d_c%d_hw%d", n, c, hw)
		for _, mom := range []float32{bnMomentum, 0} {
			run(t, fmt.Sprintf("Train/%s_momentum%g", shape, mom), dev, func(h *harness) {
				x := h.bnInput(n * c * hw)
				gamma, beta, rm0, rv0 := h.bnParams(c)
				y, sm, si := h.nans(len(x)), h.nans(c), h.nans(c)
				rm, rv := h.buf(rm0), h.buf(rv0)
				h.dev.BatchNormTrain(h.buf(x), y, h.buf(gamma), h.buf(beta), sm, si, rm, rv, n, c, hw, mom, bnEps)
				x64, g64, b64 := f64(x), f64(gamma), f64(beta)
				o := refBatchNormTrain(x64, g64, b64, f64(rm0), f64(rv0), n, c, hw, float64(mom), bnEps)
				yMag, meanMag, invStdMag := bnTrainMags(x64, g64, b64, o, n, c, hw)
				h.close("y", h.get(y), o.y, yMag, tol{0, rt})
				h.close("saveMean", h.get(sm), o.saveMean, meanMag, tol{0, rt})
				h.close("saveInvStd", h.get(si), o.saveInvStd, invStdMag, tol{0, rt})
				if mom == 0 {
					// Untouched, bit for bit.
					h.exact("runMean", h.get(rm), rm0)
					h.exact("runVar", h.get(rv), rv0)
					return
				}
				rmMag, rvMag := make([]float64, c), make([]float64, c)
				for ch := 0; ch < c; ch++ {
					rmMag[ch] = (1-float64(mom))*abs32(rm0[ch]) + float64(mom)*meanMag[ch]
					rvMag[ch] = (1-float64(mom))*abs32(rv0[ch]) + (o.runVar[ch]-(1-float64(mom))*float64(rv0[ch]))*invStdMag[ch]/o.saveInvStd[ch]
				}
				h.close("runMean", h.get(rm), o.runMean, rmMag, tol{0, rt})
				h.close("runVar", h.get(rv), o.runVar, rvMag, tol{0, rt})
			})
		}
		run(t, "Infer/"+shape, dev, func(h *harness) {
			x := h.bnInput(n * c * hw)
			gamma, beta, rm, rv := h.bnParams(c)
			y, sm, si := h.nans(len(x)), h.nans(c), h.nans(c)
			h.dev.BatchNormInfer(h.buf(x), y, h.buf(gamma), h.buf(beta), h.buf(rm), h.buf(rv), sm, si, n, c, hw, bnEps)
			wy, _, wi := refBatchNormInfer(f64(x), f64(gamma), f64(beta), f64(rm), f64(rv), n, c, hw, bnEps)
			yMag := make([]float64, len(x))
			bnIndex(n, c, hw, func(ch, i int) {
				yMag[i] = abs32(gamma[ch])*(abs32(x[i])+abs32(rm[ch]))*wi[ch] + abs32(beta[ch])
			})
			h.close("y", h.get(y), wy, yMag, tol{0, bnPointRtol})
			h.exact("saveMean", h.get(sm), rm)
			h.close("saveInvStd", h.get(si), wi, nil, tol{0, bnPointRtol})
		})
		for _, train := range []bool{true, false} {
			mode := "infer"
			if train {
				mode = "train"
			}
			run(t, fmt.Sprintf("Backward/%s_%s", shape, mode), dev, func(h *harness) {
				x, dy := h.bnInput(n*c*hw), h.randn(n*c*hw)
				gamma, beta, _, _ := h.bnParams(c)
				// The saved statistics are inputs here: take them from the reference, rounded
				// to float32 as a device would store them.
				o := refBatchNormTrain(f64(x), f64(gamma), f64(beta), make([]float64, c), make([]float64, c), n, c, hw, 0, bnEps)
				sm, si := to32(o.saveMean), to32(o.saveInvStd)
				dg0, db0 := h.randn(c), h.randn(c) // pre-filled: they accumulate
				dx, dg, db := h.nans(len(x)), h.buf(dg0), h.buf(db0)
				h.dev.BatchNormBackward(h.buf(x), h.buf(dy), dx, h.buf(gamma), h.buf(sm), h.buf(si), dg, db, n, c, hw, train)
				w := refBatchNormBackward(f64(x), f64(dy), f64(gamma), f64(sm), f64(si), f64(dg0), f64(db0), n, c, hw, train)
				h.close("dx", h.get(dx), w.dx, w.dxMag, tol{0, rt})
				h.close("dgamma", h.get(dg), w.dgamma, w.dgammaMag, tol{0, rt})
				h.close("dbeta", h.get(db), w.dbeta, w.dbetaMag, tol{0, rt})
			})
		}
	}
}

// testBatchNormReLU checks the fused batch norm + (residual add +) ReLU against the float64
// references and, bit for bit, against the same device's BatchNormTrain, Add and Relu (forward)
// and ReluBackward then BatchNormBackward (backward): the fusion may not change a number.
func testBatchNormReLU(t *testing.T, dev engine.Device) {
	for _, s := range bnShapes {
		n, c, hw := s[0], s[1], s[2]
		size := n * c * hw
		rt := accumRtol(n*hw) + bnPointRtol
		shape := fmt.Sprintf("n%d_c%d_hw%d", n, c, hw)
		for _, withRes := range []bool{false, true} {
			name := fmt.Sprintf("TrainReLU/%s", shape)
			if withRes {
				name = fmt.Sprintf("TrainAddReLU/%s", shape)
			}
			run(t, name, dev, func(h *harness) {
				x := h.bnInput(size)
				gamma, beta, rm0, rv0 := h.bnParams(c)
				var res []float32
				var resb engine.Buffer
				if withRes {
					res = h.randn(size)
					resb = h.buf(res)
				}
				xb, gb, bb := h.buf(x), h.buf(gamma), h.buf(beta)
				y, sm, si, rm, rv := h.nans(size), h.nans(c), h.nans(c), h.buf(rm0), h.buf(rv0)
				h.dev.BatchNormTrainReLU(xb, resb, y, gb, bb, sm, si, rm, rv, n, c, hw, bnMomentum, bnEps)

				x64, g64, b64 := f64(x), f64(gamma), f64(beta)
				o := refBatchNormTrain(x64, g64, b64, f64(rm0), f64(rv0), n, c, hw, bnMomentum, bnEps)
				yMag, _, _ := bnTrainMags(x64, g64, b64, o, n, c, hw)
				want := make([]float64, size)
				for i, v := range o.y {
					if withRes {
						v += float64(res[i])
						yMag[i] += abs32(res[i])
					}
					want[i] = math.Max(v, 0) // |max(a,0) − max(b,0)| ≤ |a − b|: yMag still bounds it
				}
				gotY, gotSM, gotSI, gotRM, gotRV := h.get(y), h.get(sm), h.get(si), h.get(rm), h.get(rv)
				h.close("y", gotY, want, yMag, tol{0, rt})

				// The separate ops on this device: the same bits everywhere.
				y2, sm2, si2, rm2, rv2 := h.nans(size), h.nans(c), h.nans(c), h.buf(rm0), h.buf(rv0)
				h.dev.BatchNormTrain(xb, y2, gb, bb, sm2, si2, rm2, rv2, n, c, hw, bnMomentum, bnEps)
				if withRes {
					h.dev.Add(y2, resb, y2)
				}
				h.dev.Relu(y2, y2)
				h.exact("y (against BatchNormTrain, Add, Relu)", gotY, h.get(y2))
				h.exact("saveMean", gotSM, h.get(sm2))
				h.exact("saveInvStd", gotSI, h.get(si2))
				h.exact("runMean", gotRM, h.get(rm2))
				h.exact("runVar", gotRV, h.get(rv2))
			})
		}
		for _, train := range []bool{true, false} {
			mode := "infer"
			if train {
				mode = "train"
			}
			run(t, fmt.Sprintf("BackwardReLU/%s_%s", shape, mode), dev, func(h *harness) {
				x, dy := h.bnInput(size), h.randn(size)
				y := h.reluInput(size)
				for i := range y {
					y[i] = max(y[i], 0) // a ReLU's output: zeros (about 60 %) and positives
				}
				gamma, _, _, _ := h.bnParams(c)
				o := refBatchNormTrain(f64(x), f64(gamma), make([]float64, c), make([]float64, c), make([]float64, c), n, c, hw, 0, bnEps)
				sm, si := to32(o.saveMean), to32(o.saveInvStd)
				dg0, db0 := h.randn(c), h.randn(c)
				xb, yb, dyb, gb, smb, sib := h.buf(x), h.buf(y), h.buf(dy), h.buf(gamma), h.buf(sm), h.buf(si)
				dz, dx, dg, db := h.nans(size), h.nans(size), h.buf(dg0), h.buf(db0)
				h.dev.BatchNormBackwardReLU(xb, yb, dyb, dz, dx, gb, smb, sib, dg, db, n, c, hw, train)

				wantDz := make([]float32, size)
				for i := range dy {
					if y[i] > 0 {
						wantDz[i] = dy[i]
					}
				}
				w := refBatchNormBackward(f64(x), f64(wantDz), f64(gamma), f64(sm), f64(si), f64(dg0), f64(db0), n, c, hw, train)
				gotDz, gotDx, gotDg, gotDb := h.get(dz), h.get(dx), h.get(dg), h.get(db)
				h.exact("dz", gotDz, wantDz)
				h.close("dx", gotDx, w.dx, w.dxMag, tol{0, rt})
				h.close("dgamma", gotDg, w.dgamma, w.dgammaMag, tol{0, rt})
				h.close("dbeta", gotDb, w.dbeta, w.dbetaMag, tol{0, rt})

				// The separate ops on this device: the same bits.
				dz2, dx2, dg2, db2 := h.nans(size), h.nans(size), h.buf(dg0), h.buf(db0)
				h.dev.ReluBackward(yb, dyb, dz2)
				h.dev.BatchNormBackward(xb, dz2, dx2, gb, smb, sib, dg2, db2, n, c, hw, train)
				h.exact("dx (against ReluBackward, BatchNormBackward)", gotDx, h.get(dx2))
				h.exact("dgamma (against the separate ops)", gotDg, h.get(dg2))
				h.exact("dbeta (against the separate ops)", gotDb, h.get(db2))
			})
		}
	}
}

func to32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// ---- the float64 references (see the package comment) ----

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
