package engine_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gazeml/gaze/engine"
	"github.com/gazeml/gaze/internal/rundir"
)

// rewriteCheckpoint returns a copy of a checkpoint file with its header edited by edit, its
// payload by payload (either may be nil), and a valid checksum: files that pass the integrity
// checks and must be refused by the checks behind them.
func rewriteCheckpoint(t *testing.T, good []byte, edit func(map[string]any), payload func([]byte) []byte) []byte {
	t.Helper()
	hl := binary.LittleEndian.Uint32(good[12:16])
	var h map[string]any
	if err := json.Unmarshal(good[16:16+hl], &h); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(h)
	}
	hj, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	body := append([]byte{}, good[:12]...)
	body = binary.LittleEndian.AppendUint32(body, uint32(len(hj)))
	body = append(body, hj...)
	p := append([]byte{}, good[16+hl:len(good)-4]...)
	if payload != nil {
		p = payload(p)
	}
	body = append(body, p...)
	return binary.LittleEndian.AppendUint32(body, crc32.ChecksumIEEE(body))
}

// A checkpoint with a valid checksum is still refused, with the reason, when its version,
// header, run settings or payload size do not fit this run.
func TestCheckpointHeaderChecks(t *testing.T) {
	s := specs[0]
	ck := filepath.Join(t.TempDir(), "run.ckpt")
	tr, _ := newRun(t, s, ck)
	if err := tr.SaveCheckpoint(ck); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(ck)
	if err != nil {
		t.Fatal(err)
	}
	withCRC := func(b []byte) []byte {
		return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	}
	body := good[:len(good)-4]
	version := append([]byte{}, body...)
	binary.LittleEndian.PutUint32(version[8:12], 2)
	longHeader := append([]byte{}, body...)
	binary.LittleEndian.PutUint32(longHeader[12:16], uint32(len(body)))
	brokenJSON := append([]byte{}, body...)
	brokenJSON[16] = 'x'
	cases := []struct {
		name, want string
		file       []byte
	}{
		{"rewritten unchanged", "", rewriteCheckpoint(t, good, nil, nil)},
		{"version", "version 2", withCRC(version)},
		{"header length", "header length", withCRC(longHeader)},
		{"header JSON", "header:", withCRC(brokenJSON)},
		{"seed", "seed 8", rewriteCheckpoint(t, good, func(h map[string]any) { h["seed"] = 8 }, nil)},
		{"iteration", "past the 12 iterations", rewriteCheckpoint(t, good, func(h map[string]any) { h["iter"] = 13 }, nil)},
		{"parameter", `"fc1.weight"`, rewriteCheckpoint(t, good, func(h map[string]any) { h["params"].([]any)[0] = "other" }, nil)},
		{"extra", "extra state", rewriteCheckpoint(t, good, func(h map[string]any) { h["extra_len"] = 4 },
			func(p []byte) []byte { return append(p, 1, 2, 3, 4) })},
		{"payload", "payload is", rewriteCheckpoint(t, good, nil, func(p []byte) []byte { return p[:len(p)-4] })},
		// A negative size makes the payload-size check pass on a file 4 bytes short: the last
		// value of θ (or of the optimizer state) would be read from nothing.
		{"negative extra", "negative size", rewriteCheckpoint(t, good, func(h map[string]any) { h["extra_len"] = -4 },
			func(p []byte) []byte { return p[:len(p)-4] })},
	}
	bad := filepath.Join(t.TempDir(), "bad.ckpt")
	for _, c := range cases {
		if err := os.WriteFile(bad, c.file, 0o644); err != nil {
			t.Fatal(err)
		}
		fresh, _ := newRun(t, s, "")
		err := fresh.LoadCheckpoint(bad)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), bad)):
			t.Errorf("%s: error %v, want one naming %s and saying %q", c.name, err, bad, c.want)
		}
	}
}

// fakeStream is a stream that reports a fixed state and checks, when committed, that the
// checkpoint it belongs to is not written yet.
type fakeStream struct {
	t       *testing.T
	ck      string
	state   rundir.StreamState
	commits int
}

func (f *fakeStream) Commit() (rundir.StreamState, error) {
	f.commits++
	if b, err := os.ReadFile(f.ck); err == nil && strings.Contains(string(b), fmt.Sprintf(`"rows":%d`, f.state.Rows)) {
		f.t.Errorf("the stream is committed after the checkpoint that records it")
	}
	return f.state, nil
}

// Every checkpoint commits the trainer's streams before it is written and records their states
// and the last epoch; LoadCheckpoint hands the records back to the registry.
func TestCheckpointCommitsStreams(t *testing.T) {
	ck := filepath.Join(t.TempDir(), "run.ckpt")
	tr, _ := newRun(t, specs[0], ck)
	reg := rundir.NewStreams()
	fs := &fakeStream{t: t, ck: ck}
	reg.Add(fs)
	tr.Streams = reg
	tr.OnStep = func(s engine.StepInfo) {
		fs.state = rundir.StreamState{File: "m.csv", Rows: s.Iter + 1, Bytes: int64(10 * (s.Iter + 1)), CRC: uint32(s.Iter)}
	}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// 12 iterations: checkpoints at 3, 4 (epoch), 6, 8 (epoch), 9, 12 (epoch).
	if fs.commits != 6 {
		t.Errorf("%d commits, want one per checkpoint (6)", fs.commits)
	}
	last := tr.LastEpoch()
	fresh, _ := newRun(t, specs[0], "")
	reg2 := rundir.NewStreams()
	fresh.Streams = reg2
	if err := fresh.LoadCheckpoint(ck); err != nil {
		t.Fatal(err)
	}
	how, st, err := reg2.Lookup("/x/m.csv")
	if how != rundir.Recorded || err != nil || st.Rows != 12 || st.Bytes != 120 || st.CRC != 11 {
		t.Errorf("restored record: %v %+v %v", how, st, err)
	}
	if got := fresh.LastEpoch(); got == nil || last == nil || *got != *last || got.Epoch != 3 || got.Iter != 12 {
		t.Errorf("last epoch restored as %+v, want %+v", got, last)
	}
}
