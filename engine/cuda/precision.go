//go:build cuda

package cuda

import (
	"fmt"

	"github.com/gazeml/gaze/engine"
)

// Precision (engine.Precisioner): float32 everywhere by default; with "tf32" the convolutions
// and GEMMs run on the TF32 tensor cores (kernels/igemm.cuh's igemm_tf32: operands rounded to
// TF32, float32 accumulation), everything else stays float32. TF32 needs compute capability 8.0
// and the compute 8.0 PTX set; the compute 7.0 set's TF32 entry points compute in float32, so a
// device running it (a 7.x GPU, or GAZE_PTX_DIR=kernels/sm70) refuses TF32.

// SetPrecision selects "fp32" or "tf32" kernels for convolutions and GEMMs. Graphs captured
// before a change are marked stale, since they hold the other kernels.
func (d *Device) SetPrecision(p string) error {
	switch p {
	case engine.PrecisionFP32:
		if d.tf32 {
			d.staleAll()
		}
		d.tf32 = false
	case engine.PrecisionTF32:
		if d.ccMaj < 8 {
			return fmt.Errorf("cuda: --precision tf32 needs TF32 tensor cores (compute capability 8.0: A100, H100 and newer); %s has compute capability %d.%d, use --precision fp32", d.name, d.ccMaj, d.ccMin)
		}
		if d.ptxOld {
			return fmt.Errorf("cuda: --precision tf32 needs the compute 8.0 PTX; the loaded set (%s) is built for an older architecture", d.ptxSet)
		}
		if !d.tf32 {
			d.staleAll()
		}
		d.tf32 = true
	default:
		return fmt.Errorf("cuda: unknown precision %q (want %s or %s)", p, engine.PrecisionFP32, engine.PrecisionTF32)
	}
	return nil
}

// Precision is "tf32" or "fp32".
func (d *Device) Precision() string {
	if d.tf32 {
		return engine.PrecisionTF32
	}
	return engine.PrecisionFP32
}

// staleAll marks every live graph stale.
func (d *Device) staleAll() {
	for g := range d.graphs {
		g.stale = true
	}
}

// gemmKernel is the GEMM of one transpose combination and tile at the device's precision.
func (d *Device) gemmKernel(transA, transB bool, t tile) kernelID {
	i := b2i(transA)*2 + b2i(transB)
	if d.tf32 {
		return gemmTF32Kernels[i][t.idx]
	}
	return gemmKernels[i][t.idx]
}

var _ engine.Precisioner = (*Device)(nil)
