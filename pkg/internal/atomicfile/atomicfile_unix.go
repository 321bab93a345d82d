//go:build !windows

package atomicfile

import (
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
)

// WriteFile writes data to path atomically. A new file gets perm; an
// existing one keeps its mode, unless perm is private (no group or other
// bits), which is then enforced: a secret never stays readable by others.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	opts := []renameio.Option{renameio.WithTempDir(filepath.Dir(path)), renameio.WithPermissions(perm)}
	if perm&0o077 == 0 {
		opts = append(opts, renameio.WithStaticPermissions(perm))
	} else {
		opts = append(opts, renameio.WithExistingPermissions())
	}
	t, err := renameio.NewPendingFile(path, opts...)
	if err != nil {
		return err
	}
	defer t.Cleanup()
	if _, err := t.Write(data); err != nil {
		return err
	}
	return t.CloseAtomicallyReplace()
}
