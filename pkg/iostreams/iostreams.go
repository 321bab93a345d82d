// Package iostreams wraps the standard streams with what a command needs to
// know about them: whether they are terminals, whether colour is wanted, and
// a progress indicator that only ever draws on an interactive stderr.
package iostreams

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
)

// IOStreams is the set of streams a command reads from and writes to.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool
	color     bool
	// neverPrompt is set by --yes/--non-interactive and by CI=true.
	neverPrompt bool

	mu       sync.Mutex
	progress *spinner
	warned   map[string]bool
}

// System returns streams bound to the process's stdin, stdout and stderr.
// getenv decides colour (NO_COLOR, TERM=dumb) and CI mode.
func System(getenv func(string) string) *IOStreams {
	return fromFiles(os.Stdin, os.Stdout, os.Stderr, getenv)
}

// fromFiles is System for any three files, so tests can hand it terminals
// and plain files.
func fromFiles(in, out, errOut *os.File, getenv func(string) string) *IOStreams {
	s := &IOStreams{
		In:        in,
		Out:       out,
		ErrOut:    errOut,
		stdinTTY:  isTerminal(in),
		stdoutTTY: isTerminal(out),
		stderrTTY: isTerminal(errOut),
	}
	s.color = s.stdoutTTY && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
	if v := getenv("CI"); v != "" && v != "false" && v != "0" {
		s.neverPrompt = true
	}
	return s
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// Test returns streams backed by buffers, with no terminal attached.
func Test() (s *IOStreams, in *bytes.Buffer, out *bytes.Buffer, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// SetTTY marks all three streams as terminals (or not); tests use it to cover both paths.
func (s *IOStreams) SetTTY(tty bool) {
	s.stdinTTY, s.stdoutTTY, s.stderrTTY = tty, tty, tty
}

// SetColorEnabled forces colour on or off.
func (s *IOStreams) SetColorEnabled(on bool) { s.color = on }

// SetNeverPrompt disables prompts, as --yes and CI=true do.
func (s *IOStreams) SetNeverPrompt(never bool) { s.neverPrompt = never }

// IsStdinTTY reports whether standard input is a terminal.
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// IsStdoutTTY reports whether standard output is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether standard error is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// ColorEnabled reports whether output may carry ANSI colour.
func (s *IOStreams) ColorEnabled() bool { return s.color }

// CanPrompt reports whether the user can be asked a question.
func (s *IOStreams) CanPrompt() bool {
	return !s.neverPrompt && s.stdinTTY && s.stderrTTY
}

// ColorScheme returns colour helpers that honour ColorEnabled.
func (s *IOStreams) ColorScheme() *ColorScheme { return &ColorScheme{enabled: s.color} }

// Warn prints a warning line on stderr.
func (s *IOStreams) Warn(msg string) {
	fmt.Fprintf(s.ErrOut, "%s %s\n", s.ColorScheme().WarningIcon(), msg)
}

// WarnOnce is Warn, saying msg only the first time it is given, for
// warnings about input read more than once in a run.
func (s *IOStreams) WarnOnce(msg string) {
	s.mu.Lock()
	if s.warned[msg] {
		s.mu.Unlock()
		return
	}
	if s.warned == nil {
		s.warned = map[string]bool{}
	}
	s.warned[msg] = true
	s.mu.Unlock()
	s.Warn(msg)
}

// StartProgress shows a spinner with label on stderr when it is a terminal.
// On a non-terminal it does nothing, so piped output stays clean.
func (s *IOStreams) StartProgress(label string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stderrTTY {
		return
	}
	if s.progress != nil {
		s.progress.setLabel(label)
		return
	}
	s.progress = startSpinner(s.ErrOut, label)
}

// StopProgress removes the spinner, if any.
func (s *IOStreams) StopProgress() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.progress != nil {
		s.progress.stop()
		s.progress = nil
	}
}

type spinner struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	done  chan struct{}
	wg    sync.WaitGroup
}

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func startSpinner(w io.Writer, label string) *spinner {
	sp := &spinner{w: w, label: label, done: make(chan struct{})}
	sp.wg.Add(1)
	go func() {
		defer sp.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			sp.mu.Lock()
			fmt.Fprintf(sp.w, "\r\033[K%s %s", spinnerFrames[i%len(spinnerFrames)], sp.label)
			sp.mu.Unlock()
			select {
			case <-sp.done:
				fmt.Fprint(sp.w, "\r\033[K")
				return
			case <-t.C:
			}
		}
	}()
	return sp
}

func (sp *spinner) setLabel(label string) {
	sp.mu.Lock()
	sp.label = label
	sp.mu.Unlock()
}

func (sp *spinner) stop() {
	close(sp.done)
	sp.wg.Wait()
}
