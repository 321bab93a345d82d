//go:build !windows

package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Not parallel: it points TMPDIR, which the whole process reads, at a
// directory of its own (t.Setenv).
func TestWriteFileStagesBesideTarget(t *testing.T) {
	dir := t.TempDir()
	// A TMPDIR on the same file system, its mtime set in the past: any
	// file created (and renamed away) there would update it.
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	past := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(tmp, past, past); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	p := filepath.Join(dir, "credentials.json")
	if err := WriteFile(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(tmp); err != nil || !fi.ModTime().Equal(past) {
		t.Fatalf("a temporary file was staged in $TMPDIR (%v)", err)
	}
	// An existing file readable by others is made private again.
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if b, _ := os.ReadFile(p); err != nil || string(b) != "two" || fi.Mode().Perm() != 0o600 {
		t.Fatalf("content %q mode %v err %v", b, fi.Mode(), err)
	}
	// A public file keeps the mode its owner gave it.
	q := filepath.Join(dir, "moltctl.yaml")
	if err := WriteFile(q, []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(q, 0o664); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(q, []byte("b"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(q); fi.Mode().Perm() != 0o664 {
		t.Fatalf("mode %v", fi.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 { // tmp, credentials.json, moltctl.yaml
		t.Fatalf("left behind: %v", entries)
	}
}

func TestWriteFileLeavesSameContentAlone(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "state.json")
	if err := WriteFile(p, []byte("same"), 0o600); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("same"), 0o600); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(p); !os.SameFile(before, after) {
		t.Error("a file that already held the data was replaced")
	}
	// Other content, or a private file others could read, is written.
	if err := WriteFile(p, []byte("diff"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "diff" {
		t.Errorf("content %q, want diff", b)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("diff"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}
