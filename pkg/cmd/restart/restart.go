// Package restart implements `moltctl restart`.
package restart

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/assistant"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
)

// RestartOptions are the inputs of `moltctl restart`.
type RestartOptions struct {
	Factory *cmdutil.Factory
	Timeout time.Duration
	NoWait  bool
}

// Result is what restart reports with --output json.
type Result struct {
	PreviousProcessID string  `json:"previous_process_id,omitempty"`
	ProcessID         string  `json:"process_id,omitempty"`
	Status            string  `json:"status"`
	WaitedSeconds     float64 `json:"waited_seconds"`
}

// NewCmdRestart returns the restart command.
func NewCmdRestart(f *cmdutil.Factory, runF func(context.Context, *RestartOptions) error) *cobra.Command {
	opts := &RestartOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "restart",
		Short: "Restart the gateway so changed secrets take effect",
		Long: `Restart the assistant's gateway process (POST /api/admin/gateway/restart)
and wait until it answers again. A secret changed on the Worker reaches the
gateway only when its process starts, so run this after changing secrets
(moltctl deploy does it for you when secrets change).`,
		Example: `  moltctl restart
  moltctl restart --timeout 5m
  moltctl restart --no-wait`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Checked before anything happens: a bad --timeout must not
			// restart the gateway and then fail.
			if opts.Timeout <= 0 && !opts.NoWait {
				return &clierr.UsageError{
					Err: fmt.Errorf("--timeout must be positive, not %s", opts.Timeout),
					Fix: "pass a duration such as --timeout 5m, or --no-wait to return once the restart is requested",
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return restartRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 4*time.Minute, "how long to wait for the gateway to answer again")
	cmd.Flags().BoolVar(&opts.NoWait, "no-wait", false, "return once the restart is requested")
	return cmd
}

func restartRun(ctx context.Context, opts *RestartOptions) error {
	f := opts.Factory
	t, err := f.Target(ctx, false)
	if err != nil {
		return err
	}
	if err := t.RequireAdmin(); err != nil {
		return err
	}
	c, err := t.Assistant()
	if err != nil {
		return err
	}
	f.IOStreams.StartProgress("Restarting the gateway")
	r, err := c.Restart(ctx)
	f.IOStreams.StopProgress()
	if err != nil {
		return err
	}
	res := &Result{PreviousProcessID: r.PreviousProcessID, Status: "restarting"}
	if !f.Global.JSON() {
		fmt.Fprintf(f.IOStreams.ErrOut, "%s %s\n", f.IOStreams.ColorScheme().SuccessIcon(), r.Message)
	}
	if !opts.NoWait {
		start := time.Now()
		f.IOStreams.StartProgress("Waiting for the gateway to answer")
		st, err := c.WaitRunning(ctx, opts.Timeout, func(st *assistant.GatewayStatus, elapsed time.Duration) {
			label := "Waiting for the gateway to answer"
			if st != nil {
				label += " (" + st.Status + ")"
			}
			f.IOStreams.StartProgress(fmt.Sprintf("%s, %ds", label, int(elapsed.Seconds())))
		})
		f.IOStreams.StopProgress()
		if err != nil {
			return err
		}
		res.Status, res.ProcessID = st.Status, st.ProcessID
		res.WaitedSeconds = time.Since(start).Round(100 * time.Millisecond).Seconds()
	}
	if f.Global.JSON() {
		return cmdutil.WriteJSON(f.IOStreams.Out, res)
	}
	if res.ProcessID != "" {
		fmt.Fprintf(f.IOStreams.Out, "%s The gateway is running (process %s)\n", f.IOStreams.ColorScheme().SuccessIcon(), res.ProcessID)
	}
	return nil
}
