package devices

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/assistant"
	"github.com/moltctl/moltctl/pkg/assistant/target"
	"github.com/moltctl/moltctl/pkg/cmdutil"
)

// ListOptions are the inputs of `moltctl devices list`.
type ListOptions struct {
	Factory *cmdutil.Factory
}

// NewCmdList returns `moltctl devices list`.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{Factory: f}
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List pending pairing requests and paired devices",
		Args:    cobra.NoArgs,
		Example: `  moltctl devices list
  moltctl devices list --output json | jq -r '.pending[].requestId'`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return listRun(cmd.Context(), opts)
		},
	}
}

func listRun(ctx context.Context, opts *ListOptions) error {
	f := opts.Factory
	c, err := adminClient(ctx, f)
	if err != nil {
		return err
	}
	f.IOStreams.StartProgress(progressLabel)
	l, err := c.Devices(ctx)
	f.IOStreams.StopProgress()
	if err != nil {
		return err
	}
	if f.Global.JSON() {
		return cmdutil.WriteJSON(f.IOStreams.Out, l)
	}
	if len(l.Pending)+len(l.Paired) == 0 {
		fmt.Fprintln(f.IOStreams.ErrOut, "No pending requests and no paired devices. Open the Control UI (moltctl open) to make a request.")
		return nil
	}
	if err := writeTable(f.IOStreams.Out, f.IOStreams.IsStdoutTTY(), f.Now(), l); err != nil {
		return err
	}
	if len(l.Pending) > 0 && f.IOStreams.IsStderrTTY() {
		fmt.Fprintln(f.IOStreams.ErrOut, "\nApprove with: moltctl devices approve --all (or a REQUEST_ID)")
	}
	return nil
}

// adminClient resolves the deployment and returns a client that can call the admin API.
func adminClient(ctx context.Context, f *cmdutil.Factory) (*assistant.Client, error) {
	t, err := target.Resolve(ctx, f, false)
	if err != nil {
		return nil, err
	}
	if err := t.RequireAdmin(); err != nil {
		return nil, err
	}
	return t.Assistant(f)
}
