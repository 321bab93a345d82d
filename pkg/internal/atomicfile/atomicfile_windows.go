//go:build windows

package atomicfile

import "os"

// WriteFile writes data to path. Windows cannot replace a file atomically
// (github.com/google/renameio/issues/1), so this is os.WriteFile.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return os.WriteFile(path, data, perm)
}
