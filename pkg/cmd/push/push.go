// Package push implements `moltctl push`.
package push

import (
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/spf13/cobra"
)

// NewCmdPush returns the push command. It is not available yet.
func NewCmdPush(f *cmdutil.Factory) *cobra.Command {
	return cmdutil.NotAvailable(&cobra.Command{
		Use:   "push",
		Short: "Push the container image to Cloudflare's registry",
		Long:  "Push the built image to the registry Cloudflare Containers pulls from.",
	})
}
