package engine

// CoordsKernels are the kernels CoordConv (Liu et al., NeurIPS 2018) needs: coordinate channels,
// the tiling of a per-example vector over a map, and a softmax over each row (the spatial softmax
// of the rendering model). Global max pooling is MaxPool with a window the size of the map.
type CoordsKernels interface {
	// AddCoords writes y[N, C+2(+1), H, W]: the C channels of x[N, C, H, W], then a channel
	// holding the column index j scaled to [−1, 1] (2j/(W−1) − 1), then one holding the row index
	// i scaled the same way (2i/(H−1) − 1), then, when withR, r = √(xx² + yy²) (0 at the centre,
	// √2 in the corners). A side of length 1 has the single coordinate 0. C may be 0.
	AddCoords(x, y Buffer, n, c, h, w int, withR bool)
	// AddCoordsBackward overwrites dx[N, C, H, W] with the first C channels of dy: the
	// coordinate channels are constants and pass no gradient.
	AddCoordsBackward(dy, dx Buffer, n, c, h, w int, withR bool)
	// Tile writes y[n, c, i] = x[n, c] for i < hw (a per-example vector broadcast over a map).
	Tile(x, y Buffer, n, c, hw int)
	// TileBackward overwrites dx[n, c] = Σ_i dy[n, c, i], accumulated in float64.
	TileBackward(dy, dx Buffer, n, c, hw int)
	// Softmax writes y[r, :] = softmax(x[r, :]) for rows of k elements (max-shifted, sums in
	// float64). y may alias x.
	Softmax(x, y Buffer, rows, k int)
	// SoftmaxBackward overwrites dx = y ⊙ (dy − Σ_j dy_j·y_j) row by row, from the forward
	// output y. dx may alias dy.
	SoftmaxBackward(y, dy, dx Buffer, rows, k int)
}

// The checks (check.go): the [N, C, H, W] and [n, c, hw] shapes; rows of at least one element
// for the softmax.

func coordChannels(withR bool) int {
	if withR {
		return 3
	}
	return 2
}

func (cc checked) AddCoords(x, y Buffer, n, c, h, w int, withR bool) {
	nonNegative("AddCoords", "n, c, h, w", n, c, h, w)
	needLen("AddCoords", "x", x, n*c*h*w)
	needLen("AddCoords", "y", y, n*(c+coordChannels(withR))*h*w)
	cc.d.AddCoords(x, y, n, c, h, w, withR)
}

func (cc checked) AddCoordsBackward(dy, dx Buffer, n, c, h, w int, withR bool) {
	nonNegative("AddCoordsBackward", "n, c, h, w", n, c, h, w)
	needLen("AddCoordsBackward", "dy", dy, n*(c+coordChannels(withR))*h*w)
	needLen("AddCoordsBackward", "dx", dx, n*c*h*w)
	cc.d.AddCoordsBackward(dy, dx, n, c, h, w, withR)
}

func (cc checked) Tile(x, y Buffer, n, c, hw int) {
	nonNegative("Tile", "n, c, hw", n, c, hw)
	needLen("Tile", "x", x, n*c)
	needLen("Tile", "y", y, n*c*hw)
	cc.d.Tile(x, y, n, c, hw)
}

func (cc checked) TileBackward(dy, dx Buffer, n, c, hw int) {
	nonNegative("TileBackward", "n, c, hw", n, c, hw)
	needLen("TileBackward", "dy", dy, n*c*hw)
	needLen("TileBackward", "dx", dx, n*c)
	cc.d.TileBackward(dy, dx, n, c, hw)
}

func checkSoftmax(op string, rows, k int) {
	nonNegative(op, "rows", rows)
	if rows > 0 {
		atLeast(op, "k", k, 1)
	}
}

func (c checked) Softmax(x, y Buffer, rows, k int) {
	checkSoftmax("Softmax", rows, k)
	needLen("Softmax", "x", x, rows*k)
	needLen("Softmax", "y", y, rows*k)
	c.d.Softmax(x, y, rows, k)
}

func (c checked) SoftmaxBackward(y, dy, dx Buffer, rows, k int) {
	checkSoftmax("SoftmaxBackward", rows, k)
	needLen("SoftmaxBackward", "y", y, rows*k)
	needLen("SoftmaxBackward", "dy", dy, rows*k)
	needLen("SoftmaxBackward", "dx", dx, rows*k)
	c.d.SoftmaxBackward(y, dy, dx, rows, k)
}
