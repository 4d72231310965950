package main

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/urfave/cli/v2"

	"github.com/gazeml/gaze/bench"
	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/sgemm"
)

// benchKernels is `gaze bench --kernels` (per-kernel timings) and `gaze bench --lca` (the LCA
// full-set gradient), on whichever device --device names.
func benchKernels(c *cli.Context, dev engine.Device) error {
	w := c.App.Writer
	if c.Bool("lca") {
		r, err := bench.Gradient(dev, "resnet20", []int{3, 32, 32}, c.Int("lca-examples"), c.Int("lca-chunk"))
		if err != nil {
			return err
		}
		if c.Bool("json") {
			b, _ := json.MarshalIndent(r, "", "  ")
			fmt.Fprintln(w, string(b))
		} else {
			fmt.Fprintf(w, "LCA gradient: %s over %d examples in chunks of %d on %s: %.3f s (%.0f examples/s)\n", r.Model, r.Examples, r.Chunk, r.Device, r.Seconds, r.ExPerSec)
		}
		if !c.Bool("kernels") {
			return nil
		}
	}
	timer := bench.Kernels
	if c.Bool("variants") {
		timer = bench.KernelsWithVariants
	}
	rs, err := timer(dev, c.String("filter"), c.Duration("time"))
	if c.Bool("json") {
		b, _ := json.MarshalIndent(rs, "", "  ")
		fmt.Fprintln(w, string(b))
		return err
	}
	fmt.Fprintf(w, "%-20s %-30s %-12s %6s %10s %10s %10s\n", "kernel", "shape", "variant", "device", "ms", "GFLOP/s", "GB/s")
	for _, r := range rs {
		v := r.Variant
		if v == "" {
			v = "default"
		}
		fmt.Fprintf(w, "%-20s %-30s %-12s %6s %10.4f %10.1f %10.1f\n", r.Kernel, r.Shape, v, r.Device, r.MS, r.GFLOPS, r.GBS)
	}
	return err
}

// benchProjection is `gaze bench --projection`: the projections' cost per training step and a
// stream-copy bandwidth to set the dense products' GB/s against.
func benchProjection(c *cli.Context, dev engine.Device) error {
	w := c.App.Writer
	path := ""
	if dev.Name() == "cpu" {
		path = sgemm.Current().String() // GAZE_CPU selects it, as for every CPU kernel
	}
	var out struct {
		Threads     int                `json:"threads"`
		StreamCopy  float64            `json:"stream_copy_gb_s,omitempty"`
		StreamMB    int                `json:"stream_mb,omitempty"`
		Projections []bench.ProjResult `json:"projections"`
	}
	cases, err := bench.FilterProjCases(bench.ProjCases, c.String("filter"))
	if err != nil {
		return err
	}
	out.Threads = runtime.GOMAXPROCS(0)
	if mb := c.Int("stream-mb"); mb > 0 {
		out.StreamMB = mb
		out.StreamCopy, _ = bench.StreamCopy(mb<<20/4, c.Duration("time"))
	}
	rs, err := bench.Projections(dev, c.StringSlice("proj-kinds"), cases, c.Duration("time"), path)
	out.Projections = rs
	if c.Bool("json") {
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintln(w, string(b))
		return err
	}
	if out.StreamMB > 0 {
		fmt.Fprintf(w, "stream copy (%d MB arrays, %d threads): %.1f GB/s (bytes read + written)\n", out.StreamMB, out.Threads, out.StreamCopy)
	}
	if path != "" {
		fmt.Fprintf(w, "dense products on the %s matrix–vector kernels; GB/s: P read twice per step (forward and transpose)\n", path)
	}
	fmt.Fprint(w, bench.ProjTable(rs))
	return err
}
