package image

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeTree writes files (path → content; a trailing "*" in the path marks it executable).
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		mode := os.FileMode(0o644)
		if p[len(p)-1] == '*' {
			p, mode = p[:len(p)-1], 0o755
		}
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, mode); err != nil {
			t.Fatal(err)
		}
	}
}

func baseTree() map[string]string {
	return map[string]string{
		"Dockerfile":        "FROM scratch\nCOPY . /app\n",
		".dockerignore":     "node_modules\n*.log\n!keep.log\n",
		"a.txt":             "alpha\n",
		"bin/run.sh*":       "#!/bin/sh\n",
		"node_modules/x.js": "ignored\n",
		"debug.log":         "ignored\n",
		"keep.log":          "kept\n",
	}
}

func tagOf(t *testing.T, files map[string]string, edit func(dir string), spec func(*Spec)) string {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, files)
	if edit != nil {
		edit(dir)
	}
	s := Spec{ContextDir: dir, Dockerfile: "Dockerfile", BuildArgs: map[string]string{"A": "1"}}
	if spec != nil {
		spec(&s)
	}
	tag, err := ContentTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

func with(files map[string]string, k, v string) map[string]string {
	m := map[string]string{}
	for a, b := range files {
		m[a] = b
	}
	if v == "" {
		delete(m, k)
	} else {
		m[k] = v
	}
	return m
}

func TestContentTag(t *testing.T) {
	t.Parallel()
	base := tagOf(t, baseTree(), nil, nil)
	if len(base) != TagLength {
		t.Fatalf("tag %q has length %d", base, len(base))
	}
	tests := []struct {
		name  string
		files map[string]string
		edit  func(dir string)
		spec  func(*Spec)
		same  bool
	}{
		{name: "same inputs elsewhere", files: baseTree(), same: true},
		{name: "times and group bits do not count", files: baseTree(), same: true, edit: func(dir string) {
			old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
			_ = os.Chtimes(filepath.Join(dir, "a.txt"), old, old)
			_ = os.Chmod(filepath.Join(dir, "a.txt"), 0o664)
		}},
		{name: "ignored directory changes", files: with(baseTree(), "node_modules/y.js", "new"), same: true},
		{name: "ignored file changes", files: with(baseTree(), "debug.log", "other"), same: true},
		{name: "explicit platform is the default", files: baseTree(), same: true, spec: func(s *Spec) { s.Platform = "linux/amd64" }},
		{name: "re-included file changes", files: with(baseTree(), "keep.log", "other")},
		{name: "context file changes", files: with(baseTree(), "a.txt", "beta\n")},
		{name: "file added", files: with(baseTree(), "c.txt", "c")},
		{name: "file removed", files: with(baseTree(), "a.txt", "")},
		{name: "file renamed", files: with(with(baseTree(), "a.txt", ""), "b.txt", "alpha\n")},
		{name: "executable bit", files: with(with(baseTree(), "bin/run.sh*", ""), "bin/run.sh", "#!/bin/sh\n")},
		{name: "Dockerfile comment", files: with(baseTree(), "Dockerfile", "FROM scratch\n# cache bust\nCOPY . /app\n")},
		{name: ".dockerignore changes", files: with(baseTree(), ".dockerignore", "node_modules\n")},
		{name: "build arg value", files: baseTree(), spec: func(s *Spec) { s.BuildArgs = map[string]string{"A": "2"} }},
		{name: "platform", files: baseTree(), spec: func(s *Spec) { s.Platform = "linux/arm64" }},
		{name: "empty directory added", files: baseTree(), edit: func(dir string) { _ = os.Mkdir(filepath.Join(dir, "empty"), 0o755) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tagOf(t, tt.files, tt.edit, tt.spec)
			if (got == base) != tt.same {
				t.Errorf("tag %s, base %s, want same=%v", got, base, tt.same)
			}
		})
	}
}

func TestReadContext(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeTree(t, dir, baseTree())
	bc, err := readContext(Spec{ContextDir: dir, Dockerfile: "Dockerfile"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range bc.entries {
		got = append(got, e.rel)
	}
	want := []string{".dockerignore", "Dockerfile", "a.txt", "bin", "bin/run.sh", "keep.log"}
	if len(got) != len(want) {
		t.Fatalf("entries %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("entries %v, want %v", got, want)
		}
	}
	// A Dockerfile ignored by .dockerignore is still sent; one outside the context is added.
	outside := t.TempDir()
	writeTree(t, outside, map[string]string{"Dockerfile.app": "FROM scratch\n"})
	bc, err = readContext(Spec{ContextDir: dir, Dockerfile: filepath.Join(outside, "Dockerfile.app")})
	if err != nil {
		t.Fatal(err)
	}
	if !bc.extraDockerfile || bc.dockerfileName != extraDockerfileName {
		t.Errorf("outside Dockerfile: %q extra=%v", bc.dockerfileName, bc.extraDockerfile)
	}
	if _, err := ContentTag(Spec{ContextDir: dir, Dockerfile: "nope"}); err == nil {
		t.Error("missing Dockerfile: no error")
	}
}
