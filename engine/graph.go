package engine

import (
	"errors"
	"math"
)

// CUDA graphs, seen from the engine. A device that can capture (the CUDA device) records the
// kernels, fills and copies that a training step or one chunk of a full-set gradient queues,
// once per shape, and the engine then replays the recording each step with one launch: the
// host's per-step work no longer grows with the number of layers. The Trainer (trainer_graph.go)
// and Model.Gradient (model_graph.go) use it when the device offers it; CapturerOf says whether
// it does.
//
// What changes from step to step must not be baked into a recording. The batch is uploaded into
// the model's input buffers before each launch; the scalars that change per step (the dropout
// offset, the learning rates, Adam's bias-corrected step size) are written to a small device
// buffer before each launch, which the *Var kernels below read at run time; the host values a
// step returns (its loss, the L2 penalty) are reduced on the device into another small buffer
// (SumTo), read after the launch. Everything else (shapes, buffers, β, momentum, weight decay)
// is fixed per recording, and a change of any of them is a new recording.

// Graph is device work that a Capturer recorded once; Launch queues it again.
type Graph interface {
	// Launch queues the recorded work on the device's stream, after the work already queued.
	// It returns ErrGraphStale, and queues nothing, when memory the recording uses has been freed
	// since it was made (the caller records again).
	Launch() error
	// Close releases the recording. Closing twice, or after the device was closed, is harmless.
	Close()
}

// ErrGraphStale is Graph.Launch's error for a recording whose buffers have been freed.
var ErrGraphStale = errors.New("engine: the graph uses device memory freed since it was captured")

// Capturer is implemented by devices that can record kernel calls and replay them (the CUDA
// device, with CUDA graphs). The engine reaches it through CapturerOf.
type Capturer interface {
	// GraphsEnabled reports whether recordings should be used (the CUDA device: unless
	// GAZE_CUDA_GRAPHS=0 or SetGraphs(false)).
	GraphsEnabled() bool
	// BeginCapture starts recording: the kernels, fills and copies queued until EndCapture are
	// recorded, not run. Calls that need the host during a recording (Upload, Download, Sync,
	// the reductions that return values, Alloc) are refused: they do nothing (a reduction
	// returns NaN) and EndCapture returns the error. Pending errors of earlier work are returned
	// here, and nothing is recorded.
	BeginCapture() error
	// EndCapture ends the recording and returns it; on error nothing was recorded or run.
	EndCapture() (Graph, error)

	// The kernels whose per-step scalars are read from device memory when they run, so that a
	// recording replays with new values: vars is a view the caller writes before each launch.

	// SGDStepVar is SGDStep with the learning rate read from vars[0].
	SGDStepVar(theta, grad, vel Buffer, momentum, weightDecay float32, nesterov bool, vars Buffer)
	// AdamStepVar is AdamStep with the step size lr/(1−β1^t) and √(1−β2^t) read from vars[0]
	// and vars[1] (AdamScalars computes them as AdamStep does).
	AdamStepVar(theta, grad, m, v Buffer, beta1, beta2, eps, weightDecay float32, vars Buffer)
	// DropoutVar is Dropout with the offset read from vars[0:2]: the low and high 32 bits
	// (PutUint64).
	DropoutVar(x, mask, y Buffer, p float32, seed uint64, vars Buffer)
	// SumTo and SumSquaresTo are Sum and SumSquares (the same kernels, the same float64 result)
	// written to dst[0:2] on the device instead of returned (GetFloat64 reads it back). dst must
	// start at an even offset of its allocation (8-byte aligned).
	SumTo(x, dst Buffer)
	SumSquaresTo(x, dst Buffer)
}

// CapturerOf returns the device's Capturer, behind the argument checks when dev is, or nil when
// the device cannot capture or has recordings turned off.
func CapturerOf(dev Device) Capturer {
	c, ok := Unwrap(dev).(Capturer)
	if !ok || !c.GraphsEnabled() {
		return nil
	}
	if _, ok := dev.(checked); ok {
		return checkedCapturer{c}
	}
	return c
}

// Unwrap returns the device behind the argument-checking layer (dev itself when it is not
// checked), for device-specific options (CapturerOf, SetPrecision, kernel variants).
func Unwrap(dev Device) Device {
	if c, ok := dev.(checked); ok {
		return c.d
	}
	return dev
}

// checkedCapturer checks the Var kernels' arguments as checked does the plain ones.
type checkedCapturer struct{ Capturer }

func (c checkedCapturer) SGDStepVar(theta, grad, vel Buffer, momentum, weightDecay float32, nesterov bool, vars Buffer) {
	if momentum != 0 {
		sameLen("SGDStepVar", "theta, grad, vel", theta, grad, vel)
	} else {
		sameLen("SGDStepVar", "theta, grad", theta, grad)
	}
	needLen("SGDStepVar", "vars", vars, 1)
	c.Capturer.SGDStepVar(theta, grad, vel, momentum, weightDecay, nesterov, vars)
}

func (c checkedCapturer) AdamStepVar(theta, grad, m, v Buffer, beta1, beta2, eps, weightDecay float32, vars Buffer) {
	sameLen("AdamStepVar", "theta, grad, m, v", theta, grad, m, v)
	needLen("AdamStepVar", "vars", vars, 2)
	c.Capturer.AdamStepVar(theta, grad, m, v, beta1, beta2, eps, weightDecay, vars)
}

func (c checkedCapturer) DropoutVar(x, mask, y Buffer, p float32, seed uint64, vars Buffer) {
	sameLen("DropoutVar", "x, mask, y", x, mask, y)
	needLen("DropoutVar", "vars", vars, 2)
	c.Capturer.DropoutVar(x, mask, y, p, seed, vars)
}

func (c checkedCapturer) SumTo(x, dst Buffer) {
	needLen("SumTo", "dst", dst, 2)
	c.Capturer.SumTo(x, dst)
}

func (c checkedCapturer) SumSquaresTo(x, dst Buffer) {
	needLen("SumSquaresTo", "dst", dst, 2)
	c.Capturer.SumSquaresTo(x, dst)
}

// AdamScalars are the two scalars of AdamStep at step t that do not depend on the element: the
// bias-corrected step size lr/(1−β1^t) and √(1−β2^t), from float64 and rounded to float32 once.
// Devices compute AdamStep's scalars with it, and AdamStepVar's callers the values they write.
func AdamScalars(lr, beta1, beta2 float32, t int) (step, sqrtBc2 float32) {
	bc1 := 1 - math.Pow(float64(beta1), float64(t))
	bc2 := 1 - math.Pow(float64(beta2), float64(t))
	return float32(float64(lr) / bc1), float32(math.Sqrt(bc2))
}

// PutUint64 stores v in two float32 slots as its low and high 32 bits (DropoutVar's offset).
func PutUint64(dst []float32, v uint64) {
	dst[0] = math.Float32frombits(uint32(v))
	dst[1] = math.Float32frombits(uint32(v >> 32))
}

// GetFloat64 reads the float64 SumTo wrote into two float32 slots.
func GetFloat64(src []float32) float64 {
	return math.Float64frombits(uint64(math.Float32bits(src[0])) | uint64(math.Float32bits(src[1]))<<32)
}
