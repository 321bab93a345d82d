// Package logs implements `moltctl logs`.
package logs

import (
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/spf13/cobra"
)

// NewCmdLogs returns the logs command. It is not available yet.
func NewCmdLogs(f *cmdutil.Factory) *cobra.Command {
	return cmdutil.NotAvailable(&cobra.Command{
		Use:   "logs",
		Short: "Stream the Worker's logs",
		Long:  "Stream the deployed Worker's logs (Workers tail) with filters.",
	})
}
