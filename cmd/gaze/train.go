package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/engine/data"
	"github.com/gazeml/gaze/engine/models"
	"github.com/gazeml/gaze/internal/rundir"
	"github.com/gazeml/gaze/train"
)

func trainFlags() []cli.Flag {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "model", Value: "mnist-fc", Usage: "network: " + models.Help},
		&cli.StringFlag{Name: "coordconv", Value: "none", Usage: "ResNets only: swap the first (first) or every (all) convolution for a CoordConv"},
		&cli.StringFlag{Name: "data", Value: "mnist", Usage: "data set: mnist, fashion-mnist, cifar10 or synthetic"},
		dataDirFlag,
		&cli.StringFlag{Name: "synthetic", Value: "2000x1x28x28", Usage: "with --data synthetic: NxCxHxW of the training set (the test set has N/5)"},
		&cli.IntFlag{Name: "classes", Value: 10, Usage: "with --data synthetic: number of classes"},
		&cli.IntFlag{Name: "held-out", Usage: "take this many training examples out as a held-out split (LCA: 5000)"},
		&cli.Uint64Flag{Name: "split-seed", Usage: "seed of the held-out split"},
	}
	flags = append(flags, optFlags("sgd", 0.01)...)
	flags = append(flags, &cli.Float64Flag{Name: "l2", Usage: "L2 penalty λ/2·Σw² on weights, added to the loss and reported apart"})
	flags = append(flags, layerFlags()...)
	return append(flags,
		&cli.IntFlag{Name: "batch", Value: 250, Usage: "minibatch size"},
		&cli.IntFlag{Name: "epochs", Value: 3, Usage: "number of epochs"},
		&cli.Uint64Flag{Name: "seed", Usage: "seed of initialisation, shuffling and dropout"},
		&cli.StringFlag{Name: "device", Value: "cpu", Usage: "device: cpu or cuda (see gaze devices)"},
		precisionFlag,
		&cli.StringFlag{Name: "out", Value: "runs/train", Usage: "output folder: config.json, metrics.csv, epochs.csv, result.json, checkpoint.ckpt"},
		&cli.BoolFlag{Name: "resume", Usage: "continue the run in --out from its checkpoint (same flags; --epochs, --checkpoint-every, --eval-batch, --data-dir, --device and --precision may change)"},
		&cli.IntFlag{Name: "checkpoint-every", Value: 500, Usage: "iterations between checkpoints (one is also written after every epoch and on Ctrl-C)"},
		&cli.IntFlag{Name: "eval-batch", Value: 1000, Usage: "batch size for evaluation"},
		&cli.BoolFlag{Name: "quiet", Usage: "no progress bar; one line per epoch"},
	)
}

func trainCommand() *cli.Command {
	return &cli.Command{
		Name:  "train",
		Usage: "train a model and report test accuracy",
		Description: "Trains --model on --data and writes, in --out: config.json (the run's settings), metrics.csv (loss per\n" +
			"iteration), epochs.csv (train loss, test loss and accuracy per epoch), result.json and checkpoint.ckpt.\n" +
			"Ctrl-C writes a checkpoint; --resume continues without losing or repeating an iteration.",
		Flags: trainFlags(),
		Action: func(c *cli.Context) error {
			cfg, err := trainConfig(c)
			if err != nil {
				return err
			}
			ctx, stop := interruptible()
			defer stop()
			res, err := train.Run(ctx, cfg, trainOptions(c))
			if finished(c, err) && res != nil {
				fmt.Fprintf(c.App.Writer, "test accuracy %.2f %% after %d epochs (%s)\n", 100*res.TestAcc, res.Epochs, c.String("out"))
				return nil
			}
			if err != nil {
				return interrupted(c, err)
			}
			fmt.Fprintf(c.App.Writer, "test accuracy %.2f %% after %d epochs (%s)\n", 100*res.TestAcc, cfg.Epochs, c.String("out"))
			return nil
		},
	}
}

// trainConfig turns the training flags into a run's configuration.
func trainConfig(c *cli.Context) (train.Config, error) {
	cfg := train.Config{
		Model: c.String("model"),
		Data: data.Spec{Name: c.String("data"), Dir: c.String("data-dir"), HeldOut: c.Int("held-out"),
			SplitSeed: c.Uint64("split-seed"), Classes: c.Int("classes")},
		L2: c.Float64("l2"), Batch: c.Int("batch"), Epochs: c.Int("epochs"), Seed: c.Uint64("seed"),
		Device: c.String("device"), CkptEvery: c.Int("checkpoint-every"), EvalBatch: c.Int("eval-batch"),
	}
	if p := c.String("precision"); p != engine.PrecisionFP32 {
		cfg.Precision = p // fp32 stays out of config.json, as in runs made before the flag
	}
	if mode := c.String("coordconv"); mode != "none" {
		cfg.CoordConv = mode
	}
	// Only synthetic data has a shape and a class count of its own to record.
	if cfg.Data.Name == "synthetic" {
		cfg.Data.Synthetic = c.String("synthetic")
	} else {
		cfg.Data.Classes = 0
	}
	var err error
	cfg.Opt, err = optConfig(c)
	return cfg, err
}

func trainOptions(c *cli.Context) train.Options {
	return train.Options{Dir: c.String("out"), Resume: c.Bool("resume"), Quiet: c.Bool("quiet"), Log: c.App.ErrWriter}
}

// finished tells whether err says that --resume found a finished run (which it left as it
// was), and says so on the error stream.
func finished(c *cli.Context, err error) bool {
	var fe *rundir.FinishedError
	if !errors.As(err, &fe) {
		return false
	}
	fmt.Fprintln(c.App.ErrWriter, "gaze:", fe.Error())
	return true
}

// interrupted turns a run stopped by Ctrl-C into its message and exit status 130; other
// errors pass through.
func interrupted(c *cli.Context, err error) error {
	var ie *train.InterruptedError
	if errors.As(err, &ie) {
		fmt.Fprintln(c.App.ErrWriter, ie.Error())
		return cli.Exit("", 130)
	}
	return err
}
