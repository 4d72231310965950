package sgemm

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// Deinterleave against the definition on every path, for lengths around the kernel's 16- and
// 8-pair steps (odd ones included; special values too, compared bit for bit), with and without the odd half, from unaligned sources; the
// elements past each half's length must stay untouched.
func TestDeinterleave(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	forPaths(t, func(t *testing.T, p Path) {
		for n := 0; n <= 75; n++ {
			src := vecInput(r, n+1)[1:]
			for _, withOdd := range []bool{false, true} {
				const sentinel = -7.5
				even, odd := make([]float32, (n+1)/2+3), make([]float32, n/2+3)
				for i := range even {
					even[i] = sentinel
				}
				for i := range odd {
					odd[i] = sentinel
				}
				var o []float32
				if withOdd {
					o = odd
				}
				Deinterleave(src, even, o)
				for j := range even {
					want := float32(sentinel)
					if 2*j < n {
						want = src[2*j]
					}
					if math.Float32bits(even[j]) != math.Float32bits(want) {
						t.Fatalf("%s n=%d odd=%v: even[%d] = %v, want %v", p, n, withOdd, j, even[j], want)
					}
				}
				for j := range odd {
					want := float32(sentinel)
					if withOdd && 2*j+1 < n {
						want = src[2*j+1]
					}
					if math.Float32bits(odd[j]) != math.Float32bits(want) {
						t.Fatalf("%s n=%d odd=%v: odd[%d] = %v, want %v", p, n, withOdd, j, odd[j], want)
					}
				}
			}
		}
	})
}

// DeinterleaveRows against Deinterleave row by row on every path, for widths that take the
// whole-plane kernel (16, 32, 48) and some that do not, with padding after the halves and
// without the odd half.
func TestDeinterleaveRows(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	forPaths(t, func(t *testing.T, p Path) {
		for _, w := range []int{1, 2, 7, 14, 16, 17, 32, 48} {
			for _, rows := range []int{1, 3, 16} {
				for _, withOdd := range []bool{false, true} {
					srcStride, dstStride := w+3, (w+1)/2+2
					src := vecInput(r, rows*srcStride+1)[1:]
					even, odd := vecInput(r, rows*dstStride+5), vecInput(r, rows*dstStride+5)
					wantEven, wantOdd := append([]float32(nil), even...), append([]float32(nil), odd...)
					var o, wo []float32
					if withOdd {
						o, wo = odd, wantOdd
					}
					for i := 0; i < rows; i++ {
						re, ro := wantEven[i*dstStride:(i+1)*dstStride], []float32(nil)
						if withOdd {
							ro = wo[i*dstStride : (i+1)*dstStride]
						}
						for j := range re {
							re[j] = 0
						}
						for j := range ro {
							ro[j] = 0
						}
						Deinterleave(src[i*srcStride:i*srcStride+w], re, ro)
					}
					DeinterleaveRows(src, srcStride, w, even, o, dstStride, rows)
					what := fmt.Sprintf("DeinterleaveRows w=%d rows=%d odd=%v even", w, rows, withOdd)
					sameBits(t, what, p, len(even), even, wantEven)
					sameBits(t, what+"/odd", p, len(odd), odd, wantOdd)
				}
			}
		}
	})
}

// InterleaveRows against its definition on every path, for the widths of TestDeinterleaveRows,
// beta 0, 1 and 0.5 (the kernel takes 0 and 1), with and without the odd half; the dst elements
// past each row's w must stay untouched.
func TestInterleaveRows(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	forPaths(t, func(t *testing.T, p Path) {
		for _, w := range []int{1, 2, 7, 14, 16, 17, 32, 48} {
			for _, rows := range []int{1, 3} {
				for _, beta := range []float32{0, 1, 0.5} {
					for _, withOdd := range []bool{false, true} {
						dstStride, srcStride := w+5, (w+1)/2+3
						even, odd := vecInput(r, rows*srcStride+1)[1:], vecInput(r, rows*srcStride+1)[1:]
						dst := vecInput(r, rows*dstStride)
						want := append([]float32(nil), dst...)
						for i := 0; i < rows; i++ {
							for j := 0; j < w; j++ {
								d := &want[i*dstStride+j]
								switch {
								case j%2 == 0:
									*d = blend(*d, even[i*srcStride+j/2], beta)
								case withOdd:
									*d = blend(*d, odd[i*srcStride+j/2], beta)
								case beta == 0:
									*d = 0
								default:
									*d = beta * *d
								}
							}
						}
						var o []float32
						if withOdd {
							o = odd
						}
						InterleaveRows(dst, dstStride, w, even, o, srcStride, rows, beta)
						sameBits(t, fmt.Sprintf("InterleaveRows w=%d rows=%d beta=%v odd=%v", w, rows, beta, withOdd), p, len(dst), dst, want)
					}
				}
			}
		}
	})
}
