package suggest

import "testing"

func TestNearest(t *testing.T) {
	t.Parallel()
	known := []string{"containers", "r2_buckets", "durable_objects", "name", "main", "vars", "env"}
	for in, want := range map[string]string{
		"contianers": "containers", "r2_bucket": "r2_buckets", "durable_object": "durable_objects",
		"nme": "name", "mian": "main", "unrelated": "", "": "", "envv": "env", "routes": "",
	} {
		if got := Nearest(in, known); got != want {
			t.Errorf("Nearest(%q) = %q, want %q", in, got, want)
		}
	}
}
