// Package status implements `moltctl status`: one screen (or one JSON
// document) saying whether the assistant is deployed, protected and
// answering, with an exit code CI can use as a smoke check.
package status

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
)

// StatusOptions are the inputs of `moltctl status`.
type StatusOptions struct {
	Factory *cmdutil.Factory
	// Wait, when set, waits up to this long for the gateway to run
	// (starting it if it is asleep) before reporting.
	Wait time.Duration
}

// NewCmdStatus returns the status command.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show whether the assistant is deployed, protected and answering",
		Long: `One screen with the Worker (deployed version, URL, workers.dev route), the
container application (instances, rollout), the gateway, the Worker's
secrets, Cloudflare Access, the R2 backup and the last deploy.

Exit status: 0 when healthy, 4 when something is wrong (each problem is
listed with its fix), so it works as a smoke check in CI.`,
		Example: `  moltctl status

  # CI smoke check after a deploy: wait up to 3 minutes for a cold start
  moltctl status --wait 3m --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return statusRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().DurationVar(&opts.Wait, "wait", 0, "wait up to this long for the gateway to be running (starting it if needed)")
	return cmd
}

func statusRun(ctx context.Context, opts *StatusOptions) error {
	f := opts.Factory
	// A bad token would make every line below a guess (a Worker "not
	// deployed", a container "missing"): check it first, once.
	api, err := f.Cloudflare()
	if err != nil {
		return err
	}
	if err := api.CheckToken(ctx, f.Now()); err != nil {
		return err
	}
	t, err := f.Target(ctx, true)
	if err != nil {
		return err
	}
	f.IOStreams.StartProgress("Checking the assistant")
	rep := collect(ctx, f, t, opts.Wait)
	f.IOStreams.StopProgress()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if f.Global.JSON() {
		if err := cmdutil.WriteJSON(f.IOStreams.Out, rep); err != nil {
			return err
		}
	} else {
		render(f, rep)
	}
	if !rep.Healthy {
		return &clierr.SilentError{Code: clierr.ExitUnhealthy}
	}
	return nil
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t).Round(time.Second)
	switch {
	case d < 0:
		return t.Format(time.RFC3339)
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
}
