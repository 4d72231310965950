package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// baseArgs are arguments that make a command valid and quick, so that the one flag a test
// adds is all that is wrong; out is where a command with --out writes, and a missing folder
// where one wants a folder to read.
func baseArgs(path string, out, missing string) []string {
	synth := []string{"--data", "synthetic", "--synthetic", "40x1x4x4", "--classes", "2", "--model", "mlp:16-4-2",
		"--epochs", "1", "--batch", "8", "--quiet", "--out", out}
	switch path {
	case "train":
		return synth
	case "lca train":
		return append(synth, "--lca-examples", "0", "--lca-batch", "20", "--no-report")
	case "coordconv run", "coordconv sweep":
		return []string{"--task", "regression", "--subsample", "1000", "--epochs", "1", "--seeds", "1", "--out", out}
	case "coordconv data":
		return []string{"--out", out}
	case "intdim sweep":
		return []string{"--model", "toy", "--dims", "10", "--seeds", "1", "--epochs", "1", "--out", out}
	case "intdim point":
		return []string{"--dir", missing}
	case "bench":
		return []string{"--models", "mnist-fc:8", "--time", "1ms"}
	}
	return []string{missing} // commands that read a run or sweep folder
}

// absurd are values no flag of the type accepts (for slices: as an element).
func absurd(f cli.Flag) []string {
	switch f.(type) {
	case *cli.Float64Flag, *cli.Float64SliceFlag:
		return []string{"NaN", "Inf", "-Inf", "-1e300"}
	case *cli.IntFlag, *cli.IntSliceFlag:
		return []string{"-1", "4611686018427387904"}
	case *cli.Uint64Flag:
		return []string{"-1"}
	case *cli.DurationFlag:
		return []string{"-1s", "1000000h"}
	case *sizeFlag:
		return []string{"-1", "0", "NaN", "20 parsecs", "9999999TiB"}
	}
	return nil
}

// shown is how an error names the value v given to flag f: as Go formats the parsed value.
func shown(f cli.Flag, v string) string {
	switch f.(type) {
	case *cli.Float64Flag, *cli.Float64SliceFlag:
		return map[string]string{"NaN": "NaN", "Inf": "+Inf", "-Inf": "-Inf", "-1e300": "-1e+300", "1e300": "1e+300"}[v]
	case *cli.DurationFlag:
		return map[string]string{"-1s": "-1s", "1000000h": "1000000h0m0s"}[v]
	}
	return v
}

// gazeSafe runs the command line and turns a panic into an error.
func gazeSafe(t *testing.T, args ...string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	_, _, err = gaze(t, args...)
	return err
}

// Every numeric flag of every command (found by walking the command tree, so a new flag is
// covered without editing this test) refuses absurd values with an error that names the flag
// and the value, without a panic and before anything is created on disk.
func TestAbsurdFlagValues(t *testing.T) {
	n := 0
	leaves(nil, newApp().Commands, func(path []string, cmd *cli.Command) {
		p := strings.Join(path, " ")
		for _, f := range cmd.Flags {
			if !isNumeric(f) {
				continue
			}
			name := f.Names()[0]
			r, ok := ruleFor(path, name)
			if !ok {
				t.Errorf("%s --%s: no validation rule", p, name)
				continue
			}
			vals := absurd(f)
			if _, isFloat := f.(*cli.Float64Flag); isFloat && r.hi < unbounded {
				vals = append(vals, "1e300")
			}
			if r.any {
				vals = vals[:0]
				if _, ok := f.(*cli.Uint64Flag); ok {
					vals = append(vals, "-1") // a parse error, still naming the flag
				}
			}
			for _, v := range vals {
				n++
				tmp := t.TempDir()
				out, missing := filepath.Join(tmp, "out"), filepath.Join(tmp, "missing")
				args := append(append(append([]string(nil), path...), baseArgs(p, out, missing)...), "--"+name, v)
				err := gazeSafe(t, args...)
				want := "--" + name + " " + shown(f, v)
				if err == nil || !strings.Contains(err.Error(), want) || strings.HasPrefix(err.Error(), "panic") {
					t.Errorf("gaze %s --%s %s: error %v, want one naming %q", p, name, v, err, want)
				}
				for _, d := range []string{out, missing} {
					if _, err := os.Stat(d); err == nil {
						t.Errorf("gaze %s --%s %s created %s", p, name, v, d)
					}
				}
			}
		}
	})
	if n < 150 {
		t.Errorf("only %d flag values tried: the command tree has more numeric flags", n)
	}
}

// sentinels are defaults that stand for "not given" and are not values a user may pass.
var sentinels = map[string]bool{"coordconv run/l2": true, "coordconv sweep/l2": true, "coordconv run/lr": true,
	"coordconv sweep/lr": true, "coordconv run/epochs": true, "coordconv sweep/epochs": true, "intdim point/index": true,
	"intdim sweep/lr-milestones": true}

// Every numeric flag's default passes its own rule: the rules do not refuse what the command
// does by default.
func TestFlagDefaultsPassTheirRules(t *testing.T) {
	leaves(nil, newApp().Commands, func(path []string, cmd *cli.Command) {
		for _, f := range cmd.Flags {
			if !isNumeric(f) {
				continue
			}
			name := f.Names()[0]
			r, ok := ruleFor(path, name)
			if !ok || sentinels[strings.Join(path, " ")+"/"+name] {
				continue
			}
			var vals []float64
			_, isFloat := f.(*cli.Float64Flag)
			switch f := f.(type) {
			case *cli.Float64Flag:
				vals = []float64{f.Value}
			case *cli.IntFlag:
				vals = []float64{float64(f.Value)}
			case *cli.DurationFlag:
				vals = []float64{float64(f.Value)}
			case *cli.IntSliceFlag:
				if f.Value != nil {
					for _, v := range f.Value.Value() {
						vals = append(vals, float64(v))
					}
				}
			case *cli.Float64SliceFlag:
				if f.Value != nil {
					vals = f.Value.Value()
				}
			}
			for _, v := range vals {
				if msg := r.check(v, !isFloat); msg != "" {
					t.Errorf("%s --%s: the default %v %s", strings.Join(path, " "), name, v, msg)
				}
			}
		}
	})
}

// Every command says what it does, and every flag what it means.
func TestHelpOnEveryCommandAndFlag(t *testing.T) {
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := strings.Join(append(append([]string(nil), path...), c.Name), " ")
			if strings.TrimSpace(c.Usage) == "" {
				t.Errorf("gaze %s has no usage line", p)
			}
			for _, f := range c.Flags {
				d, ok := f.(cli.DocGenerationFlag)
				if !ok || strings.TrimSpace(d.GetUsage()) == "" {
					t.Errorf("gaze %s --%s has no help text", p, f.Names()[0])
				}
			}
			out, _, err := gaze(t, append(append(append([]string(nil), path...), c.Name), "--help")...)
			if err != nil || !strings.Contains(out, c.Usage) {
				t.Errorf("gaze %s --help: %v\n%s", p, err, out)
			}
			walk(append(append([]string(nil), path...), c.Name), c.Subcommands)
		}
	}
	app := newApp()
	if app.Usage == "" {
		t.Error("gaze has no usage line")
	}
	walk(nil, app.Commands)
}
