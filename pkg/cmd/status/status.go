// Package status implements `moltctl status`.
package status

import (
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/spf13/cobra"
)

// NewCmdStatus returns the status command. It is not available yet.
func NewCmdStatus(f *cmdutil.Factory) *cobra.Command {
	return cmdutil.NotAvailable(&cobra.Command{
		Use:   "status",
		Short: "Show whether the assistant is deployed, protected and answering",
		Long:  "One screen with the Worker, container, gateway, secrets, Access and R2 backup.",
	})
}
