package bytesize

import "testing"

func TestFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n       int64
		si, iec string
	}{
		{0, "0 B", "0 B"},
		{999, "999 B", "999 B"},
		{1000, "1.0 kB", "1000 B"},
		{1536, "1.5 kB", "1.5 KiB"},
		{12_300_000, "12.3 MB", "11.7 MiB"},
		{4 << 30, "4.3 GB", "4.0 GiB"},
	}
	for _, tt := range tests {
		if got := SI(tt.n); got != tt.si {
			t.Errorf("SI(%d) = %q, want %q", tt.n, got, tt.si)
		}
		if got := IEC(tt.n); got != tt.iec {
			t.Errorf("IEC(%d) = %q, want %q", tt.n, got, tt.iec)
		}
	}
}
