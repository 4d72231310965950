package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// run runs the app with every command's flags allowed after its positional arguments:
// urfave/cli v2 stops parsing flags at the first argument, so `gaze lca report RUN --json`
// would see --json as a second folder. flagsFirst reorders the arguments before parsing.
func run(app *cli.App, args []string) error {
	return app.Run(flagsFirst(app, args))
}

// flagsFirst walks args down the command tree (flags of the commands on the way stay where they
// are) and, for the command reached, moves its flags, with the values of those that take one,
// in front of its positional arguments, which follow a "--" so that none of them is read as a
// flag. A "--" given by the user ends flag parsing there: what follows it stays positional.
// Unknown flags are moved too (cli then names them in its error).
func flagsFirst(app *cli.App, args []string) []string {
	if len(args) == 0 {
		return args
	}
	out := []string{args[0]}
	flags, subs := app.Flags, app.Commands
	i := 1
	for i < len(args) {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if isFlag(a) {
			out = append(out, a)
			if takesValue(flags, a) && i+1 < len(args) {
				out = append(out, args[i+1])
				i++
			}
			i++
			continue
		}
		var cmd *cli.Command
		for _, c := range subs {
			if c.HasName(a) {
				cmd = c
			}
		}
		if cmd == nil {
			// An argument that names no command: cli reports it (or runs the command's action).
			return append(out, args[i:]...)
		}
		out = append(out, a)
		i++
		if len(cmd.Subcommands) == 0 {
			return append(out, reorder(cmd.Flags, args[i:])...)
		}
		flags, subs = cmd.Flags, cmd.Subcommands
	}
	return out
}

// reorder puts a command's flags (with their values) before its positional arguments.
func reorder(flags []cli.Flag, args []string) []string {
	var fl, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !isFlag(a) {
			pos = append(pos, a)
			continue
		}
		fl = append(fl, a)
		if takesValue(flags, a) && i+1 < len(args) {
			fl = append(fl, args[i+1])
			i++
		}
	}
	if len(pos) == 0 {
		return fl
	}
	return append(append(fl, "--"), pos...)
}

// isFlag tells whether an argument is a flag: -x, --x, --x=v ("-" alone is an argument).
func isFlag(a string) bool { return len(a) > 1 && a[0] == '-' && a != "--" }

// takesValue tells whether a flag argument without "=" consumes the next argument as its
// value: every flag but the booleans (and help) does.
func takesValue(flags []cli.Flag, a string) bool {
	name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
	if strings.Contains(name, "=") {
		return false
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				tv, ok := f.(interface{ TakesValue() bool })
				return ok && tv.TakesValue()
			}
		}
	}
	return false // help, version and unknown flags
}
