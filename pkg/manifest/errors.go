package manifest

import (
	"fmt"
	"strings"
)

// Error is one problem in a file, at a line and column. Its text never
// holds a secret value.
type Error struct {
	Path      string
	Line, Col int
	Msg       string
	Fix       string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.Path, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Msg)
}

// Hint returns the fix.
func (e *Error) Hint() string { return e.Fix }

// ExitCode is 2: bad input.
func (e *Error) ExitCode() int { return 2 }

// ErrorList is every problem found in one file.
type ErrorList []*Error

func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Hint returns the first fix.
func (l ErrorList) Hint() string {
	for _, e := range l {
		if e.Fix != "" {
			return e.Fix
		}
	}
	return ""
}

// ExitCode is 2: bad input.
func (l ErrorList) ExitCode() int { return 2 }

// Unwrap gives errors.Is/As access to each error.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// err returns l as an error, or nil when empty.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}
