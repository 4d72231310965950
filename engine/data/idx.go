package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
)

// IDX (LeCun's format for MNIST) is a 4-byte magic number — two zero bytes, an element-type
// byte, a dimension-count byte — then one big-endian uint32 per dimension, then the elements in
// row-major order. Only unsigned bytes (type 0x08: magic 0x00000801 for labels, 0x00000803 for
// images) are supported: that is what MNIST and its look-alikes ship.
const idxUnsignedByte = 0x08

// chunkSize is the read granularity of payload decoding: large enough to amortise calls into
// gzip, small enough to stay in cache while it is converted.
const chunkSize = 64 << 10

// initialCap caps what is allocated up front when a payload's size cannot be confirmed from the
// file (see idxFile.exact); beyond it buffers grow as bytes actually arrive, so a corrupt
// header on a small file cannot trigger a huge allocation.
const initialCap = 16 << 20

// byteToUnit maps a pixel byte to [0, 1]: float32(b)/255, correctly rounded, so 0 → 0 and
// 255 → exactly 1.
var byteToUnit = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// ReadIDX reads an unsigned-byte IDX stream, plain or gzip-compressed (recognised by the gzip
// magic bytes, not by a name), and returns its dimensions and its payload of exactly
// prod(dims) bytes. It fails on a bad magic number, an element type other than unsigned byte,
// zero dimensions, a payload shorter than prod(dims) or followed by further bytes, and a gzip
// stream that fails its checksum. The errors cannot name a file; ReadIDXFile's do.
func ReadIDX(r io.Reader) (dims []int, data []byte, err error) {
	r, _, err = decompressing(r)
	if err != nil {
		return nil, nil, err
	}
	dims, _, n, err := readIDXHeader(r)
	if err != nil {
		return nil, nil, err
	}
	data, err = readIDXBytes(r, dims, n, min(n, initialCap))
	if err != nil {
		return nil, nil, err
	}
	return dims, data, nil
}

// ReadIDXFile is ReadIDX on the file at path; every error names the path.
func ReadIDXFile(path string) (dims []int, data []byte, err error) {
	x, err := openIDX(path)
	if err != nil {
		return nil, nil, err
	}
	defer x.Close()
	data, err = readIDXBytes(x.r, x.dims, x.n, x.capHint())
	if err != nil {
		return nil, nil, fmt.Errorf("data: %s: %w", path, err)
	}
	return x.dims, data, nil
}

// decompressing returns r itself (buffered) for a plain stream and a gzip reader over it for a
// gzip stream. Sniffing the content rather than trusting a ".gz" suffix matters in practice:
// browsers often store a downloaded .gz already decompressed under its original name.
func decompressing(r io.Reader) (io.Reader, bool, error) {
	br := bufio.NewReaderSize(r, chunkSize)
	head, _ := br.Peek(2) // a short stream is reported by the header read
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, true, fmt.Errorf("reading the gzip header: %w", err)
		}
		return zr, true, nil
	}
	return br, false, nil
}

// readIDXHeader reads the magic number and the dimensions, returning them with the header's
// length in bytes and the payload size prod(dims).
func readIDXHeader(r io.Reader) (dims []int, hdrLen, n int64, err error) {
	var magic [4]byte
	if got, err := io.ReadFull(r, magic[:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, 0, 0, fmt.Errorf("too short for an IDX header: %d of 4 magic bytes", got)
		}
		return nil, 0, 0, fmt.Errorf("reading the IDX magic number: %w", err)
	}
	m := binary.BigEndian.Uint32(magic[:])
	if magic[0] != 0 || magic[1] != 0 {
		return nil, 0, 0, fmt.Errorf("bad magic number 0x%08x: not an IDX file (want 0x00000801 for labels or 0x00000803 for images)", m)
	}
	if magic[2] != idxUnsignedByte {
		return nil, 0, 0, fmt.Errorf("IDX magic 0x%08x has element type 0x%02x; only unsigned byte (0x08) is supported", m, magic[2])
	}
	nd := int(magic[3])
	if nd == 0 {
		return nil, 0, 0, fmt.Errorf("IDX magic 0x%08x declares zero dimensions", m)
	}
	raw := make([]byte, 4*nd)
	if got, err := io.ReadFull(r, raw); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, 0, 0, fmt.Errorf("truncated IDX header: %d dimensions need %d bytes, got %d", nd, 4*nd, got)
		}
		return nil, 0, 0, fmt.Errorf("reading the IDX dimensions: %w", err)
	}
	dims = make([]int, nd)
	for i := range dims {
		dims[i] = int(binary.BigEndian.Uint32(raw[4*i:]))
	}
	size, ok := mulChecked(dims...)
	if !ok {
		return nil, 0, 0, fmt.Errorf("IDX dimensions %v exceed the %d-element limit", dims, int64(maxElements))
	}
	return dims, int64(4 + 4*nd), int64(size), nil
}

// readIDXPayload reads exactly n payload bytes from r, handing them to sink in chunks, and then
// checks that r ends there. Reading to the end also makes gzip verify its checksum.
func readIDXPayload(r io.Reader, dims []int, n int64, sink func([]byte)) error {
	buf := make([]byte, min(n, chunkSize))
	var got int64
	for got < n {
		m, err := io.ReadFull(r, buf[:min(int64(len(buf)), n-got)])
		sink(buf[:m])
		got += int64(m)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("truncated IDX payload: dimensions %v need %d bytes, got %d", dims, n, got)
		}
		if err != nil {
			return fmt.Errorf("reading the IDX payload after %d of %d bytes: %w", got, n, err)
		}
	}
	extra, err := io.Copy(io.Discard, r)
	if err != nil {
		return fmt.Errorf("reading past the %d-byte IDX payload: %w", n, err)
	}
	if extra > 0 {
		return fmt.Errorf("%d unexpected bytes after the %d-byte IDX payload of dimensions %v", extra, n, dims)
	}
	return nil
}

// readIDXBytes reads the payload into a new byte slice, allocating capHint bytes up front.
func readIDXBytes(r io.Reader, dims []int, n, capHint int64) ([]byte, error) {
	data := make([]byte, 0, capHint)
	err := readIDXPayload(r, dims, n, func(b []byte) { data = append(data, b...) })
	return data, err
}

// readIDXUnit reads the payload straight into a float32 slice scaled to [0, 1] (byte/255),
// never holding the bytes as a whole, allocating capHint values up front.
func readIDXUnit(r io.Reader, dims []int, n, capHint int64) ([]float32, error) {
	pix := make([]float32, 0, capHint)
	err := readIDXPayload(r, dims, n, func(b []byte) {
		pix = slices.Grow(pix, len(b))
		out := pix[len(pix) : len(pix)+len(b)]
		for i, v := range b {
			out[i] = byteToUnit[v]
		}
		pix = pix[:len(pix)+len(b)]
	})
	return pix, err
}

// idxFile is an open IDX file positioned at its payload.
type idxFile struct {
	path string
	f    *os.File
	r    io.Reader // the decompressed stream
	dims []int
	n    int64 // payload bytes
	// exact is whether the file's size (plain) or its gzip trailer's ISIZE field (the
	// uncompressed size mod 2^32) agrees with the header. Only then is the whole payload
	// allocated up front; otherwise buffers grow as bytes arrive, and reading reports the
	// precise truncation or excess.
	exact bool
}

// openIDX opens path, sniffs gzip and reads the IDX header. Errors name the path.
func openIDX(path string) (*idxFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err) // *PathError already names the file
	}
	x := &idxFile{path: path, f: f}
	fail := func(err error) (*idxFile, error) {
		f.Close()
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	var gz bool
	if x.r, gz, err = decompressing(f); err != nil {
		return fail(err)
	}
	var hdr int64
	if x.dims, hdr, x.n, err = readIDXHeader(x.r); err != nil {
		return fail(err)
	}
	if !gz {
		x.exact = st.Size() == hdr+x.n
	} else if size := st.Size(); size >= 18 { // smallest gzip member: 10-byte header, 8-byte trailer
		var isize [4]byte
		if _, err := f.ReadAt(isize[:], size-4); err == nil {
			x.exact = binary.LittleEndian.Uint32(isize[:]) == uint32(hdr+x.n)
		}
	}
	return x, nil
}

func (x *idxFile) Close() error { return x.f.Close() }

// capHint is how much of the payload to allocate before reading it.
func (x *idxFile) capHint() int64 {
	if x.exact {
		return x.n
	}
	return min(x.n, initialCap)
}
