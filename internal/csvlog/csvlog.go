// Package csvlog appends rows to CSV files that resumable runs write, keeping them free of
// duplicated iterations: reopening a log for a run resumed at iteration k drops the rows at or
// past k before appending.
package csvlog

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gazeml/gaze/internal/rundir"
)

// Log appends rows to one CSV file.
type Log struct {
	f *os.File
	w *csv.Writer
}

// Open creates path with the header, or, when keep is true, keeps the rows of an existing file
// whose integer column keyCol satisfies keep(value), rewrites the file atomically with them, and
// appends after them.
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
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &Log{f: f, w: csv.NewWriter(f)}, nil
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
}

// Flush writes buffered rows to the file.
func (l *Log) Flush() error {
	l.w.Flush()
	if err := l.w.Error(); err != nil {
		return fmt.Errorf("%s: %w", l.f.Name(), err)
	}
	return nil
}

// Sync flushes and makes the rows durable.
func (l *Log) Sync() error {
	if err := l.Flush(); err != nil {
		return err
	}
	return l.f.Sync()
}

// Close flushes and closes the file.
func (l *Log) Close() error {
	err := l.Flush()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}
