package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestFlagsFirst(t *testing.T) {
	app := newApp()
	for _, c := range []struct{ in, want string }{
		{"gaze lca report RUN --json", "gaze lca report --json -- RUN"},
		{"gaze lca report --json RUN", "gaze lca report --json -- RUN"},
		{"gaze lca compute RUN --iters :5 --device=cpu", "gaze lca compute --iters :5 --device=cpu -- RUN"},
		{"gaze lca merge RUN P1 --bogus P2", "gaze lca merge --bogus -- RUN P1 P2"},
		{"gaze intdim collect DIR --from A -from B", "gaze intdim collect --from A -from B -- DIR"},
		{"gaze train --lr -1 --quiet", "gaze train --lr -1 --quiet"},             // a value that looks like a flag
		{"gaze coordconv table A -- --b -c", "gaze coordconv table -- A --b -c"}, // -- ends the flags
		{"gaze coordconv table -- --b", "gaze coordconv table -- --b"},
		{"gaze lca report RUN --help", "gaze lca report --help -- RUN"},
		{"gaze lca report RUN --json=false", "gaze lca report --json=false -- RUN"},
		{"gaze intdim point --dir", "gaze intdim point --dir"}, // a value missing at the end: cli reports it
		{"gaze --help lca", "gaze --help lca"},
		{"gaze lca", "gaze lca"},
		{"gaze nosuch X --y", "gaze nosuch X --y"},
		{"gaze help lca", "gaze help lca"},
	} {
		if got := strings.Join(flagsFirst(app, strings.Fields(c.in)), " "); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

// sample is a valid value for a flag, as the command line spells it ("" for a boolean).
func sample(t *testing.T, f cli.Flag) string {
	switch f.(type) {
	case *cli.BoolFlag:
		return ""
	case *cli.StringFlag:
		return "some-value"
	case *sizeFlag:
		return "20GiB"
	case *cli.IntFlag, *cli.Uint64Flag, *cli.Int64Flag, *cli.UintFlag:
		return "7"
	case *cli.Float64Flag:
		return "0.25"
	case *cli.DurationFlag:
		return "2s"
	case *cli.IntSliceFlag:
		return "3,4"
	case *cli.Float64SliceFlag:
		return "0.5,0.75"
	case *cli.StringSliceFlag:
		return "a,b"
	}
	t.Fatalf("flag %v: no sample value for its type %T (add one here)", f.Names(), f)
	return ""
}

// leaves calls fn with the name path of every command that has no subcommands.
func leaves(path []string, cmds []*cli.Command, fn func([]string, *cli.Command)) {
	for _, c := range cmds {
		p := append(slices.Clone(path), c.Name)
		if len(c.Subcommands) == 0 {
			fn(p, c)
		} else {
			leaves(p, c.Subcommands, fn)
		}
	}
}

// Every command, found by walking the command tree, reads every one of its flags after a
// positional argument as it reads them before it: the same values and the same arguments.
func TestEveryCommandTakesFlagsAfterArguments(t *testing.T) {
	n := 0
	leaves(nil, newApp().Commands, func(path []string, cmd *cli.Command) {
		n++
		var flagArgs []string
		for _, f := range cmd.Flags {
			name := f.Names()[0]
			if v := sample(t, f); v == "" {
				flagArgs = append(flagArgs, "--"+name)
			} else {
				flagArgs = append(flagArgs, "--"+name, v)
			}
		}
		type parsed struct {
			args  []string
			flags map[string]string
		}
		parse := func(args []string) parsed {
			app := newApp()
			var got parsed
			// Replace the command's action by one that records what cli parsed.
			var find func([]*cli.Command, []string) *cli.Command
			find = func(cs []*cli.Command, p []string) *cli.Command {
				for _, c := range cs {
					if c.Name == p[0] {
						if len(p) == 1 {
							return c
						}
						return find(c.Subcommands, p[1:])
					}
				}
				return nil
			}
			find(app.Commands, path).Action = func(c *cli.Context) error {
				got.args = c.Args().Slice()
				got.flags = map[string]string{}
				for _, f := range c.Command.Flags {
					name := f.Names()[0]
					if c.IsSet(name) {
						got.flags[name] = fmt.Sprint(c.Value(name))
					}
				}
				return nil
			}
			app.Writer, app.ErrWriter = &strings.Builder{}, &strings.Builder{}
			if err := run(app, append(append([]string{"gaze"}, path...), args...)); err != nil {
				t.Errorf("gaze %s %s: %v", strings.Join(path, " "), strings.Join(args, " "), err)
			}
			return got
		}
		before := parse(append(slices.Clone(flagArgs), "ARG1", "ARG2"))
		after := parse(append([]string{"ARG1", "ARG2"}, flagArgs...))
		between := parse(append(append([]string{"ARG1"}, flagArgs...), "ARG2"))
		for _, p := range []parsed{before, after, between} {
			if !slices.Equal(p.args, []string{"ARG1", "ARG2"}) {
				t.Errorf("%s: arguments %q, want [ARG1 ARG2]", strings.Join(path, " "), p.args)
			}
			for _, f := range cmd.Flags {
				name := f.Names()[0]
				if _, ok := p.flags[name]; !ok && !strings.Contains(strings.Join(f.Names(), ","), "help") {
					t.Errorf("%s: --%s not read (flags %v)", strings.Join(path, " "), name, p.flags)
				}
			}
		}
		if fmt.Sprint(after.flags) != fmt.Sprint(before.flags) || fmt.Sprint(between.flags) != fmt.Sprint(before.flags) {
			t.Errorf("%s: flags after the arguments read as %v, before them as %v", strings.Join(path, " "), after.flags, before.flags)
		}
	})
	if n < 15 {
		t.Errorf("walked %d commands; the tree has more", n)
	}
}

// "--" ends the flags: what follows is an argument even when it looks like a flag.
func TestDoubleDashEndsFlags(t *testing.T) {
	app := newApp()
	var args []string
	var json bool
	for _, c := range app.Commands {
		if c.Name == "lca" {
			for _, s := range c.Subcommands {
				if s.Name == "report" {
					s.Action = func(c *cli.Context) error { args, json = c.Args().Slice(), c.Bool("json"); return nil }
				}
			}
		}
	}
	app.Writer, app.ErrWriter = &strings.Builder{}, &strings.Builder{}
	if err := run(app, []string{"gaze", "lca", "report", "RUN", "--", "--json", "-x"}); err != nil {
		t.Fatal(err)
	}
	if json || !slices.Equal(args, []string{"RUN", "--json", "-x"}) {
		t.Errorf("after --: --json read as a flag (%v), arguments %q", json, args)
	}
}
