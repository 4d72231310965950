package engine_test

import (
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
	_ "github.com/gazeml/gaze/engine/cpu"
)

func TestParseDevices(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, c := range []struct {
		spec string
		want []string
		th   int
	}{
		{"cpu", []string{"cpu"}, 0},
		{"cpu:1", []string{"cpu"}, 0},
		{"cpu:2", []string{"cpu#0", "cpu#1"}, 2},
		{"cpu:3", []string{"cpu#0", "cpu#1", "cpu#2"}, 1},
		{"cpu:8", []string{"cpu#0", "cpu#1", "cpu#2", "cpu#3", "cpu#4", "cpu#5", "cpu#6", "cpu#7"}, 1},
		{"cuda", []string{"cuda"}, 0},
		{"cuda:1", []string{"cuda:1"}, 0},
		{"cuda:0, cuda:1,cuda:3", []string{"cuda:0", "cuda:1", "cuda:3"}, 0},
	} {
		got, err := engine.ParseDevices(c.spec)
		if err != nil {
			t.Errorf("%q: %v", c.spec, err)
			continue
		}
		var names []string
		for _, in := range got {
			names = append(names, in.String())
			if in.Threads != c.th {
				t.Errorf("%q: %s has %d threads, want %d", c.spec, in, in.Threads, c.th)
			}
		}
		if !slices.Equal(names, c.want) {
			t.Errorf("%q: %v, want %v", c.spec, names, c.want)
		}
	}
	for _, c := range []struct{ spec, want string }{
		{"", "empty entry"},
		{"cpu:0", "N ≥ 1"},
		{"cpu:2,cpu:2", "stands alone"},
		{"cpu,cuda:0", "mixes cpu and cuda"},
		{"cuda:0,cuda:0", "every GPU once"},
		{"cuda:0,cuda", "every GPU once"},
		{"cuda:x", `"x" is not a number`},
	} {
		if _, err := engine.ParseDevices(c.spec); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error containing %q", c.spec, err, c.want)
		}
	}
}

// A CPU instance with a share of the cores says so; an ordinal the device kind does not know is
// an error from Open, not a silent default.
func TestOpenInstance(t *testing.T) {
	d, err := engine.OpenInstance(engine.Instance{Kind: "cpu", Ordinal: 1, Threads: 1})
	if err != nil || !strings.Contains(d.Describe(), "1 threads") {
		t.Fatalf("cpu instance with 1 thread: %v, %v", d, err)
	}
	if _, err := engine.Open("cuda:x"); err == nil || !strings.Contains(err.Error(), "not a device number") {
		t.Errorf(`Open("cuda:x"): %v`, err)
	}
	if _, err := engine.Open("tpu"); err == nil || !strings.Contains(err.Error(), "unknown device") {
		t.Errorf(`Open("tpu"): %v`, err)
	}
}
