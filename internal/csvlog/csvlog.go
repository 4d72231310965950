// Package csvlog appends rows to CSV files that resumable runs write, keeping them free of
// duplicated or lost iterations: a log is one of its run's streams (rundir.Stream), committed
// with every checkpoint and verified against the checkpoint's record when the run resumes.
package csvlog

import (
	"encoding/csv"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
	"strings"

	"github.com/gazeml/gaze/internal/rundir"
)

// Log appends rows to one CSV file.
type Log struct {
	f    *os.File
	w    *csv.Writer
	path string
	rows int    // data rows written (buffered ones included)
	out  *tally // what reached the file
}

// tally passes writes to the file and keeps their length and CRC-32.
type tally struct {
	f     *os.File
	bytes int64
	crc   uint32
}

func (t *tally) Write(p []byte) (int, error) {
	n, err := t.f.Write(p)
	t.bytes += int64(n)
	t.crc = crc32.Update(t.crc, crc32.IEEETable, p[:n])
	return n, err
}

// Open creates path with the header, or, when keep is not nil, keeps the rows of an existing
// file whose integer column keyCol satisfies keep(value), rewrites the file atomically with
// them, and appends after them. (Resumed runs whose checkpoint recorded the log use Resume.)
func Open(path string, header []string, keyCol int, keep func(int) bool) (*Log, error) {
	var kept [][]string
	if keep != nil {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		// A run killed mid-write may leave a torn last line: read leniently and drop rows that
		// are not whole (they are past the checkpoint anyway).
		rd := csv.NewReader(strings.NewReader(string(b)))
		rd.FieldsPerRecord = -1
		rows, err := rd.ReadAll()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(header, ",") {
			return nil, fmt.Errorf("%s: header %v, want %v", path, rows[:min(1, len(rows))], header)
		}
		for _, r := range rows[1:] {
			if len(r) != len(header) {
				continue
			}
			v, err := strconv.Atoi(r[keyCol])
			if err != nil {
				continue
			}
			if keep(v) {
				kept = append(kept, r)
			}
		}
	}
	var buf strings.Builder
	w := csv.NewWriter(&buf)
	w.Write(header)
	w.WriteAll(kept)
	if err := rundir.WriteFileAtomic(path, []byte(buf.String())); err != nil {
		return nil, err
	}
	b := []byte(buf.String())
	return appendTo(path, len(kept), int64(len(b)), crc32.ChecksumIEEE(b))
}

// Resume reopens a log at the state a checkpoint recorded: a longer file is cut back to it, a
// shorter or changed one is refused (rundir.RestoreFile).
func Resume(path string, st rundir.StreamState) (*Log, error) {
	if st.Start != 0 {
		return nil, fmt.Errorf("%s: the checkpoint's record of it starts at byte %d, a CSV log's at 0", path, st.Start)
	}
	if err := rundir.RestoreFile(path, st); err != nil {
		return nil, err
	}
	return appendTo(path, st.Rows, st.Bytes, st.CRC)
}

func appendTo(path string, rows int, bytes int64, crc uint32) (*Log, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	t := &tally{f: f, bytes: bytes, crc: crc}
	return &Log{f: f, w: csv.NewWriter(t), path: path, rows: rows, out: t}, nil
}

// OpenIn opens the log at path of a run whose streams reg registers: created with the header
// for a fresh run, reopened at the state the resumed checkpoint recorded, or, for a checkpoint
// that recorded none, cut back to the rows whose key column satisfies keep. The log is
// registered, so the run's checkpoints commit it.
func OpenIn(reg *rundir.Streams, path string, header []string, keyCol int, keep func(int) bool) (*Log, error) {
	how, st, err := reg.Lookup(path)
	if err != nil {
		return nil, err
	}
	var l *Log
	switch how {
	case rundir.Fresh:
		l, err = Open(path, header, keyCol, nil)
	case rundir.Recorded:
		l, err = Resume(path, st)
	default:
		l, err = Open(path, header, keyCol, keep)
	}
	if err != nil {
		return nil, err
	}
	reg.Add(l)
	return l, nil
}

// Row appends one row. Floats get 12 significant digits: readable, and far below any error an
// analysis of these logs reads (LCA sums are compared at 1e-3).
func (l *Log) Row(vals ...any) {
	rec := make([]string, len(vals))
	for i, v := range vals {
		switch v := v.(type) {
		case float64:
			rec[i] = strconv.FormatFloat(v, 'g', 12, 64)
		default:
			rec[i] = fmt.Sprint(v)
		}
	}
	l.w.Write(rec)
	l.rows++
}

// Rows is the number of data rows written (the header aside).
func (l *Log) Rows() int { return l.rows }

// Flush writes buffered rows to the file.
func (l *Log) Flush() error {
	l.w.Flush()
	if err := l.w.Error(); err != nil {
		return fmt.Errorf("%s: %w", l.path, err)
	}
	return nil
}

// Sync flushes and makes the rows durable.
func (l *Log) Sync() error {
	if err := l.Flush(); err != nil {
		return err
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", l.path, err)
	}
	return nil
}

// Commit makes the rows written so far durable and returns the log's state (rundir.Stream).
func (l *Log) Commit() (rundir.StreamState, error) {
	if err := l.Sync(); err != nil {
		return rundir.StreamState{}, err
	}
	return rundir.StreamState{File: l.path, Rows: l.rows, Bytes: l.out.bytes, CRC: l.out.crc}, nil
}

// Close flushes and closes the file.
func (l *Log) Close() error {
	err := l.Flush()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// CountRows returns the number of complete data rows of the CSV file at path (its header
// aside), 0 when it does not exist.
func CountRows(path string) (int, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := strings.Count(string(b), "\n")
	return max(n-1, 0), nil
}
