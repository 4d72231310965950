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
