// Package restart implements `moltctl restart`.
package restart

import (
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/spf13/cobra"
)

// NewCmdRestart returns the restart command. It is not available yet.
func NewCmdRestart(f *cmdutil.Factory) *cobra.Command {
	return cmdutil.NotAvailable(&cobra.Command{
		Use:   "restart",
		Short: "Restart the gateway so changed secrets take effect",
		Long:  "Restart the assistant's gateway and wait until it answers again.",
	})
}
