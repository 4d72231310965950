package engine

import "fmt"

// The precisions of a device's convolutions and GEMMs.
const (
	// PrecisionFP32 is float32 throughout: every device's default and the CPU device's only one.
	PrecisionFP32 = "fp32"
	// PrecisionTF32 runs convolutions and GEMMs on TF32 tensor cores (operands rounded to 10
	// mantissa bits, float32 accumulation): the CUDA device on compute capability 8.0 and newer.
	// Everything else (losses, batch norm, reductions, optimizers, LCA) stays float32/float64.
	PrecisionTF32 = "tf32"
)

// Precisioner is implemented by devices with more than one precision for convolutions and GEMMs.
type Precisioner interface {
	// SetPrecision selects PrecisionFP32 or PrecisionTF32, or says why the device cannot.
	SetPrecision(p string) error
	// Precision is the one in use.
	Precision() string
}

// SetPrecision sets dev's precision for convolutions and GEMMs: "" and "fp32" are float32 (every
// device), "tf32" the TF32 tensor cores where the device has them, else an error that says so.
func SetPrecision(dev Device, p string) error {
	pr, ok := Unwrap(dev).(Precisioner)
	switch p {
	case "", PrecisionFP32:
		if ok {
			return pr.SetPrecision(PrecisionFP32)
		}
		return nil
	case PrecisionTF32:
		if !ok {
			return fmt.Errorf("--precision tf32 needs the cuda device on a GPU with TF32 tensor cores (compute capability 8.0 or newer); the %s device computes in float32 only", dev.Name())
		}
		return pr.SetPrecision(p)
	}
	return fmt.Errorf("unknown precision %q (want %s or %s)", p, PrecisionFP32, PrecisionTF32)
}

// PrecisionOf is dev's precision: its Precisioner's, or fp32.
func PrecisionOf(dev Device) string {
	if pr, ok := Unwrap(dev).(Precisioner); ok {
		return pr.Precision()
	}
	return PrecisionFP32
}
