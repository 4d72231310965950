//go:build amd64

#include "textflag.h"

// ACTIVE sets K1 to the lanes whose row has a term left (k < end) and leaves for sum when none has.
#define ACTIVE \
	VPCMPUD  $1, Y1, Y0, K1; \
	KORTESTB K1, K1; \
	JZ       sum

// TERM adds val[k]·x[idx[k]] to the active lanes' sums, given idx[k] in Y4 and val[k] in Y5,
// and steps every lane's k.
#define TERM \
	VPMINUD     Y14, Y4, Y4; \
	KMOVB       K1, K4; \
	VGATHERDPS  (R10)(Y4*4), K4, Y6; \
	VCVTPS2PD   Y5, Z5; \
	VCVTPS2PD   Y6, Z6; \
	VFMADD231PD Z6, Z5, K1, Z2; \
	VPADDD      Y12, Y0, Y0

// func spmvZ(ptr, idx, val, x, y *float32, rows, nnz, nx int, beta float32, useBeta int)
// Eight CSR rows at a time (spmv.go): lane j follows row r+j from ptr[r+j] to ptr[r+j+1],
// gathering idx[k], val[k] and x[idx[k]] while k < end and adding val·x to its float64 sum with
// one FMA (the float64 product of two float32 values is exact, so this rounds as Go's s += v·x).
// Pointers are clamped to nnz−1 and indices to nx−1: a bad table reads wrong values, never
// outside the arrays.
TEXT ·spmvZ(SB), NOSPLIT, $0-80
	MOVQ         ptr+0(FP), SI
	MOVQ         idx+8(FP), R8
	MOVQ         val+16(FP), R9
	MOVQ         x+24(FP), R10
	MOVQ         y+32(FP), DI
	MOVQ         rows+40(FP), CX
	MOVQ         nnz+48(FP), AX
	MOVQ         nx+56(FP), BX
	VMOVSS       beta+64(FP), X15
	MOVQ         useBeta+72(FP), DX
	DECQ         AX
	VPBROADCASTD AX, Y13 // nnz−1
	DECQ         BX
	VPBROADCASTD BX, Y14 // nx−1
	MOVL         $1, AX
	VPBROADCASTD AX, Y12
	VCVTSS2SD    X15, X15, X15
	VBROADCASTSD X15, Z15 // beta in float64
	SHRQ         $3, CX

rows8:
	VMOVDQU32 (SI), Y0  // k = ptr[r : r+8]
	VMOVDQU32 4(SI), Y1 // end = ptr[r+1 : r+9]
	VPXORQ    Z2, Z2, Z2
	MOVL      (SI), R11  // base = ptr[r]
	MOVL      32(SI), R13
	SUBQ      R11, R13   // the group's non-zeros
	CMPQ      R13, $32
	JA        next       // more than two vectors' worth: gather idx and val too

	// Short rows (the forward product's few non-zeros a row): the group's idx and val, at most
	// 32 entries from base, are loaded once (masked to the group's count) and each step picks
	// its lanes' entries with a two-table permute instead of two gathers.
	MOVQ         R13, R14
	SUBQ         $16, R14
	XORL         BX, BX
	CMPQ         R14, $0
	CMOVQLT      BX, R14 // entries past the first 16: max(count − 16, 0)
	MOVL         $0xFFFF, AX
	BZHIL        R13, AX, BX
	KMOVW        BX, K5
	BZHIL        R14, AX, BX
	KMOVW        BX, K6
	VMOVDQU32    (R8)(R11*4), K5, Z8
	VMOVDQU32    64(R8)(R11*4), K6, Z9
	VMOVUPS      (R9)(R11*4), K5, Z10
	VMOVUPS      64(R9)(R11*4), K6, Z11
	VPBROADCASTD R11, Y16

short:
	ACTIVE
	VPSUBD    Y16, Y0, Y4 // position in the group's block, < 32 where active
	VMOVDQA32 Z4, Z5
	VPERMI2D  Z9, Z8, Z4   // idx[k]
	VPERMI2PS Z11, Z10, Z5 // val[k]
	TERM
	JMP       short

next:
	ACTIVE
	VPMINUD    Y13, Y0, Y3
	KMOVB      K1, K2
	VPGATHERDD (R8)(Y3*4), K2, Y4 // idx[k]
	KMOVB      K1, K3
	VGATHERDPS (R9)(Y3*4), K3, Y5 // val[k]
	TERM
	JMP        next

sum:
	TESTQ       DX, DX
	JZ          store
	VMOVUPS     (DI), Y7
	VCVTPS2PD   Y7, Z7
	VFMADD231PD Z15, Z7, Z2 // + beta·y, also an exact product

store:
	VCVTPD2PS Z2, Y2
	VMOVUPS   Y2, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       rows8
	VZEROUPPER
	RET
