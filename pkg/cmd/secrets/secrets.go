// Package secrets implements `moltctl secrets`.
package secrets

import (
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/spf13/cobra"
)

// NewCmdSecrets returns the secrets command. It is not available yet.
func NewCmdSecrets(f *cmdutil.Factory) *cobra.Command {
	return cmdutil.NotAvailable(&cobra.Command{
		Use:   "secrets",
		Short: "Set, list, unset and check the assistant's secrets from moltctl.yaml",
		Long:  "Secrets come from a typed manifest (moltctl.yaml), so a name can never receive another secret's value.",
	})
}
