package cmdutil

import (
	"fmt"
	"io"
	"time"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/spf13/cobra"
)

// Log formats for --log-format.
const (
	LogText = "text"
	LogKV   = "kv"
)

// AddLogFormatFlag adds --log-format to a command that prints a line per
// step: text for people (the same lines with or without a terminal), kv
// for log collectors. The value is checked with CheckLogFormat.
func AddLogFormatFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVar(p, "log-format", LogText, "progress lines on stderr: text (the same with or without a terminal) or kv (step=… status=… for log collectors)")
	_ = cmd.RegisterFlagCompletionFunc("log-format", cobra.FixedCompletions([]string{LogText, LogKV}, cobra.ShellCompDirectiveNoFileComp))
}

// CheckLogFormat is the usage error for a --log-format value other than
// text or kv.
func CheckLogFormat(format string) error {
	if format != LogText && format != LogKV {
		return clierr.Usagef("--log-format must be text or kv, not %q", format)
	}
	return nil
}

// WriteKV writes one step's line in the kv log format:
// step=NAME status=STATUS duration=D detail="…".
func WriteKV(w io.Writer, step, status string, d time.Duration, detail string) {
	fmt.Fprintf(w, "step=%s status=%s duration=%s detail=%q\n", step, status, d, detail)
}
