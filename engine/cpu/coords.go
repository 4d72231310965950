package cpu

import (
	"math"

	"github.com/gazeml/gaze/engine"
)

// The CoordConv kernels are memory-bound copies and single passes; they run as plain loops.

// coordAxis returns the scaled coordinate 2k/(m−1) − 1 of index k on an axis of m cells,
// computed in float64 and rounded once, so every device can produce the same float32. An axis of
// one cell has the single coordinate 0 (the original code would divide by zero there).
func coordAxis(k, m int) float64 {
	if m == 1 {
		return 0
	}
	return 2*float64(k)/float64(m-1) - 1
}

// AddCoords copies x's channels and appends the column, row and (withR) radius channels.
func (d *Device) AddCoords(x, y engine.Buffer, n, c, h, w int, withR bool) {
	xs, ys := Data(x), Data(y)
	extra := 2
	if withR {
		extra = 3
	}
	hw := h * w
	out := (c + extra) * hw
	for b := range n {
		yb := ys[b*out : (b+1)*out]
		copy(yb[:c*hw], xs[b*c*hw:(b+1)*c*hw])
		xx, yy := yb[c*hw:(c+1)*hw], yb[(c+1)*hw:(c+2)*hw]
		for i := range h {
			ci := coordAxis(i, h)
			for j := range w {
				cj := coordAxis(j, w)
				xx[i*w+j] = float32(cj)
				yy[i*w+j] = float32(ci)
				if withR {
					yb[(c+2)*hw+i*w+j] = float32(math.Sqrt(cj*cj + ci*ci))
				}
			}
		}
	}
}

// AddCoordsBackward copies the gradient of x's channels out of dy.
func (d *Device) AddCoordsBackward(dy, dx engine.Buffer, n, c, h, w int, withR bool) {
	dys, dxs := Data(dy), Data(dx)
	extra := 2
	if withR {
		extra = 3
	}
	hw := h * w
	for b := range n {
		copy(dxs[b*c*hw:(b+1)*c*hw], dys[b*(c+extra)*hw:b*(c+extra)*hw+c*hw])
	}
}

// Tile broadcasts each x[n, c] over hw cells.
func (d *Device) Tile(x, y engine.Buffer, n, c, hw int) {
	xs, ys := Data(x), Data(y)
	for p, v := range xs {
		row := ys[p*hw : (p+1)*hw]
		for i := range row {
			row[i] = v
		}
	}
}

// TileBackward sums each plane of dy in float64.
func (d *Device) TileBackward(dy, dx engine.Buffer, n, c, hw int) {
	dys, dxs := Data(dy), Data(dx)
	for p := range dxs {
		dxs[p] = float32(sum64(dys[p*hw : (p+1)*hw]))
	}
}

// Softmax normalises each row around its maximum, with the sum of exponentials in float64.
func (d *Device) Softmax(x, y engine.Buffer, rows, k int) {
	xs, ys := Data(x), Data(y)
	for r := range rows {
		xr, yr := xs[r*k:(r+1)*k], ys[r*k:(r+1)*k]
		m := xr[0]
		for _, v := range xr[1:] {
			m = max(m, v)
		}
		var s float64
		for j, v := range xr {
			e := math.Exp(float64(v - m))
			yr[j] = float32(e)
			s += e
		}
		inv := 1 / s
		for j, v := range yr {
			yr[j] = float32(float64(v) * inv)
		}
	}
}

// SoftmaxBackward is the softmax Jacobian-vector product y ⊙ (dy − ⟨dy, y⟩), dot in float64.
func (d *Device) SoftmaxBackward(y, dy, dx engine.Buffer, rows, k int) {
	ys, dys, dxs := Data(y), Data(dy), Data(dx)
	for r := range rows {
		yr, dyr, dxr := ys[r*k:(r+1)*k], dys[r*k:(r+1)*k], dxs[r*k:(r+1)*k]
		var dot float64
		for j, v := range yr {
			dot += float64(v) * float64(dyr[j])
		}
		for j, v := range yr {
			dxr[j] = float32(float64(v) * (float64(dyr[j]) - dot))
		}
	}
}
