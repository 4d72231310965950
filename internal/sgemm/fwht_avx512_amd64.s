//go:build amd64

#include "textflag.h"

// AVX-512 Walsh–Hadamard butterflies (fwht.go). Each butterfly computes (a+c, a−c) with the
// same two roundings as the Go loop, so the results are bit-identical to it.

// FWHT16 applies stages 1, 2, 4 and 8 to the 16 floats in Zv, using Zp and Zt as scratch: for
// each stage, Zp is the input with every lane swapped with its partner h lanes away; the lower
// lane of each pair takes v + p = a + c, the upper lane (mask K1…K4) p − v = a − c. The stages
// alternate between Zv and Zt, ending in Zv.
#define FWHT16(Zv, Zp, Zt) \
	VPERMILPS  $0xB1, Zv, Zp; \
	VADDPS     Zp, Zv, Zt; \
	VSUBPS     Zv, Zp, K1, Zt; \
	VPERMILPS  $0x4E, Zt, Zp; \
	VADDPS     Zp, Zt, Zv; \
	VSUBPS     Zt, Zp, K2, Zv; \
	VSHUFF32X4 $0xB1, Zv, Zv, Zp; \
	VADDPS     Zp, Zv, Zt; \
	VSUBPS     Zv, Zp, K3, Zt; \
	VSHUFF32X4 $0x4E, Zt, Zt, Zp; \
	VADDPS     Zp, Zt, Zv; \
	VSUBPS     Zt, Zp, K4, Zv

// func fwhtLowZ(x *float32, groups int)
TEXT ·fwhtLowZ(SB), NOSPLIT, $0-16
	MOVQ  x+0(FP), DI
	MOVQ  groups+8(FP), CX
	MOVL  $0xAAAA, AX
	KMOVW AX, K1
	MOVL  $0xCCCC, AX
	KMOVW AX, K2
	MOVL  $0xF0F0, AX
	KMOVW AX, K3
	MOVL  $0xFF00, AX
	KMOVW AX, K4
	MOVQ  CX, R8
	SHRQ  $2, R8
	JZ    low1

low4:
	VMOVUPS (DI), Z0
	VMOVUPS 64(DI), Z1
	VMOVUPS 128(DI), Z2
	VMOVUPS 192(DI), Z3
	FWHT16(Z0, Z4, Z8)
	FWHT16(Z1, Z5, Z9)
	FWHT16(Z2, Z6, Z10)
	FWHT16(Z3, Z7, Z11)
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ    $256, DI
	DECQ    R8
	JNZ     low4

low1:
	ANDQ $3, CX
	JZ   lowdone

low1loop:
	VMOVUPS (DI), Z0
	FWHT16(Z0, Z4, Z8)
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	DECQ    CX
	JNZ     low1loop

lowdone:
	VZEROUPPER
	RET

// func fwhtPairZ(x *float32, n, h, k0, k1 int)
// Stages h and 2h at offsets k0 ≤ k < k1 (step 16) of every group of 4h.
TEXT ·fwhtPairZ(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ h+16(FP), DX
	MOVQ k0+24(FP), R8
	MOVQ k1+32(FP), R9
	SHLQ $2, CX
	SHLQ $2, DX
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (DX)(DX*2), R10 // 3h bytes
	LEAQ (DI)(CX*1), CX  // end of x
	LEAQ (DX*4), R11     // group stride 4h bytes

pgroup:
	CMPQ DI, CX
	JGE  pdone
	MOVQ R8, AX

pk:
	CMPQ    AX, R9
	JGE     pnext
	LEAQ    (DI)(AX*1), BX
	VMOVUPS (BX), Z0
	VMOVUPS (BX)(DX*1), Z1
	VMOVUPS (BX)(DX*2), Z2
	VMOVUPS (BX)(R10*1), Z3
	VADDPS  Z1, Z0, Z4      // a+b
	VSUBPS  Z1, Z0, Z5      // a−b
	VADDPS  Z3, Z2, Z6      // c+d
	VSUBPS  Z3, Z2, Z7      // c−d
	VADDPS  Z6, Z4, Z0
	VSUBPS  Z6, Z4, Z2
	VADDPS  Z7, Z5, Z1
	VSUBPS  Z7, Z5, Z3
	VMOVUPS Z0, (BX)
	VMOVUPS Z1, (BX)(DX*1)
	VMOVUPS Z2, (BX)(DX*2)
	VMOVUPS Z3, (BX)(R10*1)
	ADDQ    $64, AX
	JMP     pk

pnext:
	ADDQ R11, DI
	JMP  pgroup

pdone:
	VZEROUPPER
	RET

// func fwhtStageZ(x *float32, n, h, k0, k1 int)
// Stage h at offsets k0 ≤ k < k1 (step 16) of every group of 2h.
TEXT ·fwhtStageZ(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ h+16(FP), DX
	MOVQ k0+24(FP), R8
	MOVQ k1+32(FP), R9
	SHLQ $2, CX
	SHLQ $2, DX
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (DI)(CX*1), CX // end of x
	LEAQ (DX*2), R11    // group stride 2h bytes

sgroup:
	CMPQ DI, CX
	JGE  sdone
	MOVQ R8, AX

sk:
	CMPQ    AX, R9
	JGE     snext
	LEAQ    (DI)(AX*1), BX
	VMOVUPS (BX), Z0
	VMOVUPS (BX)(DX*1), Z1
	VADDPS  Z1, Z0, Z2
	VSUBPS  Z1, Z0, Z3
	VMOVUPS Z2, (BX)
	VMOVUPS Z3, (BX)(DX*1)
	ADDQ    $64, AX
	JMP     sk

snext:
	ADDQ R11, DI
	JMP  sgroup

sdone:
	VZEROUPPER
	RET
