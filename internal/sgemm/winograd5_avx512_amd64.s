//go:build amd64

#include "textflag.h"

// The AVX-512 Winograd F(2×2, 5×5) tile transforms (winograd5.go says what each computes); 16
// tiles per step, the same float32 operations in the same order as the Go loops. Z28 holds 2s
// and Z29 4s (wino6Const); Z30 and Z31 the permutation indices (winoIdx).

// COLS6 loads the six columns of a 6×6 block row of 16 tiles at R (2z) into Z0–Z5: the even and
// odd lanes of R[2z+s : …] for s = 0, 2, 4.
#define COLS6(R) \
	VMOVUPS   (R), Z0; \
	VMOVUPS   (R), Z1; \
	VPERMT2PS 64(R), Z30, Z0; \
	VPERMT2PS 64(R), Z31, Z1; \
	VMOVUPS   8(R), Z2; \
	VMOVUPS   8(R), Z3; \
	VPERMT2PS 72(R), Z30, Z2; \
	VPERMT2PS 72(R), Z31, Z3; \
	VMOVUPS   16(R), Z4; \
	VMOVUPS   16(R), Z5; \
	VPERMT2PS 80(R), Z30, Z4; \
	VPERMT2PS 80(R), Z31, Z5

// BT6 sets Z6–Z11 to Bᵀ·(Z0…Z5) as winoBT6 computes it (Z12 = c, Z13 = e).
#define BT6 \
	VSUBPS       Z2, Z4, Z12; \
	VSUBPS       Z1, Z3, Z13; \
	VSUBPS       Z2, Z0, Z6; \
	VFMADD132PS  Z29, Z12, Z6; \
	VMOVAPS      Z4, Z7; \
	VFNMADD231PS Z29, Z2, Z7; \
	VMOVAPS      Z3, Z8; \
	VFNMADD231PS Z29, Z1, Z8; \
	VSUBPS       Z8, Z7, Z11; \
	VADDPS       Z8, Z7, Z7; \
	VMOVAPS      Z11, Z8; \
	VMOVAPS      Z12, Z9; \
	VFMADD231PS  Z28, Z13, Z9; \
	VMOVAPS      Z12, Z10; \
	VFNMADD231PS Z28, Z13, Z10; \
	VSUBPS       Z3, Z5, Z11; \
	VFNMADD231PS Z29, Z13, Z11

// PUT6 stores Z6–Z11 at AX, AX+S, …, moving AX on by S each time.
#define PUT6(S) \
	VMOVUPS Z6, (AX); \
	ADDQ    S, AX; \
	VMOVUPS Z7, (AX); \
	ADDQ    S, AX; \
	VMOVUPS Z8, (AX); \
	ADDQ    S, AX; \
	VMOVUPS Z9, (AX); \
	ADDQ    S, AX; \
	VMOVUPS Z10, (AX); \
	ADDQ    S, AX; \
	VMOVUPS Z11, (AX); \
	ADDQ    S, AX

// GET6 loads Z0–Z5 from AX, AX+S, …, moving AX on by S each time.
#define GET6(S) \
	VMOVUPS (AX), Z0; \
	ADDQ    S, AX; \
	VMOVUPS (AX), Z1; \
	ADDQ    S, AX; \
	VMOVUPS (AX), Z2; \
	ADDQ    S, AX; \
	VMOVUPS (AX), Z3; \
	ADDQ    S, AX; \
	VMOVUPS (AX), Z4; \
	ADDQ    S, AX; \
	VMOVUPS (AX), Z5; \
	ADDQ    S, AX

// INROW transforms block row R along its columns and stores the six results at AX onwards.
#define INROW(R) \
	COLS6(R); \
	BT6; \
	PUT6(R8)

// INCOL transforms column j (at R12: ξ = j, j+6, …, stride R11) in place.
#define INCOL \
	MOVQ R12, AX; \
	GET6(R11); \
	BT6; \
	MOVQ R12, AX; \
	PUT6(R11); \
	ADDQ R8, R12

// func wino5InZ(pe, po, v *float32, vs, rs, blocks int, idx *int32, c *float32)
TEXT ·wino5InZ(SB), NOSPLIT, $0-64
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
	MOVQ      c+56(FP), AX
	VMOVUPS   (AX), Z28
	VMOVUPS   64(AX), Z29
	LEAQ      (R8)(R8*2), R11
	SHLQ      $1, R11               // 6·vs bytes: the column stride of the ξ grid

in5loop:
	MOVQ DI, AX
	INROW(SI)
	INROW(DX)
	LEAQ (SI)(R9*1), R10
	INROW(R10)
	LEAQ (DX)(R9*1), R10
	INROW(R10)
	LEAQ (SI)(R9*2), R10
	INROW(R10)
	LEAQ (DX)(R9*2), R10
	INROW(R10)
	MOVQ DI, R12
	INCOL
	INCOL
	INCOL
	INCOL
	INCOL
	INCOL
	ADDQ $128, SI
	ADDQ $128, DX
	ADDQ $64, DI
	DECQ CX
	JNZ  in5loop
	VZEROUPPER
	RET

// AT6 sets Q0, Q1 to Aᵀ·(M0…M5) as winoAT6 computes it; Z24 is scratch.
#define AT6(M0, M1, M2, M3, M4, M5, Q0, Q1) \
	VADDPS      M2, M1, Q0; \
	VSUBPS      M2, M1, Q1; \
	VADDPS      Q0, M0, Q0; \
	VADDPS      M4, M3, Z24; \
	VADDPS      Z24, Q0, Q0; \
	VSUBPS      M4, M3, Z24; \
	VFMADD231PS Z28, Z24, Q1; \
	VADDPS      M5, Q1, Q1

// OUTROW combines row i of m (at AX onwards, stride R8) into R0 and R1.
#define OUTROW(R0, R1) \
	GET6(R8); \
	AT6(Z0, Z1, Z2, Z3, Z4, Z5, R0, R1)

// func wino5OutZ(m *float32, ms int, qe, qo *float32, blocks int, idx *int32, c *float32)
TEXT ·wino5OutZ(SB), NOSPLIT, $0-56
	MOVQ      m+0(FP), SI
	MOVQ      ms+8(FP), R8
	SHLQ      $2, R8
	MOVQ      qe+16(FP), DI
	MOVQ      qo+24(FP), DX
	MOVQ      blocks+32(FP), CX
	MOVQ      idx+40(FP), AX
	VMOVDQU32 (AX), Z30
	VMOVDQU32 64(AX), Z31
	MOVQ      c+48(FP), AX
	VMOVUPS   (AX), Z28

out5loop:
	MOVQ SI, AX
	OUTROW(Z6, Z12)
	OUTROW(Z7, Z13)
	OUTROW(Z8, Z14)
	OUTROW(Z9, Z15)
	OUTROW(Z10, Z16)
	OUTROW(Z11, Z17)
	AT6(Z6, Z7, Z8, Z9, Z10, Z11, Z18, Z19)
	AT6(Z12, Z13, Z14, Z15, Z16, Z17, Z20, Z21)
	// Interleave (y00, y01) into the top row and (y10, y11) into the bottom one.
	VMOVAPS   Z18, Z22
	VPERMT2PS Z20, Z30, Z22
	VMOVAPS   Z18, Z23
	VPERMT2PS Z20, Z31, Z23
	VMOVUPS   Z22, (DI)
	VMOVUPS   Z23, 64(DI)
	VMOVAPS   Z19, Z22
	VPERMT2PS Z21, Z30, Z22
	VMOVAPS   Z19, Z23
	VPERMT2PS Z21, Z31, Z23
	VMOVUPS   Z22, (DX)
	VMOVUPS   Z23, 64(DX)
	ADDQ      $64, SI
	ADDQ      $128, DI
	ADDQ      $128, DX
	DECQ      CX
	JNZ       out5loop
	VZEROUPPER
	RET

// A6 sets O1–O4 to P+Q, P−Q, P+2Q, P−2Q (winoA6; its first and last entries are P and Q).
#define A6(P, Q, O1, O2, O3, O4) \
	VADDPS       Q, P, O1; \
	VSUBPS       Q, P, O2; \
	VMOVAPS      P, O3; \
	VFMADD231PS  Z28, Q, O3; \
	VMOVAPS      P, O4; \
	VFNMADD231PS Z28, Q, O4

// GRADROW stores A·(P, Q) at R12 onwards (stride R8).
#define GRADROW(P, Q) \
	A6(P, Q, Z16, Z17, Z18, Z19); \
	VMOVUPS P, (R12); \
	ADDQ    R8, R12; \
	VMOVUPS Z16, (R12); \
	ADDQ    R8, R12; \
	VMOVUPS Z17, (R12); \
	ADDQ    R8, R12; \
	VMOVUPS Z18, (R12); \
	ADDQ    R8, R12; \
	VMOVUPS Z19, (R12); \
	ADDQ    R8, R12; \
	VMOVUPS Q, (R12); \
	ADDQ    R8, R12

// func wino5GradZ(qe, qo, w *float32, ws, blocks int, idx *int32, c *float32)
TEXT ·wino5GradZ(SB), NOSPLIT, $0-56
	MOVQ      qe+0(FP), SI
	MOVQ      qo+8(FP), DX
	MOVQ      w+16(FP), DI
	MOVQ      ws+24(FP), R8
	SHLQ      $2, R8
	MOVQ      blocks+32(FP), CX
	MOVQ      idx+40(FP), AX
	VMOVDQU32 (AX), Z30
	VMOVDQU32 64(AX), Z31
	MOVQ      c+48(FP), AX
	VMOVUPS   (AX), Z28

grad5loop:
	// y00, y01 (even and odd lanes of the top row), y10, y11 (of the bottom row).
	VMOVUPS   (SI), Z0
	VMOVUPS   (SI), Z1
	VPERMT2PS 64(SI), Z30, Z0
	VPERMT2PS 64(SI), Z31, Z1
	VMOVUPS   (DX), Z2
	VMOVUPS   (DX), Z3
	VPERMT2PS 64(DX), Z30, Z2
	VPERMT2PS 64(DX), Z31, Z3
	// Columns: A·(y00, y10) = Z0, Z4–Z7, Z2 and A·(y01, y11) = Z1, Z8–Z11, Z3.
	A6(Z0, Z2, Z4, Z5, Z6, Z7)
	A6(Z1, Z3, Z8, Z9, Z10, Z11)
	MOVQ      DI, R12
	GRADROW(Z0, Z1)
	GRADROW(Z4, Z8)
	GRADROW(Z5, Z9)
	GRADROW(Z6, Z10)
	GRADROW(Z7, Z11)
	GRADROW(Z2, Z3)
	ADDQ      $128, SI
	ADDQ      $128, DX
	ADDQ      $64, DI
	DECQ      CX
	JNZ       grad5loop
	VZEROUPPER
	RET

// The AVX-512 Winograd F(4×4, 3×3) tile transforms (winograd4.go says what each computes), on
// the same 6×6 tiles and with the same Bᵀ as F(2×2, 5×5)'s; 16 tiles per step, the same float32
// operations in the same order as the Go loops. Z28 holds 2s, Z29 4s, Z30 8s (wino6Const).

// COLS4 loads columns 0–3 of a block row of 16 tiles at R (4z) into Z0–Z3: lanes j, j+4, …
// of R[0 : 64], picked from two vectors at a time by Z26 (j = 0, 1) and Z27 (j = 2, 3), the
// halves then joined. Z14–Z17 are scratch.
#define COLS4(R) \
	VMOVUPS    (R), Z14; \
	VMOVUPS    128(R), Z16; \
	VMOVAPS    Z14, Z15; \
	VPERMT2PS  64(R), Z26, Z14; \
	VPERMT2PS  64(R), Z27, Z15; \
	VMOVAPS    Z16, Z17; \
	VPERMT2PS  192(R), Z26, Z16; \
	VPERMT2PS  192(R), Z27, Z17; \
	VSHUFF32X4 $0x44, Z16, Z14, Z0; \
	VSHUFF32X4 $0xEE, Z16, Z14, Z1; \
	VSHUFF32X4 $0x44, Z17, Z15, Z2; \
	VSHUFF32X4 $0xEE, Z17, Z15, Z3

// COLS46 loads all six columns: 4 and 5 are columns 0 and 1 one tile on (lanes 1–15, then
// R[64] or R[65]: Z24, Z25).
#define COLS46(R) \
	COLS4(R); \
	VMOVAPS   Z0, Z4; \
	VPERMT2PS 256(R), Z24, Z4; \
	VMOVAPS   Z1, Z5; \
	VPERMT2PS 256(R), Z25, Z5

// INROW4 transforms block row R along its columns and stores the six results at AX onwards.
#define INROW4(R) \
	COLS46(R); \
	BT6; \
	PUT6(R8)

// func wino4InZ(p *float32, ps int, v *float32, vs, rs, blocks int, idx *int32, c *float32)
TEXT ·wino4InZ(SB), NOSPLIT, $0-64
	MOVQ      p+0(FP), SI
	MOVQ      ps+8(FP), DX
	SHLQ      $2, DX
	MOVQ      v+16(FP), DI
	MOVQ      vs+24(FP), R8
	SHLQ      $2, R8
	MOVQ      rs+32(FP), R9
	SHLQ      $2, R9
	MOVQ      blocks+40(FP), CX
	MOVQ      idx+48(FP), AX
	VMOVDQU32 (AX), Z26
	VMOVDQU32 64(AX), Z27
	VMOVDQU32 128(AX), Z24
	VMOVDQU32 192(AX), Z25
	MOVQ      c+56(FP), AX
	VMOVUPS   (AX), Z28
	VMOVUPS   64(AX), Z29
	LEAQ      (R8)(R8*2), R11
	SHLQ      $1, R11               // 6·vs bytes: the column stride of the ξ grid

in4loop:
	MOVQ DI, AX
	MOVQ SI, R10
	INROW4(R10)
	ADDQ DX, R10
	INROW4(R10)
	ADDQ DX, R10
	INROW4(R10)
	ADDQ DX, R10
	INROW4(R10)
	LEAQ (SI)(R9*1), R10
	INROW4(R10)
	ADDQ DX, R10
	INROW4(R10)
	MOVQ DI, R12
	INCOL
	INCOL
	INCOL
	INCOL
	INCOL
	INCOL
	ADDQ $256, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  in4loop
	VZEROUPPER
	RET

// AT4ROW sets T0–T3 to Aᵀ·(m0…m5) as winoAT4 computes it, m_j at AX + j·ms (R8–R12 hold ms to
// 5·ms), and moves AX on to the next row (R13 = 6·ms). Z24–Z27 are a, b, c, d.
#define AT4ROW(T0, T1, T2, T3) \
	VMOVUPS     (AX)(R8*1), Z24; \
	VMOVAPS     Z24, Z25; \
	VADDPS      (AX)(R9*1), Z24, Z24; \
	VSUBPS      (AX)(R9*1), Z25, Z25; \
	VMOVUPS     (AX)(R10*1), Z26; \
	VMOVAPS     Z26, Z27; \
	VADDPS      (AX)(R11*1), Z26, Z26; \
	VSUBPS      (AX)(R11*1), Z27, Z27; \
	VADDPS      (AX), Z24, T0; \
	VADDPS      Z26, T0, T0; \
	VMOVAPS     Z25, T1; \
	VFMADD231PS Z28, Z27, T1; \
	VMOVAPS     Z24, T2; \
	VFMADD231PS Z29, Z26, T2; \
	VFMADD231PS Z30, Z27, Z25; \
	VADDPS      (AX)(R12*1), Z25, T3; \
	ADDQ        R13, AX

// AT4COL combines a column of the row results in place: M0–M3 = Aᵀ·(M0…M5).
#define AT4COL(M0, M1, M2, M3, M4, M5) \
	VADDPS      M2, M1, Z24; \
	VSUBPS      M2, M1, Z25; \
	VADDPS      M4, M3, Z26; \
	VSUBPS      M4, M3, Z27; \
	VADDPS      Z24, M0, M0; \
	VADDPS      Z26, M0, M0; \
	VMOVAPS     Z25, M1; \
	VFMADD231PS Z28, Z27, M1; \
	VMOVAPS     Z24, M2; \
	VFMADD231PS Z29, Z26, M2; \
	VFMADD231PS Z30, Z27, Z25; \
	VADDPS      M5, Z25, M3

// OUT4ROW interleaves a tile row's four columns Y0–Y3 (16 tiles each) into 64 floats at D:
// lanes first (Z20, Z21), then pairs of lanes (Z22, Z23).
#define OUT4ROW(Y0, Y1, Y2, Y3, D) \
	VMOVAPS   Y0, Z24; \
	VPERMT2PS Y1, Z20, Z24; \
	VMOVAPS   Y0, Z25; \
	VPERMT2PS Y1, Z21, Z25; \
	VMOVAPS   Y2, Z26; \
	VPERMT2PS Y3, Z20, Z26; \
	VMOVAPS   Y2, Z27; \
	VPERMT2PS Y3, Z21, Z27; \
	VMOVAPS   Z24, Z16; \
	VPERMT2PD Z26, Z22, Z16; \
	VPERMT2PD Z26, Z23, Z24; \
	VMOVAPS   Z25, Z17; \
	VPERMT2PD Z27, Z22, Z17; \
	VPERMT2PD Z27, Z23, Z25; \
	VMOVUPS   Z16, (D); \
	VMOVUPS   Z24, 64(D); \
	VMOVUPS   Z17, 128(D); \
	VMOVUPS   Z25, 192(D)

// func wino4OutZ(m *float32, ms int, q *float32, qs, blocks int, idx *int32, c *float32)
TEXT ·wino4OutZ(SB), NOSPLIT, $0-56
	MOVQ    m+0(FP), SI
	MOVQ    ms+8(FP), R8
	SHLQ    $2, R8
	MOVQ    q+16(FP), DI
	MOVQ    qs+24(FP), BX
	SHLQ    $2, BX
	MOVQ    blocks+32(FP), CX
	MOVQ    idx+40(FP), R14
	MOVQ    c+48(FP), AX
	VMOVUPS (AX), Z28
	VMOVUPS 64(AX), Z29
	VMOVUPS 128(AX), Z30
	LEAQ    (R8)(R8*1), R9
	LEAQ    (R8)(R8*2), R10
	LEAQ    (R8)(R8*4), R12
	LEAQ    (R9)(R9*1), R11
	LEAQ    (R10)(R10*1), R13

out4loop:
	MOVQ   SI, AX
	AT4ROW(Z0, Z1, Z2, Z3)
	AT4ROW(Z4, Z5, Z6, Z7)
	AT4ROW(Z8, Z9, Z10, Z11)
	AT4ROW(Z12, Z13, Z14, Z15)
	AT4ROW(Z16, Z17, Z18, Z19)
	AT4ROW(Z20, Z21, Z22, Z23)
	AT4COL(Z0, Z4, Z8, Z12, Z16, Z20)
	AT4COL(Z1, Z5, Z9, Z13, Z17, Z21)
	AT4COL(Z2, Z6, Z10, Z14, Z18, Z22)
	AT4COL(Z3, Z7, Z11, Z15, Z19, Z23)
	VMOVDQU32 256(R14), Z20
	VMOVDQU32 320(R14), Z21
	VMOVDQU32 384(R14), Z22
	VMOVDQU32 448(R14), Z23
	MOVQ   DI, DX
	OUT4ROW(Z0, Z1, Z2, Z3, DX)
	ADDQ   BX, DX
	OUT4ROW(Z4, Z5, Z6, Z7, DX)
	ADDQ   BX, DX
	OUT4ROW(Z8, Z9, Z10, Z11, DX)
	ADDQ   BX, DX
	OUT4ROW(Z12, Z13, Z14, Z15, DX)
	ADDQ   $64, SI
	ADDQ   $256, DI
	DECQ   CX
	JNZ    out4loop
	VZEROUPPER
	RET

// A4 sets Z6–Z11 to A·(Y0…Y3) as winoA4 computes it (Z12–Z15: p, q, r, s).
#define A4(Y0, Y1, Y2, Y3) \
	VADDPS      Y2, Y0, Z12; \
	VADDPS      Y3, Y1, Z13; \
	VMOVAPS     Y0, Z14; \
	VFMADD231PS Z29, Y2, Z14; \
	VADDPS      Y1, Y1, Z15; \
	VFMADD231PS Z30, Y3, Z15; \
	VMOVAPS     Y0, Z6; \
	VADDPS      Z13, Z12, Z7; \
	VSUBPS      Z13, Z12, Z8; \
	VADDPS      Z15, Z14, Z9; \
	VSUBPS      Z15, Z14, Z10; \
	VMOVAPS     Y3, Z11

// GRAD4ROW transforms an output-gradient row of 16 tiles at R and stores the six results at AX
// onwards.
#define GRAD4ROW(R) \
	COLS4(R); \
	A4(Z0, Z1, Z2, Z3); \
	PUT6(R8)

// GRAD4COL transforms column j (at R12: ξ = j, j+6, …, stride R11) in place.
#define GRAD4COL \
	MOVQ    R12, AX; \
	VMOVUPS (AX), Z0; \
	ADDQ    R11, AX; \
	VMOVUPS (AX), Z1; \
	ADDQ    R11, AX; \
	VMOVUPS (AX), Z2; \
	ADDQ    R11, AX; \
	VMOVUPS (AX), Z3; \
	A4(Z0, Z1, Z2, Z3); \
	MOVQ    R12, AX; \
	PUT6(R11); \
	ADDQ    R8, R12

// func wino4GradZ(q *float32, qs int, w *float32, ws, blocks int, idx *int32, c *float32)
TEXT ·wino4GradZ(SB), NOSPLIT, $0-56
	MOVQ      q+0(FP), SI
	MOVQ      qs+8(FP), DX
	SHLQ      $2, DX
	MOVQ      w+16(FP), DI
	MOVQ      ws+24(FP), R8
	SHLQ      $2, R8
	MOVQ      blocks+32(FP), CX
	MOVQ      idx+40(FP), AX
	VMOVDQU32 (AX), Z26
	VMOVDQU32 64(AX), Z27
	MOVQ      c+48(FP), AX
	VMOVUPS   64(AX), Z29
	VMOVUPS   128(AX), Z30
	LEAQ      (R8)(R8*2), R11
	SHLQ      $1, R11               // 6·ws bytes

grad4loop:
	MOVQ DI, AX
	MOVQ SI, R10
	GRAD4ROW(R10)
	ADDQ DX, R10
	GRAD4ROW(R10)
	ADDQ DX, R10
	GRAD4ROW(R10)
	ADDQ DX, R10
	GRAD4ROW(R10)
	MOVQ DI, R12
	GRAD4COL
	GRAD4COL
	GRAD4COL
	GRAD4COL
	GRAD4COL
	GRAD4COL
	ADDQ $256, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  grad4loop
	VZEROUPPER
	RET
