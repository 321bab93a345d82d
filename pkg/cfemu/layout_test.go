package cfemu

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestModelsImportNoOtherEmulatorPackage keeps the split of docs/emulator.md:
// the API model (account) and the deployed-Worker model (worker) import
// neither each other nor the HTTP front; only the front joins them.
func TestModelsImportNoOtherEmulatorPackage(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"account", "worker"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no files (%v)", dir, err)
		}
		for _, f := range files {
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if strings.Contains(path, "/pkg/cfemu") {
					t.Errorf("%s imports %s", f, path)
				}
			}
		}
	}
}
