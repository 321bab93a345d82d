// Package devices implements `moltctl devices`.
package devices

import (
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/spf13/cobra"
)

// NewCmdDevices returns the devices command. It is not available yet.
func NewCmdDevices(f *cmdutil.Factory) *cobra.Command {
	return cmdutil.NotAvailable(&cobra.Command{
		Use:   "devices",
		Short: "List and approve devices waiting for pairing",
		Long:  "Approve the browsers and apps that ask to pair with the assistant's gateway.",
	})
}
