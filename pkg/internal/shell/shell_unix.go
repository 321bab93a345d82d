//go:build !windows

package shell

import (
	"context"
	"os/exec"
)

// Name is the shell's executable.
const Name = "/bin/sh"

// Command returns the command that runs line through the shell.
func Command(ctx context.Context, line string) *exec.Cmd {
	return exec.CommandContext(ctx, Name, "-c", line)
}
