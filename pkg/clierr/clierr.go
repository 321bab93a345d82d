// Package clierr holds the typed errors moltctl returns and the exit codes
// they map to. It is a leaf: libraries return these errors, and the root
// command's printer turns them into a message, a hint and an exit code.
package clierr

import (
	"errors"
	"fmt"
)

// Exit codes are a contract with scripts and CI; docs/exit-codes.md lists them.
const (
	ExitOK          = 0   // success
	ExitError       = 1   // the operation failed
	ExitUsage       = 2   // bad flags, arguments or input files
	ExitPreflight   = 3   // a preflight check failed; nothing was changed
	ExitUnhealthy   = 4   // status: the assistant is not healthy
	ExitCancelled   = 6   // the user declined a confirmation
	ExitInterrupted = 130 // SIGINT or SIGTERM
)

// Hinter is an error that knows how the user can fix it.
type Hinter interface {
	Hint() string
}

// HintError wraps an error with the fix for it.
type HintError struct {
	Err  error
	Fix  string
	Code int // exit code; ExitError when zero
}

func (e *HintError) Error() string { return e.Err.Error() }
func (e *HintError) Unwrap() error { return e.Err }

// Hint returns the fix.
func (e *HintError) Hint() string { return e.Fix }

// ExitCode returns the exit code the error maps to.
func (e *HintError) ExitCode() int {
	if e.Code == 0 {
		return ExitError
	}
	return e.Code
}

// WithHint attaches a fix to err.
func WithHint(err error, fix string) error {
	if err == nil {
		return nil
	}
	return &HintError{Err: err, Fix: fix}
}

// UsageError is a mistake in how the command was called or in an input file.
type UsageError struct {
	Err error
	Fix string
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Hint returns the fix, if any.
func (e *UsageError) Hint() string { return e.Fix }

// ExitCode is always ExitUsage.
func (e *UsageError) ExitCode() int { return ExitUsage }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// ExitCoder is an error that chooses the process exit code.
type ExitCoder interface {
	ExitCode() int
}

// SilentError ends the command with Code, printing nothing more: the
// command has already reported what went wrong (for example, a doctor
// report with failures).
type SilentError struct{ Code int }

func (e *SilentError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// ExitCode returns Code.
func (e *SilentError) ExitCode() int { return e.Code }

// ErrCancelled is returned when the user declines a confirmation.
var ErrCancelled = &cancelError{}

type cancelError struct{}

func (*cancelError) Error() string { return "cancelled" }
func (*cancelError) ExitCode() int { return ExitCancelled }

// ExitCodeOf maps an error to the process exit code.
func ExitCodeOf(err error) int {
	if err == nil {
		return ExitOK
	}
	var ec ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return ExitError
}

// HintOf returns the first fix found along err's chain, or "".
func HintOf(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if h, ok := e.(Hinter); ok && h.Hint() != "" {
			return h.Hint()
		}
	}
	return ""
}

// InterruptedError reports that a signal stopped the command.
type InterruptedError struct {
	// Step names where the work stopped, when known.
	Step string
	// Resume is the command that continues the work.
	Resume string
}

func (e *InterruptedError) Error() string {
	if e.Step != "" {
		return "interrupted at step " + e.Step
	}
	return "interrupted"
}

// Hint says how to continue.
func (e *InterruptedError) Hint() string {
	if e.Resume != "" {
		return "run the same command to continue: " + e.Resume
	}
	return ""
}

// ExitCode is 130, as for a shell's SIGINT.
func (e *InterruptedError) ExitCode() int { return ExitInterrupted }
