//go:build amd64

#include "textflag.h"

// One k step of the 6×16 micro-kernel: two 8-wide loads of the B row, six broadcasts of the A
// column, twelve FMAs into the accumulators Y0..Y11 (row r lives in Y(2r), Y(2r+1)).
// AOFF and BOFF are the byte offsets of this step inside the current unrolled group.
#define STEP(AOFF, BOFF) \
	VMOVUPS      BOFF(BX), Y12; \
	VMOVUPS      BOFF+32(BX), Y13; \
	VBROADCASTSS AOFF(AX), Y14; \
	VFMADD231PS  Y12, Y14, Y0; \
	VFMADD231PS  Y13, Y14, Y1; \
	VBROADCASTSS AOFF+4(AX), Y15; \
	VFMADD231PS  Y12, Y15, Y2; \
	VFMADD231PS  Y13, Y15, Y3; \
	VBROADCASTSS AOFF+8(AX), Y14; \
	VFMADD231PS  Y12, Y14, Y4; \
	VFMADD231PS  Y13, Y14, Y5; \
	VBROADCASTSS AOFF+12(AX), Y15; \
	VFMADD231PS  Y12, Y15, Y6; \
	VFMADD231PS  Y13, Y15, Y7; \
	VBROADCASTSS AOFF+16(AX), Y14; \
	VFMADD231PS  Y12, Y14, Y8; \
	VFMADD231PS  Y13, Y14, Y9; \
	VBROADCASTSS AOFF+20(AX), Y15; \
	VFMADD231PS  Y12, Y15, Y10; \
	VFMADD231PS  Y13, Y15, Y11

// EPILOGUE scales the accumulators by alpha (Y12), adds beta (Y13) times the 6×16 tile at DI
// (row stride DX bytes) when R9 is nonzero, and stores them there. Labels are per function, so each kernel may use it once.
#define EPILOGUE \
	VMULPS       Y12, Y0, Y0; \
	VMULPS       Y12, Y1, Y1; \
	VMULPS       Y12, Y2, Y2; \
	VMULPS       Y12, Y3, Y3; \
	VMULPS       Y12, Y4, Y4; \
	VMULPS       Y12, Y5, Y5; \
	VMULPS       Y12, Y6, Y6; \
	VMULPS       Y12, Y7, Y7; \
	VMULPS       Y12, Y8, Y8; \
	VMULPS       Y12, Y9, Y9; \
	VMULPS       Y12, Y10, Y10; \
	VMULPS       Y12, Y11, Y11; \
	LEAQ         (DI)(DX*2), R10; \
	LEAQ         (DI)(DX*4), R11; \
	TESTQ        R9, R9; \
	JZ           store; \
	VFMADD231PS  (DI), Y13, Y0; \
	VFMADD231PS  32(DI), Y13, Y1; \
	VFMADD231PS  (DI)(DX*1), Y13, Y2; \
	VFMADD231PS  32(DI)(DX*1), Y13, Y3; \
	VFMADD231PS  (R10), Y13, Y4; \
	VFMADD231PS  32(R10), Y13, Y5; \
	VFMADD231PS  (R10)(DX*1), Y13, Y6; \
	VFMADD231PS  32(R10)(DX*1), Y13, Y7; \
	VFMADD231PS  (R11), Y13, Y8; \
	VFMADD231PS  32(R11), Y13, Y9; \
	VFMADD231PS  (R11)(DX*1), Y13, Y10; \
	VFMADD231PS  32(R11)(DX*1), Y13, Y11; \
store: \
	VMOVUPS      Y0, (DI); \
	VMOVUPS      Y1, 32(DI); \
	VMOVUPS      Y2, (DI)(DX*1); \
	VMOVUPS      Y3, 32(DI)(DX*1); \
	VMOVUPS      Y4, (R10); \
	VMOVUPS      Y5, 32(R10); \
	VMOVUPS      Y6, (R10)(DX*1); \
	VMOVUPS      Y7, 32(R10)(DX*1); \
	VMOVUPS      Y8, (R11); \
	VMOVUPS      Y9, 32(R11); \
	VMOVUPS      Y10, (R11)(DX*1); \
	VMOVUPS      Y11, 32(R11)(DX*1); \
	VZEROUPPER

// STEPD is STEP for an unpacked row-major A: the six rows start at AX, AX+SI, AX+2*SI, R12,
// R12+SI and R12+2*SI (SI = lda in bytes, R12 = AX+3*SI), each advancing 4 bytes per k step.
#define STEPD(AOFF, BOFF) \
	VMOVUPS      BOFF(BX), Y12; \
	VMOVUPS      BOFF+32(BX), Y13; \
	VBROADCASTSS AOFF(AX), Y14; \
	VFMADD231PS  Y12, Y14, Y0; \
	VFMADD231PS  Y13, Y14, Y1; \
	VBROADCASTSS AOFF(AX)(SI*1), Y15; \
	VFMADD231PS  Y12, Y15, Y2; \
	VFMADD231PS  Y13, Y15, Y3; \
	VBROADCASTSS AOFF(AX)(SI*2), Y14; \
	VFMADD231PS  Y12, Y14, Y4; \
	VFMADD231PS  Y13, Y14, Y5; \
	VBROADCASTSS AOFF(R12), Y15; \
	VFMADD231PS  Y12, Y15, Y6; \
	VFMADD231PS  Y13, Y15, Y7; \
	VBROADCASTSS AOFF(R12)(SI*1), Y14; \
	VFMADD231PS  Y12, Y14, Y8; \
	VFMADD231PS  Y13, Y14, Y9; \
	VBROADCASTSS AOFF(R12)(SI*2), Y15; \
	VFMADD231PS  Y12, Y15, Y10; \
	VFMADD231PS  Y13, Y15, Y11

#define ZERO_ACC \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7; \
	VXORPS Y8, Y8, Y8; \
	VXORPS Y9, Y9, Y9; \
	VXORPS Y10, Y10, Y10; \
	VXORPS Y11, Y11, Y11

// func kernel6x16(kc int, a, b, c *float32, ldc int, alpha, beta float32, loadC int)
TEXT ·kernel6x16(SB), NOSPLIT, $0-56
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ b+16(FP), BX
	MOVQ c+24(FP), DI
	MOVQ ldc+32(FP), DX
	SHLQ $2, DX

	ZERO_ACC

	// Unrolled by 4: fewer loop branches and pointer bumps per FMA.
	MOVQ CX, R8
	SHRQ $2, R8
	ANDQ $3, CX
	TESTQ R8, R8
	JZ   tail

loop4:
	STEP(0, 0)
	STEP(24, 64)
	STEP(48, 128)
	STEP(72, 192)
	ADDQ $96, AX
	ADDQ $256, BX
	DECQ R8
	JNZ  loop4

tail:
	TESTQ CX, CX
	JZ    done

loop1:
	STEP(0, 0)
	ADDQ $24, AX
	ADDQ $64, BX
	DECQ CX
	JNZ  loop1

done:
	VBROADCASTSS alpha+40(FP), Y12
	VBROADCASTSS beta+44(FP), Y13
	MOVQ         loadC+48(FP), R9
	EPILOGUE
	RET

// func kernel6x16Direct(kc int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, loadC int)
TEXT ·kernel6x16Direct(SB), NOSPLIT, $0-64
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ lda+16(FP), SI
	SHLQ $2, SI
	LEAQ (AX)(SI*2), R12
	ADDQ SI, R12
	MOVQ b+24(FP), BX
	MOVQ c+32(FP), DI
	MOVQ ldc+40(FP), DX
	SHLQ $2, DX
	ZERO_ACC

	MOVQ  CX, R8
	SHRQ  $2, R8
	ANDQ  $3, CX
	TESTQ R8, R8
	JZ    dtail

dloop4:
	STEPD(0, 0)
	STEPD(4, 64)
	STEPD(8, 128)
	STEPD(12, 192)
	ADDQ $16, AX
	ADDQ $16, R12
	ADDQ $256, BX
	DECQ R8
	JNZ  dloop4

dtail:
	TESTQ CX, CX
	JZ    ddone

dloop1:
	STEPD(0, 0)
	ADDQ $4, AX
	ADDQ $4, R12
	ADDQ $64, BX
	DECQ CX
	JNZ  dloop1

ddone:
	VBROADCASTSS alpha+48(FP), Y12
	VBROADCASTSS beta+52(FP), Y13
	MOVQ         loadC+56(FP), R9
	EPILOGUE
	RET

// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET

// func addAVX(dst, src *float32, n int)
// dst[i] += src[i] for i < n, n a multiple of 32 (AVX, four YMM registers per step).
TEXT ·addAVX(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $5, CX
	JZ   adone

aloop:
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VADDPS  (SI), Y0, Y0
	VADDPS  32(SI), Y1, Y1
	VADDPS  64(SI), Y2, Y2
	VADDPS  96(SI), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, DI
	ADDQ    $128, SI
	DECQ    CX
	JNZ     aloop

adone:
	VZEROUPPER
	RET

// RELU8 sets Y(dst) = max(Y(src), 0) with NaN kept: VMAXPS returns its second source (0) for a
// NaN, so NaN lanes (unordered compare of x with itself) are blended back in. Y15 holds zero.
#define RELU8(src, dst, tmp) \
	VMAXPS    Y15, src, dst; \
	VCMPPS    $3, src, src, tmp; \
	VBLENDVPS tmp, src, dst, dst

// func reluAVX(dst, src *float32, n int)
TEXT ·reluAVX(SB), NOSPLIT, $0-24
	MOVQ   dst+0(FP), DI
	MOVQ   src+8(FP), SI
	MOVQ   n+16(FP), CX
	SHRQ   $5, CX
	JZ     rdone
	VXORPS Y15, Y15, Y15

rloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	RELU8(Y0, Y4, Y8)
	RELU8(Y1, Y5, Y9)
	RELU8(Y2, Y6, Y10)
	RELU8(Y3, Y7, Y11)
	VMOVUPS Y4, (DI)
	VMOVUPS Y5, 32(DI)
	VMOVUPS Y6, 64(DI)
	VMOVUPS Y7, 96(DI)
	ADDQ    $128, DI
	ADDQ    $128, SI
	DECQ    CX
	JNZ     rloop

rdone:
	VZEROUPPER
	RET

// func reluBackAVX(dx, y, dy *float32, n int)
// The mask y > 0 (ordered: false for NaN) selects dy or +0.
TEXT ·reluBackAVX(SB), NOSPLIT, $0-32
	MOVQ   dx+0(FP), DI
	MOVQ   y+8(FP), SI
	MOVQ   dy+16(FP), DX
	MOVQ   n+24(FP), CX
	SHRQ   $5, CX
	JZ     rbdone
	VXORPS Y15, Y15, Y15

rbloop:
	VCMPPS  $0x11, (SI), Y15, Y0 // LT_OQ: 0 < y
	VCMPPS  $0x11, 32(SI), Y15, Y1
	VCMPPS  $0x11, 64(SI), Y15, Y2
	VCMPPS  $0x11, 96(SI), Y15, Y3
	VANDPS  (DX), Y0, Y0
	VANDPS  32(DX), Y1, Y1
	VANDPS  64(DX), Y2, Y2
	VANDPS  96(DX), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, DI
	ADDQ    $128, SI
	ADDQ    $128, DX
	DECQ    CX
	JNZ     rbloop

rbdone:
	VZEROUPPER
	RET

// func addConstAVX(dst *float32, v float32, n int)
TEXT ·addConstAVX(SB), NOSPLIT, $0-24
	MOVQ         dst+0(FP), DI
	VBROADCASTSS v+8(FP), Y15
	MOVQ         n+16(FP), CX
	SHRQ         $5, CX
	JZ           acdone

acloop:
	VADDPS  (DI), Y15, Y0
	VADDPS  32(DI), Y15, Y1
	VADDPS  64(DI), Y15, Y2
	VADDPS  96(DI), Y15, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, DI
	DECQ    CX
	JNZ     acloop

acdone:
	VZEROUPPER
	RET

// func sum64AVX(x *float32, n int, s *[4]float64)
// One float64 accumulator per lane i%4 (Y0), so the sum is bit-identical to the scalar
// four-accumulator loop; the four conversions per step are independent of the add chain.
TEXT ·sum64AVX(SB), NOSPLIT, $0-24
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), CX
	MOVQ    s+16(FP), DI
	VMOVUPD (DI), Y0
	SHRQ    $4, CX
	JZ      sdone

sloop:
	VCVTPS2PD (SI), Y1
	VCVTPS2PD 16(SI), Y2
	VCVTPS2PD 32(SI), Y3
	VCVTPS2PD 48(SI), Y4
	VADDPD    Y1, Y0, Y0
	VADDPD    Y2, Y0, Y0
	VADDPD    Y3, Y0, Y0
	VADDPD    Y4, Y0, Y0
	ADDQ      $64, SI
	DECQ      CX
	JNZ       sloop

sdone:
	VMOVUPD Y0, (DI)
	VZEROUPPER
	RET

// DOTSTEP: one 8-wide k step of dot4x3 at byte offset OFF: the three B rows (BX, BX+R9,
// BX+2*R9) into Y12..Y14, then each A row (AX, AX+SI, AX+2*SI, R12) into Y15 and three FMAs
// into its accumulators Y(3i)..Y(3i+2).
#define DOTSTEP(OFF) \
	VMOVUPS     OFF(BX), Y12; \
	VMOVUPS     OFF(BX)(R9*1), Y13; \
	VMOVUPS     OFF(BX)(R9*2), Y14; \
	VMOVUPS     OFF(AX), Y15; \
	VFMADD231PS Y12, Y15, Y0; \
	VFMADD231PS Y13, Y15, Y1; \
	VFMADD231PS Y14, Y15, Y2; \
	VMOVUPS     OFF(AX)(SI*1), Y15; \
	VFMADD231PS Y12, Y15, Y3; \
	VFMADD231PS Y13, Y15, Y4; \
	VFMADD231PS Y14, Y15, Y5; \
	VMOVUPS     OFF(AX)(SI*2), Y15; \
	VFMADD231PS Y12, Y15, Y6; \
	VFMADD231PS Y13, Y15, Y7; \
	VFMADD231PS Y14, Y15, Y8; \
	VMOVUPS     OFF(R12), Y15; \
	VFMADD231PS Y12, Y15, Y9; \
	VFMADD231PS Y13, Y15, Y10; \
	VFMADD231PS Y14, Y15, Y11

// func dot4x3(k int, a *float32, lda int, b *float32, ldb int, out *[12]float32)
TEXT ·dot4x3(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ lda+16(FP), SI
	SHLQ $2, SI
	LEAQ (AX)(SI*2), R12
	ADDQ SI, R12
	MOVQ b+24(FP), BX
	MOVQ ldb+32(FP), R9
	SHLQ $2, R9
	MOVQ out+40(FP), DI
	ZERO_ACC

	SHRQ  $3, CX // 8-wide steps
	MOVQ  CX, R8
	SHRQ  $1, R8
	ANDQ  $1, CX
	TESTQ R8, R8
	JZ    dottail

dotloop2:
	DOTSTEP(0)
	DOTSTEP(32)
	ADDQ $64, AX
	ADDQ $64, BX
	ADDQ $64, R12
	DECQ R8
	JNZ  dotloop2

dottail:
	TESTQ CX, CX
	JZ    dotdone
	DOTSTEP(0)

dotdone:
	// Horizontal sums. Accumulators 0..7: two rounds of pairwise adds leave, in each 128-bit
	// half, the four partial sums of four accumulators; adding the halves gives all eight.
	VHADDPS    Y1, Y0, Y0
	VHADDPS    Y3, Y2, Y2
	VHADDPS    Y5, Y4, Y4
	VHADDPS    Y7, Y6, Y6
	VHADDPS    Y2, Y0, Y0 // [s0 s1 s2 s3 | s0' s1' s2' s3'] of accumulators 0..3
	VHADDPS    Y6, Y4, Y4 // the same for 4..7
	VPERM2F128 $0x20, Y4, Y0, Y12 // low halves: [0..3 lo | 4..7 lo]
	VPERM2F128 $0x31, Y4, Y0, Y13 // high halves
	VADDPS     Y13, Y12, Y12
	VMOVUPS    Y12, (DI)
	// Accumulators 8..11.
	VHADDPS      Y9, Y8, Y8
	VHADDPS      Y11, Y10, Y10
	VHADDPS      Y10, Y8, Y8
	VEXTRACTF128 $1, Y8, X9
	VADDPS       X9, X8, X8
	VMOVUPS      X8, 32(DI)
	VZEROUPPER
	RET

// func axpyAVX(dst *float32, alpha float32, src *float32, n int)
TEXT ·axpyAVX(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	VBROADCASTSS alpha+8(FP), Y15
	MOVQ         src+16(FP), SI
	MOVQ         n+24(FP), CX
	SHRQ         $5, CX
	JZ           axdone

axloop:
	VMOVUPS     (DI), Y0
	VMOVUPS     32(DI), Y1
	VMOVUPS     64(DI), Y2
	VMOVUPS     96(DI), Y3
	VFMADD231PS (SI), Y15, Y0
	VFMADD231PS 32(SI), Y15, Y1
	VFMADD231PS 64(SI), Y15, Y2
	VFMADD231PS 96(SI), Y15, Y3
	VMOVUPS     Y0, (DI)
	VMOVUPS     Y1, 32(DI)
	VMOVUPS     Y2, 64(DI)
	VMOVUPS     Y3, 96(DI)
	ADDQ        $128, DI
	ADDQ        $128, SI
	DECQ        CX
	JNZ         axloop

axdone:
	VZEROUPPER
	RET

// func packBRowsAVX(dst, src *float32, ldb, kc, panels int)
// Row by row (one sequential read stream per row), two 32-byte moves per panel.
TEXT ·packBRowsAVX(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ldb+16(FP), R8
	SHLQ $2, R8        // src row stride, bytes
	MOVQ kc+24(FP), CX
	MOVQ panels+32(FP), R9
	MOVQ CX, R10
	SHLQ $6, R10       // dst panel stride: kc*16*4 bytes
	TESTQ CX, CX
	JZ    pbdone
	TESTQ R9, R9
	JZ    pbdone

pbrow:
	MOVQ SI, AX
	MOVQ DI, BX
	MOVQ R9, DX

pbpanel:
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	VMOVUPS Y0, (BX)
	VMOVUPS Y1, 32(BX)
	ADDQ    $64, AX
	ADDQ    R10, BX
	DECQ    DX
	JNZ     pbpanel

	ADDQ R8, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  pbrow

pbdone:
	VZEROUPPER
	RET

// func addTo64AVX(acc *float64, x *float32, n int)
// acc[i] += float64(x[i]) for i < n, n a multiple of 16 (AVX).
TEXT ·addTo64AVX(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ   a64done

a64loop:
	VCVTPS2PD (SI), Y0
	VCVTPS2PD 16(SI), Y1
	VCVTPS2PD 32(SI), Y2
	VCVTPS2PD 48(SI), Y3
	VADDPD    (DI), Y0, Y0
	VADDPD    32(DI), Y1, Y1
	VADDPD    64(DI), Y2, Y2
	VADDPD    96(DI), Y3, Y3
	VMOVUPD   Y0, (DI)
	VMOVUPD   Y1, 32(DI)
	VMOVUPD   Y2, 64(DI)
	VMOVUPD   Y3, 96(DI)
	ADDQ      $64, SI
	ADDQ      $128, DI
	DECQ      CX
	JNZ       a64loop

a64done:
	VZEROUPPER
	RET
