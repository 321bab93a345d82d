// Package build implements `moltctl build`.
package build

import (
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/spf13/cobra"
)

// NewCmdBuild returns the build command. It is not available yet.
func NewCmdBuild(f *cmdutil.Factory) *cobra.Command {
	return cmdutil.NotAvailable(&cobra.Command{
		Use:   "build",
		Short: "Build the container image (skipped when its inputs have not changed)",
		Long:  "Build the agent's container image for linux/amd64 through the Docker Engine.",
	})
}
