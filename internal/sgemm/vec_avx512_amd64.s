//go:build amd64

#include "textflag.h"

// AVX-512 element-wise and reduction kernels of the cpu device (vec.go, vec_avx512.go). Each
// takes a count n that is a multiple of 16 and runs four ZMM vectors (64 floats) per trip of its
// main loop, then single vectors; the Go wrappers do the last n%16 elements. Unless a comment says
// otherwise, every result is bit-identical to the pure-Go loop (no fused multiply-adds where Go
// rounds twice).

// HSUMPD leaves in the low lane of X(z) the sum of the eight float64 lanes of Z(z), in a fixed
// order: halves, then quarters, then the two last lanes. Ytmp/Xtmp is scratch.
#define HSUMPD(Zz, Yz, Xz, Ytmp, Xtmp) \
	VEXTRACTF64X4 $1, Zz, Ytmp; \
	VADDPD        Ytmp, Yz, Yz; \
	VEXTRACTF128  $1, Yz, Xtmp; \
	VADDPD        Xtmp, Xz, Xz; \
	VPERMILPD     $1, Xz, Xtmp; \
	VADDSD        Xtmp, Xz, Xz

// func reluZ(dst, src *float32, n int)
// dst = max(src, 0) as Go's max: VMAXPS returns its second source (0) for a NaN, so NaN lanes
// (unordered compare of x with itself) are merged back in; -0 becomes +0 (VMAXPS of two zeros
// returns the second source).
TEXT ·reluZ(SB), NOSPLIT, $0-24
	MOVQ   dst+0(FP), DI
	MOVQ   src+8(FP), SI
	MOVQ   n+16(FP), CX
	VPXORD Z31, Z31, Z31
	MOVQ   CX, R8
	SHRQ   $6, R8
	JZ     r1

r4:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS 128(SI), Z2
	VMOVUPS 192(SI), Z3
	VMAXPS  Z31, Z0, Z4
	VMAXPS  Z31, Z1, Z5
	VMAXPS  Z31, Z2, Z6
	VMAXPS  Z31, Z3, Z7
	VCMPPS  $3, Z0, Z0, K1
	VCMPPS  $3, Z1, Z1, K2
	VCMPPS  $3, Z2, Z2, K3
	VCMPPS  $3, Z3, Z3, K4
	VMOVAPS Z0, K1, Z4
	VMOVAPS Z1, K2, Z5
	VMOVAPS Z2, K3, Z6
	VMOVAPS Z3, K4, Z7
	VMOVUPS Z4, (DI)
	VMOVUPS Z5, 64(DI)
	VMOVUPS Z6, 128(DI)
	VMOVUPS Z7, 192(DI)
	ADDQ    $256, SI
	ADDQ    $256, DI
	DECQ    R8
	JNZ     r4

r1:
	ANDQ $63, CX
	SHRQ $4, CX
	JZ   rdone

r1loop:
	VMOVUPS (SI), Z0
	VMAXPS  Z31, Z0, Z4
	VCMPPS  $3, Z0, Z0, K1
	VMOVAPS Z0, K1, Z4
	VMOVUPS Z4, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     r1loop

rdone:
	VZEROUPPER
	RET

// func reluBackZ(dx, y, dy *float32, n int)
// dx = dy where 0 < y (ordered: false for NaN), else +0: a zero-masked load of dy.
TEXT ·reluBackZ(SB), NOSPLIT, $0-32
	MOVQ   dx+0(FP), DI
	MOVQ   y+8(FP), SI
	MOVQ   dy+16(FP), DX
	MOVQ   n+24(FP), CX
	VPXORD Z31, Z31, Z31
	MOVQ   CX, R8
	SHRQ   $6, R8
	JZ     rb1

rb4:
	VCMPPS    $0x11, (SI), Z31, K1
	VCMPPS    $0x11, 64(SI), Z31, K2
	VCMPPS    $0x11, 128(SI), Z31, K3
	VCMPPS    $0x11, 192(SI), Z31, K4
	VMOVUPS.Z (DX), K1, Z0
	VMOVUPS.Z 64(DX), K2, Z1
	VMOVUPS.Z 128(DX), K3, Z2
	VMOVUPS.Z 192(DX), K4, Z3
	VMOVUPS   Z0, (DI)
	VMOVUPS   Z1, 64(DI)
	VMOVUPS   Z2, 128(DI)
	VMOVUPS   Z3, 192(DI)
	ADDQ      $256, SI
	ADDQ      $256, DX
	ADDQ      $256, DI
	DECQ      R8
	JNZ       rb4

rb1:
	ANDQ $63, CX
	SHRQ $4, CX
	JZ   rbdone

rb1loop:
	VCMPPS    $0x11, (SI), Z31, K1
	VMOVUPS.Z (DX), K1, Z0
	VMOVUPS   Z0, (DI)
	ADDQ      $64, SI
	ADDQ      $64, DX
	ADDQ      $64, DI
	DECQ      CX
	JNZ       rb1loop

rbdone:
	VZEROUPPER
	RET

// func addConstZ(dst *float32, v float32, n int)
TEXT ·addConstZ(SB), NOSPLIT, $0-24
	MOVQ         dst+0(FP), DI
	VBROADCASTSS v+8(FP), Z31
	MOVQ         n+16(FP), CX
	MOVQ         CX, R8
	SHRQ         $6, R8
	JZ           ac1

ac4:
	VADDPS  (DI), Z31, Z0
	VADDPS  64(DI), Z31, Z1
	VADDPS  128(DI), Z31, Z2
	VADDPS  192(DI), Z31, Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ    $256, DI
	DECQ    R8
	JNZ     ac4

ac1:
	ANDQ $63, CX
	SHRQ $4, CX
	JZ   acdone

ac1loop:
	VADDPS  (DI), Z31, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	DECQ    CX
	JNZ     ac1loop

acdone:
	VZEROUPPER
	RET

// func binaryZ(out, a, b *float32, n int, mul int)
// out = a + b, or a·b when mul is nonzero.
TEXT ·binaryZ(SB), NOSPLIT, $0-40
	MOVQ  out+0(FP), DI
	MOVQ  a+8(FP), SI
	MOVQ  b+16(FP), DX
	MOVQ  n+24(FP), CX
	MOVQ  mul+32(FP), R9
	TESTQ R9, R9
	JNZ   mulz
	MOVQ  CX, R8
	SHRQ  $6, R8
	JZ    add1

add4:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS 128(SI), Z2
	VMOVUPS 192(SI), Z3
	VADDPS  (DX), Z0, Z0
	VADDPS  64(DX), Z1, Z1
	VADDPS  128(DX), Z2, Z2
	VADDPS  192(DX), Z3, Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ    $256, SI
	ADDQ    $256, DX
	ADDQ    $256, DI
	DECQ    R8
	JNZ     add4

add1:
	ANDQ $63, CX
	SHRQ $4, CX
	JZ   bdone

add1loop:
	VMOVUPS (SI), Z0
	VADDPS  (DX), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	DECQ    CX
	JNZ     add1loop
	JMP     bdone

mulz:
	MOVQ CX, R8
	SHRQ $6, R8
	JZ   mul1

mul4:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS 128(SI), Z2
	VMOVUPS 192(SI), Z3
	VMULPS  (DX), Z0, Z0
	VMULPS  64(DX), Z1, Z1
	VMULPS  128(DX), Z2, Z2
	VMULPS  192(DX), Z3, Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ    $256, SI
	ADDQ    $256, DX
	ADDQ    $256, DI
	DECQ    R8
	JNZ     mul4

mul1:
	ANDQ $63, CX
	SHRQ $4, CX
	JZ   bdone

mul1loop:
	VMOVUPS (SI), Z0
	VMULPS  (DX), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	DECQ    CX
	JNZ     mul1loop

bdone:
	VZEROUPPER
	RET

// func scaleShiftZ(x, y *float32, n int, mean, scale, shift float32)
// y = (x - mean)·scale + shift, rounded after each operation (batch-norm apply).
TEXT ·scaleShiftZ(SB), NOSPLIT, $0-36
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         n+16(FP), CX
	VBROADCASTSS mean+24(FP), Z29
	VBROADCASTSS scale+28(FP), Z30
	VBROADCASTSS shift+32(FP), Z31
	MOVQ         CX, R8
	SHRQ         $6, R8
	JZ           ss1

ss4:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS 128(SI), Z2
	VMOVUPS 192(SI), Z3
	VSUBPS  Z29, Z0, Z0 // Z0 - Z29 (Go lists the operands in reverse)
	VSUBPS  Z29, Z1, Z1
	VSUBPS  Z29, Z2, Z2
	VSUBPS  Z29, Z3, Z3
	VMULPS  Z30, Z0, Z0
	VMULPS  Z30, Z1, Z1
	VMULPS  Z30, Z2, Z2
	VMULPS  Z30, Z3, Z3
	VADDPS  Z31, Z0, Z0
	VADDPS  Z31, Z1, Z1
	VADDPS  Z31, Z2, Z2
	VADDPS  Z31, Z3, Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ    $256, SI
	ADDQ    $256, DI
	DECQ    R8
	JNZ     ss4

ss1:
	ANDQ $63, CX
	SHRQ $4, CX
	JZ   ssdone

ss1loop:
	VMOVUPS (SI), Z0
	VSUBPS  Z29, Z0, Z0
	VMULPS  Z30, Z0, Z0
	VADDPS  Z31, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     ss1loop

ssdone:
	VZEROUPPER
	RET

// SSRELU(Zv, Zt, Kk) turns Zv = (x - mean)·scale + shift [+ res] into max(Zv, 0) as Go's max
// does (see reluZ): NaN lanes are merged back after VMAXPS. Zt is scratch.
#define SSRELU(Zv, Zt, Kk) \
	VMAXPS  Z28, Zv, Zt; \
	VCMPPS  $3, Zv, Zv, Kk; \
	VMOVAPS Zv, Kk, Zt

// func scaleShiftReLUZ(x, res, y *float32, n int, mean, scale, shift float32)
// y = max((x - mean)·scale + shift + res, 0), without the add when res is nil; rounded after
// each operation, as scaleShiftZ, binaryZ and reluZ one after another (batch-norm apply,
// residual add and ReLU in one pass).
TEXT ·scaleShiftReLUZ(SB), NOSPLIT, $0-44
	MOVQ         x+0(FP), SI
	MOVQ         res+8(FP), DX
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX
	VBROADCASTSS mean+32(FP), Z29
	VBROADCASTSS scale+36(FP), Z30
	VBROADCASTSS shift+40(FP), Z31
	VPXORD       Z28, Z28, Z28
	MOVQ         CX, R8
	SHRQ         $6, R8
	JZ           sr1

sr4:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS 128(SI), Z2
	VMOVUPS 192(SI), Z3
	VSUBPS  Z29, Z0, Z0
	VSUBPS  Z29, Z1, Z1
	VSUBPS  Z29, Z2, Z2
	VSUBPS  Z29, Z3, Z3
	VMULPS  Z30, Z0, Z0
	VMULPS  Z30, Z1, Z1
	VMULPS  Z30, Z2, Z2
	VMULPS  Z30, Z3, Z3
	VADDPS  Z31, Z0, Z0
	VADDPS  Z31, Z1, Z1
	VADDPS  Z31, Z2, Z2
	VADDPS  Z31, Z3, Z3
	TESTQ   DX, DX
	JZ      sr4relu
	VADDPS  (DX), Z0, Z0
	VADDPS  64(DX), Z1, Z1
	VADDPS  128(DX), Z2, Z2
	VADDPS  192(DX), Z3, Z3
	ADDQ    $256, DX

sr4relu:
	SSRELU(Z0, Z4, K1)
	SSRELU(Z1, Z5, K2)
	SSRELU(Z2, Z6, K3)
	SSRELU(Z3, Z7, K4)
	VMOVUPS Z4, (DI)
	VMOVUPS Z5, 64(DI)
	VMOVUPS Z6, 128(DI)
	VMOVUPS Z7, 192(DI)
	ADDQ    $256, SI
	ADDQ    $256, DI
	DECQ    R8
	JNZ     sr4

sr1:
	ANDQ $63, CX
	SHRQ $4, CX
	JZ   srdone

sr1loop:
	VMOVUPS (SI), Z0
	VSUBPS  Z29, Z0, Z0
	VMULPS  Z30, Z0, Z0
	VADDPS  Z31, Z0, Z0
	TESTQ   DX, DX
	JZ      sr1relu
	VADDPS  (DX), Z0, Z0
	ADDQ    $64, DX

sr1relu:
	SSRELU(Z0, Z4, K1)
	VMOVUPS Z4, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     sr1loop

srdone:
	VZEROUPPER
	RET

// func bnBackZ(x, dy, dx *float32, n int, a, b, c, mean float32)
// dx = a·dy + b·(x - mean) + c, rounded after each operation as Go does (batch-norm backward).
TEXT ·bnBackZ(SB), NOSPLIT, $0-48
	MOVQ         x+0(FP), SI
	MOVQ         dy+8(FP), DX
	MOVQ         dx+16(FP), DI
	MOVQ         n+24(FP), CX
	VBROADCASTSS a+32(FP), Z28
	VBROADCASTSS b+36(FP), Z29
	VBROADCASTSS c+40(FP), Z30
	VBROADCASTSS mean+44(FP), Z31
	MOVQ         CX, R8
	SHRQ         $6, R8
	JZ           bb1

bb4:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS 128(SI), Z2
	VMOVUPS 192(SI), Z3
	VSUBPS  Z31, Z0, Z0
	VSUBPS  Z31, Z1, Z1
	VSUBPS  Z31, Z2, Z2
	VSUBPS  Z31, Z3, Z3
	VMULPS  Z29, Z0, Z0
	VMULPS  Z29, Z1, Z1
	VMULPS  Z29, Z2, Z2
	VMULPS  Z29, Z3, Z3
	VMULPS  (DX), Z28, Z4
	VMULPS  64(DX), Z28, Z5
	VMULPS  128(DX), Z28, Z6
	VMULPS  192(DX), Z28, Z7
	VADDPS  Z0, Z4, Z4
	VADDPS  Z1, Z5, Z5
	VADDPS  Z2, Z6, Z6
	VADDPS  Z3, Z7, Z7
	VADDPS  Z30, Z4, Z4
	VADDPS  Z30, Z5, Z5
	VADDPS  Z30, Z6, Z6
	VADDPS  Z30, Z7, Z7
	VMOVUPS Z4, (DI)
	VMOVUPS Z5, 64(DI)
	VMOVUPS Z6, 128(DI)
	VMOVUPS Z7, 192(DI)
	ADDQ    $256, SI
	ADDQ    $256, DX
	ADDQ    $256, DI
	DECQ    R8
	JNZ     bb4

bb1:
	ANDQ $63, CX
	SHRQ $4, CX
	JZ   bbdone

bb1loop:
	VMOVUPS (SI), Z0
	VSUBPS  Z31, Z0, Z0
	VMULPS  Z29, Z0, Z0
	VMULPS  (DX), Z28, Z4
	VADDPS  Z0, Z4, Z4
	VADDPS  Z30, Z4, Z4
	VMOVUPS Z4, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	DECQ    CX
	JNZ     bb1loop

bbdone:
	VZEROUPPER
	RET

// func sumDyDyxZ(x, dy *float32, n int, mean float64) (sdy, sdyx float64)
// Σ dy and Σ dy·(x - mean) in float64, 16 elements a trip into two pairs of 8-lane accumulators
// (fixed order, deterministic; not bit-identical to the Go loop).
TEXT ·sumDyDyxZ(SB), NOSPLIT, $0-48
	MOVQ         x+0(FP), SI
	MOVQ         dy+8(FP), DX
	MOVQ         n+16(FP), CX
	VBROADCASTSD mean+24(FP), Z31
	VPXORQ       Z0, Z0, Z0
	VPXORQ       Z1, Z1, Z1
	VPXORQ       Z2, Z2, Z2
	VPXORQ       Z3, Z3, Z3
	SHRQ         $4, CX
	JZ           dxdone

dxloop:
	VCVTPS2PD   (DX), Z4
	VCVTPS2PD   32(DX), Z5
	VCVTPS2PD   (SI), Z6
	VCVTPS2PD   32(SI), Z7
	VADDPD      Z4, Z0, Z0
	VADDPD      Z5, Z1, Z1
	VSUBPD      Z31, Z6, Z6
	VSUBPD      Z31, Z7, Z7
	VFMADD231PD Z4, Z6, Z2
	VFMADD231PD Z5, Z7, Z3
	ADDQ        $64, SI
	ADDQ        $64, DX
	DECQ        CX
	JNZ         dxloop

dxdone:
	VADDPD Z1, Z0, Z0
	VADDPD Z3, Z2, Z2
	HSUMPD(Z0, Y0, X0, Y1, X1)
	HSUMPD(Z2, Y2, X2, Y3, X3)
	VMOVSD X0, sdy+32(FP)
	VMOVSD X2, sdyx+40(FP)
	VZEROUPPER
	RET

// func sgdZ(th, gr, ve *float32, n int, lr, momentum, wd float32, mode int)
// PyTorch's SGD step, rounded as the Go loop (engine/cpu sgdArgs): g = gr + wd·th; mode 0 (no
// momentum): th -= lr·g; mode 1: v = momentum·ve + g, ve = v, th -= lr·v; mode 2 (Nesterov):
// the same v, th -= lr·(g + momentum·v). One vector a trip (the loop is bound by its five
// streams, not by arithmetic).
TEXT ·sgdZ(SB), NOSPLIT, $0-56
	MOVQ         th+0(FP), DI
	MOVQ         gr+8(FP), SI
	MOVQ         ve+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS lr+32(FP), Z29
	VBROADCASTSS momentum+36(FP), Z30
	VBROADCASTSS wd+40(FP), Z31
	MOVQ         mode+48(FP), R9
	SHRQ         $4, CX
	JZ           sgddone
	CMPQ         R9, $1
	JEQ          sgdmom
	JGT          sgdnest

sgdplain:
	VMOVUPS (DI), Z0
	VMULPS  Z31, Z0, Z1
	VADDPS  (SI), Z1, Z1 // g
	VMULPS  Z29, Z1, Z1
	VSUBPS  Z1, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	ADDQ    $64, SI
	DECQ    CX
	JNZ     sgdplain
	JMP     sgddone

sgdmom:
	VMOVUPS (DI), Z0
	VMULPS  Z31, Z0, Z1
	VADDPS  (SI), Z1, Z1 // g
	VMULPS  (DX), Z30, Z2
	VADDPS  Z1, Z2, Z2   // v
	VMOVUPS Z2, (DX)
	VMULPS  Z29, Z2, Z2
	VSUBPS  Z2, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	ADDQ    $64, SI
	ADDQ    $64, DX
	DECQ    CX
	JNZ     sgdmom
	JMP     sgddone

sgdnest:
	VMOVUPS (DI), Z0
	VMULPS  Z31, Z0, Z1
	VADDPS  (SI), Z1, Z1 // g
	VMULPS  (DX), Z30, Z2
	VADDPS  Z1, Z2, Z2   // v
	VMOVUPS Z2, (DX)
	VMULPS  Z30, Z2, Z2
	VADDPS  Z2, Z1, Z1   // g + momentum·v
	VMULPS  Z29, Z1, Z1
	VSUBPS  Z1, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	ADDQ    $64, SI
	ADDQ    $64, DX
	DECQ    CX
	JNZ     sgdnest

sgddone:
	VZEROUPPER
	RET

// Lane indices for VPERMI2PS: the even and odd elements of 32 floats (two vectors), and the
// interleave of two vectors (low and high halves).
DATA ·poolEven<>+0(SB)/4, $0
DATA ·poolEven<>+4(SB)/4, $2
DATA ·poolEven<>+8(SB)/4, $4
DATA ·poolEven<>+12(SB)/4, $6
DATA ·poolEven<>+16(SB)/4, $8
DATA ·poolEven<>+20(SB)/4, $10
DATA ·poolEven<>+24(SB)/4, $12
DATA ·poolEven<>+28(SB)/4, $14
DATA ·poolEven<>+32(SB)/4, $16
DATA ·poolEven<>+36(SB)/4, $18
DATA ·poolEven<>+40(SB)/4, $20
DATA ·poolEven<>+44(SB)/4, $22
DATA ·poolEven<>+48(SB)/4, $24
DATA ·poolEven<>+52(SB)/4, $26
DATA ·poolEven<>+56(SB)/4, $28
DATA ·poolEven<>+60(SB)/4, $30
GLOBL ·poolEven<>(SB), RODATA|NOPTR, $64

DATA ·poolOdd<>+0(SB)/4, $1
DATA ·poolOdd<>+4(SB)/4, $3
DATA ·poolOdd<>+8(SB)/4, $5
DATA ·poolOdd<>+12(SB)/4, $7
DATA ·poolOdd<>+16(SB)/4, $9
DATA ·poolOdd<>+20(SB)/4, $11
DATA ·poolOdd<>+24(SB)/4, $13
DATA ·poolOdd<>+28(SB)/4, $15
DATA ·poolOdd<>+32(SB)/4, $17
DATA ·poolOdd<>+36(SB)/4, $19
DATA ·poolOdd<>+40(SB)/4, $21
DATA ·poolOdd<>+44(SB)/4, $23
DATA ·poolOdd<>+48(SB)/4, $25
DATA ·poolOdd<>+52(SB)/4, $27
DATA ·poolOdd<>+56(SB)/4, $29
DATA ·poolOdd<>+60(SB)/4, $31
GLOBL ·poolOdd<>(SB), RODATA|NOPTR, $64

DATA ·poolIlvLo<>+0(SB)/4, $0
DATA ·poolIlvLo<>+4(SB)/4, $16
DATA ·poolIlvLo<>+8(SB)/4, $1
DATA ·poolIlvLo<>+12(SB)/4, $17
DATA ·poolIlvLo<>+16(SB)/4, $2
DATA ·poolIlvLo<>+20(SB)/4, $18
DATA ·poolIlvLo<>+24(SB)/4, $3
DATA ·poolIlvLo<>+28(SB)/4, $19
DATA ·poolIlvLo<>+32(SB)/4, $4
DATA ·poolIlvLo<>+36(SB)/4, $20
DATA ·poolIlvLo<>+40(SB)/4, $5
DATA ·poolIlvLo<>+44(SB)/4, $21
DATA ·poolIlvLo<>+48(SB)/4, $6
DATA ·poolIlvLo<>+52(SB)/4, $22
DATA ·poolIlvLo<>+56(SB)/4, $7
DATA ·poolIlvLo<>+60(SB)/4, $23
GLOBL ·poolIlvLo<>(SB), RODATA|NOPTR, $64

DATA ·poolIlvHi<>+0(SB)/4, $8
DATA ·poolIlvHi<>+4(SB)/4, $24
DATA ·poolIlvHi<>+8(SB)/4, $9
DATA ·poolIlvHi<>+12(SB)/4, $25
DATA ·poolIlvHi<>+16(SB)/4, $10
DATA ·poolIlvHi<>+20(SB)/4, $26
DATA ·poolIlvHi<>+24(SB)/4, $11
DATA ·poolIlvHi<>+28(SB)/4, $27
DATA ·poolIlvHi<>+32(SB)/4, $12
DATA ·poolIlvHi<>+36(SB)/4, $28
DATA ·poolIlvHi<>+40(SB)/4, $13
DATA ·poolIlvHi<>+44(SB)/4, $29
DATA ·poolIlvHi<>+48(SB)/4, $14
DATA ·poolIlvHi<>+52(SB)/4, $30
DATA ·poolIlvHi<>+56(SB)/4, $15
DATA ·poolIlvHi<>+60(SB)/4, $31
GLOBL ·poolIlvHi<>(SB), RODATA|NOPTR, $64

// GOMAX sets dst = Go's max(x, y): the two orders of VMAXPS ANDed (for two zeros each order
// returns its second source; the AND makes +0 win), and x+y (a NaN) where either is NaN.
#define GOMAX(x, y, dst, tmp, k) \
	VMAXPS y, x, dst; \
	VMAXPS x, y, tmp; \
	VPANDD tmp, dst, dst; \
	VCMPPS $3, y, x, k; \
	VADDPS y, x, k, dst

// POOLLOAD loads 16 windows from the row pair at SI, SI+R10 (masked by the input masks K6, K7
// when partial) and leaves a, b (top row, even and odd columns) in Z4, Z5 and c, e (bottom row)
// in Z6, Z7.
#define POOLLOAD \
	VMOVAPS   Z16, Z4; \
	VPERMI2PS Z1, Z0, Z4; \
	VMOVAPS   Z17, Z5; \
	VPERMI2PS Z1, Z0, Z5; \
	VMOVAPS   Z16, Z6; \
	VPERMI2PS Z3, Z2, Z6; \
	VMOVAPS   Z17, Z7; \
	VPERMI2PS Z3, Z2, Z7

// func maxPool2x2Z(x, y *float32, w, oh, ow, klo, khi, kout int)
// y[i, j] = max of the 2×2 window (2i, 2j) of the plane x (row stride w), as Go's max, for
// i < oh, j < ow. ow%16 outputs of each row go through the masks klo, khi (input lanes of the
// two vectors) and kout (output lanes).
TEXT ·maxPool2x2Z(SB), NOSPLIT, $0-64
	MOVQ      x+0(FP), SI
	MOVQ      y+8(FP), DI
	MOVQ      w+16(FP), R10
	SHLQ      $2, R10
	MOVQ      oh+24(FP), R8
	MOVQ      ow+32(FP), R9
	MOVQ      klo+40(FP), AX
	KMOVW     AX, K6
	MOVQ      khi+48(FP), AX
	KMOVW     AX, K7
	MOVQ      kout+56(FP), AX
	KMOVW     AX, K5
	VMOVDQU32 ·poolEven<>(SB), Z16
	VMOVDQU32 ·poolOdd<>(SB), Z17
	TESTQ     R8, R8
	JZ        mpdone

mprow:
	MOVQ SI, R11 // this row pair
	MOVQ DI, R12
	MOVQ R9, CX
	SHRQ $4, CX
	JZ   mppart

mpfull:
	VMOVUPS (R11), Z0
	VMOVUPS 64(R11), Z1
	VMOVUPS (R11)(R10*1), Z2
	VMOVUPS 64(R11)(R10*1), Z3
	POOLLOAD
	GOMAX(Z4, Z5, Z8, Z9, K1)
	GOMAX(Z6, Z7, Z10, Z9, K2)
	GOMAX(Z8, Z10, Z11, Z9, K3)
	VMOVUPS Z11, (R12)
	ADDQ    $128, R11
	ADDQ    $64, R12
	DECQ    CX
	JNZ     mpfull

mppart:
	MOVQ R9, AX
	ANDQ $15, AX
	JZ   mpnext
	VMOVUPS.Z (R11), K6, Z0
	VMOVUPS.Z 64(R11), K7, Z1
	VMOVUPS.Z (R11)(R10*1), K6, Z2
	VMOVUPS.Z 64(R11)(R10*1), K7, Z3
	POOLLOAD
	GOMAX(Z4, Z5, Z8, Z9, K1)
	GOMAX(Z6, Z7, Z10, Z9, K2)
	GOMAX(Z8, Z10, Z11, Z9, K3)
	VMOVUPS Z11, K5, (R12)

mpnext:
	LEAQ (SI)(R10*2), SI
	MOVQ R9, AX
	SHLQ $2, AX
	ADDQ AX, DI
	DECQ R8
	JNZ  mprow

mpdone:
	VZEROUPPER
	RET

// POOLBACK routes the 16 gradients in Z12 to the window maxima of Z4..Z7 (the tournament of
// engine/cpu's maxPool2x2Backward: the first pair unless the second's maximum is strictly
// greater, with NaN anywhere keeping the first pair; within a pair the first cell unless the
// second is strictly greater) and leaves the two rows of dx, interleaved back, in Z0, Z1 (top)
// and Z2, Z3 (bottom).
#define POOLBACK \
	VCMPPS    $0x1e, Z4, Z5, K1; \
	VCMPPS    $0x1e, Z6, Z7, K2; \
	VMAXPS    Z5, Z4, Z8; \
	VMAXPS    Z7, Z6, Z9; \
	VCMPPS    $0x1e, Z8, Z9, K3; \
	VCMPPS    $7, Z5, Z4, K4; \
	KANDW     K4, K3, K3; \
	VCMPPS    $7, Z7, Z6, K4; \
	KANDW     K4, K3, K3; \
	KNOTW     K3, K4; \
	VMOVAPS.Z Z12, K4, Z13; \
	VMOVAPS.Z Z12, K3, Z14; \
	KNOTW     K1, K4; \
	VMOVAPS.Z Z13, K1, Z21; \
	VMOVAPS.Z Z13, K4, Z20; \
	KNOTW     K2, K4; \
	VMOVAPS.Z Z14, K2, Z23; \
	VMOVAPS.Z Z14, K4, Z22; \
	VMOVAPS   Z18, Z0; \
	VPERMI2PS Z21, Z20, Z0; \
	VMOVAPS   Z19, Z1; \
	VPERMI2PS Z21, Z20, Z1; \
	VMOVAPS   Z18, Z2; \
	VPERMI2PS Z23, Z22, Z2; \
	VMOVAPS   Z19, Z3; \
	VPERMI2PS Z23, Z22, Z3

// func maxPool2x2BackZ(x, dy, dx *float32, w, oh, ow, klo, khi, kout int)
// The 2×2 cells of dx under the windows (2i, 2j), i < oh, j < ow: dy[i, j] in the cell that
// maxPool2x2 picked, +0 in the other three. Masks as maxPool2x2Z's.
TEXT ·maxPool2x2BackZ(SB), NOSPLIT, $0-72
	MOVQ      x+0(FP), SI
	MOVQ      dy+8(FP), DX
	MOVQ      dx+16(FP), DI
	MOVQ      w+24(FP), R10
	SHLQ      $2, R10
	MOVQ      oh+32(FP), R8
	MOVQ      ow+40(FP), R9
	VMOVDQU32 ·poolEven<>(SB), Z16
	VMOVDQU32 ·poolOdd<>(SB), Z17
	VMOVDQU32 ·poolIlvLo<>(SB), Z18
	VMOVDQU32 ·poolIlvHi<>(SB), Z19
	TESTQ     R8, R8
	JZ        mbdone

mbrow:
	MOVQ SI, R11 // this row pair of x
	MOVQ DI, R12 // and of dx
	MOVQ DX, R13 // this row of dy
	MOVQ R9, CX
	SHRQ $4, CX
	JZ   mbpart

mbfull:
	VMOVUPS (R11), Z0
	VMOVUPS 64(R11), Z1
	VMOVUPS (R11)(R10*1), Z2
	VMOVUPS 64(R11)(R10*1), Z3
	VMOVUPS (R13), Z12
	POOLLOAD
	POOLBACK
	VMOVUPS Z0, (R12)
	VMOVUPS Z1, 64(R12)
	VMOVUPS Z2, (R12)(R10*1)
	VMOVUPS Z3, 64(R12)(R10*1)
	ADDQ    $128, R11
	ADDQ    $128, R12
	ADDQ    $64, R13
	DECQ    CX
	JNZ     mbfull

mbpart:
	MOVQ R9, AX
	ANDQ $15, AX
	JZ   mbnext
	MOVQ      klo+48(FP), AX
	KMOVW     AX, K6
	MOVQ      khi+56(FP), AX
	KMOVW     AX, K7
	MOVQ      kout+64(FP), AX
	KMOVW     AX, K5
	VMOVUPS.Z (R11), K6, Z0
	VMOVUPS.Z 64(R11), K7, Z1
	VMOVUPS.Z (R11)(R10*1), K6, Z2
	VMOVUPS.Z 64(R11)(R10*1), K7, Z3
	VMOVUPS.Z (R13), K5, Z12
	POOLLOAD
	POOLBACK
	MOVQ      klo+48(FP), AX
	KMOVW     AX, K6
	VMOVUPS   Z0, K6, (R12)
	VMOVUPS   Z1, K7, 64(R12)
	VMOVUPS   Z2, K6, (R12)(R10*1)
	VMOVUPS   Z3, K7, 64(R12)(R10*1)

mbnext:
	LEAQ (SI)(R10*2), SI
	LEAQ (DI)(R10*2), DI
	MOVQ R9, AX
	SHLQ $2, AX
	ADDQ AX, DX
	DECQ R8
	JNZ  mbrow

mbdone:
	VZEROUPPER
	RET

// func deinterleaveRowsZ(src, even, odd *float32, pairs, rows, srcStride, dstStride int)
// For each of rows rows (src rows srcStride floats apart, even and odd rows dstStride apart):
// even[j] = src[2j] and, unless odd is nil, odd[j] = src[2j+1] for j < pairs (a multiple of 8),
// 16 pairs a step (two loads, a VPERMT2PS each way), then one step of 8 on the low halves;
// then dstStride-pairs zeros.
TEXT ·deinterleaveRowsZ(SB), NOSPLIT, $0-56
	MOVQ    src+0(FP), SI
	MOVQ    even+8(FP), DI
	MOVQ    odd+16(FP), DX
	MOVQ    pairs+24(FP), R8
	MOVQ    rows+32(FP), R9
	MOVQ    srcStride+40(FP), R10
	MOVQ    dstStride+48(FP), R11
	MOVQ    R11, R12
	SUBQ    R8, R12 // zeros after each row
	SHLQ    $2, R10
	SHLQ    $2, R11
	VMOVUPS ·poolEven<>(SB), Z30
	VMOVUPS ·poolOdd<>(SB), Z31

drrow:
	MOVQ SI, AX
	MOVQ DI, BX
	MOVQ DX, R13
	MOVQ R8, CX

dr16:
	CMPQ      CX, $16
	JLT       dr8
	VMOVUPS   (AX), Z0
	VMOVUPS   64(AX), Z1
	VMOVAPS   Z0, Z2
	VPERMT2PS Z1, Z30, Z2
	VMOVUPS   Z2, (BX)
	TESTQ     R13, R13
	JZ        dr16next
	VPERMT2PS Z1, Z31, Z0
	VMOVUPS   Z0, (R13)
	ADDQ      $64, R13

dr16next:
	ADDQ $128, AX
	ADDQ $64, BX
	SUBQ $16, CX
	JMP  dr16

dr8:
	TESTQ     CX, CX
	JZ        drpad
	VMOVUPS   (AX), Z0
	VMOVAPS   Z0, Z2
	VPERMT2PS Z0, Z30, Z2
	VMOVUPS   Y2, (BX)
	ADDQ      $32, BX
	TESTQ     R13, R13
	JZ        drpad
	VPERMT2PS Z0, Z31, Z0
	VMOVUPS   Y0, (R13)
	ADDQ      $32, R13

drpad:
	MOVQ R12, CX

drpadloop:
	TESTQ CX, CX
	JZ    drnext
	MOVL  $0, (BX)
	ADDQ  $4, BX
	TESTQ R13, R13
	JZ    drpadnext
	MOVL  $0, (R13)
	ADDQ  $4, R13

drpadnext:
	DECQ CX
	JMP  drpadloop

drnext:
	ADDQ  R10, SI
	ADDQ  R11, DI
	TESTQ DX, DX
	JZ    drnoodd
	ADDQ  R11, DX

drnoodd:
	DECQ R9
	JNZ  drrow
	VZEROUPPER
	RET

// func interleaveRowsZ(dst, even, odd *float32, pairs, rows, dstStride, srcStride, add int)
// For each of rows rows (dst rows dstStride floats apart, even and odd rows srcStride apart):
// dst[2j] = even[j] and dst[2j+1] = odd[j] for j < pairs (a multiple of 8), each added to dst
// when add is 1; with odd nil, dst[2j+1] = 0 (add 0) or stays (add 1: a masked add). 16 pairs a
// step (two loads, a VPERMT2PS each way), then one step of 8.
TEXT ·interleaveRowsZ(SB), NOSPLIT, $0-64
	MOVQ    dst+0(FP), DI
	MOVQ    even+8(FP), SI
	MOVQ    odd+16(FP), DX
	MOVQ    pairs+24(FP), R8
	MOVQ    rows+32(FP), R9
	MOVQ    dstStride+40(FP), R10
	MOVQ    srcStride+48(FP), R11
	MOVQ    add+56(FP), R12
	SHLQ    $2, R10
	SHLQ    $2, R11
	VMOVUPS ·poolIlvLo<>(SB), Z28
	VMOVUPS ·poolIlvHi<>(SB), Z29
	VPXORD  Z1, Z1, Z1
	MOVQ    $0xffff, AX
	TESTQ   DX, DX
	JNZ     ilmask
	MOVQ    $0x5555, AX // the even lanes only

ilmask:
	KMOVW AX, K1

ilrow:
	MOVQ DI, BX
	MOVQ SI, AX
	MOVQ DX, R13
	MOVQ R8, CX

il16:
	CMPQ    CX, $16
	JLT     il8
	VMOVUPS (AX), Z0
	TESTQ   R13, R13
	JZ      il16ilv
	VMOVUPS (R13), Z1
	ADDQ    $64, R13

il16ilv:
	VMOVAPS   Z0, Z2
	VPERMT2PS Z1, Z28, Z2
	VPERMT2PS Z1, Z29, Z0
	TESTQ     R12, R12
	JZ        il16store
	VMOVUPS   (BX), Z4
	VADDPS    Z2, Z4, K1, Z4
	VMOVUPS   64(BX), Z5
	VADDPS    Z0, Z5, K1, Z5
	VMOVUPS   Z4, (BX)
	VMOVUPS   Z5, 64(BX)
	JMP       il16next

il16store:
	VMOVUPS Z2, (BX)
	VMOVUPS Z0, 64(BX)

il16next:
	ADDQ $64, AX
	ADDQ $128, BX
	SUBQ $16, CX
	JMP  il16

il8:
	TESTQ   CX, CX
	JZ      ilnext
	VMOVUPS (AX), Y0
	TESTQ   R13, R13
	JZ      il8ilv
	VMOVUPS (R13), Y1

il8ilv:
	VPERMT2PS Z1, Z28, Z0
	TESTQ     R12, R12
	JZ        il8store
	VMOVUPS   (BX), Z4
	VADDPS    Z0, Z4, K1, Z4
	VMOVUPS   Z4, (BX)
	JMP       ilnext

il8store:
	VMOVUPS Z0, (BX)

ilnext:
	ADDQ  R10, DI
	ADDQ  R11, SI
	TESTQ DX, DX
	JZ    ilnoodd
	ADDQ  R11, DX

ilnoodd:
	DECQ R9
	JNZ  ilrow
	VZEROUPPER
	RET

// func phaseRowsZ(plane, ph *float32, rows, w, j0, m, ps, pitch int, mode PhaseMode, ahead int)
// Moves rows of w floats between plane (consecutive rows) and m row phases: plane row i is at
// ph + ((j0+i) mod m)·ps + ((j0+i)/m)·pitch floats. PhaseSplit: plane → phases, PhaseJoin:
// phases → plane, PhaseJoinAdd: plane += phases.
// Whole vectors, then the last w mod 16 floats under a mask. j0 < m. Each plane row first
// prefetches the plane ahead bytes on.
TEXT ·phaseRowsZ(SB), NOSPLIT, $0-80
	MOVQ  plane+0(FP), SI
	MOVQ  ph+8(FP), DI
	MOVQ  rows+16(FP), R8
	MOVQ  w+24(FP), R9
	MOVQ  j0+32(FP), R10
	MOVQ  m+40(FP), R11
	MOVQ  ps+48(FP), R12
	MOVQ  pitch+56(FP), R13
	MOVQ  ahead+72(FP), DX
	SHLQ  $2, R12
	SHLQ  $2, R13
	MOVQ  R9, CX
	ANDQ  $15, CX
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1
	TESTQ R8, R8
	JZ    prdone

prrow:
	// The row's first and last floats, ahead bytes on (rows of at most 32 floats span two lines).
	PREFETCHT0 (SI)(DX*1)
	LEAQ       (SI)(R9*4), AX
	PREFETCHT0 -4(AX)(DX*1)
	// AX: the row's source, BX: its destination (plane → phase row when splitting).
	MOVQ  SI, AX
	MOVQ  R10, BX
	IMULQ R12, BX
	ADDQ  DI, BX
	CMPB  mode+64(FP), $1
	JEQ   prcopy
	XCHGQ AX, BX
	CMPB  mode+64(FP), $2
	JEQ   pradd

prcopy:
	MOVQ  R9, CX
	SHRQ  $4, CX
	TESTQ CX, CX
	JZ    prtail

prvec:
	VMOVUPS (AX), Z0
	VMOVUPS Z0, (BX)
	ADDQ    $64, AX
	ADDQ    $64, BX
	DECQ    CX
	JNZ     prvec

prtail:
	KORTESTW  K1, K1
	JZ        prnext
	VMOVUPS.Z (AX), K1, Z0
	VMOVUPS   Z0, K1, (BX)
	JMP       prnext

	// PhaseJoinAdd: plane += phases (the phase row first, as Add's dm + ds: the same bits).
pradd:
	MOVQ  R9, CX
	SHRQ  $4, CX
	TESTQ CX, CX
	JZ    pratail

pravec:
	VMOVUPS (AX), Z0
	VADDPS  (BX), Z0, Z0
	VMOVUPS Z0, (BX)
	ADDQ    $64, AX
	ADDQ    $64, BX
	DECQ    CX
	JNZ     pravec

pratail:
	KORTESTW  K1, K1
	JZ        prnext
	VMOVUPS.Z (AX), K1, Z0
	VMOVUPS.Z (BX), K1, Z1
	VADDPS    Z1, Z0, Z0
	VMOVUPS   Z0, K1, (BX)

prnext:
	LEAQ (SI)(R9*4), SI
	INCQ R10
	CMPQ R10, R11
	JNE  prcont
	XORQ R10, R10
	ADDQ R13, DI

prcont:
	DECQ R8
	JNZ  prrow

prdone:
	VZEROUPPER
	RET

// PHILOX_ROUND is one Philox4x32 round on the counters of four blocks, one block per 128-bit
// lane, words in memory order [c0, c1, c2, c3]: VPMULUDQ multiplies words 0 and 2 by the lane's
// [mul0, _, mul1, _] into the 64-bit products p0 and p1, VPSHUFD reverses their words into
// [hi p1, lo p1, hi p0, lo p0], and the masked three-way XOR (K1: words 0 and 2) adds c1 and c3
// (the second VPSHUFD moves them into place) and the round key [k0, 0, k1, 0]: the new counter
// [hi p1 ^ c1 ^ k0, lo p1, hi p0 ^ c3 ^ k1, lo p0] of rng.Philox4x32.
#define PHILOX_ROUND(c, out, u, key) \
	VPMULUDQ   Z30, c, out; \
	VPSHUFD    $0x1B, out, out; \
	VPSHUFD    $0x31, c, u; \
	VPTERNLOGD $0x96, key, u, K1, out

// PHILOX10 runs the ten rounds on c (t and u scratch), leaving the output words in c.
#define PHILOX10(c, t, u) \
	PHILOX_ROUND(c, t, u, Z20); \
	PHILOX_ROUND(t, c, u, Z21); \
	PHILOX_ROUND(c, t, u, Z22); \
	PHILOX_ROUND(t, c, u, Z23); \
	PHILOX_ROUND(c, t, u, Z24); \
	PHILOX_ROUND(t, c, u, Z25); \
	PHILOX_ROUND(c, t, u, Z26); \
	PHILOX_ROUND(t, c, u, Z27); \
	PHILOX_ROUND(c, t, u, Z28); \
	PHILOX_ROUND(t, c, u, Z29)

// DROPOUT16 turns the 16 output words in c into uniforms (w>>8)·2⁻²⁴ (exact), keeps where
// u ≥ p (K2), and stores mask = keep or 0 and y = x·mask for the 16 floats at off.
#define DROPOUT16(c, m, off) \
	VPSRLD    $8, c, c; \
	VCVTDQ2PS c, c; \
	VMULPS    Z31, c, c; \
	VCMPPS    $13, Z18, c, K2; \
	VMOVAPS.Z Z19, K2, m; \
	VMULPS    off(SI), m, c; \
	VMOVUPS   m, off(DX); \
	VMOVUPS   c, off(DI)

// func philoxDropoutZ(x, mask, y *float32, groups int, st *[64]uint32, p, keep float32)
// Dropout of 16·groups floats from four consecutive Philox4x32-10 blocks per 16 (engine/cpu's
// dropout, bit for bit). st holds, per 128-bit lane: the ten round keys [k0 + r·bump0, 0,
// k1 + r·bump1, 0] (st[0:40]), then the counters of the first four blocks (st[40:56], one
// lane each), the multipliers [mul0, 0, mul1, 0] (st[56:60]) and the step [4, 0, 0, 0]
// (st[60:64]). The caller guarantees that the blocks' low counter words do not wrap.
TEXT ·philoxDropoutZ(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ mask+8(FP), DX
	MOVQ y+16(FP), DI
	MOVQ groups+24(FP), CX
	MOVQ st+32(FP), AX
	MOVL $0x5555, R8
	KMOVW R8, K1
	VBROADCASTI32X4 0(AX), Z20
	VBROADCASTI32X4 16(AX), Z21
	VBROADCASTI32X4 32(AX), Z22
	VBROADCASTI32X4 48(AX), Z23
	VBROADCASTI32X4 64(AX), Z24
	VBROADCASTI32X4 80(AX), Z25
	VBROADCASTI32X4 96(AX), Z26
	VBROADCASTI32X4 112(AX), Z27
	VBROADCASTI32X4 128(AX), Z28
	VBROADCASTI32X4 144(AX), Z29
	VMOVDQU32 160(AX), Z16
	VBROADCASTI32X4 224(AX), Z30
	VBROADCASTI32X4 240(AX), Z17
	VBROADCASTSS p+40(FP), Z18
	VBROADCASTSS keep+44(FP), Z19
	MOVL $0x33800000, R8 // 2⁻²⁴
	VPBROADCASTD R8, Z31
	MOVQ CX, R9
	SHRQ $2, R9
	JZ   pd1

pd4: // four independent groups (64 floats) per trip: the rounds' latency overlaps
	VMOVDQA32 Z16, Z0
	VPADDD    Z17, Z0, Z1
	VPADDD    Z17, Z1, Z2
	VPADDD    Z17, Z2, Z3
	VPADDD    Z17, Z3, Z16
	PHILOX_ROUND(Z0, Z4, Z8, Z20)
	PHILOX_ROUND(Z1, Z5, Z9, Z20)
	PHILOX_ROUND(Z2, Z6, Z10, Z20)
	PHILOX_ROUND(Z3, Z7, Z11, Z20)
	PHILOX_ROUND(Z4, Z0, Z8, Z21)
	PHILOX_ROUND(Z5, Z1, Z9, Z21)
	PHILOX_ROUND(Z6, Z2, Z10, Z21)
	PHILOX_ROUND(Z7, Z3, Z11, Z21)
	PHILOX_ROUND(Z0, Z4, Z8, Z22)
	PHILOX_ROUND(Z1, Z5, Z9, Z22)
	PHILOX_ROUND(Z2, Z6, Z10, Z22)
	PHILOX_ROUND(Z3, Z7, Z11, Z22)
	PHILOX_ROUND(Z4, Z0, Z8, Z23)
	PHILOX_ROUND(Z5, Z1, Z9, Z23)
	PHILOX_ROUND(Z6, Z2, Z10, Z23)
	PHILOX_ROUND(Z7, Z3, Z11, Z23)
	PHILOX_ROUND(Z0, Z4, Z8, Z24)
	PHILOX_ROUND(Z1, Z5, Z9, Z24)
	PHILOX_ROUND(Z2, Z6, Z10, Z24)
	PHILOX_ROUND(Z3, Z7, Z11, Z24)
	PHILOX_ROUND(Z4, Z0, Z8, Z25)
	PHILOX_ROUND(Z5, Z1, Z9, Z25)
	PHILOX_ROUND(Z6, Z2, Z10, Z25)
	PHILOX_ROUND(Z7, Z3, Z11, Z25)
	PHILOX_ROUND(Z0, Z4, Z8, Z26)
	PHILOX_ROUND(Z1, Z5, Z9, Z26)
	PHILOX_ROUND(Z2, Z6, Z10, Z26)
	PHILOX_ROUND(Z3, Z7, Z11, Z26)
	PHILOX_ROUND(Z4, Z0, Z8, Z27)
	PHILOX_ROUND(Z5, Z1, Z9, Z27)
	PHILOX_ROUND(Z6, Z2, Z10, Z27)
	PHILOX_ROUND(Z7, Z3, Z11, Z27)
	PHILOX_ROUND(Z0, Z4, Z8, Z28)
	PHILOX_ROUND(Z1, Z5, Z9, Z28)
	PHILOX_ROUND(Z2, Z6, Z10, Z28)
	PHILOX_ROUND(Z3, Z7, Z11, Z28)
	PHILOX_ROUND(Z4, Z0, Z8, Z29)
	PHILOX_ROUND(Z5, Z1, Z9, Z29)
	PHILOX_ROUND(Z6, Z2, Z10, Z29)
	PHILOX_ROUND(Z7, Z3, Z11, Z29)
	DROPOUT16(Z0, Z4, 0)
	DROPOUT16(Z1, Z5, 64)
	DROPOUT16(Z2, Z6, 128)
	DROPOUT16(Z3, Z7, 192)
	ADDQ $256, SI
	ADDQ $256, DX
	ADDQ $256, DI
	DECQ R9
	JNZ  pd4

pd1:
	ANDQ $3, CX
	JZ   pddone

pd1loop:
	VMOVDQA32 Z16, Z0
	VPADDD    Z17, Z16, Z16
	PHILOX10(Z0, Z4, Z8)
	DROPOUT16(Z0, Z4, 0)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	DECQ CX
	JNZ  pd1loop

pddone:
	VZEROUPPER
	RET

// func sumDyDyxReLURunsZ(x, y, dy, dz *float32, hw, runs int, mean, sdy, sdyx *float64)
// For each of runs consecutive runs of hw floats (hw a positive multiple of 16), against
// mean[r]: dz = dy where 0 < y, else +0 (reluBackZ), stored, and Σ dz and Σ dz·(x - mean)
// accumulated exactly as sumDyDyxZ accumulates dy (the same lanes, order and fused
// multiply-adds), then added to sdy[r] and sdyx[r]. SumDyDyxReLU runs one run; a call per run
// cost more than its 4–16 vectors on resnet20's 8×8 and 16×16 planes.
TEXT ·sumDyDyxReLURunsZ(SB), NOSPLIT, $0-72
	MOVQ   x+0(FP), SI
	MOVQ   y+8(FP), BX
	MOVQ   dy+16(FP), DX
	MOVQ   dz+24(FP), DI
	MOVQ   runs+40(FP), R9
	MOVQ   mean+48(FP), R10
	MOVQ   sdy+56(FP), R11
	MOVQ   sdyx+64(FP), R12
	VPXORD Z30, Z30, Z30
	TESTQ  R9, R9
	JZ     rrdone

rrrun:
	VBROADCASTSD (R10), Z31
	VPXORQ       Z0, Z0, Z0
	VPXORQ       Z1, Z1, Z1
	VPXORQ       Z2, Z2, Z2
	VPXORQ       Z3, Z3, Z3
	MOVQ         hw+32(FP), CX
	SHRQ         $4, CX

rrloop:
	VCMPPS        $0x11, (BX), Z30, K1
	VMOVUPS.Z     (DX), K1, Z8
	VMOVUPS       Z8, (DI)
	VEXTRACTF32X8 $1, Z8, Y9
	VCVTPS2PD     Y8, Z4
	VCVTPS2PD     Y9, Z5
	VCVTPS2PD     (SI), Z6
	VCVTPS2PD     32(SI), Z7
	VADDPD        Z4, Z0, Z0
	VADDPD        Z5, Z1, Z1
	VSUBPD        Z31, Z6, Z6
	VSUBPD        Z31, Z7, Z7
	VFMADD231PD   Z4, Z6, Z2
	VFMADD231PD   Z5, Z7, Z3
	ADDQ          $64, SI
	ADDQ          $64, BX
	ADDQ          $64, DX
	ADDQ          $64, DI
	DECQ          CX
	JNZ           rrloop

	VADDPD Z1, Z0, Z0
	VADDPD Z3, Z2, Z2
	HSUMPD(Z0, Y0, X0, Y1, X1)
	HSUMPD(Z2, Y2, X2, Y3, X3)
	VADDSD (R11), X0, X0
	VMOVSD X0, (R11)
	VADDSD (R12), X2, X2
	VMOVSD X2, (R12)
	ADDQ   $8, R10
	ADDQ   $8, R11
	ADDQ   $8, R12
	DECQ   R9
	JNZ    rrrun

rrdone:
	VZEROUPPER
	RET

// func bnBackRunsZ(x, dy, dx *float32, hw, runs int, a, b, c, mean *float32)
// bnBackZ on each of runs consecutive runs of hw floats (hw a positive multiple of 16), run r
// with a[r], b[r], c[r] and mean[r].
TEXT ·bnBackRunsZ(SB), NOSPLIT, $0-72
	MOVQ  x+0(FP), SI
	MOVQ  dy+8(FP), DX
	MOVQ  dx+16(FP), DI
	MOVQ  runs+32(FP), R9
	MOVQ  a+40(FP), R10
	MOVQ  b+48(FP), R11
	MOVQ  c+56(FP), R12
	MOVQ  mean+64(FP), R13
	TESTQ R9, R9
	JZ    brdone

brrun:
	VBROADCASTSS (R10), Z28
	VBROADCASTSS (R11), Z29
	VBROADCASTSS (R12), Z30
	VBROADCASTSS (R13), Z31
	MOVQ         hw+24(FP), CX
	SHRQ         $4, CX

brloop:
	VMOVUPS (SI), Z0
	VSUBPS  Z31, Z0, Z0
	VMULPS  Z29, Z0, Z0
	VMULPS  (DX), Z28, Z4
	VADDPS  Z0, Z4, Z4
	VADDPS  Z30, Z4, Z4
	VMOVUPS Z4, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	DECQ    CX
	JNZ     brloop

	ADDQ $4, R10
	ADDQ $4, R11
	ADDQ $4, R12
	ADDQ $4, R13
	DECQ R9
	JNZ  brrun

brdone:
	VZEROUPPER
	RET

// func sum64RunsZ(x *float32, hw, runs int, acc *float64)
// For each of runs consecutive runs of hw floats (hw a positive multiple of 16), Σ x in float64
// over 32 lanes added to acc[r]: lane j of accumulator k sums x[i] for i ≡ 8k+j (mod 32) in
// order (the last 16 elements of an hw ≡ 16 (mod 32) go to accumulators 0 and 1), then
// ((Z0+Z1)+(Z2+Z3)) and HSUMPD. Four independent add chains: Sum64's four-lane order is one.
// Sum64 runs one run.
TEXT ·sum64RunsZ(SB), NOSPLIT, $0-32
	MOVQ  x+0(FP), SI
	MOVQ  runs+16(FP), R9
	MOVQ  acc+24(FP), R11
	TESTQ R9, R9
	JZ    s6rdone

s6run:
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	MOVQ   hw+8(FP), CX
	MOVQ   CX, R8
	SHRQ   $5, R8
	JZ     s6one

s6four:
	VCVTPS2PD (SI), Z4
	VCVTPS2PD 32(SI), Z5
	VCVTPS2PD 64(SI), Z6
	VCVTPS2PD 96(SI), Z7
	VADDPD    Z4, Z0, Z0
	VADDPD    Z5, Z1, Z1
	VADDPD    Z6, Z2, Z2
	VADDPD    Z7, Z3, Z3
	ADDQ      $128, SI
	DECQ      R8
	JNZ       s6four

s6one:
	ANDQ $31, CX
	JZ   s6sum
	VCVTPS2PD (SI), Z4
	VCVTPS2PD 32(SI), Z5
	VADDPD    Z4, Z0, Z0
	VADDPD    Z5, Z1, Z1
	ADDQ      $64, SI

s6sum:
	VADDPD Z1, Z0, Z0
	VADDPD Z3, Z2, Z2
	VADDPD Z2, Z0, Z0
	HSUMPD(Z0, Y0, X0, Y1, X1)
	VADDSD (R11), X0, X0
	VMOVSD X0, (R11)
	ADDQ   $8, R11
	DECQ   R9
	JNZ    s6run

s6rdone:
	VZEROUPPER
	RET

// func sumDevRunsZ(x *float32, hw, runs int, k, s1, s2 *float64)
// For each of runs consecutive runs of hw floats (hw a positive multiple of 16), Σ (x - k[r]) and
// Σ (x - k[r])² in float64 added to s1[r] and s2[r]: 32 floats a trip into four 8-lane
// accumulators each (the squares by fused multiply-add), added in a fixed order at the end. Not
// bit-identical to the Go loop (its own fixed order, so still deterministic). SumDev runs one
// run.
TEXT ·sumDevRunsZ(SB), NOSPLIT, $0-48
	MOVQ  x+0(FP), SI
	MOVQ  runs+16(FP), R9
	MOVQ  k+24(FP), R10
	MOVQ  s1+32(FP), R11
	MOVQ  s2+40(FP), R12
	TESTQ R9, R9
	JZ    sdrdone

sdrun:
	VBROADCASTSD (R10), Z31
	VPXORQ       Z0, Z0, Z0
	VPXORQ       Z1, Z1, Z1
	VPXORQ       Z2, Z2, Z2
	VPXORQ       Z3, Z3, Z3
	VPXORQ       Z8, Z8, Z8
	VPXORQ       Z9, Z9, Z9
	VPXORQ       Z10, Z10, Z10
	VPXORQ       Z11, Z11, Z11
	MOVQ         hw+8(FP), CX
	MOVQ         CX, R8
	SHRQ         $5, R8
	JZ           sdrone

sdrfour:
	VCVTPS2PD   (SI), Z4
	VCVTPS2PD   32(SI), Z5
	VCVTPS2PD   64(SI), Z6
	VCVTPS2PD   96(SI), Z7
	VSUBPD      Z31, Z4, Z4
	VSUBPD      Z31, Z5, Z5
	VSUBPD      Z31, Z6, Z6
	VSUBPD      Z31, Z7, Z7
	VADDPD      Z4, Z8, Z8
	VADDPD      Z5, Z9, Z9
	VADDPD      Z6, Z10, Z10
	VADDPD      Z7, Z11, Z11
	VFMADD231PD Z4, Z4, Z0
	VFMADD231PD Z5, Z5, Z1
	VFMADD231PD Z6, Z6, Z2
	VFMADD231PD Z7, Z7, Z3
	ADDQ        $128, SI
	DECQ        R8
	JNZ         sdrfour

sdrone:
	ANDQ $31, CX
	JZ   sdrsum
	VCVTPS2PD   (SI), Z4
	VCVTPS2PD   32(SI), Z5
	VSUBPD      Z31, Z4, Z4
	VSUBPD      Z31, Z5, Z5
	VADDPD      Z4, Z8, Z8
	VADDPD      Z5, Z9, Z9
	VFMADD231PD Z4, Z4, Z0
	VFMADD231PD Z5, Z5, Z1
	ADDQ        $64, SI

sdrsum:
	VADDPD Z9, Z8, Z8
	VADDPD Z11, Z10, Z10
	VADDPD Z10, Z8, Z8
	HSUMPD(Z8, Y8, X8, Y9, X9)
	VADDSD (R11), X8, X8
	VMOVSD X8, (R11)
	VADDPD Z1, Z0, Z0
	VADDPD Z3, Z2, Z2
	VADDPD Z2, Z0, Z0
	HSUMPD(Z0, Y0, X0, Y1, X1)
	VADDSD (R12), X0, X0
	VMOVSD X0, (R12)
	ADDQ   $8, R10
	ADDQ   $8, R11
	ADDQ   $8, R12
	DECQ   R9
	JNZ    sdrun

sdrdone:
	VZEROUPPER
	RET

// func scaleShiftReLURunsZ(x, res, y *float32, hw, runs int, mean, scale, shift *float32)
// scaleShiftReLUZ on each of runs consecutive runs of hw floats (hw a positive multiple of 16),
// run r with mean[r], scale[r] and shift[r] (res nil: no add).
TEXT ·scaleShiftReLURunsZ(SB), NOSPLIT, $0-64
	MOVQ   x+0(FP), SI
	MOVQ   res+8(FP), DX
	MOVQ   y+16(FP), DI
	MOVQ   runs+32(FP), R9
	MOVQ   mean+40(FP), R10
	MOVQ   scale+48(FP), R11
	MOVQ   shift+56(FP), R12
	VPXORD Z28, Z28, Z28
	TESTQ  R9, R9
	JZ     ssrdone

ssrun:
	VBROADCASTSS (R10), Z29
	VBROADCASTSS (R11), Z30
	VBROADCASTSS (R12), Z31
	MOVQ         hw+24(FP), CX
	SHRQ         $4, CX

ssrloop:
	VMOVUPS (SI), Z0
	VSUBPS  Z29, Z0, Z0
	VMULPS  Z30, Z0, Z0
	VADDPS  Z31, Z0, Z0
	TESTQ   DX, DX
	JZ      ssrrelu
	VADDPS  (DX), Z0, Z0
	ADDQ    $64, DX

ssrrelu:
	SSRELU(Z0, Z4, K1)
	VMOVUPS Z4, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     ssrloop

	ADDQ $4, R10
	ADDQ $4, R11
	ADDQ $4, R12
	DECQ R9
	JNZ  ssrun

ssrdone:
	VZEROUPPER
	RET
