// Command gaze trains networks and looks inside their training: loss change allocation,
// CoordConv and intrinsic dimension experiments, on the CPU or an NVIDIA GPU.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/gazeml/gaze/engine"
	_ "github.com/gazeml/gaze/engine/cpu" // registers the "cpu" device
)

func main() {
	if err := run(newApp(), os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "gaze:", err)
		os.Exit(1)
	}
}

func newApp() *cli.App {
	app := &cli.App{
		Name:  "gaze",
		Usage: "a training engine for looking inside neural-network training",
		Description: "gaze trains networks on the CPU or an NVIDIA GPU and measures what happens inside the training:\n" +
			"loss change allocation (LCA), CoordConv, and intrinsic dimension.\n\n" +
			"A command's flags may come before or after its arguments (gaze lca report RUN --json); -- ends them.\n" +
			"Long runs write a run folder (--out): a new run refuses a folder that holds one; --resume continues it\n" +
			"when the flags describe the same run, and otherwise lists every differing field with both values.",
		Commands: []*cli.Command{
			trainCommand(),
			lcaCommand(),
			dataCommand(),
			devicesCommand(),
			benchCommand(),
			coordconvCommand(),
			intdimCommand(),
		},
		// A usage error (unknown flag, bad value) should say so, not dump help and exit 0.
		OnUsageError: usageError,
	}
	withValidation(nil, app.Commands)
	return app
}

func devicesCommand() *cli.Command {
	return &cli.Command{
		Name:  "devices",
		Usage: "list the devices this build of gaze can use",
		Action: func(c *cli.Context) error {
			for _, name := range engine.Devices() {
				dev, err := engine.Open(name)
				if err != nil {
					fmt.Fprintf(c.App.Writer, "%-6s unavailable: %v\n", name, err)
					continue
				}
				fmt.Fprintf(c.App.Writer, "%-6s %s\n", name, dev.Describe())
			}
			if !hasDevice("cuda") {
				fmt.Fprintln(c.App.Writer, "cuda   not in this build (build with -tags cuda)")
			}
			return nil
		},
	}
}

func hasDevice(name string) bool {
	for _, n := range engine.Devices() {
		if n == name {
			return true
		}
	}
	return false
}
