package rundir

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// A run's streams are the files it appends to while it runs (metrics.csv, losses.csv, the NPY
// row files). A checkpoint is only worth something if the streams hold exactly the rows it
// stands for, so every checkpoint commits them first: each stream is flushed and fsynced, and
// its length and checksum go into the checkpoint. A resumed run then finds every stream either
// as recorded (possibly with rows written after the checkpoint, which are cut off) or damaged,
// and refuses the latter, naming the file: it never pads or rebuilds a file.

// StreamState is what a checkpoint records of one stream.
type StreamState struct {
	File  string `json:"file"`            // path relative to the run folder
	Rows  int    `json:"rows"`            // complete rows (CSV: without the header line)
	Bytes int64  `json:"bytes"`           // the file's size
	Start int64  `json:"start,omitempty"` // first byte the checksum covers (after a header rewritten in place)
	CRC   uint32 `json:"crc32"`           // CRC-32 (IEEE) of bytes [Start, Bytes)
}

// Stream is a file a run appends to.
type Stream interface {
	// Commit makes everything appended so far durable (flushed and fsynced) and returns the
	// stream's state, File being its path (the registry names it relative to the run).
	Commit() (StreamState, error)
}

// Streams is the registry of a run's streams: what commits them before each checkpoint, and
// what tells a stream being reopened for a resumed run the state its checkpoint recorded.
type Streams struct {
	mu       sync.Mutex
	dir      string // the run folder: a stream is named by its path relative to it
	list     []Stream
	resume   Resumption
	recorded map[string]StreamState
}

// Resumption says how the streams of a run are opened.
type Resumption int

const (
	// Fresh: a new run (or one restarted from its beginning): every stream starts empty.
	Fresh Resumption = iota
	// Recorded: resumed from a checkpoint that recorded its streams: each is verified against
	// its record and cut back to it.
	Recorded
	// Unrecorded: resumed from a checkpoint written before checkpoints recorded streams: each
	// is cut back by its own key (iteration) column, and refused when shorter than needed.
	Unrecorded
)

// NewStreams is an empty registry for a fresh run in dir ("": streams are named by their base
// names).
func NewStreams(dir ...string) *Streams {
	s := &Streams{}
	if len(dir) > 0 {
		s.dir = dir[0]
	}
	return s
}

// name is how the registry names the stream at path (StreamState.File).
func (s *Streams) name(path string) string {
	if s.dir != "" && filepath.IsAbs(path) == filepath.IsAbs(s.dir) {
		if rel, err := filepath.Rel(s.dir, path); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.Base(path)
}

// Add registers a stream; every later Commit includes it.
func (s *Streams) Add(st Stream) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.list = append(s.list, st)
	s.mu.Unlock()
}

// Commit commits every registered stream and returns their states, in registration order.
func (s *Streams) Commit() ([]StreamState, error) {
	if s == nil {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]StreamState, 0, len(s.list))
	for _, st := range s.list {
		state, err := st.Commit()
		if err != nil {
			return nil, err
		}
		state.File = s.name(state.File)
		out = append(out, state)
	}
	return out, nil
}

// Restore sets what a checkpoint being resumed recorded: states (nil for a checkpoint that
// recorded none, an empty slice for one whose run had no streams yet).
func (s *Streams) Restore(states []StreamState) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = nil
	if states == nil {
		s.resume, s.recorded = Unrecorded, nil
		return
	}
	s.resume = Recorded
	s.recorded = make(map[string]StreamState, len(states))
	for _, st := range states {
		s.recorded[st.File] = st
	}
}

// Reset makes the registry that of a fresh run (a run restarted from its beginning).
func (s *Streams) Reset() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.list, s.resume, s.recorded = nil, Fresh, nil
	s.mu.Unlock()
}

// Lookup says how to open the stream at path: Fresh or Unrecorded, or Recorded with its state.
// A checkpoint that recorded streams but not this one is an error naming the file: the run
// cannot tell how much of it belongs to the checkpoint. A nil registry is a fresh run's.
func (s *Streams) Lookup(path string) (Resumption, StreamState, error) {
	if s == nil {
		return Fresh, StreamState{}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resume != Recorded {
		return s.resume, StreamState{}, nil
	}
	st, ok := s.recorded[s.name(path)]
	if !ok {
		return Recorded, st, fmt.Errorf("%s: the checkpoint records no state of this file, so the run cannot tell which of its rows belong to the checkpoint", path)
	}
	return Recorded, st, nil
}

// RestoreFile brings the file at path back to the state st recorded: it refuses a file shorter
// than recorded or whose first st.Bytes bytes (from st.Start) do not have the recorded
// checksum, and cuts a longer one back (the rows a killed run wrote after its checkpoint).
// Nothing is ever added to a file.
func RestoreFile(path string, st StreamState) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s is missing, but the checkpoint recorded %d rows (%d bytes) of it: refusing to resume without them", path, st.Rows, st.Bytes)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if info.Size() < st.Bytes {
		return fmt.Errorf("%s has %d bytes, but the checkpoint recorded %d bytes (%d rows): the file was truncated after the checkpoint; refusing to resume (the rows cannot be recovered: restore the file or start the run again)",
			path, info.Size(), st.Bytes, st.Rows)
	}
	if st.Start > st.Bytes {
		return fmt.Errorf("%s: the checkpoint's record of it is inconsistent (start %d > %d bytes)", path, st.Start, st.Bytes)
	}
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, io.NewSectionReader(f, st.Start, st.Bytes-st.Start)); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if got := h.Sum32(); got != st.CRC {
		return fmt.Errorf("%s: its first %d bytes (%d rows as of the checkpoint) have CRC-32 %08x, the checkpoint recorded %08x: the file was changed or replaced after the checkpoint; refusing to resume",
			path, st.Bytes, st.Rows, got, st.CRC)
	}
	if info.Size() > st.Bytes {
		if err := f.Truncate(st.Bytes); err != nil {
			return fmt.Errorf("%s: cutting back to the checkpoint: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}
