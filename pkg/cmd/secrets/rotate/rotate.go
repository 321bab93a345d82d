// Package rotate implements `moltctl secrets rotate`.
package rotate

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/deploy"
)

// DeployFunc runs the deploy that replaces credential name. The root
// command passes the deploy command's, so this command does not import
// another command.
type DeployFunc func(ctx context.Context, f *cmdutil.Factory, name string, waitLock bool) error

// RotateOptions are the command's arguments.
type RotateOptions struct {
	F        *cmdutil.Factory
	Deploy   DeployFunc
	Name     string
	WaitLock bool
}

// NewCmdRotate returns `secrets rotate NAME`.
func NewCmdRotate(f *cmdutil.Factory, rotate DeployFunc, runF func(*RotateOptions) error) *cobra.Command {
	opts := &RotateOptions{F: f, Deploy: rotate}
	cmd := &cobra.Command{
		Use:   "rotate <" + strings.Join(deploy.Rotatable(), "|") + ">",
		Short: "Replace a credential moltctl made, everywhere it is held",
		Long: `Replace one credential moltctl made, and only when asked: a deploy never
does. The new one goes everywhere the old one was held: the Worker's
secrets (then the gateway restarts to pick it up), the Access policy, and
the sealed copy moltctl keeps in the Cloudflare account, so every checkout
and CI runner uses it from then on. The old one stops working at once.

  MOLTBOT_GATEWAY_TOKEN  the Control UI's token (when moltctl.yaml generates it)
  service-token          moltctl's Access service token for the admin API
  r2-token               the API token whose keys the container uses for R2

It needs moltctl's key (docs/state.md), and --yes when not on a terminal.`,
		Example: `  moltctl secrets rotate MOLTBOT_GATEWAY_TOKEN
  moltctl secrets rotate service-token --yes`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return rotateRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.WaitLock, "wait-lock", false, "wait for a deploy of this Worker to finish instead of refusing")
	return cmd
}

func rotateRun(ctx context.Context, o *RotateOptions) error {
	return o.Deploy(ctx, o.F, o.Name, o.WaitLock)
}
