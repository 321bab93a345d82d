// Package destroy implements `moltctl destroy`.
package destroy

import (
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/spf13/cobra"
)

// NewCmdDestroy returns the destroy command. It is not available yet.
func NewCmdDestroy(f *cmdutil.Factory) *cobra.Command {
	return cmdutil.NotAvailable(&cobra.Command{
		Use:   "destroy",
		Short: "Remove everything deploy created",
		Long:  "Remove the Access application, Worker, container application, service token and R2 token.",
	})
}
