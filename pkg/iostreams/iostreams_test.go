package iostreams

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// files returns a terminal (the slave end of a pseudo-terminal) and a
// plain file, both closed when the test ends.
func files(t *testing.T) (tty, plain *os.File) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { tty.Close(); ptmx.Close() })
	plain, err = os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Close() })
	return tty, plain
}

func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestSystemDetection(t *testing.T) {
	t.Parallel()
	tty, plain := files(t)
	tests := []struct {
		name                  string
		in, out, errOut       *os.File
		env                   []string
		stdin, stdout, stderr bool
		color, canPrompt      bool
	}{
		{name: "all terminals", in: tty, out: tty, errOut: tty, stdin: true, stdout: true, stderr: true, color: true, canPrompt: true},
		{name: "stdout piped", in: tty, out: plain, errOut: tty, stdin: true, stderr: true, canPrompt: true},
		{name: "stdin piped", in: plain, out: tty, errOut: tty, stdout: true, stderr: true, color: true},
		{name: "stderr piped", in: tty, out: tty, errOut: plain, stdin: true, stdout: true, color: true},
		{name: "nothing a terminal", in: plain, out: plain, errOut: plain},
		{name: "NO_COLOR", in: tty, out: tty, errOut: tty, env: []string{"NO_COLOR", "1"}, stdin: true, stdout: true, stderr: true, canPrompt: true},
		{name: "TERM=dumb", in: tty, out: tty, errOut: tty, env: []string{"TERM", "dumb"}, stdin: true, stdout: true, stderr: true, canPrompt: true},
		{name: "CI=true", in: tty, out: tty, errOut: tty, env: []string{"CI", "true"}, stdin: true, stdout: true, stderr: true, color: true},
		{name: "CI=1", in: tty, out: tty, errOut: tty, env: []string{"CI", "1"}, stdin: true, stdout: true, stderr: true, color: true},
		{name: "CI=false", in: tty, out: tty, errOut: tty, env: []string{"CI", "false"}, stdin: true, stdout: true, stderr: true, color: true, canPrompt: true},
		{name: "CI=0", in: tty, out: tty, errOut: tty, env: []string{"CI", "0"}, stdin: true, stdout: true, stderr: true, color: true, canPrompt: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := fromFiles(tt.in, tt.out, tt.errOut, envOf(tt.env...))
			if s.IsStdinTTY() != tt.stdin || s.IsStdoutTTY() != tt.stdout || s.IsStderrTTY() != tt.stderr {
				t.Errorf("TTY in/out/err = %v/%v/%v, want %v/%v/%v",
					s.IsStdinTTY(), s.IsStdoutTTY(), s.IsStderrTTY(), tt.stdin, tt.stdout, tt.stderr)
			}
			if s.ColorEnabled() != tt.color {
				t.Errorf("ColorEnabled() = %v, want %v", s.ColorEnabled(), tt.color)
			}
			if s.CanPrompt() != tt.canPrompt {
				t.Errorf("CanPrompt() = %v, want %v", s.CanPrompt(), tt.canPrompt)
			}
		})
	}
}

func TestTestStreams(t *testing.T) {
	t.Parallel()
	s, _, _, _ := Test()
	if s.IsStdinTTY() || s.IsStdoutTTY() || s.IsStderrTTY() || s.ColorEnabled() || s.CanPrompt() {
		t.Fatal("Test() streams claim a terminal, colour or prompting")
	}
	s.SetTTY(true)
	if !s.IsStdinTTY() || !s.IsStdoutTTY() || !s.IsStderrTTY() || !s.CanPrompt() {
		t.Fatal("SetTTY(true) did not make the streams terminals")
	}
	// A terminal alone does not turn colour on: System decides it.
	if s.ColorEnabled() {
		t.Fatal("SetTTY turned colour on")
	}
	s.SetNeverPrompt(true)
	if s.CanPrompt() {
		t.Fatal("CanPrompt() with SetNeverPrompt(true)")
	}
}

func TestCanPrompt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		stdin, stderr, never bool
		want                 bool
	}{
		{true, true, false, true},
		{true, true, true, false},
		{false, true, false, false},
		{true, false, false, false},
	}
	for _, tt := range tests {
		s, _, _, _ := Test()
		s.stdinTTY, s.stderrTTY, s.neverPrompt = tt.stdin, tt.stderr, tt.never
		if got := s.CanPrompt(); got != tt.want {
			t.Errorf("stdin %v stderr %v never %v: CanPrompt() = %v, want %v", tt.stdin, tt.stderr, tt.never, got, tt.want)
		}
	}
}

func TestColorScheme(t *testing.T) {
	t.Parallel()
	s, _, _, _ := Test()
	// Off (the default of Test, as for --no-color and a non-terminal): plain text.
	cs := s.ColorScheme()
	for _, got := range []string{cs.Bold("x"), cs.Green("x"), cs.Red("x"), cs.Yellow("x"), cs.Gray("x"), cs.Cyan("x")} {
		if got != "x" {
			t.Errorf("colour off: %q, want plain x", got)
		}
	}
	if cs.SuccessIcon() != "✓" || cs.FailureIcon() != "✗" || cs.WarningIcon() != "!" || cs.SkippedIcon() != "-" {
		t.Errorf("icons without colour: %q %q %q %q", cs.SuccessIcon(), cs.FailureIcon(), cs.WarningIcon(), cs.SkippedIcon())
	}

	s.SetColorEnabled(true)
	cs = s.ColorScheme()
	tests := []struct{ got, want string }{
		{cs.Bold("x"), "\033[1mx\033[0m"},
		{cs.Green("x"), "\033[32mx\033[0m"},
		{cs.Red("x"), "\033[31mx\033[0m"},
		{cs.Yellow("x"), "\033[33mx\033[0m"},
		{cs.Gray("x"), "\033[90mx\033[0m"},
		{cs.Cyan("x"), "\033[36mx\033[0m"},
		{cs.SuccessIcon(), "\033[32m✓\033[0m"},
		{cs.FailureIcon(), "\033[31m✗\033[0m"},
		{cs.WarningIcon(), "\033[33m!\033[0m"},
		{cs.SkippedIcon(), "\033[90m-\033[0m"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("colour on: %q, want %q", tt.got, tt.want)
		}
	}

	// Turning it off again applies to schemes taken afterwards.
	s.SetColorEnabled(false)
	if got := s.ColorScheme().Red("x"); got != "x" {
		t.Errorf("after SetColorEnabled(false): %q", got)
	}
}

func TestWarn(t *testing.T) {
	t.Parallel()
	for _, color := range []bool{false, true} {
		s, _, out, errOut := Test()
		s.SetColorEnabled(color)
		s.Warn("disk almost full")
		want := "! disk almost full\n"
		if color {
			want = "\033[33m!\033[0m disk almost full\n"
		}
		if errOut.String() != want {
			t.Errorf("colour %v: stderr %q, want %q", color, errOut.String(), want)
		}
		if out.Len() != 0 {
			t.Errorf("colour %v: a warning reached stdout: %q", color, out.String())
		}
	}
}

func TestWarnOnce(t *testing.T) {
	t.Parallel()
	s, _, _, errOut := Test()
	s.WarnOnce("a")
	s.WarnOnce("b")
	s.WarnOnce("a")
	s.Warn("a") // Warn always says it
	if got, want := errOut.String(), "! a\n! b\n! a\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

func TestProgressOnlyOnTerminal(t *testing.T) {
	t.Parallel()
	s, _, out, errOut := Test()
	s.StartProgress("building")
	s.StopProgress()
	if errOut.Len() != 0 || out.Len() != 0 {
		t.Fatalf("progress drawn without a terminal: stdout %q stderr %q", out.String(), errOut.String())
	}

	s, _, out, errOut = Test()
	s.SetTTY(true)
	s.StartProgress("building")
	s.StartProgress("pushing") // relabels the one spinner
	s.StopProgress()
	s.StopProgress() // twice is harmless
	got := errOut.String()
	if !strings.Contains(got, "building") && !strings.Contains(got, "pushing") {
		t.Errorf("no spinner drawn on a terminal: %q", got)
	}
	if !strings.HasSuffix(got, "\r\033[K") {
		t.Errorf("the spinner's line was not cleared at the end: %q", got)
	}
	if out.Len() != 0 {
		t.Errorf("progress reached stdout: %q", out.String())
	}
}
