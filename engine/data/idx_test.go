package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// idxBytes builds an IDX file: magic, big-endian dimensions, payload.
func idxBytes(magic uint32, dims []int, payload []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, magic)
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(payload)
	return b.Bytes()
}

func gzipBytes(t *testing.T, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeFile(t *testing.T, path string, content []byte) string {
	t.Helper()
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// wantErr checks that err is non-nil and mentions every fragment.
func wantErr(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one mentioning %q", fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not mention %q", err, f)
		}
	}
}

func TestReadIDXRoundTrip(t *testing.T) {
	dir := t.TempDir()
	dims := []int{3, 2, 4}
	payload := make([]byte, 24)
	for i := range payload {
		payload[i] = byte(i*11 + 1)
	}
	raw := idxBytes(0x00000803, dims, payload)
	for _, tc := range []struct {
		name    string
		content []byte
	}{
		{"images-idx3-ubyte", raw},
		{"images-idx3-ubyte.gz", gzipBytes(t, raw)},
		// A gzip file stored without the suffix is still recognised by its magic bytes.
		{"compressed-but-no-suffix", gzipBytes(t, raw)},
	} {
		p := writeFile(t, filepath.Join(dir, tc.name), tc.content)
		gotDims, got, err := ReadIDXFile(p)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(gotDims, dims) || !bytes.Equal(got, payload) {
			t.Errorf("%s: got dims %v payload %v, want %v %v", tc.name, gotDims, got, dims, payload)
		}
		gotDims, got, err = ReadIDX(bytes.NewReader(tc.content))
		if err != nil || !slices.Equal(gotDims, dims) || !bytes.Equal(got, payload) {
			t.Errorf("%s via ReadIDX: dims %v payload %v err %v", tc.name, gotDims, got, err)
		}
	}
	// Labels: one dimension, magic 0x801.
	labels := []byte{5, 0, 4, 1, 9}
	p := writeFile(t, filepath.Join(dir, "labels"), idxBytes(0x00000801, []int{5}, labels))
	gotDims, got, err := ReadIDXFile(p)
	if err != nil || !slices.Equal(gotDims, []int{5}) || !bytes.Equal(got, labels) {
		t.Errorf("labels: dims %v payload %v err %v", gotDims, got, err)
	}
}

func TestReadIDXErrors(t *testing.T) {
	dir := t.TempDir()
	payload := bytes.Repeat([]byte{7}, 12)
	good := idxBytes(0x00000803, []int{3, 2, 2}, payload)
	corruptGz := gzipBytes(t, good)
	corruptGz[len(corruptGz)-6] ^= 0xff // inside the CRC-32 of the trailer
	for _, tc := range []struct {
		name    string
		content []byte
		want    []string
	}{
		{"truncated", good[:len(good)-5], []string{"truncated", "need 12 bytes, got 7"}},
		{"truncated.gz", gzipBytes(t, good[:len(good)-5]), []string{"truncated", "need 12 bytes, got 7"}},
		{"trailing", append(append([]byte{}, good...), 1, 2, 3), []string{"3 unexpected bytes", "12-byte"}},
		{"trailing.gz", gzipBytes(t, append(append([]byte{}, good...), 1, 2, 3)), []string{"3 unexpected bytes"}},
		{"badmagic", idxBytes(0x12345678, []int{}, payload), []string{"bad magic number 0x12345678", "0x00000803"}},
		{"floattype", idxBytes(0x00000D03, []int{3, 2, 2}, payload), []string{"element type 0x0d", "unsigned byte"}},
		{"nodims", idxBytes(0x00000800, nil, nil), []string{"zero dimensions"}},
		{"shortheader", good[:6], []string{"truncated IDX header"}},
		{"empty", nil, []string{"too short"}},
		{"huge", idxBytes(0x00000803, []int{1 << 30, 1 << 30, 1 << 30}, nil), []string{"exceed"}},
		{"crc.gz", corruptGz, []string{"checksum"}},
	} {
		p := writeFile(t, filepath.Join(dir, tc.name), tc.content)
		_, _, err := ReadIDXFile(p)
		wantErr(t, err, append([]string{p}, tc.want...)...)
	}
	_, _, err := ReadIDXFile(filepath.Join(dir, "absent"))
	wantErr(t, err, filepath.Join(dir, "absent"))
}

// A header that claims far more data than the file holds must not be allocated up front: the
// read fails as truncated after reading what is there.
func TestReadIDXLargeClaimSmallFile(t *testing.T) {
	p := writeFile(t, filepath.Join(t.TempDir(), "liar"), idxBytes(0x00000803, []int{1 << 20, 1 << 10, 1 << 1}, []byte{1, 2, 3}))
	x, err := openIDX(p)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if x.exact || x.capHint() > initialCap {
		t.Fatalf("exact=%v capHint=%d for a file whose size disagrees with its header", x.exact, x.capHint())
	}
	_, err = readIDXBytes(x.r, x.dims, x.n, x.capHint())
	wantErr(t, err, "truncated", "got 3")
}
