//go:build amd64

#include "textflag.h"

// Matrix–vector kernels of the stored dense projection (gemv.go): four rows of A streamed once
// per call, on ZMM (AVX-512F) or YMM (AVX2+FMA) registers. Each loop trip prefetches the lines
// 512 bytes ahead in every row (PREFETCHT0 never faults, so running past a row's end is
// harmless): the hardware prefetchers alone keep too few misses in flight per core. On the
// 2-core EPYC it read A 7–26 % faster on one core (bench/results/cpu-2026-12-04/projection-2).

// PREFETCH4ROWS fetches the line off bytes ahead of the loop's offset AX in each of the four
// rows (SI, R9, R10, R11): once per 64-byte block a trip reads from a row.
#define PREFETCH4ROWS(off) \
	PREFETCHT0 off(SI)(AX*1); \
	PREFETCHT0 off(R9)(AX*1); \
	PREFETCHT0 off(R10)(AX*1); \
	PREFETCHT0 off(R11)(AX*1)

// func gemvDot4Z(n int, a *float32, lda int, x *float32, out *[64]float32)
// out[16r+l] = Σ_{p ≡ l mod 16} a[r·lda+p]·x[p] for r < 4, n a multiple of 32: two 16-lane
// accumulators per row (even and odd 64-byte blocks), added at the end.
TEXT ·gemvDot4Z(SB), NOSPLIT, $0-40
	MOVQ   n+0(FP), CX
	MOVQ   a+8(FP), SI
	MOVQ   lda+16(FP), DX
	SHLQ   $2, DX
	MOVQ   x+24(FP), DI
	MOVQ   out+32(FP), R8
	LEAQ   (SI)(DX*1), R9
	LEAQ   (R9)(DX*1), R10
	LEAQ   (R10)(DX*1), R11
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	XORQ   AX, AX
	SHRQ   $5, CX
	JZ     zdotdone

zdotloop:
	PREFETCH4ROWS(512)
	PREFETCH4ROWS(576)
	VMOVUPS     (DI)(AX*1), Z8
	VMOVUPS     64(DI)(AX*1), Z9
	VFMADD231PS (SI)(AX*1), Z8, Z0
	VFMADD231PS 64(SI)(AX*1), Z9, Z1
	VFMADD231PS (R9)(AX*1), Z8, Z2
	VFMADD231PS 64(R9)(AX*1), Z9, Z3
	VFMADD231PS (R10)(AX*1), Z8, Z4
	VFMADD231PS 64(R10)(AX*1), Z9, Z5
	VFMADD231PS (R11)(AX*1), Z8, Z6
	VFMADD231PS 64(R11)(AX*1), Z9, Z7
	ADDQ        $128, AX
	DECQ        CX
	JNZ         zdotloop

zdotdone:
	VADDPS  Z1, Z0, Z0
	VADDPS  Z3, Z2, Z2
	VADDPS  Z5, Z4, Z4
	VADDPS  Z7, Z6, Z6
	VMOVUPS Z0, (R8)
	VMOVUPS Z2, 64(R8)
	VMOVUPS Z4, 128(R8)
	VMOVUPS Z6, 192(R8)
	VZEROUPPER
	RET

// func gemvDot4Y(n int, a *float32, lda int, x *float32, out *[32]float32)
// out[8r+l] = Σ_{p ≡ l mod 8} a[r·lda+p]·x[p] for r < 4, n a multiple of 16.
TEXT ·gemvDot4Y(SB), NOSPLIT, $0-40
	MOVQ   n+0(FP), CX
	MOVQ   a+8(FP), SI
	MOVQ   lda+16(FP), DX
	SHLQ   $2, DX
	MOVQ   x+24(FP), DI
	MOVQ   out+32(FP), R8
	LEAQ   (SI)(DX*1), R9
	LEAQ   (R9)(DX*1), R10
	LEAQ   (R10)(DX*1), R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ   AX, AX
	SHRQ   $4, CX
	JZ     ydotdone

ydotloop:
	PREFETCH4ROWS(512)
	VMOVUPS     (DI)(AX*1), Y8
	VMOVUPS     32(DI)(AX*1), Y9
	VFMADD231PS (SI)(AX*1), Y8, Y0
	VFMADD231PS 32(SI)(AX*1), Y9, Y1
	VFMADD231PS (R9)(AX*1), Y8, Y2
	VFMADD231PS 32(R9)(AX*1), Y9, Y3
	VFMADD231PS (R10)(AX*1), Y8, Y4
	VFMADD231PS 32(R10)(AX*1), Y9, Y5
	VFMADD231PS (R11)(AX*1), Y8, Y6
	VFMADD231PS 32(R11)(AX*1), Y9, Y7
	ADDQ        $64, AX
	DECQ        CX
	JNZ         ydotloop

ydotdone:
	VADDPS  Y1, Y0, Y0
	VADDPS  Y3, Y2, Y2
	VADDPS  Y5, Y4, Y4
	VADDPS  Y7, Y6, Y6
	VMOVUPS Y0, (R8)
	VMOVUPS Y2, 32(R8)
	VMOVUPS Y4, 64(R8)
	VMOVUPS Y6, 96(R8)
	VZEROUPPER
	RET

// func gemvAcc4Z(w int, a *float32, lda int, c *[4]float32, acc *float32)
// acc[k] = (((acc[k] + c0·a[k]) + c1·a[lda+k]) + c2·a[2lda+k]) + c3·a[3lda+k] (each step one
// fused multiply-add) for k < w, w a multiple of 32.
TEXT ·gemvAcc4Z(SB), NOSPLIT, $0-40
	MOVQ         w+0(FP), CX
	MOVQ         a+8(FP), SI
	MOVQ         lda+16(FP), DX
	SHLQ         $2, DX
	MOVQ         c+24(FP), R8
	MOVQ         acc+32(FP), DI
	VBROADCASTSS 0(R8), Z12
	VBROADCASTSS 4(R8), Z13
	VBROADCASTSS 8(R8), Z14
	VBROADCASTSS 12(R8), Z15
	LEAQ         (SI)(DX*1), R9
	LEAQ         (R9)(DX*1), R10
	LEAQ         (R10)(DX*1), R11
	XORQ         AX, AX
	SHRQ         $5, CX
	JZ           zaccdone

zaccloop:
	PREFETCH4ROWS(512)
	PREFETCH4ROWS(576)
	VMOVUPS     (DI)(AX*1), Z0
	VMOVUPS     64(DI)(AX*1), Z1
	VFMADD231PS (SI)(AX*1), Z12, Z0
	VFMADD231PS 64(SI)(AX*1), Z12, Z1
	VFMADD231PS (R9)(AX*1), Z13, Z0
	VFMADD231PS 64(R9)(AX*1), Z13, Z1
	VFMADD231PS (R10)(AX*1), Z14, Z0
	VFMADD231PS 64(R10)(AX*1), Z14, Z1
	VFMADD231PS (R11)(AX*1), Z15, Z0
	VFMADD231PS 64(R11)(AX*1), Z15, Z1
	VMOVUPS     Z0, (DI)(AX*1)
	VMOVUPS     Z1, 64(DI)(AX*1)
	ADDQ        $128, AX
	DECQ        CX
	JNZ         zaccloop

zaccdone:
	VZEROUPPER
	RET

// func gemvAcc4Y(w int, a *float32, lda int, c *[4]float32, acc *float32)
// gemvAcc4Z on YMM registers, w a multiple of 16.
TEXT ·gemvAcc4Y(SB), NOSPLIT, $0-40
	MOVQ         w+0(FP), CX
	MOVQ         a+8(FP), SI
	MOVQ         lda+16(FP), DX
	SHLQ         $2, DX
	MOVQ         c+24(FP), R8
	MOVQ         acc+32(FP), DI
	VBROADCASTSS 0(R8), Y12
	VBROADCASTSS 4(R8), Y13
	VBROADCASTSS 8(R8), Y14
	VBROADCASTSS 12(R8), Y15
	LEAQ         (SI)(DX*1), R9
	LEAQ         (R9)(DX*1), R10
	LEAQ         (R10)(DX*1), R11
	XORQ         AX, AX
	SHRQ         $4, CX
	JZ           yaccdone

yaccloop:
	PREFETCH4ROWS(512)
	VMOVUPS     (DI)(AX*1), Y0
	VMOVUPS     32(DI)(AX*1), Y1
	VFMADD231PS (SI)(AX*1), Y12, Y0
	VFMADD231PS 32(SI)(AX*1), Y12, Y1
	VFMADD231PS (R9)(AX*1), Y13, Y0
	VFMADD231PS 32(R9)(AX*1), Y13, Y1
	VFMADD231PS (R10)(AX*1), Y14, Y0
	VFMADD231PS 32(R10)(AX*1), Y14, Y1
	VFMADD231PS (R11)(AX*1), Y15, Y0
	VFMADD231PS 32(R11)(AX*1), Y15, Y1
	VMOVUPS     Y0, (DI)(AX*1)
	VMOVUPS     Y1, 32(DI)(AX*1)
	ADDQ        $64, AX
	DECQ        CX
	JNZ         yaccloop

yaccdone:
	VZEROUPPER
	RET
