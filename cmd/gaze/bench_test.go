package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// gaze bench --peak --json: the machine's peak, and each workload's arithmetic, rate and fraction
// of the peak.
func TestBenchPeak(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the FMA peak for 100 ms and streams 3×64 MiB")
	}
	stdout, stderr, err := gaze(t, "bench", "--peak", "--time", "1ms", "--models", "mnist-fc:16,lenet5:8", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var res struct {
		Peak struct {
			Threads  int     `json:"threads"`
			GFLOPS   float64 `json:"gflop_s"`
			TriadGBs float64 `json:"triad_gb_s"`
		} `json:"peak"`
		Results []struct {
			Model        string  `json:"model"`
			StepGFLOP    float64 `json:"step_gflop"`
			GFLOPS       float64 `json:"gflop_s"`
			PeakFraction float64 `json:"peak_fraction"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if res.Peak.Threads < 1 || res.Peak.GFLOPS <= 0 || res.Peak.TriadGBs <= 0 || len(res.Results) != 2 {
		t.Fatalf("implausible output %+v", res)
	}
	// mnist-fc at batch 16: forward, weight and input gradients of 784-100-50-10, but no input
	// gradient for the first layer: 2·16·(3·(5000+500) + 2·78400) flops.
	if got, want := res.Results[0].StepGFLOP, 2*16*(3*(5000+500)+2*78400)/1e9; got != want {
		t.Errorf("mnist-fc step: %v GFLOP, want %v", got, want)
	}
	for _, r := range res.Results {
		if r.GFLOPS <= 0 || r.PeakFraction <= 0 || r.PeakFraction != r.GFLOPS/res.Peak.GFLOPS {
			t.Errorf("%s: %v GFLOP/s, %v of the peak", r.Model, r.GFLOPS, r.PeakFraction)
		}
	}
}

// A GAZE_CPU value that names no kernel path stops the command at start-up with the choices
// (GAZE_CPU is read once per process, so the command runs in a child process).
func TestGazeCPUOverride(t *testing.T) {
	if os.Getenv("GAZE_TEST_CHILD") == "1" {
		out, _, err := gaze(t, "bench", "--models", "mnist-fc:4", "--time", "1ms")
		os.Stdout.WriteString(out)
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error())
		}
		return
	}
	for _, tc := range []struct{ env, want string }{
		{"sse2", "GAZE_CPU=sse2: unknown CPU path"},
		{"generic", "generic kernels"}, // the device description names the forced path
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestGazeCPUOverride$")
		cmd.Env = append(os.Environ(), "GAZE_TEST_CHILD=1", "GAZE_CPU="+tc.env)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("GAZE_CPU=%s: %v\n%s\nwant %q", tc.env, err, out, tc.want)
		}
	}
}
