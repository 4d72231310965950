//go:build cuda

package cuda

import (
	"github.com/gazeml/gaze/engine"
)

// The coords op family (engine/kernels_coords.go) on the GPU: CoordConv (AddCoords, Tile, the row
// softmax).

// The kernels of kernels/coords.cu.
var (
	kAddCoords         = declare("coords", "add_coords")
	kAddCoordsBackward = declare("coords", "add_coords_backward")
	kTile              = declare("coords", "tile")
	kTileBackward      = declare("coords", "tile_backward")
	kSoftmax           = declare("coords", "softmax")
	kSoftmaxBackward   = declare("coords", "softmax_backward")
)

func coordExtra(withR bool) int {
	if withR {
		return 3
	}
	return 2
}

// AddCoords appends the column, row and (withR) radius channels.
func (d *Device) AddCoords(x, y engine.Buffer, n, c, h, w int, withR bool) {
	e := coordExtra(withR)
	fits32("AddCoords", h*w, n*(c+e)*h*w)
	total := n * (c + e) * h * w
	d.k(kAddCoords).l(total).i(c).i(h).i(w).i(e).p(x).p(y)
	d.go1(d.streamBlocks(total), 256)
}

// AddCoordsBackward copies the gradient of x's channels out of dy.
func (d *Device) AddCoordsBackward(dy, dx engine.Buffer, n, c, h, w int, withR bool) {
	e := coordExtra(withR)
	total := n * c * h * w
	d.k(kAddCoordsBackward).l(total).i(c).i(h * w).i(e).p(dy).p(dx)
	d.go1(d.streamBlocks(total), 256)
}

// Tile broadcasts x[n, c] over hw cells.
func (d *Device) Tile(x, y engine.Buffer, n, c, hw int) {
	fits32("Tile", hw)
	d.k(kTile).l(n * c * hw).i(hw).p(x).p(y)
	d.go1(d.streamBlocks(n*c*hw), 256)
}

// TileBackward sums each plane of dy in float64.
func (d *Device) TileBackward(dy, dx engine.Buffer, n, c, hw int) {
	if n*c == 0 {
		return
	}
	fits32("TileBackward", n*c, hw)
	d.k(kTileBackward).i(n * c).i(hw).p(dy).p(dx)
	d.go1(min(n*c, 65535), rowThreads(hw))
}

// Softmax normalises each row of k elements.
func (d *Device) Softmax(x, y engine.Buffer, rows, k int) {
	fits32("Softmax", rows, k)
	d.k(kSoftmax).i(rows).i(k).p(x).p(y)
	d.go1(min(rows, 65535), rowThreads(k))
}

// SoftmaxBackward: dx = y ⊙ (dy − ⟨dy, y⟩) per row.
func (d *Device) SoftmaxBackward(y, dy, dx engine.Buffer, rows, k int) {
	fits32("SoftmaxBackward", rows, k)
	d.k(kSoftmaxBackward).i(rows).i(k).p(y).p(dy).p(dx)
	d.go1(min(rows, 65535), rowThreads(k))
}
