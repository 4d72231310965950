//go:build amd64

#include "textflag.h"

// The filter gradient of a one-channel 5-wide convolution (conv1.go): for four output channels k
// and the five column shifts s of one filter row, acc[5k+s] (16 lanes each) += Σ over the rows of
// nimg images of dy[k][row][ow]·xp[row][ow+s], ow in two 16-lane halves (the second masked to
// the row's last ow−16 columns). xp is the zero-padded input, rows pitch floats apart, already
// advanced to the filter row. Twenty accumulators Z0–Z19 (Z(5k+s)), the five shifted input
// vectors Z20–Z24, the four output-gradient vectors Z25–Z28.

// C1FMA20 adds the products of the four dy vectors with the five x vectors.
#define C1FMA20 \
	VFMADD231PS Z20, Z25, Z0; \
	VFMADD231PS Z21, Z25, Z1; \
	VFMADD231PS Z22, Z25, Z2; \
	VFMADD231PS Z23, Z25, Z3; \
	VFMADD231PS Z24, Z25, Z4; \
	VFMADD231PS Z20, Z26, Z5; \
	VFMADD231PS Z21, Z26, Z6; \
	VFMADD231PS Z22, Z26, Z7; \
	VFMADD231PS Z23, Z26, Z8; \
	VFMADD231PS Z24, Z26, Z9; \
	VFMADD231PS Z20, Z27, Z10; \
	VFMADD231PS Z21, Z27, Z11; \
	VFMADD231PS Z22, Z27, Z12; \
	VFMADD231PS Z23, Z27, Z13; \
	VFMADD231PS Z24, Z27, Z14; \
	VFMADD231PS Z20, Z28, Z15; \
	VFMADD231PS Z21, Z28, Z16; \
	VFMADD231PS Z22, Z28, Z17; \
	VFMADD231PS Z23, Z28, Z18; \
	VFMADD231PS Z24, Z28, Z19

// func conv1FilterZ(acc, dy *float32, dyImg, ks, ow int, x *float32, xImg, pitch, nimg, rows int)
// dy: channel k's row r of image i at dy + i·dyImg + k·ks + r·ow; x: row r of image i at
// x + i·xImg + r·pitch. Counts in floats; 16 < ow ≤ 32.
TEXT ·conv1FilterZ(SB), NOSPLIT, $0-80
	MOVQ acc+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ dyImg+16(FP), R8
	MOVQ ks+24(FP), R9
	MOVQ ow+32(FP), R10
	MOVQ x+40(FP), DX
	MOVQ xImg+48(FP), R11
	MOVQ pitch+56(FP), R12
	MOVQ nimg+64(FP), R13
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R11
	SHLQ $2, R12
	LEAQ (R9)(R9*2), R14 // 3·ks bytes

	// K1: the second half's ow−16 columns.
	MOVQ  R10, CX
	SUBQ  $16, CX
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1
	SHLQ  $2, R10

	VMOVUPS 0(DI), Z0
	VMOVUPS 64(DI), Z1
	VMOVUPS 128(DI), Z2
	VMOVUPS 192(DI), Z3
	VMOVUPS 256(DI), Z4
	VMOVUPS 320(DI), Z5
	VMOVUPS 384(DI), Z6
	VMOVUPS 448(DI), Z7
	VMOVUPS 512(DI), Z8
	VMOVUPS 576(DI), Z9
	VMOVUPS 640(DI), Z10
	VMOVUPS 704(DI), Z11
	VMOVUPS 768(DI), Z12
	VMOVUPS 832(DI), Z13
	VMOVUPS 896(DI), Z14
	VMOVUPS 960(DI), Z15
	VMOVUPS 1024(DI), Z16
	VMOVUPS 1088(DI), Z17
	VMOVUPS 1152(DI), Z18
	VMOVUPS 1216(DI), Z19

	TESTQ R13, R13
	JZ    c1done

c1img:
	MOVQ SI, AX // this image's dy row
	MOVQ DX, BX // and x row
	MOVQ rows+72(FP), CX
	TESTQ CX, CX
	JZ    c1nextimg

c1row:
	VMOVUPS 0(BX), Z20
	VMOVUPS 4(BX), Z21
	VMOVUPS 8(BX), Z22
	VMOVUPS 12(BX), Z23
	VMOVUPS 16(BX), Z24
	VMOVUPS (AX), Z25
	VMOVUPS (AX)(R9*1), Z26
	VMOVUPS (AX)(R9*2), Z27
	VMOVUPS (AX)(R14*1), Z28
	C1FMA20
	VMOVUPS   64(BX), Z20
	VMOVUPS   68(BX), Z21
	VMOVUPS   72(BX), Z22
	VMOVUPS   76(BX), Z23
	VMOVUPS   80(BX), Z24
	VMOVUPS.Z 64(AX), K1, Z25
	VMOVUPS.Z 64(AX)(R9*1), K1, Z26
	VMOVUPS.Z 64(AX)(R9*2), K1, Z27
	VMOVUPS.Z 64(AX)(R14*1), K1, Z28
	C1FMA20
	ADDQ R10, AX
	ADDQ R12, BX
	DECQ CX
	JNZ  c1row

c1nextimg:
	ADDQ R8, SI
	ADDQ R11, DX
	DECQ R13
	JNZ  c1img

c1done:
	VMOVUPS Z0, 0(DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VMOVUPS Z4, 256(DI)
	VMOVUPS Z5, 320(DI)
	VMOVUPS Z6, 384(DI)
	VMOVUPS Z7, 448(DI)
	VMOVUPS Z8, 512(DI)
	VMOVUPS Z9, 576(DI)
	VMOVUPS Z10, 640(DI)
	VMOVUPS Z11, 704(DI)
	VMOVUPS Z12, 768(DI)
	VMOVUPS Z13, 832(DI)
	VMOVUPS Z14, 896(DI)
	VMOVUPS Z15, 960(DI)
	VMOVUPS Z16, 1024(DI)
	VMOVUPS Z17, 1088(DI)
	VMOVUPS Z18, 1152(DI)
	VMOVUPS Z19, 1216(DI)
	VZEROUPPER
	RET

// The forward pass of the same convolutions (conv1.go): eight output channels, an output row at a
// time, both 16-lane halves: acc Z(k) (first half) and Z(8+k) (second) += x[row+r][half·16+s+l]·
// w[k][r][s] over r < R and s < 5, in that order (one fused multiply-add chain per lane), the
// weights transposed to wt[(r·5+s)·8 + k]. Z16/Z17 hold the two input vectors, Z18–Z25 the eight
// broadcast weights.

// C1FWD_S is the products of shift s (byte offset OFF = 4s) with the weights at WOFF(R8).
#define C1FWD_S(OFF, WOFF) \
	VMOVUPS      OFF(BX), Z16; \
	VMOVUPS      64+OFF(BX), Z17; \
	VBROADCASTSS WOFF+0(R8), Z18; \
	VBROADCASTSS WOFF+4(R8), Z19; \
	VBROADCASTSS WOFF+8(R8), Z20; \
	VBROADCASTSS WOFF+12(R8), Z21; \
	VBROADCASTSS WOFF+16(R8), Z22; \
	VBROADCASTSS WOFF+20(R8), Z23; \
	VBROADCASTSS WOFF+24(R8), Z24; \
	VBROADCASTSS WOFF+28(R8), Z25; \
	VFMADD231PS  Z18, Z16, Z0; \
	VFMADD231PS  Z18, Z17, Z8; \
	VFMADD231PS  Z19, Z16, Z1; \
	VFMADD231PS  Z19, Z17, Z9; \
	VFMADD231PS  Z20, Z16, Z2; \
	VFMADD231PS  Z20, Z17, Z10; \
	VFMADD231PS  Z21, Z16, Z3; \
	VFMADD231PS  Z21, Z17, Z11; \
	VFMADD231PS  Z22, Z16, Z4; \
	VFMADD231PS  Z22, Z17, Z12; \
	VFMADD231PS  Z23, Z16, Z5; \
	VFMADD231PS  Z23, Z17, Z13; \
	VFMADD231PS  Z24, Z16, Z6; \
	VFMADD231PS  Z24, Z17, Z14; \
	VFMADD231PS  Z25, Z16, Z7; \
	VFMADD231PS  Z25, Z17, Z15

// func conv1ForwardZ(y *float32, ks, ow, kn int, x *float32, pitch, rows, r int, wt *float32)
// Rows [0, rows) of the output planes of channels k < kn (≤ 8) at y + k·ks + row·ow, from the
// padded input rows x + row·pitch (r filter rows each). Counts in floats; 16 < ow ≤ 32.
TEXT ·conv1ForwardZ(SB), NOSPLIT, $0-72
	MOVQ y+0(FP), DI
	MOVQ ks+8(FP), R9
	MOVQ ow+16(FP), R10
	MOVQ x+32(FP), SI
	MOVQ pitch+40(FP), R12
	MOVQ rows+48(FP), R13
	SHLQ $2, R9
	SHLQ $2, R12

	// K1: the second half's ow−16 columns.
	MOVQ  R10, CX
	SUBQ  $16, CX
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1
	SHLQ  $2, R10
	TESTQ R13, R13
	JZ    c1fdone

c1frow:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	MOVQ SI, BX         // input row of filter row 0
	MOVQ wt+64(FP), R8  // weights of (r, s) = (0, 0)
	MOVQ r+56(FP), CX

c1fr:
	C1FWD_S(0, 0)
	C1FWD_S(4, 32)
	C1FWD_S(8, 64)
	C1FWD_S(12, 96)
	C1FWD_S(16, 128)
	ADDQ $160, R8
	ADDQ R12, BX
	DECQ CX
	JNZ  c1fr

	// Store channels k < kn: DX walks the planes.
	MOVQ DI, DX
	MOVQ kn+24(FP), CX
	VMOVUPS Z0, (DX)
	VMOVUPS Z8, K1, 64(DX)
	DECQ    CX
	JZ      c1fstored
	ADDQ    R9, DX
	VMOVUPS Z1, (DX)
	VMOVUPS Z9, K1, 64(DX)
	DECQ    CX
	JZ      c1fstored
	ADDQ    R9, DX
	VMOVUPS Z2, (DX)
	VMOVUPS Z10, K1, 64(DX)
	DECQ    CX
	JZ      c1fstored
	ADDQ    R9, DX
	VMOVUPS Z3, (DX)
	VMOVUPS Z11, K1, 64(DX)
	DECQ    CX
	JZ      c1fstored
	ADDQ    R9, DX
	VMOVUPS Z4, (DX)
	VMOVUPS Z12, K1, 64(DX)
	DECQ    CX
	JZ      c1fstored
	ADDQ    R9, DX
	VMOVUPS Z5, (DX)
	VMOVUPS Z13, K1, 64(DX)
	DECQ    CX
	JZ      c1fstored
	ADDQ    R9, DX
	VMOVUPS Z6, (DX)
	VMOVUPS Z14, K1, 64(DX)
	DECQ    CX
	JZ      c1fstored
	ADDQ    R9, DX
	VMOVUPS Z7, (DX)
	VMOVUPS Z15, K1, 64(DX)

c1fstored:
	ADDQ R10, DI
	ADDQ R12, SI
	DECQ R13
	JNZ  c1frow

c1fdone:
	VZEROUPPER
	RET
