// Package npy reads and writes numpy's .npy files (format 1.0): whole arrays, and row streams
// that stay readable while they grow, for run directories that numpy reads during a run.
package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gazeml/gaze/internal/rundir"
)

// NPY files (numpy's format 1.0): magic, version, a little-endian uint16 header length, an
// ASCII dict {'descr': '<f4', 'fortran_order': False, 'shape': (R, C), } padded with spaces to
// a multiple of 64 bytes and ended by '\n', then the row-major data.
//
// A Stream appends rows and keeps the header's row count equal to the rows completely on disk:
// rows are written first, then (at Sync) the fixed-width header is rewritten in place, so a
// crash leaves a file that numpy reads as the prefix of complete rows it claims. It keeps a
// running CRC-32 of its data, which a run's checkpoints record (Commit) and a resumed run
// verifies (ResumeStream): a stream is cut back to a checkpoint, never extended.

const headerLen = 128 // magic(6) + version(2) + len(2) + dict: room for any shape we write

// Dtype is an element type of the files this package writes.
type Dtype string

const (
	Float32 Dtype = "<f4"
	Float64 Dtype = "<f8"
	Int32   Dtype = "<i4"
	Int64   Dtype = "<i8"
	Uint8   Dtype = "|u1"
)

func (d Dtype) size() int {
	switch d {
	case Float64, Int64:
		return 8
	case Uint8:
		return 1
	}
	return 4
}

func header(dt Dtype, shape []int) []byte {
	dims := make([]string, len(shape))
	for i, s := range shape {
		dims[i] = strconv.Itoa(s)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", dt, tuple)
	h := make([]byte, headerLen)
	copy(h, "\x93NUMPY\x01\x00")
	binary.LittleEndian.PutUint16(h[8:], uint16(headerLen-10))
	copy(h[10:], dict)
	for i := 10 + len(dict); i < headerLen-1; i++ {
		h[i] = ' '
	}
	h[headerLen-1] = '\n'
	return h
}

// Stream is an NPY file of rows, appended one row at a time. A row is Cols values; it has the
// shape Inner (a file of shape (Rows, Inner...)): one dimension for a matrix, more for a stack
// of matrices such as T × classes × layers.
type Stream struct {
	f      *os.File
	path   string
	dt     Dtype
	Cols   int
	Inner  []int
	Rows   int // rows written (not necessarily synced)
	synced int
	buf    []byte
	size   int64  // bytes written: header and rows
	crc    uint32 // CRC-32 of the rows written
}

// CreateStream creates (truncating) an NPY file with zero rows of cols values.
func CreateStream(path string, dt Dtype, cols int) (*Stream, error) {
	return CreateStreamShape(path, dt, []int{cols})
}

// CreateStreamShape creates (truncating) an NPY file with zero rows of shape inner.
func CreateStreamShape(path string, dt Dtype, inner []int) (*Stream, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	s := &Stream{f: f, path: path, dt: dt, Cols: prod(inner), Inner: slices.Clone(inner), size: headerLen}
	if _, err := f.Write(s.header(0)); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func (s *Stream) header(rows int) []byte { return header(s.dt, append([]int{rows}, s.Inner...)) }

func prod(v []int) int {
	n := 1
	for _, x := range v {
		n *= x
	}
	return n
}

func (s *Stream) rowBytes() int64 { return int64(s.Cols * s.dt.size()) }

// checkStream checks that path is a stream of rows of shape inner of dt values and returns the
// rows its header claims.
func checkStream(path string, dt Dtype, inner []int) (int, error) {
	shape, gotDt, off, err := ReadHeader(path)
	if err != nil {
		return 0, err
	}
	if gotDt != dt || len(shape) != len(inner)+1 || !slices.Equal(shape[1:], inner) || off != headerLen {
		return 0, fmt.Errorf("%s: holds %s %v, want %s rows of shape %v", path, gotDt, shape, dt, inner)
	}
	return shape[0], nil
}

// OpenStream reopens a stream written by CreateStream to append after its first keep rows
// (the rows of a resumed run's checkpoint); rows past keep are cut off. It fails when the file
// holds fewer than keep complete rows, in its header or on disk, or is not such a stream: it
// never fills missing rows in. (For checkpoints that recorded no stream states; ResumeStream
// also verifies the rows kept.)
func OpenStream(path string, dt Dtype, cols, keep int) (*Stream, error) {
	return OpenStreamShape(path, dt, []int{cols}, keep)
}

// OpenStreamShape is OpenStream for a stream of rows of shape inner (CreateStreamShape).
func OpenStreamShape(path string, dt Dtype, inner []int, keep int) (*Stream, error) {
	rows, err := checkStream(path, dt, inner)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	s := &Stream{path: path, dt: dt, Cols: prod(inner), Inner: slices.Clone(inner), Rows: keep}
	s.size = int64(headerLen) + int64(keep)*s.rowBytes()
	onDisk := (st.Size() - headerLen) / max(s.rowBytes(), 1)
	if rows < keep || st.Size() < s.size {
		return nil, fmt.Errorf("%s: holds %d complete rows (its header claims %d), the checkpoint needs %d: the file was truncated; refusing to resume", path, max(onDisk, 0), rows, keep)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, io.NewSectionReader(f, headerLen, s.size-headerLen)); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.f, s.crc = f, h.Sum32()
	if err := s.reopenAt(); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// ResumeStream reopens a stream of rows of cols values at the state a checkpoint recorded (see
// rundir.RestoreFile): a longer file is cut back, a shorter or changed one refused.
func ResumeStream(path string, dt Dtype, cols int, st rundir.StreamState) (*Stream, error) {
	return ResumeStreamShape(path, dt, []int{cols}, st)
}

// ResumeStreamShape is ResumeStream for a stream of rows of shape inner.
func ResumeStreamShape(path string, dt Dtype, inner []int, st rundir.StreamState) (*Stream, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, rundir.RestoreFile(path, st) // says what is missing
	}
	if _, err := checkStream(path, dt, inner); err != nil {
		return nil, err
	}
	s := &Stream{path: path, dt: dt, Cols: prod(inner), Inner: slices.Clone(inner), Rows: st.Rows, size: st.Bytes, crc: st.CRC}
	if st.Start != headerLen || st.Bytes != headerLen+int64(st.Rows)*s.rowBytes() {
		return nil, fmt.Errorf("%s: the checkpoint's record (%d rows in %d bytes from %d) does not fit rows of shape %v of %s", path, st.Rows, st.Bytes, st.Start, inner, dt)
	}
	if err := rundir.RestoreFile(path, st); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	s.f = f
	if err := s.reopenAt(); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// reopenAt cuts the file to the stream's size, positions it there and writes the header.
func (s *Stream) reopenAt() error {
	if err := s.f.Truncate(s.size); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	if _, err := s.f.Seek(s.size, io.SeekStart); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	return s.Sync()
}

// OpenIn opens the stream at path of a run whose streams reg registers: created for a fresh
// run, or reopened at the state the resumed checkpoint recorded (which must be rows rows), or,
// for a checkpoint that recorded none, cut back to rows rows. The stream is registered, so the
// run's checkpoints commit it.
func OpenIn(reg *rundir.Streams, path string, dt Dtype, cols, rows int) (*Stream, error) {
	return OpenInShape(reg, path, dt, []int{cols}, rows)
}

// OpenInShape is OpenIn for a stream of rows of shape inner.
func OpenInShape(reg *rundir.Streams, path string, dt Dtype, inner []int, rows int) (*Stream, error) {
	how, st, err := reg.Lookup(path)
	if err != nil {
		return nil, err
	}
	var s *Stream
	switch how {
	case rundir.Fresh:
		s, err = CreateStreamShape(path, dt, inner)
	case rundir.Recorded:
		if st.Rows != rows {
			return nil, fmt.Errorf("%s: the checkpoint recorded %d rows of it, its run needs %d", path, st.Rows, rows)
		}
		s, err = ResumeStreamShape(path, dt, inner, st)
	default:
		s, err = OpenStreamShape(path, dt, inner, rows)
	}
	if err != nil {
		return nil, err
	}
	reg.Add(s)
	return s, nil
}

// Commit makes the rows written so far durable and readable and returns the stream's state
// (rundir.Stream).
func (s *Stream) Commit() (rundir.StreamState, error) {
	if err := s.Sync(); err != nil {
		return rundir.StreamState{}, err
	}
	return rundir.StreamState{File: s.path, Rows: s.Rows, Bytes: s.size, Start: headerLen, CRC: s.crc}, nil
}

// AppendF32 appends one row of float32 values.
func (s *Stream) AppendF32(row []float32) error {
	if s.dt != Float32 || len(row) != s.Cols {
		return fmt.Errorf("%s: row of %d float32, want %d %s", s.path, len(row), s.Cols, s.dt)
	}
	s.buf = s.buf[:0]
	for _, v := range row {
		s.buf = binary.LittleEndian.AppendUint32(s.buf, math.Float32bits(v))
	}
	return s.write()
}

// AppendF64 appends one row of float64 values.
func (s *Stream) AppendF64(row []float64) error {
	if s.dt != Float64 || len(row) != s.Cols {
		return fmt.Errorf("%s: row of %d float64, want %d %s", s.path, len(row), s.Cols, s.dt)
	}
	s.buf = s.buf[:0]
	for _, v := range row {
		s.buf = binary.LittleEndian.AppendUint64(s.buf, math.Float64bits(v))
	}
	return s.write()
}

func (s *Stream) write() error {
	if _, err := s.f.Write(s.buf); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	s.size += int64(len(s.buf))
	s.crc = crc32.Update(s.crc, crc32.IEEETable, s.buf)
	s.Rows++
	return nil
}

// Sync makes the rows written so far durable, then records their count in the header.
func (s *Stream) Sync() error {
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	if _, err := s.f.WriteAt(s.header(s.Rows), 0); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	s.synced = s.Rows
	return s.f.Sync()
}

// Close syncs and closes the file.
func (s *Stream) Close() error {
	err := s.Sync()
	return errors.Join(err, s.f.Close())
}

var shapeRe = regexp.MustCompile(`'shape':\s*\(([0-9, ]*)\)`)
var descrRe = regexp.MustCompile(`'descr':\s*'([<>|][a-z][0-9]+)'`)

// ReadHeader returns an NPY file's shape, dtype and data offset.
func ReadHeader(path string) (shape []int, dt Dtype, offset int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", 0, err
	}
	defer f.Close()
	pre := make([]byte, 10)
	if _, err := io.ReadFull(f, pre); err != nil || string(pre[:6]) != "\x93NUMPY" {
		return nil, "", 0, fmt.Errorf("%s: not an NPY file", path)
	}
	if pre[6] != 1 {
		return nil, "", 0, fmt.Errorf("%s: NPY version %d, want 1", path, pre[6])
	}
	hl := int(binary.LittleEndian.Uint16(pre[8:]))
	dict := make([]byte, hl)
	if _, err := io.ReadFull(f, dict); err != nil {
		return nil, "", 0, fmt.Errorf("%s: truncated NPY header", path)
	}
	if strings.Contains(string(dict), "'fortran_order': True") {
		return nil, "", 0, fmt.Errorf("%s: Fortran-ordered arrays are not supported", path)
	}
	m := shapeRe.FindSubmatch(dict)
	d := descrRe.FindSubmatch(dict)
	if m == nil || d == nil {
		return nil, "", 0, fmt.Errorf("%s: NPY header without shape or descr: %q", path, dict)
	}
	for _, p := range strings.Split(string(m[1]), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		v, err := strconv.Atoi(p)
		if err != nil {
			return nil, "", 0, fmt.Errorf("%s: bad shape %q", path, m[1])
		}
		shape = append(shape, v)
	}
	return shape, Dtype(d[1]), 10 + hl, nil
}

// Write writes a whole array atomically (through a temporary file); the element type gives the
// dtype.
func Write[T float32 | float64 | int32 | int64 | uint8](path string, shape []int, data []T) error {
	n := 1
	for _, s := range shape {
		n *= s
	}
	if len(data) != n {
		return fmt.Errorf("%s: %d values for shape %v", path, len(data), shape)
	}
	var dt Dtype
	switch any(data).(type) {
	case []float32:
		dt = Float32
	case []float64:
		dt = Float64
	case []int32:
		dt = Int32
	case []int64:
		dt = Int64
	case []uint8:
		dt = Uint8
	}
	var b bytes.Buffer
	b.Write(header(dt, shape))
	binary.Write(&b, binary.LittleEndian, data)
	return rundir.WriteFileAtomic(path, b.Bytes())
}

// Matrix is a whole NPY array read into memory as float64 (from <f4, <f8, <i4 or <i8; int64
// values are exact up to 2^53).
type Matrix struct {
	Shape []int
	Data  []float64
}

// Rows and Cols of an array as rows of values: a 1-D array is one column, and the values of a
// row of an n-D array are its trailing dimensions flattened.
func (m *Matrix) Rows() int { return m.Shape[0] }
func (m *Matrix) Cols() int { return prod(m.Shape[1:]) }

// Row returns row r.
func (m *Matrix) Row(r int) []float64 { c := m.Cols(); return m.Data[r*c : (r+1)*c] }

// Read reads rows [from, to) of an NPY array (to < 0: all rows); it checks that the file holds
// every row its header claims.
func Read(path string, from, to int) (*Matrix, error) {
	shape, dt, off, err := ReadHeader(path)
	if err != nil {
		return nil, err
	}
	if len(shape) == 0 {
		return nil, fmt.Errorf("%s: a scalar, want at least one dimension", path)
	}
	if dt != Float32 && dt != Float64 && dt != Int32 && dt != Int64 {
		return nil, fmt.Errorf("%s: element type %s is not supported", path, dt)
	}
	cols := prod(shape[1:])
	if to < 0 {
		to = shape[0]
	}
	if from < 0 || from > to || to > shape[0] {
		return nil, fmt.Errorf("%s: rows %d:%d are outside the %d rows it holds", path, from, to, shape[0])
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	es := dt.size()
	if need := int64(off) + int64(shape[0])*int64(cols*es); st.Size() < need {
		return nil, fmt.Errorf("%s: truncated: the header claims %d rows (%d bytes) but the file has %d bytes", path, shape[0], need, st.Size())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw := make([]byte, (to-from)*cols*es)
	if _, err := f.ReadAt(raw, int64(off)+int64(from*cols*es)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m := &Matrix{Shape: append([]int{to - from}, shape[1:]...), Data: make([]float64, (to-from)*cols)}
	for i := range m.Data {
		switch dt {
		case Float32:
			m.Data[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
		case Float64:
			m.Data[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
		case Int32:
			m.Data[i] = float64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
		case Int64:
			m.Data[i] = float64(int64(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	}
	return m, nil
}

// ReadInt64 reads a 1-D int64 array exactly (index files).
func ReadInt64(path string) ([]int64, error) {
	shape, dt, off, err := ReadHeader(path)
	if err != nil {
		return nil, err
	}
	if dt != Int64 || len(shape) != 1 {
		return nil, fmt.Errorf("%s: holds %s %v, want a 1-D %s array", path, dt, shape, Int64)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < off+8*shape[0] {
		return nil, fmt.Errorf("%s: truncated: the header claims %d values", path, shape[0])
	}
	out := make([]int64, shape[0])
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(b[off+8*i:]))
	}
	return out, nil
}

// ReadRowF32 reads row r of a 2-D float32 NPY file into dst (len = cols), for streaming through
// a T×D file without holding it.
func ReadRowF32(f *os.File, off, cols, r int, dst []float32, raw []byte) error {
	raw = raw[:4*cols]
	if _, err := f.ReadAt(raw, int64(off)+int64(r)*int64(4*cols)); err != nil {
		return err
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return nil
}

// AppendFile appends the rows of another stream's file (same dtype and columns, exactly rows of
// them), for joining ranges computed apart.
func (s *Stream) AppendFile(path string, rows int) error {
	shape, dt, off, err := ReadHeader(path)
	if err != nil {
		return err
	}
	if dt != s.dt || len(shape) != len(s.Inner)+1 || !slices.Equal(shape[1:], s.Inner) || shape[0] != rows {
		return fmt.Errorf("%s: %s %v, want %d rows of shape %v %s", path, dt, shape, rows, s.Inner, s.dt)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	n := rows * s.Cols * s.dt.size()
	if len(b) < off+n {
		return fmt.Errorf("%s: truncated", path)
	}
	if _, err := s.f.Write(b[off : off+n]); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	s.size += int64(n)
	s.crc = crc32.Update(s.crc, crc32.IEEETable, b[off:off+n])
	s.Rows += rows
	return nil
}
