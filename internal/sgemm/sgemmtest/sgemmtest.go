// Package sgemmtest runs tests on every CPU kernel path, for the packages whose results depend
// on the path (the CPU device, the models trained on it, the benchmarks' bit-identity checks).
package sgemmtest

import (
	"testing"

	"github.com/gazeml/gaze/internal/sgemm"
)

// ForPaths runs f as a subtest on every kernel path this CPU supports (avx512, avx2, generic;
// see sgemm.Path), with that path selected and the previous one restored afterwards, so that the
// tests cover every path a user's machine may take and none of them rots.
func ForPaths(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, p := range sgemm.Supported() {
		t.Run(p.String(), func(t *testing.T) {
			prev, err := sgemm.SetPath(p)
			if err != nil {
				t.Fatal(err)
			}
			defer sgemm.SetPath(prev)
			f(t)
		})
	}
}

// BenchPaths is ForPaths for benchmarks: f runs as a sub-benchmark named after each path, with
// that path selected, so that one command compares the paths side by side.
func BenchPaths(b *testing.B, f func(b *testing.B)) {
	b.Helper()
	for _, p := range sgemm.Supported() {
		b.Run(p.String(), func(b *testing.B) {
			prev, err := sgemm.SetPath(p)
			if err != nil {
				b.Fatal(err)
			}
			defer sgemm.SetPath(prev)
			f(b)
		})
	}
}
