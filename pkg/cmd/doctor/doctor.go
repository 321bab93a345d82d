// Package doctor implements `moltctl doctor`.
package doctor

import (
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/spf13/cobra"
)

// NewCmdDoctor returns the doctor command. It is not available yet.
func NewCmdDoctor(f *cmdutil.Factory) *cobra.Command {
	return cmdutil.NotAvailable(&cobra.Command{
		Use:   "doctor",
		Short: "Find every problem that would stop a deploy, each with its fix",
		Long:  "Run every preflight check at once: Docker, API token and permissions, plan, R2, workers.dev subdomain, Access, project files and secrets.",
	})
}
