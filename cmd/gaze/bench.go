package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gazeml/gaze/bench"
	"github.com/gazeml/gaze/engine"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "measure training-step throughput of zoo models",
		Description: "Times one SGD training step (momentum 0.9, cross-entropy, random inputs) per model, the workloads of\n" +
			"the PyTorch anchors (shared/anchors/torch_cpu.py); run both on the same machine to compare. The step is the\n" +
			"trainer's (batch gathered and uploaded, forward, backward, update), as CUDA graphs on the cuda device unless\n" +
			"GAZE_CUDA_GRAPHS=0.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "device", Value: "cpu", Usage: "device: cpu or cuda"},
			&cli.StringFlag{Name: "models", Usage: "comma-separated model:batch list (default: mnist-fc:250,mnist-fc-200:128,lenet5:128,lenet-lca:250,resnet20:128)"},
			&cli.DurationFlag{Name: "time", Value: 3 * time.Second, Usage: "minimum time per workload"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"},
			&cli.BoolFlag{Name: "kernels", Usage: "time single kernels (ms, GFLOP/s, GB/s) instead of models; the shapes of bench/torch"},
			&cli.StringFlag{Name: "filter", Usage: "with --kernels: only kernels whose kernel/shape name contains this (or one of several, comma-separated); with --projection: only the cases whose model/d<dim> name does (lenet5, lenet5/d1000, d750)"},
			&cli.BoolFlag{Name: "lca", Usage: "time the LCA workload instead: ResNet-20's mean loss and gradient over --lca-examples CIFAR-shaped examples in chunks"},
			&cli.IntFlag{Name: "lca-examples", Value: 50000, Usage: "with --lca: examples in the data set"},
			&cli.IntFlag{Name: "lca-chunk", Value: 2500, Usage: "with --lca: examples per chunk"},
			&cli.BoolFlag{Name: "peak", Usage: "first measure this machine's FP32 FMA peak (a register-only FMA loop on every thread the cpu device uses, for --time up to 2 s) and stream bandwidth, then print each workload's GFLOP/s as a fraction of that peak"},
			&cli.BoolFlag{Name: "projection", Usage: "time intrinsic dimension's projections instead: forward (θ = θ₀ + P·θ_d) and transpose (g_d = Pᵀ·g) per step at mnist-fc-200's and lenet5's D, with a stream-copy bandwidth (bench/torch/projection_cpu.py times numpy and PyTorch on the same shapes)"},
			&cli.StringSliceFlag{Name: "proj-kinds", Value: cli.NewStringSlice("dense", "sparse", "fastfood"), Usage: "with --projection: the projections to time"},
			&cli.IntFlag{Name: "stream-mb", Value: 512, Usage: "with --projection: MB per array of the stream-copy measurement (0: none)"},
			&cli.BoolFlag{Name: "variants", Usage: "with --kernels: also time each kernel variant the device offers for the op (cuda: conv tiles, gemv_n vec4), one row each"},
			precisionFlag,
		},
		Action: func(c *cli.Context) error {
			dev, err := engine.Open(c.String("device"))
			if err != nil {
				return err
			}
			if err := engine.SetPrecision(dev, c.String("precision")); err != nil {
				return err
			}
			if c.Bool("kernels") || c.Bool("lca") {
				return benchKernels(c, dev)
			}
			if c.Bool("projection") {
				return benchProjection(c, dev)
			}
			ws := bench.Defaults
			if s := c.String("models"); s != "" {
				ws = nil
				for _, item := range strings.Split(s, ",") {
					name, b, ok := strings.Cut(item, ":")
					var batch int
					if _, err := fmt.Sscan(b, &batch); !ok || err != nil || batch < 1 {
						return fmt.Errorf("--models: %q is not model:batch", item)
					}
					in := []int{1, 28, 28}
					if strings.HasPrefix(name, "resnet") {
						in = []int{3, 32, 32}
					}
					ws = append(ws, bench.Workload{Model: name, Batch: batch, In: in})
				}
			}
			w := c.App.Writer
			var peak *bench.Peak
			if c.Bool("peak") {
				p := bench.MeasurePeak(min(max(c.Duration("time"), 100*time.Millisecond), 2*time.Second), 64)
				peak = &p
				if !c.Bool("json") {
					fmt.Fprintf(w, "peak: %.0f GFLOP/s FP32 (%s FMA, %d threads, %.0f per core); stream copy %.1f GB/s, triad %.1f GB/s (%d MiB arrays)\n",
						p.GFLOPS, p.Path, p.Threads, p.GFLOPSPerCore, p.CopyGBs, p.TriadGBs, p.StreamMiB)
				}
			}
			if !c.Bool("json") {
				fmt.Fprintf(w, "%s: %s\n", dev.Name(), dev.Describe())
			}
			var results []bench.Result
			for _, wl := range ws {
				r, err := bench.Run(dev, wl, c.Duration("time"))
				if err != nil {
					return err
				}
				if peak != nil {
					r.PeakFraction = r.GFLOPS / peak.GFLOPS
				}
				results = append(results, r)
				if !c.Bool("json") {
					if len(results) == 1 {
						fmt.Fprintf(w, "%-14s %6s %10s %6s %6s %10s %12s %10s %10s", "model", "batch", "params", "device", "graphs", "ms/step", "examples/s", "GFLOP/step", "GFLOP/s")
						if peak != nil {
							fmt.Fprintf(w, " %7s", "% peak")
						}
						fmt.Fprintln(w)
					}
					fmt.Fprintf(w, "%-14s %6d %10d %6s %6t %10.2f %12.0f %10.3f %10.1f", r.Model, r.Batch, r.Params, r.Device, r.Graphs, r.StepMS, r.ExPerSec, r.StepGFLOP, r.GFLOPS)
					if peak != nil {
						fmt.Fprintf(w, " %6.1f%%", 100*r.PeakFraction)
					}
					fmt.Fprintln(w)
				}
			}
			if c.Bool("json") {
				out := any(results)
				if peak != nil {
					out = struct {
						Peak    *bench.Peak    `json:"peak"`
						Results []bench.Result `json:"results"`
					}{peak, results}
				}
				b, _ := json.MarshalIndent(out, "", "  ")
				fmt.Fprintln(w, string(b))
			}
			return nil
		},
	}
}
