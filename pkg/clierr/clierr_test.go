package clierr

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestExitCodeOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"plain", errors.New("boom"), ExitError},
		{"usage", Usagef("bad flag"), ExitUsage},
		{"wrapped usage", fmt.Errorf("load: %w", Usagef("bad")), ExitUsage},
		{"silent", &SilentError{Code: ExitPreflight}, ExitPreflight},
		{"hint with code", &HintError{Err: errors.New("x"), Code: ExitPreflight}, ExitPreflight},
		{"hint without code", WithHint(errors.New("x"), "do y"), ExitError},
		{"cancelled", ErrCancelled, ExitCancelled},
		{"interrupted", fmt.Errorf("step: %w", context.Canceled), ExitError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ExitCodeOf(tt.err); got != tt.want {
				t.Errorf("ExitCodeOf(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestHintOf(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("deploy: %w", WithHint(errors.New("no daemon"), "start docker"))
	if got := HintOf(err); got != "start docker" {
		t.Errorf("HintOf = %q", got)
	}
	if got := HintOf(errors.New("plain")); got != "" {
		t.Errorf("HintOf(plain) = %q", got)
	}
}
