package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/gazeml/gaze/engine"
)

var dataDirFlag = &cli.StringFlag{
	Name:    "data-dir",
	Usage:   "folder holding the data sets (MNIST IDX files, CIFAR-10 binary batches)",
	EnvVars: []string{"GAZE_DATA"},
	Value:   "data",
}

// optFlags are the optimizer flags every training command shares, with the command's default
// optimizer and learning rate; optConfig turns them into an engine.OptConfig.
func optFlags(kind string, lr float64) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "opt", Value: kind, Usage: "optimizer: sgd or adam"},
		&cli.Float64Flag{Name: "lr", Value: lr, Usage: "learning rate"},
		&cli.Float64Flag{Name: "momentum", Value: 0.9, Usage: "SGD momentum"},
		&cli.BoolFlag{Name: "nesterov", Usage: "SGD with Nesterov momentum"},
		&cli.Float64Flag{Name: "weight-decay", Usage: "decoupled-from-loss weight decay added to the gradient (PyTorch's weight_decay)"},
		&cli.Float64Flag{Name: "beta1", Value: 0.9, Usage: "Adam β1"},
		&cli.Float64Flag{Name: "beta2", Value: 0.999, Usage: "Adam β2 (the reference LCA/intrinsic-dimension code uses 0.99)"},
		&cli.Float64Flag{Name: "eps", Value: 1e-8, Usage: "Adam epsilon"},
		&cli.IntSliceFlag{Name: "lr-milestones", Usage: "epochs at which the learning rate is multiplied by --lr-gamma (e.g. 100,150)"},
		&cli.Float64Flag{Name: "lr-gamma", Value: 0.1, Usage: "learning-rate factor at each milestone"},
	}
}

// layerFlags are the per-layer optimizer overrides of gaze train and gaze lca train (the LCA
// paper's interventions).
func layerFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "freeze", Usage: "freeze LAYER (or LAYER@ITER: from iteration ITER on); a trailing . or * selects a prefix, e.g. stage1.*; repeatable"},
		&cli.StringSliceFlag{Name: "layer-lr", Usage: "LAYER=LR[@ITER]: a learning rate of its own for a layer (from iteration ITER on); repeatable"},
		&cli.StringSliceFlag{Name: "layer-momentum", Usage: "LAYER=M[@ITER]: a momentum (Adam: β1) of its own for a layer; repeatable"},
	}
}

// optConfig turns the optimizer flags (and the layer flags, where the command has them) into
// the optimizer's configuration. Only the chosen optimizer's own settings are kept, so that a
// run's saved configuration names what it used.
func optConfig(c *cli.Context) (engine.OptConfig, error) {
	o := engine.OptConfig{Kind: c.String("opt"), LR: c.Float64("lr"), WeightDecay: c.Float64("weight-decay"),
		Milestones: c.IntSlice("lr-milestones"), Gamma: c.Float64("lr-gamma")}
	switch o.Kind {
	case "sgd":
		o.Momentum, o.Nesterov = c.Float64("momentum"), c.Bool("nesterov")
	case "adam":
		o.Beta1, o.Beta2, o.Eps = c.Float64("beta1"), c.Float64("beta2"), c.Float64("eps")
	}
	groups, err := groupsFromFlags(c)
	o.Groups = groups
	return o, err
}

// groupsFromFlags turns --freeze, --layer-lr and --layer-momentum into optimizer overrides.
func groupsFromFlags(c *cli.Context) ([]engine.GroupOverride, error) {
	var groups []engine.GroupOverride
	from := func(flag, s string) (string, int, error) {
		spec, at, ok := strings.Cut(s, "@")
		if !ok {
			return spec, 0, nil
		}
		it, err := strconv.Atoi(at)
		if err != nil || it < 0 {
			return "", 0, fmt.Errorf("--%s %q: %q is not an iteration", flag, s, at)
		}
		return spec, it, nil
	}
	for _, s := range c.StringSlice("freeze") {
		layer, it, err := from("freeze", s)
		if err != nil {
			return nil, err
		}
		groups = append(groups, engine.GroupOverride{Layers: []string{layer}, Frozen: true, FromIter: it})
	}
	for _, flag := range []string{"layer-lr", "layer-momentum"} {
		for _, s := range c.StringSlice(flag) {
			spec, it, err := from(flag, s)
			if err != nil {
				return nil, err
			}
			layer, val, ok := strings.Cut(spec, "=")
			v, err := strconv.ParseFloat(val, 64)
			if !ok || err != nil {
				return nil, fmt.Errorf("--%s %q: want LAYER=VALUE[@ITER]", flag, s)
			}
			g := engine.GroupOverride{Layers: []string{layer}, FromIter: it}
			if flag == "layer-lr" {
				g.LR = &v
			} else {
				g.Momentum = &v
			}
			groups = append(groups, g)
		}
	}
	return groups, nil
}

// interruptible is a context that Ctrl-C or SIGTERM cancels: long runs checkpoint and stop.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// logTo is a printf-style logger writing lines to the command's error stream.
func logTo(c *cli.Context) func(string, ...any) {
	return func(format string, a ...any) { fmt.Fprintf(c.App.ErrWriter, format+"\n", a...) }
}

// precisionFlag is --precision of the commands that train or time on a device.
var precisionFlag = &cli.StringFlag{Name: "precision", Value: "fp32", Usage: "convolutions and GEMMs in fp32 or tf32 (TF32 tensor cores: cuda on compute capability 8.0 and newer; " +
	"operands rounded to 10 mantissa bits, float32 sums; everything else stays float32)"}
