package engine

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"

	"github.com/gazeml/gaze/internal/crashpoint"
	"github.com/gazeml/gaze/internal/rundir"
)

// Checkpoint file layout (little-endian):
//
//	"GAZECKPT" | uint32 version | uint32 header length | JSON header |
//	float32 θ[D] | float32 state[S] | float32 vars[V] (if the optimizer updates other variables
//	than θ, see Reparam) | float32 S1 | float32 S2 (optimizer state over θ or the variables,
//	if any) | extra state (Trainer.Extra, length in the header) | uint32 CRC-32 of all before
//
// The file is written to a temporary name, synced and renamed, so a crash leaves either the old
// checkpoint or the new one, never half of one. Before that, the run's streams (Trainer.Streams)
// are committed, and the header records each one's rows, length and checksum: a resumed run
// finds its files exactly as the checkpoint left them, or is told which one is not.
const (
	ckMagic   = "GAZECKPT"
	ckVersion = 1
)

type ckHeader struct {
	Model      string    `json:"model"`
	D          int       `json:"d"`
	S          int       `json:"s"`
	V          int       `json:"v,omitempty"` // variables the optimizer updates, when not θ
	ParamNames []string  `json:"params"`
	Iter       int       `json:"iter"`
	Seed       uint64    `json:"seed"`
	Batch      int       `json:"batch"`
	Opt        OptConfig `json:"opt"`
	OptT       int       `json:"opt_t"`
	HasS1      bool      `json:"has_s1"`
	HasS2      bool      `json:"has_s2"`
	EpochLoss  float64   `json:"epoch_loss"`
	EpochCount int       `json:"epoch_count"`
	EpochTime  float64   `json:"epoch_time"`
	ExtraLen   int       `json:"extra_len,omitempty"`
	// Streams is the state of the run's streams (null when the trainer has no registry, or the
	// checkpoint predates stream records).
	Streams []rundir.StreamState `json:"streams"`
	// LastEpoch is the last finished epoch's summary, so a run resumed after its last
	// checkpoint finishes with the numbers that epoch had.
	LastEpoch *EpochInfo `json:"last_epoch,omitempty"`
}

// SaveCheckpoint writes θ, the running statistics, the optimizer state and the iteration,
// after committing the run's streams, whose states it records. The shuffling order and dropout
// masks derive from (seed, iteration), so that is all the random state there is.
func (t *Trainer) SaveCheckpoint(path string) error {
	m := t.Model
	h := ckHeader{Model: m.Name, D: m.Arena.D, Iter: t.Iter, Seed: t.Cfg.Seed, Batch: t.Cfg.Batch,
		Opt: t.Opt.Cfg, OptT: t.Opt.T, HasS1: t.Opt.S1 != nil, HasS2: t.Opt.S2 != nil,
		EpochLoss: t.epochLoss, EpochCount: t.epochCount, EpochTime: t.epochTime, LastEpoch: t.lastEpoch}
	if m.Arena.Stats != nil {
		h.S = m.Arena.Stats.Len()
	}
	oa := t.Opt.arena
	if oa != m.Arena {
		h.V = oa.D
	}
	for _, p := range m.Arena.Params {
		h.ParamNames = append(h.ParamNames, p.Name)
	}
	var extra []byte
	if t.Extra != nil {
		var err error
		if extra, err = t.Extra.SaveState(); err != nil {
			return fmt.Errorf("checkpoint %s: %w", path, err)
		}
		h.ExtraLen = len(extra)
	}
	// Every row the checkpoint stands for is on disk before the checkpoint is.
	streams, err := t.Streams.Commit()
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	h.Streams = streams
	hj, err := json.Marshal(h)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString(ckMagic)
	binary.Write(&buf, binary.LittleEndian, uint32(ckVersion))
	binary.Write(&buf, binary.LittleEndian, uint32(len(hj)))
	buf.Write(hj)
	host := make([]float32, max(m.Arena.D, h.S, oa.D))
	put := func(b Buffer, n int) {
		m.Dev.Download(host[:n], b)
		writeFloats(&buf, host[:n])
	}
	put(m.Arena.Theta, m.Arena.D)
	if h.S > 0 {
		put(m.Arena.Stats, h.S)
	}
	if h.V > 0 {
		put(oa.Theta, h.V)
	}
	if h.HasS1 {
		put(t.Opt.S1, oa.D)
	}
	if h.HasS2 {
		put(t.Opt.S2, oa.D)
	}
	buf.Write(extra)
	if err := m.Dev.Sync(); err != nil {
		return fmt.Errorf("checkpoint %s: reading device state: %w", path, err)
	}
	binary.Write(&buf, binary.LittleEndian, crc32.ChecksumIEEE(buf.Bytes()))
	crashpoint.Hit("before-checkpoint") // streams committed, checkpoint not yet written
	if err := rundir.WriteFileAtomic(path, buf.Bytes()); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	crashpoint.Hit("checkpoint")
	t.lastCkIter, t.lastCkPath = t.Iter, path
	return nil
}

// LoadCheckpoint restores a checkpoint written by SaveCheckpoint for the same model, seed and
// batch size, so that Run continues exactly where the checkpointed run stood.
func (t *Trainer) LoadCheckpoint(path string) error {
	h, payload, err := readCheckpoint(path)
	if err != nil {
		return err
	}
	if err := t.checkCheckpoint(path, h); err != nil {
		return err
	}
	if want := t.payloadLen(h); payload.Len() != want {
		return badCheckpoint(path, "payload is %d bytes, want %d", payload.Len(), want)
	}
	if err := t.restoreDevice(path, h, payload); err != nil {
		return err
	}
	// The streams' records go first: the extra state (an LCA recorder) reopens its files.
	t.Streams.Restore(h.Streams)
	if t.Extra != nil {
		extra := make([]byte, h.ExtraLen)
		if _, err := io.ReadFull(payload, extra); err != nil {
			return badCheckpoint(path, "extra state: %v", err)
		}
		if err := t.Extra.LoadState(extra); err != nil {
			return fmt.Errorf("resuming from %s: %w", path, err)
		}
	}
	t.Iter, t.Opt.T = h.Iter, h.OptT
	t.epochLoss, t.epochCount, t.epochTime = h.EpochLoss, h.EpochCount, h.EpochTime
	t.lastCkIter, t.lastCkPath = h.Iter, path
	t.lastEpoch = h.LastEpoch
	return nil
}

func badCheckpoint(path, format string, a ...any) error {
	return fmt.Errorf("checkpoint %s: %s", path, fmt.Sprintf(format, a...))
}

// readCheckpoint reads a checkpoint file, checks its magic, checksum and version, and returns
// its header and a reader positioned at the payload (the CRC stripped).
func readCheckpoint(path string) (ckHeader, *bytes.Reader, error) {
	var h ckHeader
	data, err := os.ReadFile(path)
	if err != nil {
		return h, nil, fmt.Errorf("checkpoint: %w", err)
	}
	if len(data) < len(ckMagic)+12 || string(data[:len(ckMagic)]) != ckMagic {
		return h, nil, badCheckpoint(path, "not a gaze checkpoint (bad magic)")
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return h, nil, badCheckpoint(path, "checksum mismatch: the file is truncated or corrupt")
	}
	r := bytes.NewReader(body[len(ckMagic):])
	var ver, hl uint32
	if err := binary.Read(r, binary.LittleEndian, &ver); err != nil {
		return h, nil, badCheckpoint(path, "version: %v", err)
	}
	if err := binary.Read(r, binary.LittleEndian, &hl); err != nil {
		return h, nil, badCheckpoint(path, "header length: %v", err)
	}
	if ver != ckVersion {
		return h, nil, badCheckpoint(path, "version %d, this gaze reads version %d", ver, ckVersion)
	}
	if int64(hl) > int64(r.Len()) {
		return h, nil, badCheckpoint(path, "header length %d exceeds the file", hl)
	}
	hj := make([]byte, hl)
	if _, err := io.ReadFull(r, hj); err != nil {
		return h, nil, badCheckpoint(path, "header: %v", err)
	}
	if err := json.Unmarshal(hj, &h); err != nil {
		return h, nil, badCheckpoint(path, "header: %v", err)
	}
	// The sizes in the header decide how much is read: a negative one (a forged or damaged
	// header whose checksum was recomputed) would read short and leave values unset.
	if h.D < 0 || h.S < 0 || h.V < 0 || h.ExtraLen < 0 || h.Iter < 0 || h.OptT < 0 {
		return h, nil, badCheckpoint(path, "header has a negative size (d %d, s %d, v %d, extra %d, iteration %d, optimizer step %d)", h.D, h.S, h.V, h.ExtraLen, h.Iter, h.OptT)
	}
	return h, r, nil
}

// checkCheckpoint refuses a checkpoint written for another model, seed, batch size, optimizer
// or run length, or with or without extra state where this run differs.
func (t *Trainer) checkCheckpoint(path string, h ckHeader) error {
	m := t.Model
	s := 0
	if m.Arena.Stats != nil {
		s = m.Arena.Stats.Len()
	}
	v := 0
	if t.Opt.arena != m.Arena {
		v = t.Opt.arena.D
	}
	switch {
	case h.Model != m.Name || h.D != m.Arena.D || h.S != s:
		return badCheckpoint(path, "it is for model %s with %d parameters, not %s with %d", h.Model, h.D, m.Name, m.Arena.D)
	case h.Seed != t.Cfg.Seed || h.Batch != t.Cfg.Batch:
		return badCheckpoint(path, "it was written with seed %d and batch %d; resume with the same (got seed %d, batch %d)", h.Seed, h.Batch, t.Cfg.Seed, t.Cfg.Batch)
	case h.V != v:
		return badCheckpoint(path, "it holds %d optimised variables besides θ, this run has %d", h.V, v)
	case h.Opt.Kind != t.Opt.Cfg.Kind || h.HasS1 != (t.Opt.S1 != nil) || h.HasS2 != (t.Opt.S2 != nil):
		return badCheckpoint(path, "it holds %s optimizer state, this run uses %s", h.Opt.Kind, t.Opt.Cfg.Kind)
	case h.Iter > t.TotalSteps():
		return badCheckpoint(path, "it is at iteration %d, past the %d iterations of this run", h.Iter, t.TotalSteps())
	}
	for i, p := range m.Arena.Params {
		if i >= len(h.ParamNames) || h.ParamNames[i] != p.Name {
			return badCheckpoint(path, "parameter %d is %q in the model but not in the checkpoint", i, p.Name)
		}
	}
	if (h.ExtraLen > 0) != (t.Extra != nil) {
		return badCheckpoint(path, "extra state of %d bytes, and this run expects %v", h.ExtraLen, t.Extra != nil)
	}
	return nil
}

// payloadLen is the size in bytes of what follows the header in a checkpoint h, as checked by
// checkCheckpoint for this trainer.
func (t *Trainer) payloadLen(h ckHeader) int {
	n := 4*(h.D+h.S+h.V) + h.ExtraLen
	if h.HasS1 {
		n += 4 * t.Opt.arena.D
	}
	if h.HasS2 {
		n += 4 * t.Opt.arena.D
	}
	return n
}

// restoreDevice uploads the payload's device state in file order: θ, the running statistics,
// the optimised variables and the optimizer state.
func (t *Trainer) restoreDevice(path string, h ckHeader, r *bytes.Reader) error {
	m, oa := t.Model, t.Opt.arena
	// Every array is read whole before anything is uploaded: a short read is an error, never
	// a device buffer left partly at its old values.
	type upload struct {
		b    Buffer
		vals []float32
	}
	var ups []upload
	get := func(what string, b Buffer, n int) error {
		v := make([]float32, n)
		if err := readFloats(r, v); err != nil {
			return badCheckpoint(path, "%s: %v", what, err)
		}
		ups = append(ups, upload{b, v})
		return nil
	}
	errs := []error{get("θ", m.Arena.Theta, h.D)}
	if h.S > 0 {
		errs = append(errs, get("running statistics", m.Arena.Stats, h.S))
	}
	if h.V > 0 {
		errs = append(errs, get("optimised variables", oa.Theta, h.V))
	}
	if h.HasS1 {
		errs = append(errs, get("optimizer state", t.Opt.S1, oa.D))
	}
	if h.HasS2 {
		errs = append(errs, get("optimizer state", t.Opt.S2, oa.D))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, u := range ups {
		m.Dev.Upload(u.b, u.vals)
	}
	if err := m.Dev.Sync(); err != nil {
		return badCheckpoint(path, "%v", err)
	}
	return nil
}

func writeFloats(w *bytes.Buffer, v []float32) {
	var b [4]byte
	for _, x := range v {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
		w.Write(b[:])
	}
}

// readFloats reads len(v) little-endian float32 values; fewer is io.ErrUnexpectedEOF.
func readFloats(r *bytes.Reader, v []float32) error {
	b := make([]byte, 4*len(v))
	if _, err := io.ReadFull(r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("%d values: %w", len(v), err)
	}
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return nil
}
