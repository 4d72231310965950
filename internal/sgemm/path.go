package sgemm

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
)

// Path is one set of CPU kernels: the GEMM micro-kernel and the element-wise kernels that go
// with it. Every path computes the same results up to float32 rounding; on one path, results
// are bit-reproducible and do not depend on the number of threads.
type Path int32

const (
	// Generic is pure Go: any CPU, any architecture.
	Generic Path = iota
	// AVX2 is the AVX2+FMA assembly: a 6×16 GEMM micro-kernel on YMM registers.
	AVX2
	// AVX512 is the AVX-512 assembly (F, DQ, BW and VL, the x86-64-v4 set): an 8×48 GEMM
	// micro-kernel on ZMM registers and 64-byte element-wise kernels.
	AVX512
)

var pathNames = [...]string{Generic: "generic", AVX2: "avx2", AVX512: "avx512"}

// String is the name GAZE_CPU takes: generic, avx2 or avx512.
func (p Path) String() string {
	if p < 0 || int(p) >= len(pathNames) {
		return fmt.Sprintf("Path(%d)", int(p))
	}
	return pathNames[p]
}

// Describe is a one-line description of the path's GEMM, for `gaze devices`.
func (p Path) Describe() string {
	switch p {
	case AVX512:
		return "AVX-512 assembly (8×48 GEMM micro-kernel)"
	case AVX2:
		return "AVX2/FMA assembly (6×16 GEMM micro-kernel)"
	}
	return "pure Go (6×16 GEMM micro-kernel)"
}

// needs names the CPU features a path requires.
func (p Path) needs() string {
	switch p {
	case AVX512:
		return "AVX-512 (avx512f, avx512dq, avx512bw, avx512vl, with the OS saving ZMM state)"
	case AVX2:
		return "AVX2 and FMA (with the OS saving YMM state)"
	}
	return "nothing"
}

// Supported reports whether this CPU and OS can run the path.
func (p Path) Supported() bool {
	switch p {
	case Generic:
		return true
	case AVX2:
		return hasAVX2FMA
	case AVX512:
		return hasAVX2FMA && hasAVX512
	}
	return false
}

// Best is the fastest path this CPU supports.
func Best() Path {
	for p := AVX512; p > Generic; p-- {
		if p.Supported() {
			return p
		}
	}
	return Generic
}

// Supported lists the paths this CPU supports, fastest first.
func Supported() []Path {
	var ps []Path
	for p := AVX512; p >= Generic; p-- {
		if p.Supported() {
			ps = append(ps, p)
		}
	}
	return ps
}

// ParsePath reads a path name (generic, avx2, avx512; case-insensitive).
func ParsePath(s string) (Path, error) {
	for p, name := range pathNames {
		if strings.EqualFold(s, name) {
			return Path(p), nil
		}
	}
	return 0, fmt.Errorf("unknown CPU path %q (want one of %s)", s, strings.Join(pathNames[:], ", "))
}

// current is the path new calls use. A call reads it once, so a concurrent SetPath never mixes
// two paths inside one product.
var current atomic.Int32

// envErr records a GAZE_CPU value that could not be honoured (see EnvError).
var envErr error

func init() {
	p, err := pathFromEnv(os.Getenv("GAZE_CPU"))
	current.Store(int32(p))
	envErr = err
}

// pathFromEnv chooses the start-up path: the GAZE_CPU override when the CPU supports it, and
// otherwise (also for an empty value or "auto") the best one, with an error saying why the
// override was not taken.
func pathFromEnv(v string) (Path, error) {
	if v == "" || strings.EqualFold(v, "auto") {
		return Best(), nil
	}
	p, err := ParsePath(v)
	if err != nil {
		return Best(), fmt.Errorf("GAZE_CPU=%s: %v, or auto", v, err)
	}
	if !p.Supported() {
		names := make([]string, 0, 3)
		for _, q := range Supported() {
			names = append(names, q.String())
		}
		return Best(), fmt.Errorf("GAZE_CPU=%s: this CPU or OS lacks %s; it supports %s", v, p.needs(), strings.Join(names, ", "))
	}
	return p, nil
}

// EnvError reports a GAZE_CPU value that names no path or one this CPU cannot run; the kernels
// then use Best(). The cpu device refuses to open with it (engine.Open("cpu") returns it), so a
// mistyped or impossible override stops a command at start-up instead of silently measuring or
// training on another path.
func EnvError() error { return envErr }

// Current is the path calls use now.
func Current() Path { return Path(current.Load()) }

// SetPath makes p the path of later calls and returns the previous one. A path the CPU does not
// support is an error (and changes nothing). It exists so that tests and benchmarks can run
// every supported path in one process.
func SetPath(p Path) (previous Path, err error) {
	if !p.Supported() {
		return Current(), fmt.Errorf("sgemm: path %v is not supported here: it needs %s", p, p.needs())
	}
	return Path(current.Swap(int32(p))), nil
}
