package engine

import "fmt"

// The argument-checking layer. Every kernel's shapes, lengths and geometries are
// validated here, once, with one message set; devices hold only the computation.
//
// The mechanism is a wrapper rather than a check function each device calls: Open returns every
// device behind checked, which validates a call and then forwards it to the raw device, so that
// every device gets the same checks and no device can forget one (a test device that checks
// nothing is rejected on every bad input the conformance suite tries, once it is opened through
// Open; enginetest's BadInput group). The checks of op family X sit beside its declaration, in
// kernels_X.go. Each costs O(1) per call, as the devices' own checks did before; none reads
// buffer contents, which the caller may not be able to read without a synchronisation (labels,
// CSR pointers and gather indices are checked, where at all, by the device that reads them).
//
// A failing check is a bug in the caller, not a user error, so it panics with its message, as
// out-of-range slice indices do; the one check of this layer that returns an error is Alloc's
// (an impossible size can come from a configuration). What a device cannot do with valid
// arguments (the CUDA kernels' 32-bit sizes, its grid limits) stays with the device.

// The messages of the checks, one set for every device (modelled on gonum's
// blas/gonum/errors.go). Each is a format for the part after "engine: <op>: ".
const (
	msgLen      = "%s has %d elements, want %d"
	msgMinLen   = "%s has %d elements, want at least %d"
	msgSameLen  = "%s have lengths %v, want equal"
	msgMin      = "%s = %d, want ≥ %d"
	msgNegative = "negative size in %s = %v"
	msgPositive = "%s = %v, want all ≥ 1"
	msgGeom     = "%v"
	msgLd       = "ld%s = %d is less than the %d columns of %s"
	msgMatrix   = "%s (%d×%d, ld %d) needs %d elements, buffer has %d"
	msgPow2     = "block %d must be a power of two dividing the length %d"
	msgTransfer = "%d floats do not fit a buffer of %d"
	msgAlloc    = "Alloc(%d): negative size"
)

// Checked returns d behind the argument-checking layer (Open does this for every device it
// opens). A device that is already checked is returned as it is.
func Checked(d Device) Device {
	if c, ok := d.(checked); ok {
		return c
	}
	return checked{d}
}

// checked validates every call and forwards it to the raw device d. Its kernel methods are in the
// kernels_X.go files.
type checked struct{ d Device }

var _ Device = checked{}

// fail panics with a check's message: "engine: <op>: <message>".
func fail(op, format string, args ...any) {
	panic("engine: " + op + ": " + fmt.Sprintf(format, args...))
}

// blen is the length of a buffer; a nil buffer has none.
func blen(b Buffer) int {
	if b == nil {
		return 0
	}
	return b.Len()
}

// needLen checks that buffer name of op holds exactly n elements.
func needLen(op, name string, b Buffer, n int) {
	if got := blen(b); got != n {
		fail(op, msgLen, name, got, n)
	}
}

// optLen checks an optional buffer: nil (absent) or exactly n elements.
func optLen(op, name string, b Buffer, n int) {
	if b != nil {
		needLen(op, name, b, n)
	}
}

// sameLen checks that the buffers named in names (comma-separated) have equal lengths.
func sameLen(op, names string, bs ...Buffer) {
	n := blen(bs[0])
	for _, b := range bs[1:] {
		if blen(b) != n {
			sameLenFail(op, names, bs)
		}
	}
}

// sameLenFail is sameLen's failure, apart so that the lengths' slice is only made on failure.
func sameLenFail(op, names string, bs []Buffer) {
	lens := make([]int, len(bs))
	for i, b := range bs {
		lens[i] = blen(b)
	}
	fail(op, msgSameLen, names, lens)
}

// nonNegative checks the size arguments of op (named in names) for negative values, whose
// products could otherwise match a buffer's length.
func nonNegative(op, names string, v ...int) {
	for _, x := range v {
		if x < 0 {
			fail(op, msgNegative, names, append([]int(nil), v...))
		}
	}
}

// atLeast checks that argument name of op is at least lo.
func atLeast(op, name string, v, lo int) {
	if v < lo {
		fail(op, msgMin, name, v, lo)
	}
}

// ---- memory ----

func (c checked) Name() string     { return c.d.Name() }
func (c checked) Describe() string { return c.d.Describe() }
func (c checked) Sync() error      { return c.d.Sync() }
func (c checked) Free(b Buffer)    { c.d.Free(b) }

// Alloc returns an error for a negative size: sizes come from configurations and data.
func (c checked) Alloc(n int) (Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("engine: %s: "+msgAlloc, c.d.Name(), n)
	}
	return c.d.Alloc(n)
}

func (c checked) Upload(dst Buffer, src []float32) {
	if n := blen(dst); len(src) > n {
		fail("Upload", msgTransfer, len(src), n)
	}
	c.d.Upload(dst, src)
}

func (c checked) Download(dst []float32, src Buffer) {
	if n := blen(src); len(dst) > n {
		fail("Download", msgTransfer, len(dst), n)
	}
	c.d.Download(dst, src)
}
