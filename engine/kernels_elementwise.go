package engine

// ElementwiseKernels are the memory-bound passes: activations, BLAS-1 updates, dropout, and the
// per-channel bias add of Linear and Conv2d with its gradient.
type ElementwiseKernels interface {
	// Relu: y = max(x, 0). y may alias x.
	Relu(x, y Buffer)
	// ReluBackward: dx = dy where y > 0, else 0. dx may alias dy.
	ReluBackward(y, dy, dx Buffer)
	// Fill sets every element of x to v.
	Fill(x Buffer, v float32)
	// Copy copies src into dst (same length).
	Copy(dst, src Buffer)
	// Axpy: y += alpha*x.
	Axpy(alpha float32, x, y Buffer)
	// Scale: x *= alpha.
	Scale(x Buffer, alpha float32)
	// Add: out = a + b. out may alias a or b.
	Add(a, b, out Buffer)
	// Mul: out = a * b element-wise. out may alias a or b.
	Mul(a, b, out Buffer)
	// Dropout writes mask[i] = 1/(1-p) if u_i ≥ p else 0, where u_i = rng.Uniform(seed, offset+i)
	// (Philox, identical on every device), and y = x*mask. y may alias x.
	Dropout(x, mask, y Buffer, p float32, seed, offset uint64)
	// BiasAdd: y[n,c,i] += b[c] for y of shape [n, c, hw].
	BiasAdd(y, b Buffer, n, c, hw int)
	// BiasGrad: db[c] += Σ_{n,i} dy[n,c,i].
	BiasGrad(dy, db Buffer, n, c, hw int)
}

// The checks (check.go): equal lengths; the bias kernels' [n, c, hw] shapes.

func (c checked) Relu(x, y Buffer) {
	sameLen("Relu", "x, y", x, y)
	c.d.Relu(x, y)
}

func (c checked) ReluBackward(y, dy, dx Buffer) {
	sameLen("ReluBackward", "y, dy, dx", y, dy, dx)
	c.d.ReluBackward(y, dy, dx)
}

func (c checked) Fill(x Buffer, v float32) { c.d.Fill(x, v) }

func (c checked) Copy(dst, src Buffer) {
	sameLen("Copy", "dst, src", dst, src)
	c.d.Copy(dst, src)
}

func (c checked) Axpy(alpha float32, x, y Buffer) {
	sameLen("Axpy", "x, y", x, y)
	c.d.Axpy(alpha, x, y)
}

func (c checked) Scale(x Buffer, alpha float32) { c.d.Scale(x, alpha) }

func (c checked) Add(a, b, out Buffer) {
	sameLen("Add", "a, b, out", a, b, out)
	c.d.Add(a, b, out)
}

func (c checked) Mul(a, b, out Buffer) {
	sameLen("Mul", "a, b, out", a, b, out)
	c.d.Mul(a, b, out)
}

func (c checked) Dropout(x, mask, y Buffer, p float32, seed, offset uint64) {
	sameLen("Dropout", "x, mask, y", x, mask, y)
	c.d.Dropout(x, mask, y, p, seed, offset)
}

func (cc checked) BiasAdd(y, b Buffer, n, c, hw int) {
	nonNegative("BiasAdd", "n, c, hw", n, c, hw)
	needLen("BiasAdd", "y", y, n*c*hw)
	needLen("BiasAdd", "b", b, c)
	cc.d.BiasAdd(y, b, n, c, hw)
}

func (cc checked) BiasGrad(dy, db Buffer, n, c, hw int) {
	nonNegative("BiasGrad", "n, c, hw", n, c, hw)
	needLen("BiasGrad", "dy", dy, n*c*hw)
	needLen("BiasGrad", "db", db, c)
	cc.d.BiasGrad(dy, db, n, c, hw)
}
