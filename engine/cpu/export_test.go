package cpu

// FWHTPlain is the stage-by-stage transform the tests hold FWHT's kernels to, bit for bit.
var FWHTPlain = fwhtPlain
