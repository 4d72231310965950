package main

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/gazeml/gaze/coordconv"
	"github.com/gazeml/gaze/internal/bytesize"
	"github.com/gazeml/gaze/train"
)

// The command line's one validation layer for flag values: every numeric flag a command is
// given is checked against its rule here, before the command's action runs and so before
// anything is created on disk, and a refusal names the flag and the value as it was read:
//
//	gaze: --momentum NaN: must be a finite number in [0, 1)
//
// Every numeric flag of every command has a rule (a test walks the command tree, so a new
// flag without one fails it); a NaN or an infinity passes none. What a value must fit beyond
// its own range (the data's size, the model's D, another flag) is checked by the library
// function the command calls, also before it writes anything.

// rule is the set of valid values of a numeric flag: a closed or open range, for integers
// optionally powers of two only; any accepts every value of the flag's type (seeds).
type rule struct {
	lo, hi         float64
	loOpen, hiOpen bool
	pow2           bool
	dur            bool // a duration (the bounds in nanoseconds)
	any            bool
}

var (
	// rangeOf is [lo, hi]; openAbove is [lo, hi); positive is (0, hi].
	rangeOf   = func(lo, hi float64) rule { return rule{lo: lo, hi: hi} }
	openAbove = func(lo, hi float64) rule { return rule{lo: lo, hi: hi, hiOpen: true} }
	positive  = func(hi float64) rule { return rule{lo: 0, hi: hi, loOpen: true} }
	anyValue  = rule{any: true}
	unbounded = math.MaxFloat64
	// Sizes: batches, chunks, counts of examples.
	maxBatch    = float64(1 << 20)
	maxExamples = 1e9
)

// flagRules are the rules by flag name; commandRules override them for one command (the path
// of its names, "bench/lca-examples") where the same name means something else.
var flagRules = map[string]rule{
	// Optimizer.
	"lr":            positive(unbounded),
	"momentum":      openAbove(0, 1),
	"weight-decay":  rangeOf(0, unbounded),
	"beta1":         openAbove(0, 1),
	"beta2":         openAbove(0, 1),
	"eps":           positive(1),
	"lr-milestones": rangeOf(1, train.MaxEpochs),
	"lr-gamma":      positive(unbounded),
	"l2":            rangeOf(0, unbounded),
	"baseline-lr":   rangeOf(0, unbounded),
	"lrs":           positive(unbounded),
	// Training.
	"batch":            rangeOf(1, maxBatch),
	"epochs":           rangeOf(1, train.MaxEpochs),
	"eval-batch":       rangeOf(1, maxBatch),
	"checkpoint-every": rangeOf(0, maxExamples),
	"seed":             anyValue,
	"split-seed":       anyValue,
	"lca-seed":         anyValue,
	// Data.
	"classes":   rangeOf(2, 100000),
	"held-out":  rangeOf(0, maxExamples),
	"train-n":   rangeOf(0, maxExamples),
	"test-frac": rule{lo: 0, hi: 1, loOpen: true, hiOpen: true},
	"subsample": rangeOf(0, coordconv.Positions*coordconv.Positions),
	// LCA.
	"lca-examples":       rangeOf(0, maxExamples),
	"lca-batch":          rangeOf(1, maxBatch),
	"error-threshold":    positive(unbounded),
	"max-n":              {lo: 2, hi: 1024, pow2: true},
	"max-disk":           rangeOf(1, 1<<62),
	"parts":              rangeOf(1, maxExamples),
	"lca-every":          rangeOf(0, maxExamples),
	"save-weights-every": rangeOf(0, maxExamples),
	"every":              rangeOf(0, maxExamples),
	// CoordConv.
	"seeds":        rangeOf(1, 1000),
	"mul":          rangeOf(1, 64),
	"muls":         rangeOf(1, 64),
	"fs":           rangeOf(1, 31),
	"fss":          rangeOf(1, 31),
	"interm":       rangeOf(0, unbounded),
	"softmax-gain": positive(unbounded),
	"render-fs":    rangeOf(1, 31),
	// Intrinsic dimension.
	"dims":            rangeOf(1, math.MaxInt32),
	"global-baseline": rule{lo: 0, hi: 1, loOpen: true},
	"parallel":        rangeOf(1, 1024),
	"proj-mem-gb":     rangeOf(0, 1<<20),
	"bootstrap":       rangeOf(1, 1e7),
	"index":           rangeOf(0, maxExamples),
	"gpus":            rangeOf(0, 64),
	"cpus":            rangeOf(1, 4096),
	"mem-gb":          rangeOf(1, 1<<20),
	"retries":         rangeOf(0, 100),
	"sigma":           positive(unbounded),
	"episodes":        rangeOf(1, 1e6),
	"eval-episodes":   rangeOf(1, 1e6),
	"workers":         rangeOf(0, 4096),
	// Benchmarks.
	"time":      {lo: 0, hi: float64(24 * time.Hour), loOpen: true, dur: true},
	"lca-chunk": rangeOf(1, maxBatch),
	"stream-mb": rangeOf(0, 1<<20),
}

var commandRules = map[string]rule{
	"bench/lca-examples": rangeOf(1, 1e7),
}

// ruleFor is the rule of flag name in the command at path.
func ruleFor(path []string, name string) (rule, bool) {
	if r, ok := commandRules[strings.Join(path, "/")+"/"+name]; ok {
		return r, true
	}
	r, ok := flagRules[name]
	return r, ok
}

// sizeFlag is a flag whose value is a size in bytes (20GiB, 500MB, 4096: bytesize.Parse),
// checked here like the numeric flags; sizeValue reads it.
type sizeFlag struct{ cli.StringFlag }

// sizeValue is a size flag's value in bytes (0 when not given); validateFlags has checked it.
func sizeValue(c *cli.Context, name string) int64 {
	if !c.IsSet(name) {
		return 0
	}
	b, _ := bytesize.Parse(c.String(name))
	return b
}

// isNumeric tells whether a flag takes numbers (the flags validateFlags checks).
func isNumeric(f cli.Flag) bool {
	switch f.(type) {
	case *sizeFlag, *cli.Float64Flag, *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag, *cli.DurationFlag,
		*cli.IntSliceFlag, *cli.Int64SliceFlag, *cli.Float64SliceFlag, *cli.UintSliceFlag, *cli.Uint64SliceFlag:
		return true
	}
	return false
}

// validateFlags checks every numeric flag set for the command at path.
func validateFlags(c *cli.Context, path []string) error {
	for _, f := range c.Command.Flags {
		if !isNumeric(f) {
			continue
		}
		name := f.Names()[0]
		if !c.IsSet(name) {
			continue // defaults are valid (a test checks them)
		}
		r, ok := ruleFor(path, name)
		if !ok {
			return fmt.Errorf("--%s has no validation rule (a bug in gaze: add one to flagRules)", name)
		}
		var vals []float64
		var shown []string
		switch f.(type) {
		case *cli.Float64Flag:
			v := c.Float64(name)
			vals, shown = []float64{v}, []string{showFloat(v)}
		case *cli.Float64SliceFlag:
			for _, v := range c.Float64Slice(name) {
				vals, shown = append(vals, v), append(shown, showFloat(v))
			}
		case *cli.IntFlag:
			v := c.Int(name)
			vals, shown = []float64{float64(v)}, []string{strconv.Itoa(v)}
		case *cli.IntSliceFlag:
			for _, v := range c.IntSlice(name) {
				vals, shown = append(vals, float64(v)), append(shown, strconv.Itoa(v))
			}
		case *cli.DurationFlag:
			v := c.Duration(name)
			vals, shown = []float64{float64(v)}, []string{v.String()}
		case *cli.Uint64Flag:
			v := c.Uint64(name)
			vals, shown = []float64{float64(v)}, []string{strconv.FormatUint(v, 10)}
		case *sizeFlag:
			b, err := bytesize.Parse(c.String(name))
			if err != nil {
				return fmt.Errorf("--%s %s: %v", name, c.String(name), err)
			}
			vals, shown = []float64{float64(b)}, []string{c.String(name)}
		default:
			if !r.any {
				return fmt.Errorf("--%s: flags of type %T are not validated (a bug in gaze)", name, f)
			}
		}
		_, isFloat := f.(*cli.Float64Flag)
		_, isFloats := f.(*cli.Float64SliceFlag)
		for i, v := range vals {
			if err := r.check(v, !isFloat && !isFloats); err != "" {
				return fmt.Errorf("--%s %s: %s", name, shown[i], err)
			}
		}
	}
	return nil
}

func showFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// check returns what is wrong with v (of an integer flag when integer), or "".
func (r rule) check(v float64, integer bool) string {
	if r.any {
		return ""
	}
	ok := !math.IsNaN(v) && !math.IsInf(v, 0) &&
		(v > r.lo || (!r.loOpen && v == r.lo)) &&
		(v < r.hi || (!r.hiOpen && v == r.hi))
	if ok && r.pow2 {
		ok = v >= 1 && uint64(v)&(uint64(v)-1) == 0
	}
	if ok {
		return ""
	}
	return "must be " + r.describe(integer)
}

func (r rule) describe(integer bool) string {
	lb, rb := "[", "]"
	if r.loOpen {
		lb = "("
	}
	if r.hiOpen {
		rb = ")"
	}
	show := func(x float64) string {
		switch {
		case r.dur:
			return time.Duration(x).String()
		case x == unbounded:
			return "∞"
		case x >= 1e6 && x == math.Trunc(x) && x < 1<<53:
			return strconv.FormatInt(int64(x), 10)
		}
		return showFloat(x)
	}
	what := "a finite number in "
	switch {
	case r.pow2:
		what = "a power of two in "
	case r.dur:
		what = "a duration in "
	case integer:
		what = "an integer in "
	}
	if r.hi == unbounded {
		rb = ")"
	}
	return what + lb + show(r.lo) + ", " + show(r.hi) + rb
}

// How the flag package words a value it cannot parse, and a flag it does not know.
var (
	flagParseError   = regexp.MustCompile(`^invalid value "(.*)" for flag -(\S+): (.*)$`)
	flagUnknownError = regexp.MustCompile(`^flag provided but not defined: -(\S+)$`)
)

// usageError rewrites a flag-parsing error to name the flag as it is spelt (--seed) and the
// value, the form of every other flag error.
func usageError(c *cli.Context, err error, _ bool) error {
	if m := flagParseError.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("--%s %s: not a valid value (%s)", m[2], m[1], m[3])
	}
	if m := flagUnknownError.FindStringSubmatch(err.Error()); m != nil && c != nil && c.Command != nil {
		return fmt.Errorf("--%s: %s has no such flag (see %s --help)", m[1], c.Command.HelpName, c.Command.HelpName)
	}
	return err
}

// withValidation puts validateFlags in front of the action of every command under cmds and
// makes every command report usage errors as errors (not as help text followed by exit 0).
func withValidation(path []string, cmds []*cli.Command) {
	for _, cmd := range cmds {
		p := append(append([]string(nil), path...), cmd.Name)
		cmd.OnUsageError = usageError
		if act := cmd.Action; act != nil {
			cmd.Action = func(c *cli.Context) error {
				if err := validateFlags(c, p); err != nil {
					return err
				}
				return act(c)
			}
		}
		withValidation(p, cmd.Subcommands)
	}
}
