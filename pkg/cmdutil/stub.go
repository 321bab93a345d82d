package cmdutil

import "github.com/spf13/cobra"

// NotAvailable makes cmd say plainly that it does not work yet and exit
// with ExitNotAvailable, so the command tree can be complete before every
// command is.
func NotAvailable(cmd *cobra.Command) *cobra.Command {
	cmd.DisableFlagParsing = true
	cmd.RunE = func(c *cobra.Command, _ []string) error {
		return &NotAvailableError{Command: c.CommandPath()}
	}
	return cmd
}
