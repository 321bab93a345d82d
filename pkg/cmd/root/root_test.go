package root

import (
	"context"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/iostreams"
)

func testFactory(t *testing.T, env map[string]string) (*cmdutil.Factory, *strings.Builder, *strings.Builder) {
	t.Helper()
	io, _, out, errOut := iostreams.Test()
	f := NewFactory(io, func(k string) string { return env[k] }, t.TempDir())
	so, se := &strings.Builder{}, &strings.Builder{}
	f.IOStreams.Out, f.IOStreams.ErrOut = so, se
	_, _ = out, errOut
	return f, so, se
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"version", []string{"version"}, clierr.ExitOK, ""},
		{"bad output", []string{"version", "-o", "yaml"}, clierr.ExitUsage, `--output must be "text" or "json"`},
		{"unknown flag", []string{"version", "--nope"}, clierr.ExitUsage, "unknown flag: --nope"},
		{"unknown command", []string{"nope"}, clierr.ExitUsage, `unknown command "nope"`},
		{"extra argument", []string{"version", "x"}, clierr.ExitUsage, "Error:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, _, stderr := testFactory(t, nil)
			code := Run(context.Background(), f, tt.args)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want %q", stderr, tt.wantStderr)
			}
		})
	}
}

func TestErrorPrinterShowsFix(t *testing.T) {
	t.Parallel()
	io, _, _, errOut := iostreams.Test()
	printError(io, clierr.WithHint(errString("docker daemon not running"), "start Docker Desktop"))
	got := errOut.String()
	if got != "Error: docker daemon not running\nFix: start Docker Desktop\n" {
		t.Errorf("printed %q", got)
	}
}

type errString string

func (e errString) Error() string { return string(e) }
