package manifest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const sentinel = "sk-ant-api03-SENTINELmanifestValue0123456789abcdefghij"

func TestParseBoundsDepthAndSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		want string
	}{
		{"a million flow levels", "secrets:\n  A: " + strings.Repeat("[", 1_000_000), "moltctl.yaml:2:70: nested deeper than 64 levels"},
		{"600 KB of flow mappings", strings.Repeat("{a: ", 150_000), "moltctl.yaml:1:257: nested deeper than 64 levels"},
		{"block nesting", "secrets:\n" + strings.Repeat("- ", 100) + "x\n", "moltctl.yaml:2:"},
		{"deep block mappings", func() string {
			var b strings.Builder
			for i := 0; i < 80; i++ {
				b.WriteString(strings.Repeat(" ", i) + "a:\n")
			}
			return b.String()
		}(), "nested deeper than 64 levels"},
		{"2 MiB", "vars:\n  A: \"" + strings.Repeat("x", 2<<20) + "\"\n", "moltctl.yaml: larger than 1024 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, err := Parse("moltctl.yaml", []byte(tt.data))
			var l ErrorList
			if !errors.As(err, &l) || l.ExitCode() != 2 || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "levels") && !strings.Contains(err.Error(), "KiB") {
				t.Fatalf("err = %.200v, want %q", err, tt.want)
			}
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Errorf("took %v", d)
			}
		})
	}
	// Brackets in quotes and comments do not count.
	deep := strings.Repeat("[", 100)
	ok := "# " + deep + "\nvars:\n  A: \"" + deep + "\"\n  B: '" + deep + "'\n  C: x" + deep + "\n"
	if _, err := Parse("moltctl.yaml", []byte(ok)); err != nil {
		t.Fatalf("quoted brackets refused: %v", err)
	}
	p := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(p, []byte("vars:\n  A: \""+strings.Repeat("x", 2<<20)+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Load: %v", err)
	}
}

func TestParseNeverEchoesPastedValues(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ src, want string }{
		{"secrets:\n  ANTHROPIC_API_KEY: {env: " + sentinel + "}\n", "moltctl.yaml:2:28: secrets.ANTHROPIC_API_KEY.env: not the name of an environment variable"},
		{"secrets:\n  MOLTBOT_GATEWAY_TOKEN: {generate: " + sentinel + "}\n", "secrets.MOLTBOT_GATEWAY_TOKEN.generate: not a format"},
		{"secrets:\n  MOLTBOT_GATEWAY_TOKEN: {env: a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90}\n", "secrets.MOLTBOT_GATEWAY_TOKEN.env: not the name of an environment variable"},
		{"secrets:\n  A: {env: A" + strings.Repeat("B", 64) + "}\n", "secrets.A.env: not the name of an environment variable"},
		{"secrets:\n  MOLTBOT_GATEWAY_TOKEN: {generate: 3f9c2a7be41d08c6f5a92e3b7d10c4e8}\n", "generate: not a format"},
		{"secrets:\n  ANTHROPIC_API_KEY: {" + sentinel + "}\n", "secrets.ANTHROPIC_API_KEY: unknown key (a key that may be a value, not shown)"},
		{"secrets:\n  " + sentinel + ": {env: A}\n", "(a key that may be a value, not shown) is not a valid secret name"},
		{sentinel + ": x\n", "unknown key (a key that may be a value, not shown)"},
		{"vars:\n  " + sentinel + ": x\n", "is not a valid variable name"},
		{"access:\n  " + sentinel + ": x\n", "unknown key (a key that may be a value, not shown) under access"},
		{"persistence:\n  " + sentinel + ": x\n", "under persistence"},
		{"secrets:\n  A: {env: B}\n  A: {env: B}\n", `"A" appears twice`},
		{"secrets:\n  A: {comand: [x]}\n", `unknown key "comand" (did you mean command?)`},
		{"secret:\n  A: {env: B}\n", `unknown key "secret" (did you mean secrets?)`},
		{"secrets:\n  A: {command: [x], timeout: forever}\n", "secrets.A.timeout: want a duration between 1s and 1h"},
		{"secrets:\n  A: {command: [x], pass_env: [" + sentinel + "]}\n", "secrets.A.pass_env: not the name of an environment variable"},
		{"secrets:\n  A: {env: B, timeout: 1m}\n", "only a command source takes timeout and pass_env"},
	} {
		_, err := Parse("moltctl.yaml", []byte(tt.src))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q:\n got %v\nwant %q", tt.src, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error()+Hint(err), "SENTINEL") {
			t.Errorf("%q: error echoes the value: %v", tt.src, err)
		}
	}
	m, err := Parse("moltctl.yaml", []byte("secrets:\n  A: {command: [x], timeout: 2m, pass_env: [CLOUDFLARE_API_TOKEN]}\n"))
	if err != nil || m.Secrets[0].Source.Timeout != 2*time.Minute || m.Secrets[0].Source.PassEnv[0] != "CLOUDFLARE_API_TOKEN" {
		t.Fatalf("%v %+v", err, m)
	}
}

// Hint returns err's fix, if it has one.
func Hint(err error) string {
	var h interface{ Hint() string }
	if errors.As(err, &h) {
		return h.Hint()
	}
	return ""
}

func commandManifest(t *testing.T, src Source) *Manifest {
	t.Helper()
	return &Manifest{Path: filepath.Join(t.TempDir(), FileName), Secrets: []Secret{{Name: "A", Source: src, Line: 2}}}
}

func TestCommandSourceBounded(t *testing.T) {
	t.Parallel()
	sh := func(script string) Source {
		return Source{Kind: SourceCommand, Command: []string{"/bin/sh", "-c", script}}
	}
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		src := sh("sleep 30")
		src.Timeout = 200 * time.Millisecond
		start := time.Now()
		_, err := commandManifest(t, src).Resolve(context.Background(), ResolveOptions{})
		if err == nil || !strings.Contains(err.Error(), "did not finish within 200ms") || !strings.Contains(Hint(err), "timeout:") {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %v", d)
		}
	})
	t.Run("cancel is not a timeout", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := commandManifest(t, sh("sleep 30")).Resolve(ctx, ResolveOptions{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("environment", func(t *testing.T) {
		t.Parallel()
		environ := []string{"PATH=" + os.Getenv("PATH"), "CLOUDFLARE_API_TOKEN=cftoken", "CF_API_TOKEN=legacy", "OTHER=kept"}
		src := sh(`echo "${CLOUDFLARE_API_TOKEN:-none} ${CF_API_TOKEN:-none} $OTHER"`)
		v, err := commandManifest(t, src).Resolve(context.Background(), ResolveOptions{Environ: environ})
		if got, _ := v.Get("A"); err != nil || got != "none none kept" {
			t.Fatalf("scrubbed: %q %v", got, err)
		}
		src.PassEnv = []string{"CLOUDFLARE_API_TOKEN"}
		v, err = commandManifest(t, src).Resolve(context.Background(), ResolveOptions{Environ: environ})
		if got, _ := v.Get("A"); err != nil || got != "cftoken none kept" {
			t.Fatalf("pass_env: %q %v", got, err)
		}
	})
	t.Run("not UTF-8", func(t *testing.T) {
		t.Parallel()
		_, err := commandManifest(t, sh(`printf 'ok\377\376'`)).Resolve(context.Background(), ResolveOptions{})
		if err == nil || !strings.Contains(err.Error(), "A (") || !strings.Contains(err.Error(), "not UTF-8") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("stderr that may hold the value", func(t *testing.T) {
		t.Parallel()
		environ := []string{"PATH=" + os.Getenv("PATH"), "S=" + sentinel}
		for script, want := range map[string]string{
			`echo "$S" >&2; exit 1`:                 "not shown: it may hold the value",
			`echo "token: $S is bad" >&2; exit 1`:   "not shown",
			`echo partial; echo failed >&2; exit 1`: "not shown",
			`echo 'op: not signed in' >&2; exit 1`:  "exit status 1: op: not signed in",
		} {
			_, err := commandManifest(t, sh(script)).Resolve(context.Background(), ResolveOptions{Environ: environ})
			if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "SENTINEL") {
				t.Errorf("%s: err = %v", script, err)
			}
		}
	})
}

func TestStdinBounded(t *testing.T) {
	t.Parallel()
	m := &Manifest{Path: "moltctl.yaml", Secrets: []Secret{{Name: "A", Source: Source{Kind: SourceStdin}}}}
	_, err := m.Resolve(context.Background(), ResolveOptions{Stdin: strings.NewReader(strings.Repeat("x", MaxFileSize+1))})
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v", err)
	}
	two := &Manifest{Path: "moltctl.yaml", Secrets: []Secret{{Name: "A", Source: Source{Kind: SourceStdin}}, {Name: "B", Source: Source{Kind: SourceStdin}}}}
	_, err = two.Resolve(context.Background(), ResolveOptions{Stdin: strings.NewReader("A=1\n" + sentinel + "\n")})
	if err == nil || !strings.Contains(err.Error(), "<stdin>:2: not NAME=value") || strings.Contains(err.Error(), "SENTINEL") {
		t.Fatalf("err = %v", err)
	}
}

func TestFileSourceRefusesWhatNeverEnds(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"/dev/zero", "/dev/urandom"} {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		for _, kind := range []SourceKind{SourceFile, SourceDotenv} {
			m := &Manifest{Path: filepath.Join(t.TempDir(), FileName), Secrets: []Secret{{Name: "A", Source: Source{Kind: kind, File: p}}}}
			_, err := m.Resolve(context.Background(), ResolveOptions{})
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("%s %s: %v", kind, p, err)
			}
		}
	}
}
