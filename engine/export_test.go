package engine

// SetFusion turns Sequential.Build's layer fusions on or off, for tests that compare the fused
// passes with the separate ops, and returns the previous setting. Models built afterwards follow it.
func SetFusion(on bool) bool {
	old := fusion
	fusion = on
	return old
}
