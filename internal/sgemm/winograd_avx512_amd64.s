//go:build amd64

#include "textflag.h"

// The AVX-512 Winograd F(2×2, 3×3) tile transforms (winograd.go says what each computes); 16
// tiles per step, the same float32 operations in the same order as the Go loops.

// HROW loads the 4×4 block rows of 16 tiles at R (2z) and transforms them along the columns:
// a_j = R[2z+j]; H0..H3 = a0−a2, a1+a2, a2−a1, a1−a3. Z30 and Z31 hold the even and odd lane
// indices; Z24–Z27 are scratch.
#define HROW(R, H0, H1, H2, H3) \
	VMOVUPS   (R), Z24; \
	VMOVUPS   (R), Z25; \
	VPERMT2PS 64(R), Z30, Z24; \
	VPERMT2PS 64(R), Z31, Z25; \
	VMOVUPS   8(R), Z26; \
	VMOVUPS   8(R), Z27; \
	VPERMT2PS 72(R), Z30, Z26; \
	VPERMT2PS 72(R), Z31, Z27; \
	VSUBPS    Z26, Z24, H0; \
	VADDPS    Z26, Z25, H1; \
	VSUBPS    Z25, Z26, H2; \
	VSUBPS    Z27, Z25, H3

// VOUT stores OP(A, B) (A−B or A+B) at R12 and moves R12 on by the ξ stride R8.
#define VOUT(OP, A, B) \
	OP      B, A, Z16; \
	VMOVUPS Z16, (R12); \
	ADDQ    R8, R12

// func winoInZ(pe, po, v *float32, vs, rs, blocks int, idx *int32)
TEXT ·winoInZ(SB), NOSPLIT, $0-56
	MOVQ      pe+0(FP), SI
	MOVQ      po+8(FP), DX
	MOVQ      v+16(FP), DI
	MOVQ      vs+24(FP), R8
	SHLQ      $2, R8
	MOVQ      rs+32(FP), R9
	SHLQ      $2, R9
	MOVQ      blocks+40(FP), CX
	MOVQ      idx+48(FP), AX
	VMOVDQU32 (AX), Z30
	VMOVDQU32 64(AX), Z31

inloop:
	LEAQ (SI)(R9*1), R10
	LEAQ (DX)(R9*1), R11
	HROW(SI, Z0, Z1, Z2, Z3)
	HROW(DX, Z4, Z5, Z6, Z7)
	HROW(R10, Z8, Z9, Z10, Z11)
	HROW(R11, Z12, Z13, Z14, Z15)
	MOVQ DI, R12
	VOUT(VSUBPS, Z0, Z8)
	VOUT(VSUBPS, Z1, Z9)
	VOUT(VSUBPS, Z2, Z10)
	VOUT(VSUBPS, Z3, Z11)
	VOUT(VADDPS, Z4, Z8)
	VOUT(VADDPS, Z5, Z9)
	VOUT(VADDPS, Z6, Z10)
	VOUT(VADDPS, Z7, Z11)
	VOUT(VSUBPS, Z8, Z4)
	VOUT(VSUBPS, Z9, Z5)
	VOUT(VSUBPS, Z10, Z6)
	VOUT(VSUBPS, Z11, Z7)
	VOUT(VSUBPS, Z4, Z12)
	VOUT(VSUBPS, Z5, Z13)
	VOUT(VSUBPS, Z6, Z14)
	VOUT(VSUBPS, Z7, Z15)
	ADDQ $128, SI
	ADDQ $128, DX
	ADDQ $64, DI
	DECQ CX
	JNZ  inloop
	VZEROUPPER
	RET

// COLS combines rows of m for column j: S0 = (m_j + m_4+j) + m_8+j, S1 = (m_4+j − m_8+j) − m_12+j.
#define COLS(M0, M1, M2, M3, S0, S1) \
	VADDPS M1, M0, S0; \
	VADDPS M2, S0, S0; \
	VSUBPS M2, M1, S1; \
	VSUBPS M3, S1, S1

// func winoOutZ(m *float32, ms int, qe, qo *float32, blocks int, idx *int32)
TEXT ·winoOutZ(SB), NOSPLIT, $0-48
	MOVQ      m+0(FP), SI
	MOVQ      ms+8(FP), R8
	SHLQ      $2, R8
	MOVQ      qe+16(FP), DI
	MOVQ      qo+24(FP), DX
	MOVQ      blocks+32(FP), CX
	MOVQ      idx+40(FP), AX
	VMOVDQU32 (AX), Z30
	VMOVDQU32 64(AX), Z31

outloop:
	MOVQ    SI, R12
	VMOVUPS (R12), Z0
	ADDQ    R8, R12
	VMOVUPS (R12), Z1
	ADDQ    R8, R12
	VMOVUPS (R12), Z2
	ADDQ    R8, R12
	VMOVUPS (R12), Z3
	ADDQ    R8, R12
	VMOVUPS (R12), Z4
	ADDQ    R8, R12
	VMOVUPS (R12), Z5
	ADDQ    R8, R12
	VMOVUPS (R12), Z6
	ADDQ    R8, R12
	VMOVUPS (R12), Z7
	ADDQ    R8, R12
	VMOVUPS (R12), Z8
	ADDQ    R8, R12
	VMOVUPS (R12), Z9
	ADDQ    R8, R12
	VMOVUPS (R12), Z10
	ADDQ    R8, R12
	VMOVUPS (R12), Z11
	ADDQ    R8, R12
	VMOVUPS (R12), Z12
	ADDQ    R8, R12
	VMOVUPS (R12), Z13
	ADDQ    R8, R12
	VMOVUPS (R12), Z14
	ADDQ    R8, R12
	VMOVUPS (R12), Z15
	COLS(Z0, Z4, Z8, Z12, Z16, Z20)
	COLS(Z1, Z5, Z9, Z13, Z17, Z21)
	COLS(Z2, Z6, Z10, Z14, Z18, Z22)
	COLS(Z3, Z7, Z11, Z15, Z19, Z23)
	COLS(Z16, Z17, Z18, Z19, Z24, Z25)
	COLS(Z20, Z21, Z22, Z23, Z26, Z27)
	// Interleave (y00, y01) into the top row and (y10, y11) into the bottom one.
	VMOVAPS   Z24, Z28
	VPERMT2PS Z25, Z30, Z28
	VMOVAPS   Z24, Z29
	VPERMT2PS Z25, Z31, Z29
	VMOVUPS   Z28, (DI)
	VMOVUPS   Z29, 64(DI)
	VMOVAPS   Z26, Z28
	VPERMT2PS Z27, Z30, Z28
	VMOVAPS   Z26, Z29
	VPERMT2PS Z27, Z31, Z29
	VMOVUPS   Z28, (DX)
	VMOVUPS   Z29, 64(DX)
	ADDQ      $64, SI
	ADDQ      $128, DI
	ADDQ      $128, DX
	DECQ      CX
	JNZ       outloop
	VZEROUPPER
	RET

// GROW stores the transform of one row (P, Q) along the row: P, P+Q, P−Q, −Q (Z29: sign bits),
// at R12 and the next three ξ, moving R12 on by the ξ stride R8 each time.
#define GROW(P, Q) \
	VMOVUPS P, (R12); \
	ADDQ    R8, R12; \
	VADDPS  Q, P, Z28; \
	VMOVUPS Z28, (R12); \
	ADDQ    R8, R12; \
	VSUBPS  Q, P, Z28; \
	VMOVUPS Z28, (R12); \
	ADDQ    R8, R12; \
	VPXORD  Z29, Q, Z28; \
	VMOVUPS Z28, (R12); \
	ADDQ    R8, R12

// func winoGradZ(qe, qo, w *float32, ws, blocks int, idx *int32)
TEXT ·winoGradZ(SB), NOSPLIT, $0-48
	MOVQ         qe+0(FP), SI
	MOVQ         qo+8(FP), DX
	MOVQ         w+16(FP), DI
	MOVQ         ws+24(FP), R8
	SHLQ         $2, R8
	MOVQ         blocks+32(FP), CX
	MOVQ         idx+40(FP), AX
	VMOVDQU32    (AX), Z30
	VMOVDQU32    64(AX), Z31
	VMOVDQU32    256(AX), Z29

gradloop:
	// y00, y01 (even and odd lanes of the top row), y10, y11 (of the bottom row).
	VMOVUPS   (SI), Z0
	VMOVUPS   (SI), Z1
	VPERMT2PS 64(SI), Z30, Z0
	VPERMT2PS 64(SI), Z31, Z1
	VMOVUPS   (DX), Z2
	VMOVUPS   (DX), Z3
	VPERMT2PS 64(DX), Z30, Z2
	VPERMT2PS 64(DX), Z31, Z3
	// Rows: (y00, y01), (y00+y10, y01+y11), (y00−y10, y01−y11), (−y10, −y11).
	VADDPS    Z2, Z0, Z4
	VADDPS    Z3, Z1, Z5
	VSUBPS    Z2, Z0, Z6
	VSUBPS    Z3, Z1, Z7
	VPXORD    Z29, Z2, Z8
	VPXORD    Z29, Z3, Z9
	MOVQ      DI, R12
	GROW(Z0, Z1)
	GROW(Z4, Z5)
	GROW(Z6, Z7)
	GROW(Z8, Z9)
	ADDQ      $128, SI
	ADDQ      $128, DX
	ADDQ      $64, DI
	DECQ      CX
	JNZ       gradloop
	VZEROUPPER
	RET
