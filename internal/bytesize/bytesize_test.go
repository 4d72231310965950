package bytesize

import (
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		b    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{1<<20 - 1, "1024.0 KiB"},
		{96 << 20, "96.0 MiB"},
		{9 << 29, "4.5 GiB"},
		{3 << 40, "3072.0 GiB"},
	} {
		if got := Format(c.b); got != c.want {
			t.Errorf("Format(%d) = %q, want %q", c.b, got, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		s    string
		want int64
	}{
		{"4096", 4096}, {"1B", 1}, {"20GiB", 20 << 30}, {"20 GiB", 20 << 30}, {"20gib", 20 << 30}, {"1.5K", 1536},
		{"512M", 512 << 20}, {"2T", 2 << 40}, {"500MB", 500e6}, {"1.5 GB", 1.5e9}, {"3kB", 3000}, {"1TiB", 1 << 40},
	} {
		if got, err := Parse(c.s); err != nil || got != c.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", c.s, got, err, c.want)
		}
	}
	for _, s := range []string{"", "GiB", "20 GiBs", "-5GiB", "0", "0.2", "1e3", "NaN", "9999999 TiB", "20 GiB extra"} {
		if v, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) = %d, want an error", s, v)
		}
	}
	// Parse reads back what Format writes (to its rounding).
	for _, b := range []int64{812, 1536, 96 << 20, 9 << 29} {
		if got, err := Parse(strings.ReplaceAll(Format(b), " ", "")); err != nil || got != b {
			t.Errorf("Parse(Format(%d) = %q) = %d, %v", b, Format(b), got, err)
		}
	}
}
