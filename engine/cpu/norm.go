package cpu

import (
	"math"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/sgemm"
)

// Batch norm works on x of shape [n, c, hw]: channel ch is the n strided runs
// x[(img*c+ch)*hw : (img*c+ch+1)*hw]. Every per-channel sum is accumulated in float64, image by
// image, by one goroutine, so the statistics do not depend on how channels are spread over cores.

// bnGrain is the channel grain of the batch-norm fan-out: a channel of m elements is worth
// splitting off when m is large enough to amortise a goroutine.
func bnGrain(m int) int { return max(grainStream/max(m, 1), 1) }

// BatchNormTrain normalises each channel with its batch mean and biased variance (two passes in
// float64), saves mean and 1/sqrt(var+eps), and moves the running statistics by momentum using
// the unbiased variance.
func (d *Device) BatchNormTrain(x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar engine.Buffer, n, c, hw int, momentum, eps float32) {
	xs, ys := Data(x), Data(y)
	gs, bs, sm, si := Data(gamma), Data(beta), Data(saveMean), Data(saveInvStd)
	var rm, rv []float32
	if momentum != 0 { // momentum 0 leaves the running statistics unread (they may be nil)
		rm, rv = Data(runMean), Data(runVar)
	}
	args := bnTrainArgs{xs, ys, gs, bs, sm, si, rm, rv, nil, n, c, hw, momentum, eps, false}
	launch(d, &d.k.bnTrain, args, c, bnGrain(n*hw))
}

// BatchNormTrainReLU is BatchNormTrain whose apply pass also adds res (when not nil) and takes
// the ReLU (sgemm.ScaleShiftReLU): the same statistics and the same bits as BatchNormTrain, Add
// and Relu, with one pass over the activations instead of three.
func (d *Device) BatchNormTrainReLU(x, res, y, gamma, beta, saveMean, saveInvStd, runMean, runVar engine.Buffer, n, c, hw int, momentum, eps float32) {
	xs, ys := Data(x), Data(y)
	gs, bs, sm, si := Data(gamma), Data(beta), Data(saveMean), Data(saveInvStd)
	var rm, rv, rs []float32
	if momentum != 0 {
		rm, rv = Data(runMean), Data(runVar)
	}
	if res != nil {
		rs = Data(res)
	}
	args := bnTrainArgs{xs, ys, gs, bs, sm, si, rm, rv, rs, n, c, hw, momentum, eps, true}
	launch(d, &d.k.bnTrain, args, c, bnGrain(n*hw))
}

type bnTrainArgs struct {
	x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar []float32
	res                                                      []float32 // with relu: added before the ReLU (nil: nothing)
	n, c, hw                                                 int
	momentum, eps                                            float32
	relu                                                     bool
}

func (a *bnTrainArgs) run(lo, hi int) {
	xs, ys, gs, bs, sm, si, rm, rv := a.x, a.y, a.gamma, a.beta, a.saveMean, a.saveInvStd, a.runMean, a.runVar
	n, c, hw, momentum, eps := a.n, a.c, a.hw, a.momentum, a.eps
	m := n * hw
	runs := hw <= bnRunsMax // an image's block of channels per kernel call (sgemm's …Runs)
	for c0 := lo; c0 < hi; c0 += bnBlock {
		c1 := min(c0+bnBlock, hi)
		nb := c1 - c0
		var s, ss [bnBlock]float64
		var mean [bnBlock]float64
		// The block's runs of one image are contiguous: on AVX512 each pass takes them in one
		// kernel call (sgemm's …Runs, the same bits as a call per run).
		for img := 0; img < n; img++ {
			if o, e := (img*c+c0)*hw, (img*c+c1)*hw; runs && sgemm.Sum64Runs(xs[o:e], hw, s[:nb]) {
				continue
			}
			for ch := c0; ch < c1; ch++ {
				s[ch-c0] += sum64(xs[(img*c+ch)*hw : (img*c+ch+1)*hw])
			}
		}
		for ch := c0; ch < c1; ch++ {
			mean[ch-c0] = s[ch-c0] / float64(m)
		}
		for img := 0; img < n; img++ {
			if o, e := (img*c+c0)*hw, (img*c+c1)*hw; runs && sgemm.SumSqDevRuns(xs[o:e], hw, mean[:nb], ss[:nb]) {
				continue
			}
			for ch := c0; ch < c1; ch++ {
				ss[ch-c0] += sumSqDev64(xs[(img*c+ch)*hw:(img*c+ch+1)*hw], mean[ch-c0])
			}
		}
		var meanf, scale [bnBlock]float32
		for ch := c0; ch < c1; ch++ {
			mean := mean[ch-c0]
			variance := ss[ch-c0] / float64(m)
			invStd := 1 / math.Sqrt(variance+float64(eps))
			sm[ch], si[ch] = float32(mean), float32(invStd)
			if momentum != 0 {
				unbiased := variance
				if m > 1 {
					unbiased = variance * float64(m) / float64(m-1)
				}
				rm[ch] = (1-momentum)*rm[ch] + momentum*float32(mean)
				rv[ch] = (1-momentum)*rv[ch] + momentum*float32(unbiased)
			}
			meanf[ch-c0], scale[ch-c0] = float32(mean), float32(invStd)*gs[ch]
		}
		for img := 0; img < n; img++ {
			if o, e := (img*c+c0)*hw, (img*c+c1)*hw; a.relu && runs {
				var r []float32
				if a.res != nil {
					r = a.res[o:e]
				}
				if sgemm.ScaleShiftReLURuns(xs[o:e], r, ys[o:e], hw, meanf[:nb], scale[:nb], bs[c0:c1]) {
					continue
				}
			}
			for ch := c0; ch < c1; ch++ {
				off := (img*c + ch) * hw
				x, y := xs[off:off+hw], ys[off:off+hw]
				if !a.relu {
					sgemm.ScaleShift(x, y, meanf[ch-c0], scale[ch-c0], bs[ch])
					continue
				}
				var r []float32
				if a.res != nil {
					r = a.res[off : off+hw]
				}
				sgemm.ScaleShiftReLU(x, r, y, meanf[ch-c0], scale[ch-c0], bs[ch])
			}
		}
	}
}

// bnBlock is how many channels the batch-norm kernels take through each pass together, image
// by image: the runs of consecutive channels of an image are contiguous, where one channel's
// runs are c·hw apart (a multiple of 4 KiB in conv nets, so that one channel's runs of the
// three or four tensors a pass reads compete for a few cache sets; resnet20's 8×8 stage ran
// at half speed). Each channel's sums still add image by image: the bits do not change.
const bnBlock = 64

// bnRunsMax is the longest run (plane) for which the batch-norm passes take an image's block of
// channels per kernel call (sgemm's …Runs kernels): below it a call per run cost as much as the
// run's arithmetic, while on resnet20's 32×32 planes (tensors rotated through 96 MiB) the apply
// pass in one call ran at 0.80 ms against 0.63–0.72 with a call per run, in three rounds.
const bnRunsMax = 256

// sumSqDev64 returns Σ (x-mean)² in float64 (sgemm.SumSqDev: vectorised on AVX-512).
func sumSqDev64(x []float32, mean float64) float64 { return sgemm.SumSqDev(x, mean) }

// bnApply writes y = (x-mean)*scale + shift for channel ch.
func bnApply(xs, ys []float32, n, c, hw, ch int, mean, scale, shift float32) {
	for img := 0; img < n; img++ {
		off := (img*c + ch) * hw
		sgemm.ScaleShift(xs[off:off+hw], ys[off:off+hw], mean, scale, shift)
	}
}

// BatchNormInfer normalises with the running statistics and saves runMean and
// 1/sqrt(runVar+eps) for the backward pass.
func (d *Device) BatchNormInfer(x, y, gamma, beta, runMean, runVar, saveMean, saveInvStd engine.Buffer, n, c, hw int, eps float32) {
	xs, ys := Data(x), Data(y)
	gs, bs, rm, rv, sm, si := Data(gamma), Data(beta), Data(runMean), Data(runVar), Data(saveMean), Data(saveInvStd)
	for ch := 0; ch < c; ch++ {
		sm[ch] = rm[ch]
		si[ch] = float32(1 / math.Sqrt(float64(rv[ch])+float64(eps)))
	}
	launch(d, &d.k.bnInfer, bnInferArgs{xs, ys, gs, bs, sm, si, n, c, hw}, c, bnGrain(n*hw))
}

type bnInferArgs struct {
	x, y, gamma, beta, saveMean, saveInvStd []float32
	n, c, hw                                int
}

func (a *bnInferArgs) run(lo, hi int) {
	for ch := lo; ch < hi; ch++ {
		bnApply(a.x, a.y, a.n, a.c, a.hw, ch, a.saveMean[ch], a.saveInvStd[ch]*a.gamma[ch], a.beta[ch])
	}
}

// BatchNormBackward overwrites dx and accumulates dgamma += Σ dy·x̂, dbeta += Σ dy, with
// x̂ = (x-mean)*invStd. With batch statistics (training mode)
// dx = γ·invStd/M·(M·dy − Σdy − x̂·Σ(dy·x̂)), M = n·hw; otherwise (constant statistics)
// dx = γ·invStd·dy.
func (d *Device) BatchNormBackward(x, dy, dx, gamma, saveMean, saveInvStd, dgamma, dbeta engine.Buffer, n, c, hw int, batchStats bool) {
	xs, dys, dxs := Data(x), Data(dy), Data(dx)
	gs, sm, si, dg, db := Data(gamma), Data(saveMean), Data(saveInvStd), Data(dgamma), Data(dbeta)
	args := bnBackArgs{xs, dys, dxs, gs, sm, si, dg, db, nil, nil, n, c, hw, batchStats}
	launch(d, &d.k.bnBack, args, c, bnGrain(n*hw))
}

// BatchNormBackwardReLU masks dy by y > 0 into dz while it sums Σdz and Σdz·(x-mean)
// (sgemm.SumDyDyxReLU), then computes dx from dz as BatchNormBackward does: the bits of
// ReluBackward then BatchNormBackward, with one pass fewer.
func (d *Device) BatchNormBackwardReLU(x, y, dy, dz, dx, gamma, saveMean, saveInvStd, dgamma, dbeta engine.Buffer, n, c, hw int, batchStats bool) {
	xs, dys, dxs := Data(x), Data(dy), Data(dx)
	gs, sm, si, dg, db := Data(gamma), Data(saveMean), Data(saveInvStd), Data(dgamma), Data(dbeta)
	args := bnBackArgs{xs, dys, dxs, gs, sm, si, dg, db, Data(y), Data(dz), n, c, hw, batchStats}
	launch(d, &d.k.bnBack, args, c, bnGrain(n*hw))
}

type bnBackArgs struct {
	x, dy, dx, gamma, saveMean, saveInvStd, dgamma, dbeta []float32
	y, dz                                                 []float32 // a ReLU's output and the masked dy (nil: no ReLU)
	n, c, hw                                              int
	batchStats                                            bool
}

func (a *bnBackArgs) run(lo, hi int) {
	xs, dys, dxs, gs, sm, si, dg, db := a.x, a.dy, a.dx, a.gamma, a.saveMean, a.saveInvStd, a.dgamma, a.dbeta
	n, c, hw, batchStats := a.n, a.c, a.hw, a.batchStats
	m := n * hw
	ys, g := a.y, dys
	if ys != nil {
		g = a.dz // after the sums pass, the rest is BatchNormBackward's, of the masked dy
	}
	runs := hw <= bnRunsMax // an image's block of channels per kernel call (sgemm's …Runs)
	for c0 := lo; c0 < hi; c0 += bnBlock {
		c1 := min(c0+bnBlock, hi)
		nb := c1 - c0
		var sdy, sdyx [bnBlock]float64 // Σ dy and Σ dy·(x-mean)
		var mean64 [bnBlock]float64
		for ch := c0; ch < c1; ch++ {
			mean64[ch-c0] = float64(sm[ch])
		}
		for img := 0; img < n; img++ {
			// The block's runs of one image are contiguous: on AVX512 one call takes them all.
			if o, e := (img*c+c0)*hw, (img*c+c1)*hw; ys != nil && runs &&
				sgemm.SumDyDyxReLURuns(xs[o:e], ys[o:e], dys[o:e], g[o:e], hw, mean64[:nb], sdy[:nb], sdyx[:nb]) {
				continue
			}
			for ch := c0; ch < c1; ch++ {
				off := (img*c + ch) * hw
				mean := mean64[ch-c0]
				var s, sx float64
				if ys != nil {
					s, sx = sgemm.SumDyDyxReLU(xs[off:off+hw], ys[off:off+hw], dys[off:off+hw], g[off:off+hw], mean)
				} else {
					s, sx = sumDyDyx(xs[off:off+hw], dys[off:off+hw], mean)
				}
				sdy[ch-c0] += s
				sdyx[ch-c0] += sx
			}
		}
		// dx = k*(dy - Σdy/M - (x-mean)*invStd²*Σ(dy·(x-mean))/M) = a*dy + b*(x-mean) + c0
		// with float32 coefficients (b = c0 = 0 with constant statistics). x-mean is formed
		// first: folding b*mean into c0 would cancel catastrophically when |mean| ≫ std.
		var ca, cb, cc [bnBlock]float32
		for ch := c0; ch < c1; ch++ {
			invStd := float64(si[ch])
			dg[ch] += float32(sdyx[ch-c0] * invStd)
			db[ch] += float32(sdy[ch-c0])
			k := float64(gs[ch]) * invStd
			ca[ch-c0] = float32(k)
			if batchStats {
				cb[ch-c0] = float32(-k * invStd * invStd * sdyx[ch-c0] / float64(m))
				cc[ch-c0] = float32(-k * sdy[ch-c0] / float64(m))
			}
		}
		for img := 0; img < n; img++ {
			if o, e := (img*c+c0)*hw, (img*c+c1)*hw; batchStats && runs &&
				sgemm.BNBackwardRuns(xs[o:e], g[o:e], dxs[o:e], hw, ca[:nb], cb[:nb], cc[:nb], sm[c0:c1]) {
				continue
			}
			for ch := c0; ch < c1; ch++ {
				off := (img*c + ch) * hw
				dr, xr := g[off:off+hw], dxs[off:off+hw]
				if !batchStats {
					kf := ca[ch-c0]
					for i, v := range dr {
						xr[i] = kf * v
					}
					continue
				}
				sgemm.BNBackward(xs[off:off+hw], dr, xr, ca[ch-c0], cb[ch-c0], cc[ch-c0], sm[ch])
			}
		}
	}
}

// sumDyDyx returns Σ dy and Σ dy·(x-mean) in float64, with two accumulators each to break the
// add latency chains (sgemm.SumDyDyx: vectorised on AVX-512).
func sumDyDyx(x, dy []float32, mean float64) (sdy, sdyx float64) { return sgemm.SumDyDyx(x, dy, mean) }
