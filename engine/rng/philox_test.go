package rng

import (
	"math"
	"testing"
)

// Known-answer vectors of Random123's kat_vectors for philox4x32_10.
func TestPhiloxKnownAnswers(t *testing.T) {
	cases := []struct {
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}{
		{[4]uint32{0, 0, 0, 0}, [2]uint32{0, 0}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{[4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, [2]uint32{0xffffffff, 0xffffffff}, [4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0}, [4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	}
	for _, c := range cases {
		if got := Philox4x32(c.ctr, c.key); got != c.want {
			t.Errorf("Philox4x32(%08x, %08x) = %08x, want %08x", c.ctr, c.key, got, c.want)
		}
	}
}

func TestUniformAndNormalMoments(t *testing.T) {
	const n = 200000
	var su, sn, sn2 float64
	for i := uint64(0); i < n; i++ {
		u := Uniform(7, i)
		if u < 0 || u >= 1 {
			t.Fatalf("Uniform out of [0,1): %v", u)
		}
		su += float64(u)
		z := Normal(7, i)
		sn += z
		sn2 += z * z
	}
	if m := su / n; math.Abs(m-0.5) > 0.005 {
		t.Errorf("uniform mean %v, want 0.5", m)
	}
	if m := sn / n; math.Abs(m) > 0.01 {
		t.Errorf("normal mean %v, want 0", m)
	}
	if v := sn2 / n; math.Abs(v-1) > 0.02 {
		t.Errorf("normal variance %v, want 1", v)
	}
	if Uniform(1, 5) == Uniform(2, 5) && Uniform(1, 6) == Uniform(2, 6) {
		t.Error("different seeds gave the same stream")
	}
}
