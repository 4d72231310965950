package bytesize

import "testing"

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
