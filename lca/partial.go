package lca

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/gazeml/gaze/internal/npy"
	"github.com/gazeml/gaze/internal/rundir"
)

// PartialReportDir is where the report of a run that has not finished goes: never the run's
// own report folder, which the run writes when it finishes.
const PartialReportDir = "report-partial"

// A run that is still training (or was killed) holds, in every stream, the rows of its last
// checkpoint and possibly more: each NPY header claims only rows made durable by a checkpoint,
// a CSV may end in rows written since (the last one possibly cut short), and lca_total.npy and
// helped_count.npy are rewritten whole at each checkpoint, after the streams. A reader takes no
// lock and may race a checkpoint, so it settles on an iteration count k that every file agrees
// on: k is the number of rows behind helped_count.npy (Σ_i count_i equals Σ_{t<k} the
// iteration's helped parameters, which losses.csv records to 12 digits), and every stream must
// hold at least k rows. A read that finds no such k (a checkpoint was being written) is retried.

// partialTries and partialWait bound the retries of a read that raced a checkpoint.
const (
	partialTries = 5
	partialWait  = 200 * time.Millisecond
)

// Partial says whether the LCA run in dir has not finished: no finished.json, and its streams
// hold fewer than all of its iterations. (A run killed while writing its report has all of
// them and is reported as usual.)
func Partial(dir string) (bool, error) {
	meta, err := ReadMeta(dir)
	if err != nil {
		return false, err
	}
	if _, ok, err := rundir.ReadFinished(dir); err != nil || ok {
		return false, err
	}
	shape, _, _, err := npy.ReadHeader(filepath.Join(dir, LayersFile))
	if err != nil {
		return false, err
	}
	return meta.Computed && len(shape) > 0 && shape[0] < meta.Rows(), nil
}

// ReadPartialRun reads the committed prefix of a run that has not finished, without a lock and
// without writing anything: every file cut to the k iterations behind its per-parameter
// accumulators. It returns the run (with k rows) and k.
func ReadPartialRun(dir string) (*Run, int, error) {
	meta, err := ReadMeta(dir)
	if err != nil {
		return nil, 0, err
	}
	if !meta.Computed {
		return nil, 0, fmt.Errorf("%s holds a trajectory without LCA: run `gaze lca compute` on it and `gaze lca merge` the parts first", dir)
	}
	sets := []string{dir}
	if meta.HeldOut != nil {
		sets = append(sets, filepath.Join(dir, meta.HeldOut.Dir))
	}
	var last error
	for try := 0; try < partialTries; try++ {
		if try > 0 {
			time.Sleep(partialWait)
		}
		k, err := committedRows(sets, meta)
		if err != nil {
			last = err
			continue
		}
		if k == 0 {
			return nil, 0, fmt.Errorf("%s: no iteration is committed yet (rows appear at the first checkpoint: every --checkpoint-every iterations and at the end of each epoch)", dir)
		}
		r, err := readSet(dir, meta, k)
		if err != nil {
			last = err
			continue
		}
		if meta.HeldOut != nil {
			if r.HeldOut, err = readSet(sets[1], meta, k); err != nil {
				last = err
				continue
			}
		}
		// The accumulators may have been rewritten for a later checkpoint while the rows
		// were read: read again unless they still stand for k rows.
		if k2, err := committedRows(sets, meta); err != nil || k2 != k {
			last = fmt.Errorf("%s: a checkpoint was written while the run was read", dir)
			continue
		}
		return r, k, nil
	}
	return nil, 0, fmt.Errorf("reading the committed part of %s (%d tries): %w", dir, partialTries, last)
}

// committedRows is the k that every set's files agree on (see above), or an error.
func committedRows(sets []string, meta *Meta) (int, error) {
	k := -1
	for _, d := range sets {
		ks, err := setCommitted(d, meta)
		if err != nil {
			return 0, err
		}
		if k >= 0 && ks != k {
			return 0, fmt.Errorf("%s stands for %d iterations, %s for %d", d, ks, sets[0], k)
		}
		k = ks
	}
	return k, nil
}

func setCommitted(dir string, meta *Meta) (int, error) {
	cnt, err := npy.Read(filepath.Join(dir, HelpedFile), 0, -1)
	if err != nil {
		return 0, err
	}
	if cnt.Rows() != meta.D {
		return 0, fmt.Errorf("%s: %d values for %d parameters", filepath.Join(dir, HelpedFile), cnt.Rows(), meta.D)
	}
	var want float64
	for _, c := range cnt.Data {
		want += c
	}
	rows, err := readCSVPrefix(filepath.Join(dir, LossesFile), -1)
	if err != nil {
		return 0, err
	}
	k, sum := -1, 0.0
	if want == 0 {
		k = 0
	}
	for t, row := range rows {
		if len(row) != len(lossesHeader) {
			break
		}
		sum += math.Round(parseF(row[11]) * float64(meta.D))
		if sum == want {
			k = t + 1
		}
		if sum > want {
			break
		}
	}
	if k < 0 {
		return 0, fmt.Errorf("%s: its %d helped parameters match no prefix of %s", filepath.Join(dir, HelpedFile), int64(want), filepath.Join(dir, LossesFile))
	}
	streams := []string{LayersFile, HelpedLayers, NeuronsFile}
	if meta.Integrator.PerClass {
		streams = append(streams, ClassLayersFile, ClassHelpedFile)
		crows, err := readCSVPrefix(filepath.Join(dir, ClassLossesFile), -1)
		if err != nil {
			return 0, err
		}
		if len(crows) < k*meta.Classes {
			return 0, fmt.Errorf("%s: %d rows, fewer than %d iterations of %d classes", filepath.Join(dir, ClassLossesFile), len(crows), k, meta.Classes)
		}
	}
	for _, name := range streams {
		shape, _, _, err := npy.ReadHeader(filepath.Join(dir, name))
		if err != nil {
			return 0, err
		}
		if len(shape) == 0 || shape[0] < k {
			return 0, fmt.Errorf("%s: its header claims %v rows, fewer than the %d iterations behind %s", filepath.Join(dir, name), shape, k, HelpedFile)
		}
	}
	return k, nil
}

// readCSVPrefix returns the first n complete rows of a CSV file after its header (n < 0: every
// complete row); a last line without its newline (a row being written) is left out.
func readCSVPrefix(path string, n int) ([][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	} else {
		return nil, fmt.Errorf("%s: no complete header line", path)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	rows = rows[1:]
	if n >= 0 {
		if len(rows) < n {
			return nil, fmt.Errorf("%s: %d complete rows, want %d", path, len(rows), n)
		}
		rows = rows[:n]
	}
	return rows, nil
}
