package main

import "github.com/urfave/cli/v2"

func intdimCommand() *cli.Command {
	return &cli.Command{Name: "intdim", Usage: "intrinsic-dimension experiments (being built)"}
}
