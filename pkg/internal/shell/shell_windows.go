package shell

import (
	"context"
	"os/exec"
	"syscall"
)

// Name is the shell's executable.
const Name = "cmd.exe"

// Command returns the command that runs line through the shell. As Node's
// spawn with shell: true does, the line reaches cmd.exe verbatim: quoting
// it for the C runtime's argv rules would change what cmd.exe runs.
func Command(ctx context.Context, line string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, Name)
	cmd.SysProcAttr = &syscall.SysProcAttr{CmdLine: Name + ` /d /s /c "` + line + `"`}
	return cmd
}
