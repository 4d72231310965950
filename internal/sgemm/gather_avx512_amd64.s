//go:build amd64

#include "textflag.h"

// func gatherZ(src, idx, dst *float32, n, nsrc int) int
// dst[i] = src[min(idx[i], nsrc−1)] sixteen at a time; returns max(idx[i]) (unsigned), so the
// caller can refuse an index outside src after the fact.
TEXT ·gatherZ(SB), NOSPLIT, $0-48
	MOVQ         src+0(FP), SI
	MOVQ         idx+8(FP), R8
	MOVQ         dst+16(FP), DI
	MOVQ         n+24(FP), CX
	MOVQ         nsrc+32(FP), AX
	DECQ         AX
	VPBROADCASTD AX, Z3 // nsrc−1
	VPXORD       Z4, Z4, Z4 // running maximum of the indices
	SHRQ         $4, CX

loop:
	VMOVDQU32  (R8), Z1
	VPMAXUD    Z1, Z4, Z4
	VPMINUD    Z3, Z1, Z1
	KXNORW     K1, K1, K1
	VGATHERDPS (SI)(Z1*4), K1, Z0
	VMOVUPS    Z0, (DI)
	ADDQ       $64, R8
	ADDQ       $64, DI
	DECQ       CX
	JNZ        loop

	// Horizontal maximum of Z4's sixteen lanes.
	VEXTRACTI64X4 $1, Z4, Y5
	VPMAXUD       Y5, Y4, Y4
	VEXTRACTI128  $1, Y4, X5
	VPMAXUD       X5, X4, X4
	VPSHUFD       $0x4E, X4, X5
	VPMAXUD       X5, X4, X4
	VPSHUFD       $0xB1, X4, X5
	VPMAXUD       X5, X4, X4
	VMOVD         X4, AX
	MOVQ          AX, ret+40(FP)
	VZEROUPPER
	RET
