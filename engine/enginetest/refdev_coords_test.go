package enginetest

import "github.com/gazeml/gaze/engine"

// refDev's CoordConv kernels, from the float64 references in coords.go.

func (refDev) AddCoords(x, y engine.Buffer, n, c, h, w int, withR bool) {
	put(y, refAddCoords(rd(x), n, c, h, w, withR))
}
func (refDev) AddCoordsBackward(dy, dx engine.Buffer, n, c, h, w int, withR bool) {
	extra := 2
	if withR {
		extra = 3
	}
	put(dx, refAddCoordsBackward(rd(dy), n, c, h, w, extra))
}
func (refDev) Tile(x, y engine.Buffer, n, c, hw int) { put(y, refTile(rd(x), hw)) }
func (refDev) TileBackward(dy, dx engine.Buffer, n, c, hw int) {
	s, _ := refTileBackward(rd(dy), hw)
	put(dx, s)
}
func (refDev) Softmax(x, y engine.Buffer, rows, k int) { put(y, refSoftmax(rd(x), rows, k)) }
func (refDev) SoftmaxBackward(y, dy, dx engine.Buffer, rows, k int) {
	s, _ := refSoftmaxBackward(rd(y), rd(dy), rows, k)
	put(dx, s)
}

// Mutants of the CoordConv kernels: the bugs the original code and its ports are known for, or
// that a port could plausibly make. They join the table in mutants_test.go.
func init() {
	mutants = append(mutants,
		mutant{"addcoords_rows_first", "Coords", mutCoordsRowsFirst{}},
		mutant{"addcoords_wrong_side", "Coords", mutCoordsWrongSide{}},
		mutant{"tile_backward_mean", "Coords", mutTileMean{}},
		mutant{"softmax_backward_no_dot", "Coords", mutSoftmaxNoDot{}},
	)
}

// mutCoordsRowsFirst appends the row channel before the column channel.
type mutCoordsRowsFirst struct{ refDev }

func (mutCoordsRowsFirst) AddCoords(x, y engine.Buffer, n, c, h, w int, withR bool) {
	refDev{}.AddCoords(x, y, n, c, h, w, withR)
	ys, hw := rb(y), h*w
	per := len(ys) / n
	for b := 0; b < n; b++ {
		xx, yy := ys[b*per+c*hw:b*per+(c+1)*hw], ys[b*per+(c+1)*hw:b*per+(c+2)*hw]
		for i := range xx {
			xx[i], yy[i] = yy[i], xx[i]
		}
	}
}

// mutCoordsWrongSide scales the column index by the height, as the original TensorFlow code does
// (identical on square maps only).
type mutCoordsWrongSide struct{ refDev }

func (mutCoordsWrongSide) AddCoords(x, y engine.Buffer, n, c, h, w int, withR bool) {
	refDev{}.AddCoords(x, y, n, c, h, w, withR)
	ys, hw := rb(y), h*w
	per := len(ys) / n
	for b := 0; b < n; b++ {
		for i := 0; i < h; i++ {
			for j := 0; j < w; j++ {
				ys[b*per+c*hw+i*w+j] = float32(refCoordAxis(j, h))
			}
		}
	}
}

// mutTileMean averages instead of summing in the tiling's backward pass.
type mutTileMean struct{ refDev }

func (mutTileMean) TileBackward(dy, dx engine.Buffer, n, c, hw int) {
	refDev{}.TileBackward(dy, dx, n, c, hw)
	for i := range rb(dx) {
		rb(dx)[i] /= float32(hw)
	}
}

// mutSoftmaxNoDot drops the −⟨dy, y⟩ term of the softmax Jacobian.
type mutSoftmaxNoDot struct{ refDev }

func (mutSoftmaxNoDot) SoftmaxBackward(y, dy, dx engine.Buffer, rows, k int) {
	ys, dys, dxs := rb(y), rb(dy), rb(dx)
	for i := range dxs {
		dxs[i] = ys[i] * dys[i]
	}
}
