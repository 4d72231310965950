package enginetest

import (
	"testing"

	"github.com/gazeml/gaze/engine"
)

// testCoords checks the CoordConv kernels.
func testCoords(t *testing.T, dev engine.Device) {
}
