package devices

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/assistant"
	"github.com/moltctl/moltctl/pkg/cmdutil"
)

// ApproveOptions are the inputs of `moltctl devices approve`.
type ApproveOptions struct {
	Factory    *cmdutil.Factory
	RequestIDs []string
	All        bool
	Wait       bool
	Timeout    time.Duration
	// PollInterval is the pause between device lists under --wait.
	PollInterval time.Duration
}

// ApproveReport is what approve prints with --output json.
type ApproveReport struct {
	Approved []string                   `json:"approved"`
	Failed   []assistant.FailedApproval `json:"failed"`
}

// NewCmdApprove returns `moltctl devices approve`.
func NewCmdApprove(f *cmdutil.Factory, runF func(context.Context, *ApproveOptions) error) *cobra.Command {
	opts := &ApproveOptions{Factory: f, PollInterval: 3 * time.Second}
	cmd := &cobra.Command{
		Use:   "approve [REQUEST_ID...] [--all | --wait]",
		Short: "Approve pending pairing requests",
		Long: `Approve devices waiting to pair with the gateway: the request IDs given,
every pending request (--all), or the first request that arrives (--wait).`,
		Example: `  # Approve one request (IDs from moltctl devices list)
  moltctl devices approve 6f1c2d3e-...

  # Approve every pending request
  moltctl devices approve --all

  # Open the Control UI in your browser, then wait for its request and approve it
  moltctl devices approve --wait --timeout 10m`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.RequestIDs = args
			n := 0
			for _, set := range []bool{len(args) > 0, opts.All, opts.Wait} {
				if set {
					n++
				}
			}
			if n != 1 {
				return &cmdutil.UsageError{
					Err: errors.New("give REQUEST_IDs, --all or --wait (exactly one of them)"),
					Fix: "list the requests with `moltctl devices list`",
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return approveRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.All, "all", false, "approve every pending request")
	cmd.Flags().BoolVar(&opts.Wait, "wait", false, "wait for the first pending request (open the Control UI now), then approve it")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 10*time.Minute, "how long --wait waits for a request")
	return cmd
}

func approveRun(ctx context.Context, opts *ApproveOptions) error {
	f := opts.Factory
	c, err := adminClient(ctx, f)
	if err != nil {
		return err
	}
	rep := &ApproveReport{Approved: []string{}, Failed: []assistant.FailedApproval{}}
	switch {
	case opts.All:
		f.IOStreams.StartProgress("Approving every pending request (this takes 10-20 seconds)")
		r, err := c.ApproveAll(ctx)
		f.IOStreams.StopProgress()
		if err != nil {
			return err
		}
		rep.Approved, rep.Failed = r.Approved, r.Failed
	case opts.Wait:
		id, err := waitForRequest(ctx, opts, c)
		if err != nil {
			return err
		}
		approveIDs(ctx, f, c, []string{id}, rep)
	default:
		approveIDs(ctx, f, c, opts.RequestIDs, rep)
	}
	return report(f, rep)
}

func approveIDs(ctx context.Context, f *cmdutil.Factory, c *assistant.Client, ids []string, rep *ApproveReport) {
	for _, id := range ids {
		f.IOStreams.StartProgress(fmt.Sprintf("Approving %s (this takes 10-20 seconds)", id))
		_, err := c.Approve(ctx, id)
		f.IOStreams.StopProgress()
		if err != nil {
			rep.Failed = append(rep.Failed, assistant.FailedApproval{RequestID: id, Error: err.Error()})
			continue
		}
		rep.Approved = append(rep.Approved, id)
	}
}

// waitForRequest lists devices until a pending request appears and returns its id.
func waitForRequest(ctx context.Context, opts *ApproveOptions, c *assistant.Client) (string, error) {
	f := opts.Factory
	wctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	fmt.Fprintf(f.IOStreams.ErrOut, "Waiting for a pairing request. Open the Control UI now (moltctl open prints its URL).\n")
	f.IOStreams.StartProgress("Waiting for a pairing request")
	defer f.IOStreams.StopProgress()
	for {
		l, err := c.Devices(wctx)
		switch {
		case err == nil:
			// A request already pending counts too: the user may have
			// opened the Control UI first.
			if len(l.Pending) > 0 {
				d := l.Pending[0]
				for _, p := range l.Pending[1:] {
					if p.TS > d.TS {
						d = p
					}
				}
				f.IOStreams.StopProgress()
				fmt.Fprintf(f.IOStreams.ErrOut, "Pairing request %s from %s\n", d.RequestID, dash(d.Name()))
				return d.RequestID, nil
			}
		case assistant.Fatal(err):
			return "", err
		case wctx.Err() != nil:
		default:
			// Transient (the gateway restarting): keep waiting.
		}
		t := time.NewTimer(opts.PollInterval)
		select {
		case <-wctx.Done():
			t.Stop()
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", cmdutil.WithHint(fmt.Errorf("no pairing request arrived within %s", opts.Timeout),
				"open the Control UI URL from `moltctl open` in a browser while this command waits, or raise --timeout")
		case <-t.C:
		}
	}
}

func report(f *cmdutil.Factory, rep *ApproveReport) error {
	if f.Global.JSON() {
		if err := cmdutil.WriteJSON(f.IOStreams.Out, rep); err != nil {
			return err
		}
	} else {
		cs := f.IOStreams.ColorScheme()
		if len(rep.Approved) == 0 && len(rep.Failed) == 0 {
			fmt.Fprintln(f.IOStreams.ErrOut, "No pending requests to approve.")
		}
		for _, id := range rep.Approved {
			fmt.Fprintf(f.IOStreams.Out, "%s Approved %s\n", cs.Green("✓"), id)
		}
		for _, fa := range rep.Failed {
			fmt.Fprintf(f.IOStreams.Out, "%s Could not approve %s: %s\n", cs.Red("✗"), fa.RequestID, fa.Error)
		}
	}
	if len(rep.Failed) > 0 {
		if f.Global.JSON() {
			return &cmdutil.SilentError{Code: cmdutil.ExitError}
		}
		return fmt.Errorf("%d of %d requests were not approved", len(rep.Failed), len(rep.Failed)+len(rep.Approved))
	}
	return nil
}
