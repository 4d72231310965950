// Command gaze trains networks and looks inside their training: loss change allocation,
// CoordConv and intrinsic dimension experiments, on the CPU or an NVIDIA GPU.
package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/urfave/cli/v2"

	"github.com/gazeml/gaze/engine"
	_ "github.com/gazeml/gaze/engine/cpu" // registers the "cpu" device
)

func main() { os.Exit(mainStatus(os.Args)) }

// mainStatus runs the command and returns the exit status, so that deferred work (the profile)
// is done before the process ends.
func mainStatus(args []string) int {
	// GAZE_CPUPROFILE=FILE writes a CPU profile of the whole command (go tool pprof FILE):
	// the way to see where a run's time goes, data loading and file writes included.
	if path := os.Getenv("GAZE_CPUPROFILE"); path != "" {
		stop, err := startCPUProfile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gaze:", err)
			return 1
		}
		defer stop()
	}
	if err := run(newApp(), args); err != nil {
		fmt.Fprintln(os.Stderr, "gaze:", err)
		return 1
	}
	return 0
}

func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("GAZE_CPUPROFILE: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("GAZE_CPUPROFILE: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
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
