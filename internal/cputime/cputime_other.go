//go:build !unix

// Package cputime reads the process's CPU time, which benchmarks and breakdowns report beside
// wall time: on a shared machine it depends much less on other load.
package cputime

import "time"

// Process is not measured off unix: it is always 0 there.
func Process() time.Duration { return 0 }
