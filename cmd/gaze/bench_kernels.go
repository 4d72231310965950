package main

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/gazeml/gaze/bench"
	"github.com/gazeml/gaze/engine"
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
