package enginetest

import (
	"testing"

	"github.com/gazeml/gaze/engine"
)

// testProjection checks the intrinsic-dimension projection kernels.
func testProjection(t *testing.T, dev engine.Device) {
}
