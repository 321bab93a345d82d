// Package deploy implements `moltctl deploy`.
package deploy

import (
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/spf13/cobra"
)

// NewCmdDeploy returns the deploy command. It is not available yet.
func NewCmdDeploy(f *cmdutil.Factory) *cobra.Command {
	return cmdutil.NotAvailable(&cobra.Command{
		Use:   "deploy",
		Short: "Deploy the assistant: image, Worker, secrets, Access and R2, then wait until it answers",
		Long:  "Build and push the container image, upload the Worker, roll out the container, set secrets, protect it with Cloudflare Access and wait until the assistant answers.",
	})
}
