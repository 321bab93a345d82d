// Package initcmd implements `moltctl init`.
package initcmd

import (
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/spf13/cobra"
)

// NewCmdInit returns the init command. It is not available yet.
func NewCmdInit(f *cmdutil.Factory) *cobra.Command {
	return cmdutil.NotAvailable(&cobra.Command{
		Use:   "init",
		Short: "Create moltctl.yaml for this project with a guided form",
		Long:  "Ask which AI provider, chat channels, persistence and Access policy to use, then write moltctl.yaml.",
	})
}
