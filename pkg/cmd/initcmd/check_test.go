package initcmd

import "testing"

// checkManifest asserts that the manifest init wrote is accepted by the
// code that reads it.
func checkManifest(t *testing.T, path string) {
	t.Helper()
	doc, err := readManifest(path)
	if err != nil || doc == nil {
		t.Fatalf("manifest does not parse: %v", err)
	}
}
