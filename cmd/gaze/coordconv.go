package main

import "github.com/urfave/cli/v2"

func coordconvCommand() *cli.Command {
	return &cli.Command{Name: "coordconv", Usage: "CoordConv experiments (being built)"}
}
