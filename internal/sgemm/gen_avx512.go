//go:build ignore

// gen_avx512.go writes sgemm_avx512_amd64.s, the AVX-512 GEMM micro-kernels:
//
//	go generate ./internal/sgemm    (runs: go run gen_avx512.go)
//
// The kernels are unrolled text that would be tedious and error-prone to write by hand (an 8×48
// tile is 24 accumulators, three B vectors and eight broadcasts per k step, four steps per loop
// trip), so they are printed from one description here. TestGeneratedAsmUpToDate checks that the
// committed file is what this program prints.
//
// A kernel multiplies one packed A micro-panel (mr rows, kc steps of mr values: a[p·mr + i]) or
// mr rows of an unpacked row-major A (the Direct kernels: row i at a + i·lda) by v adjacent packed
// B micro-panels of 16 columns (panel q at b + q·bs, kc steps of 16 values each), and stores
// alpha·AB (+ beta·C when loadC ≠ 0) into the mr×16v tile of C at c (row stride ldc). Keeping
// sgemm's 16-column B panels means the B packing (and every BPacker) is shared with the AVX2
// kernel; the kernel just reads v panels side by side.
//
// Register use: accumulators Z0 … Z(mr·v−1) (row i, vector j in Z(v·i+j)), the B vectors in
// Z24 … Z26, broadcasts in Z27/Z28, alpha and beta in Z30/Z31 for the epilogue. Each accumulator
// lane sums its k steps in order with FMA, exactly as the AVX2 kernel does, so for alpha = 1 and
// beta ∈ {0, 1} both produce the same bits on the same blocking.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
)

const (
	mr     = 8 // rows of the A micro-panel
	maxV   = 3 // B panels per kernel: the widest tile is mr×48
	unroll = 4 // k steps per loop trip
)

var out bytes.Buffer

func p(format string, args ...any) { fmt.Fprintf(&out, format+"\n", args...) }

// direct row addressing: row i of an unpacked A is base + scale·SI (SI = lda in bytes), with the
// bases AX (row 0), R12 (row 3) and R13 (row 6).
type rowAddr struct {
	base  string
	scale int // 0: (base) only
}

func directRow(i int) rowAddr {
	bases := []struct {
		reg string
		row int
	}{{"AX", 0}, {"R12", 3}, {"R13", 6}}
	for _, b := range bases {
		for _, s := range []int{0, 1, 2, 4, 8} {
			if b.row+s == i {
				return rowAddr{b.reg, s}
			}
		}
	}
	panic(fmt.Sprintf("row %d not addressable", i))
}

func (r rowAddr) at(off int) string {
	if r.scale == 0 {
		return fmt.Sprintf("%d(%s)", off, r.base)
	}
	return fmt.Sprintf("%d(%s)(SI*%d)", off, r.base, r.scale)
}

func acc(v, i, j int) string { return fmt.Sprintf("Z%d", v*i+j) }

// mode is where a kernel's operands come from.
type mode int

const (
	packed  mode = iota // A: packed micro-panel; B: v packed 16-column micro-panels (stride bs)
	direct              // A: mr rows of a row-major matrix (stride lda); B: packed panels
	shifted             // A: packed micro-panel; B: row p of op(B) is b + off[p], read in place
)

func (m mode) suffix() string { return [...]string{"", "Direct", "Shift"}[m] }

// step emits k step s of an unrolled group for the first rows rows of the panel.
func step(rows, v int, md mode, s int) {
	if md == shifted {
		// Row s of this group starts off[s] elements after b.
		p("\tMOVQ %d(R11), R10", 8*s)
	}
	for j := 0; j < v; j++ {
		switch {
		case md == shifted:
			p("\tVMOVUPS %d(BX)(R10*4), Z%d", 64*j, 24+j)
		case j == 0:
			p("\tVMOVUPS %d(BX), Z%d", 64*s, 24+j)
		default:
			p("\tVMOVUPS %d(BX)(R9*%d), Z%d", 64*s, j, 24+j)
		}
	}
	for i := 0; i < rows; i++ {
		var src string
		if md == direct {
			src = directRow(i).at(4 * s)
		} else {
			src = fmt.Sprintf("%d(AX)", 4*(s*mr+i))
		}
		if v == 1 {
			// Each A value meets one B vector: broadcast it inside the FMA.
			p("\tVFMADD231PS.BCST %s, Z24, %s", src, acc(v, i, 0))
			continue
		}
		t := 27 + i%2
		p("\tVBROADCASTSS %s, Z%d", src, t)
		for j := 0; j < v; j++ {
			p("\tVFMADD231PS Z%d, Z%d, %s", 24+j, t, acc(v, i, j))
		}
	}
}

func advance(md mode, steps int) {
	switch md {
	case direct:
		for _, r := range []string{"AX", "R12", "R13"} {
			p("\tADDQ $%d, %s", 4*steps, r)
		}
	default:
		p("\tADDQ $%d, AX", 4*mr*steps)
	}
	switch md {
	case shifted:
		p("\tADDQ $%d, R11", 8*steps)
	default:
		p("\tADDQ $%d, BX", 64*steps)
	}
}

// kernel emits the kernel for v B vectors and the first rows rows of the A panel (mr, or fewer
// for the shifted products' last row block: the panel keeps its mr-value k steps, and each
// accumulator sums as in the mr-row kernel, so the rows it computes have the same bits).
func kernel(rows, v int, md mode) {
	name := fmt.Sprintf("kernelZ%dx%d%s", rows, 16*v, md.suffix())
	off := 0
	arg := func() int { o := off; off += 8; return o }
	switch md {
	case packed:
		p("// func %s(kc int, a, b *float32, bs int, c *float32, ldc int, alpha, beta float32, loadC int)", name)
		p("TEXT ·%s(SB), NOSPLIT, $0-64", name)
	case direct:
		p("// func %s(kc int, a *float32, lda int, b *float32, bs int, c *float32, ldc int, alpha, beta float32, loadC int)", name)
		p("TEXT ·%s(SB), NOSPLIT, $0-72", name)
	case shifted:
		p("// func %s(kc int, a, b *float32, off *int, c *float32, ldc int, alpha, beta float32, loadC int)", name)
		p("TEXT ·%s(SB), NOSPLIT, $0-64", name)
	}
	p("\tMOVQ kc+%d(FP), CX", arg())
	p("\tMOVQ a+%d(FP), AX", arg())
	if md == direct {
		p("\tMOVQ lda+%d(FP), SI", arg())
		p("\tSHLQ $2, SI")
		p("\tLEAQ (AX)(SI*2), R12")
		p("\tADDQ SI, R12")
		p("\tLEAQ (R12)(SI*2), R13")
		p("\tADDQ SI, R13")
	}
	p("\tMOVQ b+%d(FP), BX", arg())
	if md == shifted {
		p("\tMOVQ off+%d(FP), R11", arg())
	} else {
		p("\tMOVQ bs+%d(FP), R9", arg())
		p("\tSHLQ $2, R9")
	}
	p("\tMOVQ c+%d(FP), DI", arg())
	p("\tMOVQ ldc+%d(FP), DX", arg())
	p("\tSHLQ $2, DX")
	alphaOff := off
	betaOff := off + 4
	loadOff := off + 8
	for a := 0; a < rows*v; a++ {
		p("\tVPXORD Z%d, Z%d, Z%d", a, a, a)
	}
	p("\tMOVQ CX, R8")
	p("\tSHRQ $2, R8")
	p("\tANDQ $3, CX")
	p("\tTESTQ R8, R8")
	p("\tJZ tail")
	p("")
	p("loop%d:", unroll)
	for s := 0; s < unroll; s++ {
		step(rows, v, md, s)
	}
	advance(md, unroll)
	p("\tDECQ R8")
	p("\tJNZ loop%d", unroll)
	p("")
	p("tail:")
	p("\tTESTQ CX, CX")
	p("\tJZ done")
	p("")
	p("loop1:")
	step(rows, v, md, 0)
	advance(md, 1)
	p("\tDECQ CX")
	p("\tJNZ loop1")
	p("")
	p("done:")
	p("\tVBROADCASTSS alpha+%d(FP), Z30", alphaOff)
	p("\tVBROADCASTSS beta+%d(FP), Z31", betaOff)
	p("\tMOVQ loadC+%d(FP), R11", loadOff)
	p("\tMOVQ DI, R10")
	p("\tTESTQ R11, R11")
	p("\tJZ store")
	for i := 0; i < rows; i++ {
		for j := 0; j < v; j++ {
			p("\tVMULPS Z30, %s, %s", acc(v, i, j), acc(v, i, j))
			p("\tVFMADD231PS %d(R10), Z31, %s", 64*j, acc(v, i, j))
			p("\tVMOVUPS %s, %d(R10)", acc(v, i, j), 64*j)
		}
		p("\tADDQ DX, R10")
	}
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
	p("store:")
	for i := 0; i < rows; i++ {
		for j := 0; j < v; j++ {
			p("\tVMULPS Z30, %s, %s", acc(v, i, j), acc(v, i, j))
			p("\tVMOVUPS %s, %d(R10)", acc(v, i, j), 64*j)
		}
		p("\tADDQ DX, R10")
	}
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// transpose emits transpose16x16(dst, src *float32, off *[16]int, blocks int): for b < blocks,
// the 16×16 block of the 16 rows src + off[i] (i < 16; offsets in elements), columns 16b …
// 16b+15, is stored transposed at dst + 256b: dst[256b + 16p + i] = src[off[i] + 16b + p]. Four
// shuffle stages on ZMM registers (unpack pairs of rows, then 64-bit, 128-bit and 256-bit
// interleaves).
func transpose() {
	p("// func transpose16x16(dst, src *float32, off *[16]int, blocks int)")
	p("TEXT ·transpose16x16(SB), NOSPLIT, $0-32")
	p("\tMOVQ dst+0(FP), DI")
	p("\tMOVQ src+8(FP), AX")
	p("\tMOVQ off+16(FP), SI")
	p("\tMOVQ blocks+24(FP), CX")
	p("\tTESTQ CX, CX")
	p("\tJZ tdone")
	p("")
	p("tloop:")
	for i := 0; i < 16; i++ {
		p("\tMOVQ %d(SI), R10", 8*i)
		p("\tVMOVUPS (AX)(R10*4), Z%d", i)
	}
	// Stage 1: Z16+2k, Z17+2k = unpacklo/hi(row 2k, row 2k+1).
	for k := 0; k < 8; k++ {
		p("\tVUNPCKLPS Z%d, Z%d, Z%d", 2*k+1, 2*k, 16+2*k)
		p("\tVUNPCKHPS Z%d, Z%d, Z%d", 2*k+1, 2*k, 17+2*k)
	}
	// Stage 2: within each group of four, 64-bit interleaves into Z0..Z15.
	for g := 0; g < 4; g++ {
		a, b, c, d := 16+4*g, 17+4*g, 18+4*g, 19+4*g
		p("\tVSHUFPS $0x44, Z%d, Z%d, Z%d", c, a, 4*g)
		p("\tVSHUFPS $0xee, Z%d, Z%d, Z%d", c, a, 4*g+1)
		p("\tVSHUFPS $0x44, Z%d, Z%d, Z%d", d, b, 4*g+2)
		p("\tVSHUFPS $0xee, Z%d, Z%d, Z%d", d, b, 4*g+3)
	}
	// Stage 3: 128-bit lanes of rows k and k+4 within each half, into Z16..Z31.
	for h := 0; h < 2; h++ {
		base := 8 * h
		for k := 0; k < 4; k++ {
			p("\tVSHUFF32X4 $0x88, Z%d, Z%d, Z%d", base+4+k, base+k, 16+base+k)
			p("\tVSHUFF32X4 $0xdd, Z%d, Z%d, Z%d", base+4+k, base+k, 16+base+4+k)
		}
	}
	// Stage 4: the two halves; Z0..Z15 then hold columns 0..15.
	for k := 0; k < 8; k++ {
		p("\tVSHUFF32X4 $0x88, Z%d, Z%d, Z%d", 24+k, 16+k, k)
		p("\tVSHUFF32X4 $0xdd, Z%d, Z%d, Z%d", 24+k, 16+k, 8+k)
	}
	for k := 0; k < 16; k++ {
		p("\tVMOVUPS Z%d, %d(DI)", k, 64*k)
	}
	p("\tADDQ $64, AX")
	p("\tADDQ $1024, DI")
	p("\tDECQ CX")
	p("\tJNZ tloop")
	p("")
	p("tdone:")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// dot emits dotZ4x6(k int, a *float32, lda int, b *float32, off *[6]int, out *[24]float32):
// out[6i+j] = Σ_{p<k} a[i·lda + p]·b[off[j] + p] for i < 4, j < 6, k a multiple of 16. Each of
// the 24 sums is a ZMM accumulator of 16 lanes (lane l adds the p ≡ l mod 16 terms in order of
// p, with FMA), reduced at the end in a fixed order: halves, quarters, then lanes 0+2 and 1+3,
// then the two.
// Both operands are read in place, sixteen k steps a load: the filter gradient of a convolution
// with few filters and taps, where packing either operand costs more than the product.
func dot() {
	p("// func dotZ4x6(k int, a *float32, lda int, b *float32, off *[6]int, out *[24]float32)")
	p("TEXT ·dotZ4x6(SB), NOSPLIT, $0-48")
	p("\tMOVQ k+0(FP), CX")
	p("\tMOVQ a+8(FP), AX")
	p("\tMOVQ lda+16(FP), SI")
	p("\tSHLQ $2, SI")
	p("\tLEAQ (AX)(SI*2), R12")
	p("\tADDQ SI, R12")
	p("\tMOVQ b+24(FP), BX")
	p("\tMOVQ off+32(FP), DI")
	bregs := []string{"R8", "R9", "R10", "R11", "R13", "DX"}
	for j, r := range bregs {
		p("\tMOVQ %d(DI), %s", 8*j, r)
		p("\tLEAQ (BX)(%s*4), %s", r, r)
	}
	for a := 0; a < 24; a++ {
		p("\tVPXORD Z%d, Z%d, Z%d", a, a, a)
	}
	p("\tSHRQ $4, CX")
	p("\tJZ dotdone")
	p("")
	p("dotloop:")
	arows := []string{"(AX)", "(AX)(SI*1)", "(AX)(SI*2)", "(R12)"}
	for i, r := range arows {
		p("\tVMOVUPS %s, Z%d", r, 24+i)
	}
	for j, r := range bregs {
		t := 28 + j%2
		p("\tVMOVUPS (%s), Z%d", r, t)
		for i := 0; i < 4; i++ {
			p("\tVFMADD231PS Z%d, Z%d, Z%d", t, 24+i, 6*i+j)
		}
	}
	p("\tADDQ $64, AX")
	p("\tADDQ $64, R12")
	for _, r := range bregs {
		p("\tADDQ $64, %s", r)
	}
	p("\tDECQ CX")
	p("\tJNZ dotloop")
	p("")
	p("dotdone:")
	p("\tMOVQ out+40(FP), DI")
	for a := 0; a < 24; a++ {
		p("\tVEXTRACTF64X4 $1, Z%d, Y30", a)
		p("\tVADDPS Y30, Y%d, Y%d", a, a)
		p("\tVEXTRACTF32X4 $1, Y%d, X30", a)
		p("\tVADDPS X30, X%d, X%d", a, a)
		p("\tVPERMILPS $0x4e, X%d, X30", a)
		p("\tVADDPS X30, X%d, X%d", a, a)
		p("\tVPERMILPS $0xb1, X%d, X30", a)
		p("\tVADDPS X30, X%d, X%d", a, a)
		p("\tVMOVSS X%d, %d(DI)", a, 4*a)
	}
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

func main() {
	outFile := flag.String("o", "sgemm_avx512_amd64.s", "output file")
	flag.Parse()
	p("// Code generated by gen_avx512.go; DO NOT EDIT.")
	p("")
	p("//go:build amd64")
	p("")
	p("#include \"textflag.h\"")
	p("")
	p("// AVX-512 GEMM micro-kernels (see gen_avx512.go): an %d-row A panel (or its first %d rows, shifted)", mr, mr/2)
	p("// against 1, 2 or 3 adjacent 16-column B panels.")
	p("")
	for _, md := range []mode{packed, direct, shifted} {
		for v := 1; v <= maxV; v++ {
			kernel(mr, v, md)
		}
	}
	for v := 1; v <= maxV; v++ {
		kernel(mr/2, v, shifted)
	}
	transpose()
	dot()
	if err := os.WriteFile(*outFile, out.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
