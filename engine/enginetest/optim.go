package enginetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/gazeml/gaze/engine"
)

const (
	optimSteps = 3
	// optimRtol: an optimizer step is a handful of float32 roundings per element, each relative
	// to the magnitudes of the terms it combines (computed alongside the reference).
	optimRtol = 8 * u32
	// adamBiasRtol: a device may form the bias corrections 1−β^t in float32; 1−β2^t with β2 =
	// 0.999 loses u/(1−β2^t) ≈ 3e-5 relative at t = 2, 3, which moves the update by half that
	// (sqrt). 1e-4 of the update leaves a margin; a wrong formula moves it by O(1).
	adamBiasRtol = 1e-4
)

type sgdCase struct {
	name                string
	n                   int
	lr, momentum, decay float32
	nesterov            bool
}

type adamCase struct {
	name                         string
	n                            int
	lr, beta1, beta2, eps, decay float32
}

// Each step is compared with a float64 step from the device's own state before it (downloaded
// after the previous step), so the tolerance can stay at a few roundings for every step instead
// of growing with the divergence of a float32 and a float64 trajectory.
func testOptim(t *testing.T, dev engine.Device) {
	sgd := []sgdCase{
		{"plain", 1001, 0.1, 0, 0, false},
		{"decay", 1001, 0.1, 0, 0.1, false},
		{"momentum", 1001, 0.1, 0.9, 0, false},
		{"nesterov", 1001, 0.1, 0.9, 0, true},
		{"momentum_decay", 1001, 0.05, 0.9, 5e-4, false},
		{"nesterov_decay", 1001, 0.1, 0.9, 0.1, true},
		{"nesterov_decay", 1, 0.1, 0.9, 0.1, true},
		{"nesterov_decay", 17, 0.1, 0.9, 0.1, true},
		{"nesterov_decay", bigLen, 0.1, 0.9, 0.1, true},
		{"plain", bigLen, 0.1, 0, 0, false},
	}
	for _, c := range sgd {
		run(t, fmt.Sprintf("SGD/%s_n%d", c.name, c.n), dev, func(h *harness) { sgdCaseRun(h, c) })
	}
	adam := []adamCase{
		{"default", 1001, 1e-3, 0.9, 0.999, 1e-8, 0},
		{"decay", 1001, 1e-3, 0.9, 0.999, 1e-8, 0.01},
		{"fast", 17, 0.1, 0.5, 0.9, 1e-6, 0.1},
		{"default", 1, 1e-3, 0.9, 0.999, 1e-8, 0},
		{"decay", bigLen, 1e-3, 0.9, 0.999, 1e-8, 0.01},
	}
	for _, c := range adam {
		run(t, fmt.Sprintf("Adam/%s_n%d", c.name, c.n), dev, func(h *harness) { adamCaseRun(h, c) })
	}
}

func sgdCaseRun(h *harness, c sgdCase) {
	theta := h.buf(h.randn(c.n))
	var vel engine.Buffer
	if c.momentum != 0 {
		vel = h.zeros(c.n) // PyTorch's first step: vel = g
	}
	lr, mom, wd := float64(c.lr), float64(c.momentum), float64(c.decay)
	for step := 1; step <= optimSteps; step++ {
		g := h.randn(c.n)
		th0 := f64(h.get(theta))
		var v0 []float64
		if vel != nil {
			v0 = f64(h.get(vel))
		}
		h.dev.SGDStep(theta, h.buf(g), vel, c.lr, c.momentum, c.decay, c.nesterov)
		th, v := append([]float64(nil), th0...), append([]float64(nil), v0...)
		refSGD(th, f64(g), v, lr, mom, wd, c.nesterov)
		thMag, vMag := make([]float64, c.n), make([]float64, c.n)
		for i := range th {
			gm := abs32(g[i]) + wd*math.Abs(th0[i])
			if vel != nil {
				vMag[i] = mom*math.Abs(v0[i]) + gm
			}
			thMag[i] = math.Abs(th0[i]) + lr*(gm+mom*vMag[i])
		}
		h.close(fmt.Sprintf("step %d theta", step), h.get(theta), th, thMag, tol{0, optimRtol})
		if vel != nil {
			h.close(fmt.Sprintf("step %d vel", step), h.get(vel), v, vMag, tol{0, optimRtol})
		}
	}
}

func adamCaseRun(h *harness, c adamCase) {
	theta, m, v := h.buf(h.randn(c.n)), h.zeros(c.n), h.zeros(c.n)
	lr, b1, b2, eps, wd := float64(c.lr), float64(c.beta1), float64(c.beta2), float64(c.eps), float64(c.decay)
	for step := 1; step <= optimSteps; step++ {
		g := h.randn(c.n)
		if c.decay == 0 && c.n > 1 {
			g[0] = 0 // with m = v = 0 the update is 0/(0+eps) = 0 at step 1
		}
		th0, m0, v0 := f64(h.get(theta)), f64(h.get(m)), f64(h.get(v))
		h.dev.AdamStep(theta, h.buf(g), m, v, c.lr, c.beta1, c.beta2, c.eps, c.decay, step)
		th, mm, vv := append([]float64(nil), th0...), append([]float64(nil), m0...), append([]float64(nil), v0...)
		refAdam(th, f64(g), mm, vv, lr, b1, b2, eps, wd, step)
		thLim, mMag, vMag := make([]float64, c.n), make([]float64, c.n), make([]float64, c.n)
		for i := range th {
			gm := abs32(g[i]) + wd*math.Abs(th0[i])
			mMag[i] = b1*math.Abs(m0[i]) + (1-b1)*gm
			vMag[i] = b2*v0[i] + (1-b2)*gm*gm
			upd := math.Abs(th[i] - th0[i])
			thLim[i] = optimRtol*(math.Abs(th0[i])+upd) + adamBiasRtol*upd
		}
		h.within(fmt.Sprintf("step %d theta", step), h.get(theta), th, thLim)
		h.close(fmt.Sprintf("step %d m", step), h.get(m), mm, mMag, tol{0, optimRtol})
		h.close(fmt.Sprintf("step %d v", step), h.get(v), vv, vMag, tol{0, optimRtol})
	}
}

// ---- the float64 references (see the package comment) ----

// refSGD applies one step of PyTorch's SGD in place (vel may be nil when momentum is 0).
func refSGD(theta, grad, vel []float64, lr, momentum, wd float64, nesterov bool) {
	for i := range theta {
		g := grad[i] + wd*theta[i]
		if momentum == 0 {
			theta[i] -= lr * g
			continue
		}
		vel[i] = momentum*vel[i] + g
		if nesterov {
			theta[i] -= lr * (g + momentum*vel[i])
		} else {
			theta[i] -= lr * vel[i]
		}
	}
}

// refAdam applies one step of PyTorch's Adam at step t in place.
func refAdam(theta, grad, m, v []float64, lr, beta1, beta2, eps, wd float64, t int) {
	bc1 := 1 - math.Pow(beta1, float64(t))
	bc2 := 1 - math.Pow(beta2, float64(t))
	for i := range theta {
		g := grad[i] + wd*theta[i]
		m[i] = beta1*m[i] + (1-beta1)*g
		v[i] = beta2*v[i] + (1-beta2)*g*g
		theta[i] -= lr / bc1 * m[i] / (math.Sqrt(v[i])/math.Sqrt(bc2) + eps)
	}
}
