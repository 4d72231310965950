package cpu

import "github.com/gazeml/gaze/internal/sgemm/sgemmtest"

// forPaths runs a subtest on every kernel path this CPU supports (sgemmtest.ForPaths).
var forPaths = sgemmtest.ForPaths

// ForPaths is forPaths for the external test package (the conformance suite).
var ForPaths = forPaths
