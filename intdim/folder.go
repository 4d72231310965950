package intdim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gazeml/gaze/internal/jobs"
	"github.com/gazeml/gaze/internal/rundir"
)

// sweepLayout is a sweep folder: sweep.json and points/. Running the same sweep command again
// continues it (there is no --resume), and only its dimensions and seeds may grow: the points
// are files named by d and seed, so finished ones are reused and never rerun.
var sweepLayout = rundir.Layout{Config: specFile, Noun: "sweep", Mutable: []string{"dims", "seeds"}}

// sameSweep reports how two specs of one sweep folder differ (Dims and Seeds aside).
func sameSweep(a, b Spec) ([]rundir.Difference, error) {
	return rundir.Diff(a, b, sweepLayout.Mutable)
}

// WriteCollected collects the sweep in dir (see Collect) and writes dir/results.csv, one row
// per finished point; it returns the numbers of finished and missing points.
func WriteCollected(dir string, from ...string) (done, missing int, err error) {
	_, results, miss, err := Collect(dir, from...)
	if err != nil {
		return 0, 0, err
	}
	var b bytes.Buffer
	WriteCSV(&b, results)
	return len(results), len(miss), rundir.WriteFileAtomic(filepath.Join(dir, "results.csv"), b.Bytes())
}

// WriteReport summarises the sweep in dir (boot bootstrap resamples for the intervals) and
// writes dir/results.csv, dir/summary.json and the plot as dir/report.svg and dir/report.png.
func WriteReport(dir string, boot int) (Spec, Summary, error) {
	spec, results, missing, err := Collect(dir)
	if err != nil {
		return spec, Summary{}, err
	}
	s := Summarize(spec, results, missing, boot)
	var csvb, svg, png bytes.Buffer
	WriteCSV(&csvb, results)
	if err := s.WriteSVG(&svg, spec); err != nil {
		return spec, s, err
	}
	if err := s.WritePNG(&png, spec); err != nil {
		return spec, s, err
	}
	sj, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return spec, s, err
	}
	for name, b := range map[string][]byte{"results.csv": csvb.Bytes(), "report.svg": svg.Bytes(), "report.png": png.Bytes(), "summary.json": append(sj, '\n')} {
		if err := rundir.WriteFileAtomic(filepath.Join(dir, name), b); err != nil {
			return spec, s, err
		}
	}
	return spec, s, nil
}

// Emit writes the sweep's spec to dir (creating or continuing the sweep, as Sweep does) and a
// job manifest running each point as one cluster job (jobs.Emit: dir/job.json or
// dir/job.sbatch); task K runs gaze intdim point --index K. It returns the manifest's path and o
// as completed.
func Emit(dir string, spec Spec, kind string, o jobs.Options, dataDir string) (string, jobs.Options, error) {
	if kind != "k8s" && kind != "slurm" {
		return "", o, fmt.Errorf("--emit %q: want k8s or slurm", kind)
	}
	if err := InitSweep(dir, spec); err != nil {
		return "", o, err
	}
	o.Comment = "One sweep point per array task; finished points are skipped, so resubmitting is safe."
	return jobs.Emit(kind, dir, dataDir, spec.NumPoints(), o, func(o jobs.Options) []string {
		args := []string{"intdim", "point", "--dir", o.Dir, "--device", o.Device}
		if o.DataDir != "" {
			args = append(args, "--data-dir", o.DataDir)
		}
		return append(args, "--index", jobs.Index)
	})
}

// DefaultMemLimit is the projection memory limit when none is given: half of the memory
// available now for the cpu device (its projections live in host memory), none on others.
func DefaultMemLimit(device string) int64 {
	if device != "cpu" {
		return 0
	}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[0] == "MemAvailable:" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb * 1024 / 2
		}
	}
	return 0
}

// IndexFromEnv reads the point index a cluster scheduler gives a job.
func IndexFromEnv() (int, error) {
	for _, v := range []string{"JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"} {
		if s := os.Getenv(v); s != "" {
			k, err := strconv.Atoi(s)
			if err != nil {
				return 0, fmt.Errorf("$%s = %q is not an index", v, s)
			}
			return k, nil
		}
	}
	return 0, fmt.Errorf("no --index, and neither $JOB_COMPLETION_INDEX nor $SLURM_ARRAY_TASK_ID is set")
}

// diffError lists differences of two specs, one per line (nil for none).
func diffError(diffs []rundir.Difference) error {
	if len(diffs) == 0 {
		return nil
	}
	lines := make([]string, len(diffs))
	for i, d := range diffs {
		lines[i] = "  " + d.String()
	}
	return fmt.Errorf("their specs differ in\n%s", strings.Join(lines, "\n"))
}
