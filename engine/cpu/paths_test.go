package cpu

import (
	"testing"

	"github.com/gazeml/gaze/internal/sgemm"
)

// forPaths runs f as a subtest on every kernel path this CPU supports (avx512, avx2, generic;
// see sgemm.Path), with that path selected, so that the tests cover every path a user's machine
// may take and none of them rots.
func forPaths(t *testing.T, f func(t *testing.T)) {
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

// ForPaths is forPaths for the external test package (the conformance suite).
var ForPaths = forPaths
