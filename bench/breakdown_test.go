package bench

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/cpu"
	"github.com/gazeml/gaze/internal/cputime"
)

// timedDevice wraps the CPU device and adds up the wall time of the calls that dominate a
// convolutional step, keyed by op and shape, for TestStepBreakdown. CPU device calls are
// synchronous, so a call's wall time is its kernel's time.
type timedDevice struct {
	engine.Device
	t, cpu map[string]time.Duration
	n      map[string]int
}

// stamp is a call's start: wall clock and the process's CPU time.
type stamp struct {
	wall time.Time
	cpu  time.Duration
}

func now() stamp { return stamp{time.Now(), cputime.Process()} }

func (d *timedDevice) add(key string, s stamp) {
	if d.t == nil { // warming up
		return
	}
	d.t[key] += time.Since(s.wall)
	d.cpu[key] += cputime.Process() - s.cpu
	d.n[key]++
}

func convKind(g engine.ConvGeom) string {
	return fmt.Sprintf("%dx%d/s%d %d→%d %d²", g.R, g.S, g.StrideH, g.C, g.K, g.OutH)
}

func (d *timedDevice) ConvForward(g engine.ConvGeom, x, w, y engine.Buffer) {
	defer d.add("conv fwd      "+convKind(g), now())
	d.Device.ConvForward(g, x, w, y)
}

func (d *timedDevice) ConvBackwardData(g engine.ConvGeom, dy, w, dx engine.Buffer, beta float32) {
	defer d.add("conv bwd-data "+convKind(g), now())
	d.Device.ConvBackwardData(g, dy, w, dx, beta)
}

func (d *timedDevice) ConvBackwardFilter(g engine.ConvGeom, x, dy, dw engine.Buffer) {
	defer d.add("conv bwd-filt "+convKind(g), now())
	d.Device.ConvBackwardFilter(g, x, dy, dw)
}

func (d *timedDevice) BatchNormTrain(x, y, gamma, beta, sm, si, rm, rv engine.Buffer, n, c, hw int, mom, eps float32) {
	defer d.add(fmt.Sprintf("bn fwd        %d×%d", c, hw), now())
	d.Device.BatchNormTrain(x, y, gamma, beta, sm, si, rm, rv, n, c, hw, mom, eps)
}

func (d *timedDevice) BatchNormBackward(x, dy, dx, gamma, sm, si, dg, db engine.Buffer, n, c, hw int, bs bool) {
	defer d.add(fmt.Sprintf("bn bwd        %d×%d", c, hw), now())
	d.Device.BatchNormBackward(x, dy, dx, gamma, sm, si, dg, db, n, c, hw, bs)
}

func (d *timedDevice) BatchNormTrainReLU(x, res, y, gamma, beta, sm, si, rm, rv engine.Buffer, n, c, hw int, mom, eps float32) {
	kind := "bn+relu fwd   "
	if res != nil {
		kind = "bn+add+relu fwd"
	}
	defer d.add(fmt.Sprintf("%s %d×%d", kind, c, hw), now())
	d.Device.BatchNormTrainReLU(x, res, y, gamma, beta, sm, si, rm, rv, n, c, hw, mom, eps)
}

func (d *timedDevice) BatchNormBackwardReLU(x, y, dy, dz, dx, gamma, sm, si, dg, db engine.Buffer, n, c, hw int, bs bool) {
	defer d.add(fmt.Sprintf("bn+relu bwd   %d×%d", c, hw), now())
	d.Device.BatchNormBackwardReLU(x, y, dy, dz, dx, gamma, sm, si, dg, db, n, c, hw, bs)
}

func (d *timedDevice) Relu(x, y engine.Buffer) {
	defer d.add(fmt.Sprintf("relu fwd      %d", x.Len()), now())
	d.Device.Relu(x, y)
}

func (d *timedDevice) ReluBackward(y, dy, dx engine.Buffer) {
	defer d.add(fmt.Sprintf("relu bwd      %d", y.Len()), now())
	d.Device.ReluBackward(y, dy, dx)
}

func (d *timedDevice) Add(a, b, out engine.Buffer) {
	defer d.add(fmt.Sprintf("add           %d", a.Len()), now())
	d.Device.Add(a, b, out)
}

func (d *timedDevice) Gemm(transA, transB bool, m, n, k int, alpha float32, a engine.Buffer, lda int, b engine.Buffer, ldb int, beta float32, c engine.Buffer, ldc int) {
	defer d.add(fmt.Sprintf("gemm %c%c %d×%d×%d", "NT"[btoi(transA)], "NT"[btoi(transB)], m, n, k), now())
	d.Device.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (d *timedDevice) MaxPool(g engine.PoolGeom, x, y engine.Buffer) {
	defer d.add(fmt.Sprintf("maxpool fwd   %d×%d %d²", g.N, g.C, g.H), now())
	d.Device.MaxPool(g, x, y)
}

func (d *timedDevice) MaxPoolBackward(g engine.PoolGeom, x, dy, dx engine.Buffer) {
	defer d.add(fmt.Sprintf("maxpool bwd   %d×%d %d²", g.N, g.C, g.H), now())
	d.Device.MaxPoolBackward(g, x, dy, dx)
}

func (d *timedDevice) BiasAdd(y, b engine.Buffer, n, c, hw int) {
	defer d.add(fmt.Sprintf("bias add      %d×%d", c, hw), now())
	d.Device.BiasAdd(y, b, n, c, hw)
}

func (d *timedDevice) BiasGrad(dy, db engine.Buffer, n, c, hw int) {
	defer d.add(fmt.Sprintf("bias grad     %d×%d", c, hw), now())
	d.Device.BiasGrad(dy, db, n, c, hw)
}

func (d *timedDevice) SoftmaxXent(logits, labels, losses, dlogits engine.Buffer, n, k int, scale float32) {
	defer d.add("softmax xent", now())
	d.Device.SoftmaxXent(logits, labels, losses, dlogits, n, k, scale)
}

func (d *timedDevice) SGDStep(theta, grad, vel engine.Buffer, lr, mom, wd float32, nest bool) {
	defer d.add("sgd", now())
	d.Device.SGDStep(theta, grad, vel, lr, mom, wd, nest)
}

// TestStepBreakdown prints where a training step's time goes, per op and shape
// (GAZE_BREAKDOWN=model:batch:C:H:W, e.g. resnet20:128:3:32:32; skipped without it). A tool for
// profiling, not a check.
func TestStepBreakdown(t *testing.T) {
	spec := os.Getenv("GAZE_BREAKDOWN")
	if spec == "" {
		t.Skip("set GAZE_BREAKDOWN=model:batch:C:H:W")
	}
	var w Workload
	var c, h, wd int
	if _, err := fmt.Sscanf(strings.ReplaceAll(spec, ":", " "), "%s %d %d %d %d", &w.Model, &w.Batch, &c, &h, &wd); err != nil {
		t.Fatal(err)
	}
	w.In = []int{c, h, wd}
	d := &timedDevice{Device: cpu.New()}
	step, m, err := Step(d, w)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for range 2 {
		step()
	}
	d.t, d.cpu, d.n = map[string]time.Duration{}, map[string]time.Duration{}, map[string]int{}
	const steps = 5
	t0 := now()
	for range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	total, totalCPU := time.Since(t0.wall), cputime.Process()-t0.cpu
	keys := make([]string, 0, len(d.t))
	var timed, timedCPU time.Duration
	for k, v := range d.t {
		keys = append(keys, k)
		timed += v
		timedCPU += d.cpu[k]
	}
	sort.Strings(keys)
	per := func(v time.Duration) float64 { return float64(v) / steps / 1e6 }
	fmt.Printf("%-36s %10s %10s  calls/step\n", "op", "wall ms", "CPU ms")
	for _, k := range keys {
		fmt.Printf("%-36s %10.2f %10.2f  %d\n", k, per(d.t[k]), per(d.cpu[k]), d.n[k]/steps)
	}
	fmt.Printf("%-36s %10.2f %10.2f\n%-36s %10.2f %10.2f\n", "other", per(total-timed), per(totalCPU-timedCPU), "step", per(total), per(totalCPU))
}
