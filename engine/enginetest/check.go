package enginetest

import (
	"math"
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
)

// The bad-input cases test engine's argument-checking layer (engine/check.go) through the device
// under test, which must be the device users get: engine.Open's, or a device behind
// engine.Checked. Each case calls one kernel with arguments that do not fit (a wrong length, a
// negative or zero size, an impossible geometry) and requires the call to
// panic with the layer's message, "engine: <op>: ...", leaving every buffer of the case as it was
// (the device must not have run). A raw device, which trusts its arguments, fails the group
// (mutants_test.go); the reference device, opened through engine.Open, passes it
// (TestReferenceDevice).

// badCase is one call with bad arguments to op.
type badCase struct {
	name string
	op   string
	call func(h *harness, d engine.Device)
}

func testBadInput(t *testing.T, dev engine.Device) {
	run(t, "Alloc_negative", dev, func(h *harness) {
		if b, err := dev.Alloc(-1); err == nil || !strings.Contains(err.Error(), "Alloc(-1)") {
			h.t.Errorf("Alloc(-1) = %v, %v; want an error naming Alloc(-1)", b, err)
		}
	})
	for _, c := range badCases {
		run(t, c.name, dev, func(h *harness) {
			h.snap = true
			h.rejects(c.op, func() { c.call(h, dev) })
		})
	}
}

// rejects runs call, which must panic with the checking layer's message for op and change no
// buffer of the case.
func (h *harness) rejects(op string, call func()) {
	h.t.Helper()
	got := func() (r any) {
		defer func() { r = recover() }()
		call()
		return nil
	}()
	msg, isString := got.(string)
	switch {
	case got == nil:
		h.t.Errorf("%s accepted the bad arguments", op)
	case !isString || !strings.HasPrefix(msg, "engine: "+op+": "):
		h.t.Errorf("%s panicked with %v (%T), want the checking layer's message \"engine: %s: ...\"", op, got, got, op)
	case testing.Verbose():
		h.t.Log(msg)
	}
	h.unchanged()
}

// unchanged checks that every buffer made since h.snap was set holds what it was made with.
func (h *harness) unchanged() {
	h.t.Helper()
	for i, g := range h.bufs {
		if g.init == nil {
			continue
		}
		got := make([]float32, g.n)
		h.dev.Download(got, g.whole.Slice(guardLen, g.n))
		for j, v := range got {
			if math.Float32bits(v) != math.Float32bits(g.init[j]) {
				h.t.Errorf("buffer #%d (len %d) changed at [%d]: %v, was %v", i, g.n, j, v, g.init[j])
				break
			}
		}
	}
}

// conv3 is a valid 3×3, pad-1 convolution of 2 images, 2 → 3 channels, 5×5.
var conv3 = engine.ConvGeom{N: 2, C: 2, H: 5, W: 5, K: 3, R: 3, S: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, OutH: 5, OutW: 5}

// pool2 is a valid 2×2, stride-2 pooling of 2×3 planes of 4×6.
var pool2 = engine.PoolGeom{N: 2, C: 3, H: 4, W: 6, KH: 2, KW: 2, StrideH: 2, StrideW: 2, OutH: 2, OutW: 3}

var badCases = []badCase{
	// memory
	{"Upload_too_long", "Upload", func(h *harness, d engine.Device) { d.Upload(h.zeros(3), make([]float32, 4)) }},
	{"Download_too_long", "Download", func(h *harness, d engine.Device) { d.Download(make([]float32, 4), h.zeros(3)) }},

	// gemm: A is 2×3 (6 elements), B 3×2, C 2×2.
	{"Gemm_short_A", "Gemm", func(h *harness, d engine.Device) {
		d.Gemm(false, false, 2, 2, 3, 1, h.zeros(5), 3, h.zeros(6), 2, 0, h.zeros(4), 2)
	}},
	{"Gemm_short_C_transposed_B", "Gemm", func(h *harness, d engine.Device) {
		d.Gemm(false, true, 2, 2, 3, 1, h.zeros(6), 3, h.zeros(6), 3, 0, h.zeros(3), 2)
	}},
	{"Gemm_lda_below_columns", "Gemm", func(h *harness, d engine.Device) {
		d.Gemm(false, false, 2, 2, 3, 1, h.zeros(6), 2, h.zeros(6), 2, 0, h.zeros(4), 2)
	}},
	{"Gemm_negative_size", "Gemm", func(h *harness, d engine.Device) {
		d.Gemm(false, false, -1, 2, 3, 1, h.zeros(6), 3, h.zeros(6), 2, 0, h.zeros(4), 2)
	}},
	{"Gemv_short_x", "Gemv", func(h *harness, d engine.Device) { d.Gemv(false, 2, 3, 1, h.zeros(6), 3, h.zeros(2), 0, h.zeros(2)) }},
	{"Gemv_transposed_short_y", "Gemv", func(h *harness, d engine.Device) { d.Gemv(true, 2, 3, 1, h.zeros(6), 3, h.zeros(2), 0, h.zeros(2)) }},
	{"Gemv_lda_below_n", "Gemv", func(h *harness, d engine.Device) { d.Gemv(false, 2, 3, 1, h.zeros(6), 2, h.zeros(3), 0, h.zeros(2)) }},

	// conv
	{"ConvForward_output_past_input", "ConvForward", func(h *harness, d engine.Device) {
		g := conv3
		g.OutH = 7 // row 6 starts at 6·1 − 1 = 5, past the 5 rows
		d.ConvForward(g, h.zeros(g.InputLen()), h.zeros(g.WeightLen()), h.zeros(g.OutputLen()))
	}},
	{"ConvForward_zero_stride", "ConvForward", func(h *harness, d engine.Device) {
		g := conv3
		g.StrideW = 0
		d.ConvForward(g, h.zeros(g.InputLen()), h.zeros(g.WeightLen()), h.zeros(g.OutputLen()))
	}},
	{"ConvForward_short_w", "ConvForward", func(h *harness, d engine.Device) {
		g := conv3
		d.ConvForward(g, h.zeros(g.InputLen()), h.zeros(g.WeightLen()-1), h.zeros(g.OutputLen()))
	}},
	{"ConvBackwardData_long_dx", "ConvBackwardData", func(h *harness, d engine.Device) {
		g := conv3
		d.ConvBackwardData(g, h.zeros(g.OutputLen()), h.zeros(g.WeightLen()), h.zeros(g.InputLen()+1), 0)
	}},
	{"ConvBackwardFilter_short_dy", "ConvBackwardFilter", func(h *harness, d engine.Device) {
		g := conv3
		d.ConvBackwardFilter(g, h.zeros(g.InputLen()), h.zeros(g.OutputLen()-1), h.zeros(g.WeightLen()))
	}},

	// norm: n 2, c 3, hw 4
	{"BatchNormTrain_zero_hw", "BatchNormTrain", func(h *harness, d engine.Device) {
		d.BatchNormTrain(h.zeros(0), h.zeros(0), h.zeros(3), h.zeros(3), h.zeros(3), h.zeros(3), h.zeros(3), h.zeros(3), 2, 3, 0, 0.1, 1e-5)
	}},
	{"BatchNormTrain_short_runVar", "BatchNormTrain", func(h *harness, d engine.Device) {
		d.BatchNormTrain(h.zeros(24), h.zeros(24), h.zeros(3), h.zeros(3), h.zeros(3), h.zeros(3), h.zeros(3), h.zeros(2), 2, 3, 4, 0.1, 1e-5)
	}},
	{"BatchNormInfer_short_gamma", "BatchNormInfer", func(h *harness, d engine.Device) {
		d.BatchNormInfer(h.zeros(24), h.zeros(24), h.zeros(2), h.zeros(3), h.zeros(3), h.zeros(3), h.zeros(3), h.zeros(3), 2, 3, 4, 1e-5)
	}},
	{"BatchNormBackward_short_dx", "BatchNormBackward", func(h *harness, d engine.Device) {
		d.BatchNormBackward(h.zeros(24), h.zeros(24), h.zeros(23), h.zeros(3), h.zeros(3), h.zeros(3), h.zeros(3), h.zeros(3), 2, 3, 4, true)
	}},
	{"BatchNormTrainReLU_short_res", "BatchNormTrainReLU", func(h *harness, d engine.Device) {
		d.BatchNormTrainReLU(h.zeros(24), h.zeros(23), h.zeros(24), h.zeros(3), h.zeros(3), h.zeros(3), h.zeros(3), h.zeros(3), h.zeros(3), 2, 3, 4, 0.1, 1e-5)
	}},
	{"BatchNormBackwardReLU_short_dz", "BatchNormBackwardReLU", func(h *harness, d engine.Device) {
		d.BatchNormBackwardReLU(h.zeros(24), h.zeros(24), h.zeros(24), h.zeros(23), h.zeros(24), h.zeros(3), h.zeros(3), h.zeros(3), h.zeros(3), h.zeros(3), 2, 3, 4, true)
	}},

	// pool
	{"MaxPool_padding_as_wide_as_window", "MaxPool", func(h *harness, d engine.Device) {
		g := pool2
		g.PadH = 2
		d.MaxPool(g, h.zeros(g.InputLen()), h.zeros(g.OutputLen()))
	}},
	{"MaxPoolBackward_short_dx", "MaxPoolBackward", func(h *harness, d engine.Device) {
		g := pool2
		d.MaxPoolBackward(g, h.zeros(g.InputLen()), h.zeros(g.OutputLen()), h.zeros(g.InputLen()-1))
	}},
	{"AvgPool_long_y", "AvgPool", func(h *harness, d engine.Device) {
		g := pool2
		d.AvgPool(g, h.zeros(g.InputLen()), h.zeros(g.OutputLen()+1))
	}},
	{"AvgPoolBackward_short_dy", "AvgPoolBackward", func(h *harness, d engine.Device) {
		g := pool2
		d.AvgPoolBackward(g, h.zeros(g.OutputLen()-1), h.zeros(g.InputLen()))
	}},
	{"GlobalAvgPool_short_y", "GlobalAvgPool", func(h *harness, d engine.Device) { d.GlobalAvgPool(h.zeros(24), h.zeros(5), 2, 3, 4) }},
	{"GlobalAvgPool_negative_sizes", "GlobalAvgPool", func(h *harness, d engine.Device) { d.GlobalAvgPool(h.zeros(24), h.zeros(6), -2, -3, 4) }},
	{"GlobalAvgPoolBackward_short_dx", "GlobalAvgPoolBackward", func(h *harness, d engine.Device) {
		d.GlobalAvgPoolBackward(h.zeros(6), h.zeros(23), 2, 3, 4)
	}},

	// loss: n 3 rows of k 4
	{"SoftmaxXent_short_labels", "SoftmaxXent", func(h *harness, d engine.Device) {
		d.SoftmaxXent(h.zeros(12), h.zeros(2), h.zeros(3), nil, 3, 4, 1)
	}},
	{"SoftmaxXent_short_dlogits", "SoftmaxXent", func(h *harness, d engine.Device) {
		d.SoftmaxXent(h.zeros(12), h.zeros(3), h.zeros(3), h.zeros(11), 3, 4, 1)
	}},
	{"MSE_short_target", "MSE", func(h *harness, d engine.Device) { d.MSE(h.zeros(12), h.zeros(3), h.zeros(3), nil, 3, 4, 1) }},
	{"SigmoidBCE_short_losses", "SigmoidBCE", func(h *harness, d engine.Device) {
		d.SigmoidBCE(h.zeros(12), h.zeros(12), h.zeros(2), h.zeros(12), 3, 4, 1)
	}},
	{"Argmax_zero_k", "Argmax", func(h *harness, d engine.Device) { d.Argmax(h.zeros(0), h.zeros(3), 3, 0) }},
	{"Argmax_short_out", "Argmax", func(h *harness, d engine.Device) { d.Argmax(h.zeros(12), h.zeros(2), 3, 4) }},

	// elementwise
	{"Relu_lengths", "Relu", func(h *harness, d engine.Device) { d.Relu(h.zeros(3), h.zeros(4)) }},
	{"ReluBackward_lengths", "ReluBackward", func(h *harness, d engine.Device) { d.ReluBackward(h.zeros(3), h.zeros(3), h.zeros(2)) }},
	{"Copy_lengths", "Copy", func(h *harness, d engine.Device) { d.Copy(h.zeros(3), h.zeros(4)) }},
	{"Axpy_lengths", "Axpy", func(h *harness, d engine.Device) { d.Axpy(2, h.zeros(4), h.zeros(3)) }},
	{"Add_lengths", "Add", func(h *harness, d engine.Device) { d.Add(h.zeros(3), h.zeros(4), h.zeros(3)) }},
	{"Mul_lengths", "Mul", func(h *harness, d engine.Device) { d.Mul(h.zeros(3), h.zeros(3), h.zeros(4)) }},
	{"Dropout_lengths", "Dropout", func(h *harness, d engine.Device) { d.Dropout(h.zeros(3), h.zeros(2), h.zeros(3), 0.5, 1, 0) }},
	{"BiasAdd_short_b", "BiasAdd", func(h *harness, d engine.Device) { d.BiasAdd(h.zeros(24), h.zeros(2), 2, 3, 4) }},
	{"BiasAdd_negative_sizes", "BiasAdd", func(h *harness, d engine.Device) { d.BiasAdd(h.zeros(24), h.zeros(3), -2, 3, -4) }},
	{"BiasGrad_short_dy", "BiasGrad", func(h *harness, d engine.Device) { d.BiasGrad(h.zeros(23), h.zeros(3), 2, 3, 4) }},

	// reduce
	{"Dot_lengths", "Dot", func(h *harness, d engine.Device) { d.Dot(h.zeros(3), h.zeros(4)) }},

	// optim
	{"SGDStep_short_grad", "SGDStep", func(h *harness, d engine.Device) { d.SGDStep(h.zeros(4), h.zeros(3), nil, 0.1, 0, 0, false) }},
	{"SGDStep_short_vel", "SGDStep", func(h *harness, d engine.Device) {
		d.SGDStep(h.zeros(4), h.zeros(4), h.zeros(3), 0.1, 0.9, 0, false)
	}},
	{"AdamStep_step_zero", "AdamStep", func(h *harness, d engine.Device) {
		d.AdamStep(h.zeros(4), h.zeros(4), h.zeros(4), h.zeros(4), 1e-3, 0.9, 0.999, 1e-8, 0, 0)
	}},
	{"AdamStep_short_v", "AdamStep", func(h *harness, d engine.Device) {
		d.AdamStep(h.zeros(4), h.zeros(4), h.zeros(4), h.zeros(3), 1e-3, 0.9, 0.999, 1e-8, 0, 1)
	}},

	// coords: n 2, c 1, 3×4
	{"AddCoords_y_without_r_channel", "AddCoords", func(h *harness, d engine.Device) {
		d.AddCoords(h.zeros(24), h.zeros(2*3*12), 2, 1, 3, 4, true)
	}},
	{"AddCoordsBackward_short_dx", "AddCoordsBackward", func(h *harness, d engine.Device) {
		d.AddCoordsBackward(h.zeros(2*3*12), h.zeros(23), 2, 1, 3, 4, false)
	}},
	{"AddCoords_negative_sizes", "AddCoords", func(h *harness, d engine.Device) {
		d.AddCoords(h.zeros(24), h.zeros(72), -2, 1, -3, 4, false)
	}},
	{"Tile_short_y", "Tile", func(h *harness, d engine.Device) { d.Tile(h.zeros(6), h.zeros(23), 2, 3, 4) }},
	{"TileBackward_short_dx", "TileBackward", func(h *harness, d engine.Device) { d.TileBackward(h.zeros(24), h.zeros(5), 2, 3, 4) }},
	{"Softmax_zero_k", "Softmax", func(h *harness, d engine.Device) { d.Softmax(h.zeros(0), h.zeros(0), 3, 0) }},
	{"Softmax_short_y", "Softmax", func(h *harness, d engine.Device) { d.Softmax(h.zeros(12), h.zeros(11), 3, 4) }},
	{"SoftmaxBackward_short_dy", "SoftmaxBackward", func(h *harness, d engine.Device) {
		d.SoftmaxBackward(h.zeros(12), h.zeros(11), h.zeros(12), 3, 4)
	}},

	// projection: rows 5, cols 3 (inv)
	{"ProjInvNorms_zero_rows", "ProjInvNorms", func(h *harness, d engine.Device) { d.ProjInvNorms(1, 0, h.zeros(3)) }},
	{"ProjInvNorms_no_columns", "ProjInvNorms", func(h *harness, d engine.Device) { d.ProjInvNorms(1, 5, h.zeros(0)) }},
	{"ProjDenseFill_short_p", "ProjDenseFill", func(h *harness, d engine.Device) { d.ProjDenseFill(1, 5, 0, h.zeros(3), h.zeros(14)) }},
	{"ProjDenseFill_negative_col0", "ProjDenseFill", func(h *harness, d engine.Device) {
		d.ProjDenseFill(1, 5, -1, h.zeros(3), h.zeros(15))
	}},
	{"ProjOTF_short_y", "ProjOTF", func(h *harness, d engine.Device) { d.ProjOTF(1, 5, h.zeros(3), h.zeros(3), h.zeros(4), 0) }},
	{"ProjOTF_long_x", "ProjOTF", func(h *harness, d engine.Device) { d.ProjOTF(1, 5, h.zeros(3), h.zeros(4), h.zeros(5), 1) }},
	{"ProjOTFT_short_out", "ProjOTFT", func(h *harness, d engine.Device) { d.ProjOTFT(1, 5, h.zeros(3), h.zeros(5), h.zeros(2)) }},
	{"SpMV_short_ptr", "SpMV", func(h *harness, d engine.Device) {
		d.SpMV(3, h.buf(indexBits([]int{0, 1, 2})), h.buf(indexBits([]int{0, 1})), h.zeros(2), h.zeros(2), h.zeros(3), 0)
	}},
	{"SpMV_idx_val", "SpMV", func(h *harness, d engine.Device) {
		d.SpMV(2, h.buf(indexBits([]int{0, 1, 2})), h.buf(indexBits([]int{0, 1})), h.zeros(3), h.zeros(2), h.zeros(2), 0)
	}},
	{"FWHT_not_a_power_of_two", "FWHT", func(h *harness, d engine.Device) { d.FWHT(h.zeros(12), 6) }},
	{"FWHT_block_not_dividing", "FWHT", func(h *harness, d engine.Device) { d.FWHT(h.zeros(12), 8) }},
	{"FWHT_zero_block", "FWHT", func(h *harness, d engine.Device) { d.FWHT(h.zeros(12), 0) }},
	{"Gather_short_idx", "Gather", func(h *harness, d engine.Device) {
		d.Gather(h.zeros(5), h.buf(indexBits([]int{0, 1})), h.zeros(3))
	}},
}
