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
			&cli.StringFlag{Name: "models", Usage: "comma-separated model:batch list (default: mnist-fc:250,mnist-fc-200:128,lenet5:128,lenet-lca:250)"},
			&cli.DurationFlag{Name: "time", Value: 3 * time.Second, Usage: "minimum time per workload"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"},
			&cli.BoolFlag{Name: "kernels", Usage: "time single kernels (ms, GFLOP/s, GB/s) instead of models; the shapes of bench/torch"},
			&cli.StringFlag{Name: "filter", Usage: "with --kernels: only kernels whose kernel/shape name contains this (or one of several, comma-separated)"},
			&cli.BoolFlag{Name: "lca", Usage: "time the LCA workload instead: ResNet-20's mean loss and gradient over --lca-examples CIFAR-shaped examples in chunks"},
			&cli.IntFlag{Name: "lca-examples", Value: 50000, Usage: "with --lca: examples in the data set"},
			&cli.IntFlag{Name: "lca-chunk", Value: 2500, Usage: "with --lca: examples per chunk"},
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
			var results []bench.Result
			for _, w := range ws {
				r, err := bench.Run(dev, w, c.Duration("time"))
				if err != nil {
					return err
				}
				results = append(results, r)
				if !c.Bool("json") {
					if len(results) == 1 {
						fmt.Fprintf(c.App.Writer, "%-14s %6s %10s %6s %6s %10s %12s\n", "model", "batch", "params", "device", "graphs", "ms/step", "examples/s")
					}
					fmt.Fprintf(c.App.Writer, "%-14s %6d %10d %6s %6t %10.2f %12.0f\n", r.Model, r.Batch, r.Params, r.Device, r.Graphs, r.StepMS, r.ExPerSec)
				}
			}
			if c.Bool("json") {
				b, _ := json.MarshalIndent(results, "", "  ")
				fmt.Fprintln(c.App.Writer, string(b))
			}
			return nil
		},
	}
}
