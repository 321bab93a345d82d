package shell

import (
	"context"
	"runtime"
	"strings"
	"testing"
)

func TestCommandRunsTheLineThroughTheShell(t *testing.T) {
	t.Parallel()
	line := "echo one && echo two"
	out, err := Command(context.Background(), line).Output()
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	got := strings.Fields(string(out))
	if strings.Join(got, " ") != "one two" {
		t.Fatalf("%s printed %q on %s", line, out, runtime.GOOS)
	}
}
