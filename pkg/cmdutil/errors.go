package cmdutil

import "github.com/moltctl/moltctl/pkg/clierr"

// The typed errors and exit codes live in pkg/clierr, where libraries can
// use them without importing the command layer. These names forward to it
// so commands keep compiling while they move over.

const (
	ExitOK          = clierr.ExitOK
	ExitError       = clierr.ExitError
	ExitUsage       = clierr.ExitUsage
	ExitPreflight   = clierr.ExitPreflight
	ExitUnhealthy   = clierr.ExitUnhealthy
	ExitCancelled   = clierr.ExitCancelled
	ExitInterrupted = clierr.ExitInterrupted
)

type (
	Hinter           = clierr.Hinter
	HintError        = clierr.HintError
	UsageError       = clierr.UsageError
	ExitCoder        = clierr.ExitCoder
	SilentError      = clierr.SilentError
	InterruptedError = clierr.InterruptedError
)

var (
	ErrCancelled = clierr.ErrCancelled
	WithHint     = clierr.WithHint
	Usagef       = clierr.Usagef
	ExitCodeOf   = clierr.ExitCodeOf
	HintOf       = clierr.HintOf
)
