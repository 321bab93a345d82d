//go:build !windows

package atomicfile

import (
	"bytes"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
)

// WriteFile writes data to path atomically. A new file gets perm; an
// existing one keeps its mode, unless perm is private (no group or other
// bits), which is then enforced: a secret never stays readable by others.
// A file that already holds data (with that private mode) is left as it
// is: rewriting it would cost a sync to disk for nothing.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	if holds(path, data, perm) {
		return nil
	}
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

// holds reports whether path is a regular file with content data and, when
// perm is private, exactly that mode.
func holds(path string, data []byte, perm os.FileMode) bool {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != int64(len(data)) {
		return false
	}
	if perm&0o077 == 0 && fi.Mode().Perm() != perm {
		return false
	}
	b, err := os.ReadFile(path)
	return err == nil && bytes.Equal(b, data)
}
