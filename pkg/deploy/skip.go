package deploy

import (
	"errors"
	"fmt"
)

// skipped is returned by a step's Run when, having looked, it found
// nothing to change; the runner records the step as skipped.
type skipped struct{ reason string }

func (s *skipped) Error() string { return "skipped: " + s.reason }

// Skipped ends a step's Run with nothing changed.
func Skipped(format string, args ...any) error { return &skipped{reason: fmt.Sprintf(format, args...)} }

func asSkipped(err error) (string, bool) {
	var s *skipped
	if errors.As(err, &s) {
		return s.reason, true
	}
	return "", false
}
