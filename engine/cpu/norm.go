package cpu

import (
	"math"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/sgemm"
)

// Batch norm works on x of shape [n, c, hw]: channel ch is the n strided runs
// x[(img*c+ch)*hw : (img*c+ch+1)*hw]. Its passes walk the tensors image by image, each image's
// c runs contiguous, the images split among the cores: split by channels instead, each core read
// a few runs of every image (c·hw floats apart, a 4 KB page or less each, where the hardware
// prefetchers start over). On resnet20's tensors (N = 128, BenchmarkBatchNormReLUCold, two
// threads, ms a call, channels split → images split): forward 16×32² 0.72–0.76 → 0.45, 32×16²
// 0.42–0.46 → 0.22, 64×8² 0.27–0.28 → 0.13; backward 1.35–1.37 → 1.21–1.29, 0.70–0.73 →
// 0.61–0.70, 0.51–0.53 → 0.30–0.36.
// The per-channel sums are float64, image by image within fixed blocks of images (imageBlock),
// and the blocks' sums are added in block order: the statistics do not depend on the core count.

// bnGrain is the image grain of the batch-norm passes that need no sums: an image of m
// elements is worth splitting off when m is large enough to amortise a goroutine.
func bnGrain(m int) int { return max(grainStream/max(m, 1), 1) }

// BatchNormTrain normalises each channel with its batch mean and biased variance (one pass of
// float64 sums about a shift, see bnStats), saves mean and 1/sqrt(var+eps), and moves the running
// statistics by momentum using the unbiased variance.
func (d *Device) BatchNormTrain(x, y, gamma, beta, saveMean, saveInvStd, runMean, runVar engine.Buffer, n, c, hw int, momentum, eps float32) {
	d.batchNormTrain(x, nil, y, gamma, beta, saveMean, saveInvStd, runMean, runVar, n, c, hw, momentum, eps, false)
}

// BatchNormTrainReLU is BatchNormTrain whose apply pass also adds res (when not nil) and takes
// the ReLU (sgemm.ScaleShiftReLU): the same statistics and the same bits as BatchNormTrain, Add
// and Relu, with one pass over the activations instead of three.
func (d *Device) BatchNormTrainReLU(x, res, y, gamma, beta, saveMean, saveInvStd, runMean, runVar engine.Buffer, n, c, hw int, momentum, eps float32) {
	d.batchNormTrain(x, res, y, gamma, beta, saveMean, saveInvStd, runMean, runVar, n, c, hw, momentum, eps, true)
}

func (d *Device) batchNormTrain(x, res, y, gamma, beta, saveMean, saveInvStd, runMean, runVar engine.Buffer, n, c, hw int, momentum, eps float32, relu bool) {
	xs := Data(x)
	gs, bs, sm, si := Data(gamma), Data(beta), Data(saveMean), Data(saveInvStd)
	var rm, rv, rs []float32
	if momentum != 0 { // momentum 0 leaves the running statistics unread (they may be nil)
		rm, rv = Data(runMean), Data(runVar)
	}
	if res != nil {
		rs = Data(res)
	}
	m := n * hw
	s1, s2, k := d.bnStats(xs, n, c, hw)
	mean, scale := d.bnCoef(c)
	for ch := 0; ch < c; ch++ {
		dm := s1[ch] / float64(m)
		mu := k[ch] + dm
		variance := max(s2[ch]/float64(m)-dm*dm, 0)
		invStd := 1 / math.Sqrt(variance+float64(eps))
		sm[ch], si[ch] = float32(mu), float32(invStd)
		if momentum != 0 {
			unbiased := variance
			if m > 1 {
				unbiased = variance * float64(m) / float64(m-1)
			}
			rm[ch] = (1-momentum)*rm[ch] + momentum*float32(mu)
			rv[ch] = (1-momentum)*rv[ch] + momentum*float32(unbiased)
		}
		mean[ch], scale[ch] = float32(mu), float32(invStd)*gs[ch]
	}
	args := bnApplyArgs{xs, rs, Data(y), mean, scale, bs, c, hw, relu}
	launch(d, &d.k.bnApply, args, n, bnGrain(c*hw))
}

// bnStats returns per channel Σ (x-k) and Σ (x-k)² (float64) and the shift k: the mean of the
// channel's run in image 0. The variance is then Σ(x-k)²/M − (mean-k)² with mean = k + Σ(x-k)/M
// (M = n·hw): one pass over x, where centring on the mean needs the mean first (a second pass,
// 8 MB more memory traffic a call on resnet20's tensors). The subtraction cancels (mean-k)²/var
// of the digits, and (mean-k)² ≤ n·var (image 0's mean is one of n whose spread is part of the
// variance), so at most log10(n) of float64's 16, where a shift of 0 would lose them all on a
// channel with |mean| ≫ std. The slices are the device's float64 scratch.
func (d *Device) bnStats(xs []float32, n, c, hw int) (s1, s2, k []float64) {
	sc := d.bnScratch(n, c, hw)
	for ch := range sc.ch {
		sc.ch[ch] = sum64(xs[ch*hw:(ch+1)*hw]) / float64(hw)
	}
	launch(d, &d.k.bnStats, bnStatsArgs{xs, sc.ch, sc.part, n, c, hw}, sc.blocks, 1)
	s1, s2 = sc.total()
	return s1, s2, sc.ch
}

// bnSums is the float64 scratch of a batch-norm pass that sums two per-channel quantities over
// image blocks: block b's sums in part[2b·c:][:c] and part[(2b+1)·c:][:c], their totals s1 and s2,
// and c more per channel (ch: the shift, or the mean) for the pass to read.
type bnSums struct {
	blocks     int
	ch, s1, s2 []float64
	part       []float64
}

// bnScratch cuts the device's float64 scratch (zeroed) into a bnSums for an [n, c, hw] tensor.
func (d *Device) bnScratch(n, c, hw int) bnSums {
	blocks := ceilDiv(n, imageBlock(c, hw))
	buf := d.scratch64((2*blocks + 3) * c)
	return bnSums{blocks, buf[:c], buf[c : 2*c], buf[2*c : 3*c], buf[3*c:]}
}

// total adds the blocks' sums in block order into s1 and s2 and returns them.
func (s bnSums) total() (s1, s2 []float64) {
	addBlocks(s.s1, s.part, s.blocks, 2, 0)
	addBlocks(s.s2, s.part, s.blocks, 2, 1)
	return s.s1, s.s2
}

// bnStatsArgs: block b of imageBlock images sums into part[2b·c:][:c] (about k) and
// part[(2b+1)·c:][:c] (squares), image by image.
type bnStatsArgs struct {
	x        []float32
	k, part  []float64
	n, c, hw int
}

func (a *bnStatsArgs) run(lo, hi int) {
	c, hw := a.c, a.hw
	per := imageBlock(c, hw)
	for b := lo; b < hi; b++ {
		s1, s2 := a.part[2*b*c:][:c], a.part[(2*b+1)*c:][:c]
		for img := b * per; img < min((b+1)*per, a.n); img++ {
			x := a.x[img*c*hw : (img+1)*c*hw]
			// On AVX512 one call takes the image's runs (the same bits as a call per run).
			if sgemm.SumDevRuns(x, hw, a.k, s1, s2) {
				continue
			}
			for ch := 0; ch < c; ch++ {
				d1, d2 := sgemm.SumDev(x[ch*hw:(ch+1)*hw], a.k[ch])
				s1[ch] += d1
				s2[ch] += d2
			}
		}
	}
}

// bnCoef returns two slices of c float32 from the device's scratch, for per-channel coefficients.
func (d *Device) bnCoef(c int) (a, b []float32) {
	buf := d.scratch(2 * c)
	return buf[:c], buf[c:]
}

// bnApplyArgs writes y = (x-mean)·scale + shift per channel, image by image; with relu it adds
// res (nil: nothing) and takes the ReLU (sgemm.ScaleShiftReLU).
type bnApplyArgs struct {
	x, res, y          []float32
	mean, scale, shift []float32
	c, hw              int
	relu               bool
}

func (a *bnApplyArgs) run(lo, hi int) {
	c, hw := a.c, a.hw
	for img := lo; img < hi; img++ {
		o, e := img*c*hw, (img+1)*c*hw
		var r []float32
		if a.res != nil {
			r = a.res[o:e]
		}
		// On AVX512 one call takes the image's runs (the same bits as a call per run).
		if a.relu && sgemm.ScaleShiftReLURuns(a.x[o:e], r, a.y[o:e], hw, a.mean, a.scale, a.shift) {
			continue
		}
		for ch := 0; ch < c; ch++ {
			p, q := o+ch*hw, o+(ch+1)*hw
			if !a.relu {
				sgemm.ScaleShift(a.x[p:q], a.y[p:q], a.mean[ch], a.scale[ch], a.shift[ch])
				continue
			}
			var rr []float32
			if r != nil {
				rr = a.res[p:q]
			}
			sgemm.ScaleShiftReLU(a.x[p:q], rr, a.y[p:q], a.mean[ch], a.scale[ch], a.shift[ch])
		}
	}
}

// BatchNormInfer normalises with the running statistics and saves runMean and
// 1/sqrt(runVar+eps) for the backward pass.
func (d *Device) BatchNormInfer(x, y, gamma, beta, runMean, runVar, saveMean, saveInvStd engine.Buffer, n, c, hw int, eps float32) {
	gs, bs, rm, rv, sm, si := Data(gamma), Data(beta), Data(runMean), Data(runVar), Data(saveMean), Data(saveInvStd)
	_, scale := d.bnCoef(c)
	for ch := 0; ch < c; ch++ {
		sm[ch] = rm[ch]
		si[ch] = float32(1 / math.Sqrt(float64(rv[ch])+float64(eps)))
		scale[ch] = si[ch] * gs[ch]
	}
	launch(d, &d.k.bnApply, bnApplyArgs{Data(x), nil, Data(y), sm, scale, bs, c, hw, false}, n, bnGrain(c*hw))
}

// BatchNormBackward overwrites dx and accumulates dgamma += Σ dy·x̂, dbeta += Σ dy, with
// x̂ = (x-mean)*invStd. With batch statistics (training mode)
// dx = γ·invStd/M·(M·dy − Σdy − x̂·Σ(dy·x̂)), M = n·hw; otherwise (constant statistics)
// dx = γ·invStd·dy.
func (d *Device) BatchNormBackward(x, dy, dx, gamma, saveMean, saveInvStd, dgamma, dbeta engine.Buffer, n, c, hw int, batchStats bool) {
	d.batchNormBackward(x, nil, dy, nil, dx, gamma, saveMean, saveInvStd, dgamma, dbeta, n, c, hw, batchStats)
}

// BatchNormBackwardReLU masks dy by y > 0 into dz while it sums Σdz and Σdz·(x-mean)
// (sgemm.SumDyDyxReLU), then computes dx from dz as BatchNormBackward does: the bits of
// ReluBackward then BatchNormBackward, with one pass fewer.
func (d *Device) BatchNormBackwardReLU(x, y, dy, dz, dx, gamma, saveMean, saveInvStd, dgamma, dbeta engine.Buffer, n, c, hw int, batchStats bool) {
	d.batchNormBackward(x, y, dy, dz, dx, gamma, saveMean, saveInvStd, dgamma, dbeta, n, c, hw, batchStats)
}

func (d *Device) batchNormBackward(x, y, dy, dz, dx, gamma, saveMean, saveInvStd, dgamma, dbeta engine.Buffer, n, c, hw int, batchStats bool) {
	xs, dys := Data(x), Data(dy)
	gs, sm, si, dg, db := Data(gamma), Data(saveMean), Data(saveInvStd), Data(dgamma), Data(dbeta)
	var ys, g []float32
	if y != nil {
		ys, g = Data(y), Data(dz) // after the sums pass, the rest is BatchNormBackward's, of dz
	} else {
		g = dys
	}
	sc := d.bnScratch(n, c, hw)
	for ch := range sc.ch {
		sc.ch[ch] = float64(sm[ch])
	}
	launch(d, &d.k.bnSums, bnSumsArgs{xs, ys, dys, g, sc.ch, sc.part, n, c, hw}, sc.blocks, 1)
	sdy, sdyx := sc.total()
	// dx = k*(dy - Σdy/M - (x-mean)*invStd²*Σ(dy·(x-mean))/M) = a*dy + b*(x-mean) + c0
	// with float32 coefficients (b = c0 = 0 with constant statistics). x-mean is formed
	// first: folding b*mean into c0 would cancel catastrophically when |mean| ≫ std.
	coef := d.scratch(3 * c)
	ca, cb, cc := coef[:c], coef[c:2*c], coef[2*c:]
	m := float64(n * hw)
	for ch := 0; ch < c; ch++ {
		invStd := float64(si[ch])
		dg[ch] += float32(sdyx[ch] * invStd)
		db[ch] += float32(sdy[ch])
		k := float64(gs[ch]) * invStd
		ca[ch], cb[ch], cc[ch] = float32(k), 0, 0
		if batchStats {
			cb[ch] = float32(-k * invStd * invStd * sdyx[ch] / m)
			cc[ch] = float32(-k * sdy[ch] / m)
		}
	}
	args := bnDxArgs{xs, g, Data(dx), ca, cb, cc, sm, c, hw, batchStats}
	launch(d, &d.k.bnDx, args, n, bnGrain(c*hw))
}

// bnSumsArgs: block b of imageBlock images sums Σ dy into part[2b·c:][:c] and Σ dy·(x-mean) into
// part[(2b+1)·c:][:c], image by image; with y (a ReLU's output) dy is masked by y > 0 first and
// written to dz.
type bnSumsArgs struct {
	x, y, dy, dz []float32
	mean, part   []float64
	n, c, hw     int
}

func (a *bnSumsArgs) run(lo, hi int) {
	c, hw := a.c, a.hw
	per := imageBlock(c, hw)
	for b := lo; b < hi; b++ {
		sdy, sdyx := a.part[2*b*c:][:c], a.part[(2*b+1)*c:][:c]
		for img := b * per; img < min((b+1)*per, a.n); img++ {
			o, e := img*c*hw, (img+1)*c*hw
			// On AVX512 one call takes the image's runs (the same bits as a call per run).
			if a.y != nil && sgemm.SumDyDyxReLURuns(a.x[o:e], a.y[o:e], a.dy[o:e], a.dz[o:e], hw, a.mean, sdy, sdyx) {
				continue
			}
			for ch := 0; ch < c; ch++ {
				p, q := o+ch*hw, o+(ch+1)*hw
				var s, sx float64
				if a.y != nil {
					s, sx = sgemm.SumDyDyxReLU(a.x[p:q], a.y[p:q], a.dy[p:q], a.dz[p:q], a.mean[ch])
				} else {
					s, sx = sgemm.SumDyDyx(a.x[p:q], a.dy[p:q], a.mean[ch])
				}
				sdy[ch] += s
				sdyx[ch] += sx
			}
		}
	}
}

// bnDxArgs writes dx = a·g + b·(x-mean) + c per channel (dx = a·g with constant statistics),
// image by image.
type bnDxArgs struct {
	x, g, dx   []float32
	a, b, cc   []float32
	mean       []float32
	c, hw      int
	batchStats bool
}

func (a *bnDxArgs) run(lo, hi int) {
	c, hw := a.c, a.hw
	for img := lo; img < hi; img++ {
		o, e := img*c*hw, (img+1)*c*hw
		// On AVX512 one call takes the image's runs (the same bits as a call per run).
		if a.batchStats && sgemm.BNBackwardRuns(a.x[o:e], a.g[o:e], a.dx[o:e], hw, a.a, a.b, a.cc, a.mean) {
			continue
		}
		for ch := 0; ch < c; ch++ {
			p, q := o+ch*hw, o+(ch+1)*hw
			if !a.batchStats {
				kf, xr := a.a[ch], a.dx[p:q]
				for i, v := range a.g[p:q] {
					xr[i] = kf * v
				}
				continue
			}
			sgemm.BNBackward(a.x[p:q], a.g[p:q], a.dx[p:q], a.a[ch], a.b[ch], a.cc[ch], a.mean[ch])
		}
	}
}
