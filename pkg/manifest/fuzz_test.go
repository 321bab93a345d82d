package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func addCorpus(f *testing.F, glob string) {
	files, _ := filepath.Glob(glob)
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzManifest: no input makes Parse or Apply panic, and what Apply
// writes parses again with the same entries.
func FuzzManifest(f *testing.F) {
	addCorpus(f, "testdata/*.yaml")
	f.Add([]byte("secrets:\n  A: {command: \"a 'b\"}\n"))
	f.Add([]byte("secrets: &x\n  A: *x\n"))
	f.Add([]byte("<<: {a: b}\n"))
	f.Add([]byte("secrets:\n  A: {command: [x], timeout: 2m, pass_env: [CLOUDFLARE_API_TOKEN]}\n"))
	// Deep and large inputs, built here: the fuzzer mutates them around the limits.
	f.Add([]byte("secrets: " + strings.Repeat("[", 100_000)))
	f.Add([]byte("secrets:\n" + strings.Repeat("- ", MaxDepth) + "x\n"))
	f.Add([]byte("secrets:\n  A: {env: sk-ant-api03-x}\n  sk-ant-api03-yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy: {env: B}\n"))
	f.Add([]byte("vars:\n  A: \"" + strings.Repeat("x", MaxFileSize) + "\"\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse("m.yaml", b)
		if err != nil {
			return
		}
		p := filepath.Join(dir, FileName)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		var e Edit
		e.Secrets = append(e.Secrets, m.Secrets...)
		for _, n := range m.VarNames {
			e.Vars = append(e.Vars, [2]string{n, m.Vars[n]})
		}
		if err := Apply(p, e); err != nil {
			return // refusing an odd file (e.g. UTF-16) is fine; panicking or corrupting it is not
		}
		m2, err := Load(p)
		if err != nil {
			t.Fatalf("rewritten manifest does not parse: %v", err)
		}
		if len(m2.Secrets) != len(m.Secrets) || len(m2.Vars) != len(m.Vars) {
			t.Fatalf("rewrite lost entries")
		}
	})
}

// FuzzDotenv: no input makes ParseDotenv panic, and what FormatDotenv
// writes reads back to the same values.
func FuzzDotenv(f *testing.F) {
	addCorpus(f, "testdata/*.env")
	addCorpus(f, "testdata/*.dev.vars")
	f.Add([]byte("A=\"unterminated\n"))
	f.Add([]byte("export B='x' # c\nC=d #e\n"))
	f.Add([]byte("A=1\nMIIBtail+/==\n-----END KEY-----\n"))
	f.Add([]byte(strings.Repeat("x\n", 100_000)))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := ParseDotenv(".dev.vars", b)
		if err != nil {
			var l ErrorList
			if !errors.As(err, &l) || len(l) > maxDotenvErrors {
				t.Fatalf("error %T with %d entries", err, len(l))
			}
			return
		}
		m := map[string]string{}
		for _, e := range entries {
			m[e.Key] = e.Value
		}
		back, err := ParseDotenv("x", FormatDotenv("header", m))
		if err != nil {
			t.Fatalf("formatted dotenv does not parse: %v", err)
		}
		if len(back) != len(m) {
			t.Fatalf("round trip: %d entries, want %d", len(back), len(m))
		}
		for _, e := range back {
			if m[e.Key] != e.Value {
				t.Fatalf("round trip changed %s", e.Key)
			}
		}
	})
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
