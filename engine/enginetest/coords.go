package enginetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/gazeml/gaze/engine"
)

// coordsCase is one AddCoords shape.
type coordsCase struct {
	n, c, h, w int
	withR      bool
}

func (c coordsCase) name() string {
	return fmt.Sprintf("n%d_c%d_%dx%d_r%v", c.n, c.c, c.h, c.w, c.withR)
}

func (c coordsCase) extra() int {
	if c.withR {
		return 3
	}
	return 2
}

var coordsCases = []coordsCase{
	{2, 3, 5, 5, false},
	{2, 3, 5, 5, true},
	{2, 2, 4, 7, true},    // non-square: columns and rows scale by different sides
	{1, 1, 9, 3, false},   // taller than wide
	{1, 0, 3, 6, true},    // no input channels: the coordinate channels alone
	{1, 2, 1, 5, true},    // one row: its coordinate is 0
	{3, 1, 64, 64, false}, // the Not-so-Clevr canvas
}

// refCoordAxis is the scaled coordinate 2k/(m−1) − 1 (0 on an axis of one cell).
func refCoordAxis(k, m int) float64 {
	if m == 1 {
		return 0
	}
	return -1 + float64(k)*2/float64(m-1)
}

// refAddCoords writes the channels of x, then the column (xx), row (yy) and radius channels.
func refAddCoords(x []float64, n, c, h, w int, withR bool) []float64 {
	extra := 2
	if withR {
		extra = 3
	}
	co := c + extra
	y := make([]float64, n*co*h*w)
	at := func(b, ch, i, j int) *float64 { return &y[((b*co+ch)*h+i)*w+j] }
	for b := 0; b < n; b++ {
		for i := 0; i < h; i++ {
			for j := 0; j < w; j++ {
				for ch := 0; ch < c; ch++ {
					*at(b, ch, i, j) = x[((b*c+ch)*h+i)*w+j]
				}
				xx, yy := refCoordAxis(j, w), refCoordAxis(i, h)
				*at(b, c, i, j) = xx
				*at(b, c+1, i, j) = yy
				if withR {
					*at(b, c+2, i, j) = math.Hypot(xx, yy)
				}
			}
		}
	}
	return y
}

// refAddCoordsBackward keeps the gradient of the first c channels of each example.
func refAddCoordsBackward(dy []float64, n, c, h, w, extra int) []float64 {
	hw := h * w
	dx := make([]float64, 0, n*c*hw)
	for b := 0; b < n; b++ {
		dx = append(dx, dy[b*(c+extra)*hw:b*(c+extra)*hw+c*hw]...)
	}
	return dx
}

func refTile(x []float64, hw int) []float64 {
	y := make([]float64, len(x)*hw)
	for i := range y {
		y[i] = x[i/hw]
	}
	return y
}

// refTileBackward returns the plane sums and their magnitudes Σ|dy|.
func refTileBackward(dy []float64, hw int) (dx, mag []float64) {
	dx = make([]float64, len(dy)/hw)
	mag = make([]float64, len(dx))
	for i, v := range dy {
		dx[i/hw] += v
		mag[i/hw] += math.Abs(v)
	}
	return dx, mag
}

func refSoftmax(x []float64, rows, k int) []float64 {
	y := make([]float64, rows*k)
	for r := 0; r < rows; r++ {
		row := x[r*k : (r+1)*k]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v)
		}
		var s float64
		for _, v := range row {
			s += math.Exp(v - mx)
		}
		for j, v := range row {
			y[r*k+j] = math.Exp(v-mx) / s
		}
	}
	return y
}

// refSoftmaxBackward returns y⊙(dy − ⟨dy, y⟩) and the magnitude y⊙(|dy| + Σ|dy·y|).
func refSoftmaxBackward(y, dy []float64, rows, k int) (dx, mag []float64) {
	dx = make([]float64, rows*k)
	mag = make([]float64, rows*k)
	for r := 0; r < rows; r++ {
		var dot, adot float64
		for j := r * k; j < (r+1)*k; j++ {
			dot += y[j] * dy[j]
			adot += math.Abs(y[j] * dy[j])
		}
		for j := r * k; j < (r+1)*k; j++ {
			dx[j] = y[j] * (dy[j] - dot)
			mag[j] = math.Abs(y[j]) * (math.Abs(dy[j]) + adot)
		}
	}
	return dx, mag
}

// softmaxInput is a row set with a wide spread: logits up to ±40 would overflow exp without the
// max shift, and one row is constant (the uniform distribution).
func (h *harness) softmaxInput(rows, k int) []float32 {
	x := h.randn(rows * k)
	for i := range x {
		x[i] *= 8
	}
	if rows > 1 {
		for j := 0; j < k; j++ {
			x[k+j] = 40
		}
	}
	return x
}

// softmaxLim is the tolerance of a float32 softmax: x − max rounds with an absolute error of
// u·|x − max|, which exp turns into that relative error; the exponential, the normalisation and
// the final rounding add a few u more.
func softmaxLim(x []float32, want []float64, rows, k int) []float64 {
	lim := make([]float64, len(want))
	for r := 0; r < rows; r++ {
		mx := x[r*k]
		for _, v := range x[r*k : (r+1)*k] {
			mx = max(mx, v)
		}
		for j := r * k; j < (r+1)*k; j++ {
			lim[j] = want[j] * (16 + 2*float64(mx-x[j])) * u32
		}
	}
	return lim
}

func testCoords(t *testing.T, dev engine.Device) {
	for _, c := range coordsCases {
		hw := c.h * c.w
		in, out := c.n*c.c*hw, c.n*(c.c+c.extra())*hw
		run(t, "AddCoords/"+c.name(), dev, func(h *harness) {
			x := h.randn(in)
			y := h.nans(out)
			h.dev.AddCoords(h.buf(x), y, c.n, c.c, c.h, c.w, c.withR)
			// Copies are exact; a coordinate is one float64 expression rounded once (a device
			// that computes it in float32 may differ by an ulp or two).
			h.close("y", h.get(y), refAddCoords(f64(x), c.n, c.c, c.h, c.w, c.withR), nil, tol{0, 4 * u32})
		})
		run(t, "AddCoordsBackward/"+c.name(), dev, func(h *harness) {
			dy := h.randn(out)
			dx := h.nans(in)
			h.dev.AddCoordsBackward(h.buf(dy), dx, c.n, c.c, c.h, c.w, c.withR)
			h.close("dx", h.get(dx), refAddCoordsBackward(f64(dy), c.n, c.c, c.h, c.w, c.extra()), nil, tol{0, 0})
		})
	}
	for _, s := range [][3]int{{1, 1, 1}, {2, 2, 4096}, {3, 5, 17}, {1, 3, 1001}} {
		n, c, hw := s[0], s[1], s[2]
		name := fmt.Sprintf("n%d_c%d_hw%d", n, c, hw)
		run(t, "Tile/"+name, dev, func(h *harness) {
			x := h.randn(n * c)
			y := h.nans(n * c * hw)
			h.dev.Tile(h.buf(x), y, n, c, hw)
			h.close("y", h.get(y), refTile(f64(x), hw), nil, tol{0, 0})
		})
		run(t, "TileBackward/"+name, dev, func(h *harness) {
			dy := h.randn(n * c * hw)
			dx := h.nans(n * c)
			h.dev.TileBackward(h.buf(dy), dx, n, c, hw)
			want, mag := refTileBackward(f64(dy), hw)
			h.close("dx", h.get(dx), want, mag, tol{0, accumRtol(hw + 1)})
		})
	}
	for _, s := range [][2]int{{1, 1}, {2, 7}, {3, 4096}, {5, 1001}} {
		rows, k := s[0], s[1]
		name := fmt.Sprintf("rows%d_k%d", rows, k)
		run(t, "Softmax/"+name, dev, func(h *harness) {
			x := h.softmaxInput(rows, k)
			y := h.nans(rows * k)
			h.dev.Softmax(h.buf(x), y, rows, k)
			want := refSoftmax(f64(x), rows, k)
			h.within("y", h.get(y), want, softmaxLim(x, want, rows, k))
		})
		run(t, "SoftmaxInPlace/"+name, dev, func(h *harness) {
			x := h.softmaxInput(rows, k)
			xb := h.buf(x)
			h.dev.Softmax(xb, xb, rows, k)
			want := refSoftmax(f64(x), rows, k)
			h.within("y", h.get(xb), want, softmaxLim(x, want, rows, k))
		})
		run(t, "SoftmaxBackward/"+name, dev, func(h *harness) {
			y := rounded(refSoftmax(f64(h.softmaxInput(rows, k)), rows, k))
			dy := h.randn(rows * k)
			dx := h.nans(rows * k)
			h.dev.SoftmaxBackward(h.buf(y), h.buf(dy), dx, rows, k)
			want, mag := refSoftmaxBackward(f64(y), f64(dy), rows, k)
			h.close("dx", h.get(dx), want, mag, tol{0, accumRtol(k + 2)})
		})
	}
	// Finite differences through every forward kernel of the family.
	for _, c := range []coordsCase{{2, 3, 4, 5, true}, {1, 2, 3, 3, false}} {
		run(t, "GradCheck/AddCoords/"+c.name(), dev, func(h *harness) {
			hw := c.h * c.w
			x, r := h.randn(c.n*c.c*hw), h.randn(c.n*(c.c+c.extra())*hw)
			xb, y, dx := h.buf(x), h.zeros(len(r)), h.nans(len(x))
			h.dev.AddCoordsBackward(h.buf(r), dx, c.n, c.c, c.h, c.w, c.withR)
			h.gradCheck(fdParam{"x", x, xb, h.get(dx)}, func() (float64, float64) {
				h.dev.AddCoords(xb, y, c.n, c.c, c.h, c.w, c.withR)
				return h.weighted(r, y)
			})
		})
	}
	run(t, "GradCheck/Tile/n2_c2_hw9", dev, func(h *harness) {
		n, c, hw := 2, 2, 9
		x, r := h.randn(n*c), h.randn(n*c*hw)
		xb, y, dx := h.buf(x), h.zeros(n*c*hw), h.nans(n*c)
		h.dev.TileBackward(h.buf(r), dx, n, c, hw)
		h.gradCheck(fdParam{"x", x, xb, h.get(dx)}, func() (float64, float64) { h.dev.Tile(xb, y, n, c, hw); return h.weighted(r, y) })
	})
	run(t, "GradCheck/Softmax/rows3_k10", dev, func(h *harness) {
		rows, k := 3, 10
		x, r := h.randn(rows*k), h.randn(rows*k)
		xb, y, dx := h.buf(x), h.zeros(rows*k), h.nans(rows*k)
		h.dev.Softmax(xb, y, rows, k)
		h.dev.SoftmaxBackward(y, h.buf(r), dx, rows, k)
		h.gradCheck(fdParam{"x", x, xb, h.get(dx)}, func() (float64, float64) { h.dev.Softmax(xb, y, rows, k); return h.weighted(r, y) })
	})
}

// rounded is x rounded to float32 (a forward output as a device would hold it).
func rounded(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}
