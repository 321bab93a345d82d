// Package open implements `moltctl open`.
package open

import (
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/spf13/cobra"
)

// NewCmdOpen returns the open command. It is not available yet.
func NewCmdOpen(f *cmdutil.Factory) *cobra.Command {
	return cmdutil.NotAvailable(&cobra.Command{
		Use:   "open",
		Short: "Print or open the Control UI URL",
		Long:  "Print (and on a desktop, open) the Control UI URL with its token, or the admin URL.",
	})
}
