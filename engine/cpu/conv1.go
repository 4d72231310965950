package cpu

import (
	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/sgemm"
)

// One-channel convolutions with 5-wide filters and output rows of 17 to 32 columns (lenet-lca's
// first layer: 1→20, 5×5, 28×28) on the AVX512 path. With one input channel the reduction of the
// forward pass is only R·5 taps deep, and that of the filter gradient runs over every output
// pixel of the batch into only K·R·5 sums: the stack form made both shifted products, copying the
// output (forward) or all of dy (filter gradient: 15.7 MB at lenet-lca's batch of 250) between
// the planes and padded virtual columns. Here the kernels read and write the planes in place,
// row by row, against a zero-padded copy of the input (36 floats a row, small):
// sgemm.Conv1Forward5 eight output channels at a time, each output one chain of fused
// multiply-adds, and sgemm.Conv1Filter5 four output channels and one filter row at a time into
// 20 accumulators of 16 lanes.
//
// Both run images in chunks of conv1Chunk, a part per chunk. The forward outputs are each one
// image's; the filter gradient's chunk sums (lanes added in a fixed pairwise order) land in
// scratch and are added to dw chunk by chunk in order, so neither depends on the core count.

// conv1Chunk is the images of a chunk: in the filter gradient their dy (8·20·784 floats, 490 KiB
// at lenet-lca's shape) stays in L2 while the R filter rows and K/4 channel groups pass over it.
const conv1Chunk = 8

// conv1Pitch is the row pitch of the padded input copy: a row's second half reads up to column
// 31 + 4.
const conv1Pitch = 36

// conv1Fits says whether g is a convolution the one-channel kernels compute: one input channel,
// filters 5 wide, stride 1, output rows of 17 to 32 columns, the padding on both sides.
func conv1Fits(g engine.ConvGeom) bool {
	return sgemm.Current() == sgemm.AVX512 && g.C == 1 && g.S == 5 &&
		g.StrideH == 1 && g.StrideW == 1 && g.OutW > 16 && g.OutW <= 32 &&
		g.OutH == g.H+2*g.PadH-g.R+1 && g.OutW == g.W+2*g.PadW-4
}

// conv1FilterFits says whether g's filter gradient takes the one-channel kernel (whole groups of
// four output channels).
func conv1FilterFits(g engine.ConvGeom) bool { return conv1Fits(g) && g.K%4 == 0 }

// conv1Pad writes the zero-padded planes of images [n0, n0+cur) of x (conv1Pitch floats a row,
// xImg floats an image) to xp.
func conv1Pad(g *engine.ConvGeom, x []float32, n0, cur int, xp []float32, xImg int) {
	clear(xp[:cur*xImg])
	for i := range cur {
		for ih := range g.H {
			row := xp[i*xImg+(ih+g.PadH)*conv1Pitch+g.PadW:]
			copy(row[:g.W], x[((n0+i)*g.H+ih)*g.W:])
		}
	}
}

// conv1Forward sets y = x ⋆ w for a geometry conv1Fits accepts.
func (d *Device) conv1Forward(g engine.ConvGeom, xs, ws, ys []float32) {
	groups := ceilDiv(g.K, 8)
	xImg := (g.H + 2*g.PadH) * conv1Pitch
	buf := d.scratch(g.N*xImg + groups*g.R*40)
	xp, wt := buf[:g.N*xImg], buf[g.N*xImg:]
	// The filters of each group of eight channels transposed: wt[grp][r][s][k], zeros past K.
	clear(wt)
	for k := range g.K {
		for rs := range g.R * 5 {
			wt[(k/8*g.R*5+rs)*8+k%8] = ws[k*g.R*5+rs]
		}
	}
	launch(d, &d.k.conv1Fwd, conv1FwdArgs{g: g, x: xs, y: ys, xp: xp, wt: wt}, ceilDiv(g.N, conv1Chunk), 1)
}

// conv1FwdArgs: the chunks [lo, hi) of conv1Forward.
type conv1FwdArgs struct {
	g            engine.ConvGeom
	x, y, xp, wt []float32
}

func (a *conv1FwdArgs) run(lo, hi int) {
	g := &a.g
	xImg, ohw := (g.H+2*g.PadH)*conv1Pitch, g.OutH*g.OutW
	for c := lo; c < hi; c++ {
		n0 := c * conv1Chunk
		cur := min(conv1Chunk, g.N-n0)
		xp := a.xp[n0*xImg : (n0+cur)*xImg]
		conv1Pad(g, a.x, n0, cur, xp, xImg)
		for i := range cur {
			for k0 := 0; k0 < g.K; k0 += 8 {
				y := a.y[((n0+i)*g.K+k0)*ohw:]
				sgemm.Conv1Forward5(y, ohw, g.OutW, min(8, g.K-k0), xp[i*xImg:], conv1Pitch, g.OutH, g.R, a.wt[k0*g.R*5:])
			}
		}
	}
}

// conv1Filter adds the filter gradient of x and dy to dw for a geometry conv1FilterFits accepts.
func (d *Device) conv1Filter(g engine.ConvGeom, xs, dys, dws []float32) {
	chunks := ceilDiv(g.N, conv1Chunk)
	xImg := (g.H + 2*g.PadH) * conv1Pitch
	f := g.K * g.R * g.S
	buf := d.scratch(g.N*xImg + chunks*f)
	xp, part := buf[:g.N*xImg], buf[g.N*xImg:]
	launch(d, &d.k.conv1Filt, conv1FiltArgs{g: g, x: xs, dy: dys, xp: xp, part: part}, chunks, 1)
	addTo(dws, d.sumParts(part, f))
}

// conv1FiltArgs: the chunks [lo, hi) of conv1Filter, each into its own f floats of part.
type conv1FiltArgs struct {
	g               engine.ConvGeom
	x, dy, xp, part []float32
}

func (a *conv1FiltArgs) run(lo, hi int) {
	g := &a.g
	xImg, ohw := (g.H+2*g.PadH)*conv1Pitch, g.OutH*g.OutW
	f := g.K * g.R * g.S
	for c := lo; c < hi; c++ {
		n0 := c * conv1Chunk
		cur := min(conv1Chunk, g.N-n0)
		xp := a.xp[n0*xImg : (n0+cur)*xImg]
		conv1Pad(g, a.x, n0, cur, xp, xImg)
		part := a.part[c*f : (c+1)*f]
		dy := a.dy[n0*g.K*ohw:]
		for k0 := 0; k0 < g.K; k0 += 4 {
			for r := range g.R {
				var acc [20 * 16]float32
				sgemm.Conv1Filter5(&acc, dy[k0*ohw:], g.K*ohw, ohw, g.OutW, xp[r*conv1Pitch:], xImg, conv1Pitch, cur, g.OutH)
				for k := range 4 {
					for s := range 5 {
						part[((k0+k)*g.R+r)*5+s] = sum16(acc[(5*k+s)*16:][:16])
					}
				}
			}
		}
	}
}

// sum16 adds 16 lanes pairwise: halves, quarters, eighths, then the last two.
func sum16(v []float32) float32 {
	var t [8]float32
	for i := range t {
		t[i] = v[i] + v[i+8]
	}
	for w := 4; w >= 1; w /= 2 {
		for i := 0; i < w; i++ {
			t[i] += t[i+w]
		}
	}
	return t[0]
}
