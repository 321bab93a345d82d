package devices

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/assistant"
	"github.com/moltctl/moltctl/pkg/clierr"
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

	// waiting, when set, is called once --wait has noted its start (tests).
	waiting func()
}

// ApproveReport is what approve prints with --output json.
type ApproveReport struct {
	Approved []string         `json:"approved"`
	Failed   []FailedApproval `json:"failed"`
}

// FailedApproval is a request that could not be approved, and why.
type FailedApproval struct {
	RequestID string `json:"request_id"`
	Error     string `json:"error"`
}

// NewCmdApprove returns `moltctl devices approve`.
func NewCmdApprove(f *cmdutil.Factory, runF func(context.Context, *ApproveOptions) error) *cobra.Command {
	opts := &ApproveOptions{Factory: f, PollInterval: 3 * time.Second}
	cmd := &cobra.Command{
		Use:   "approve [REQUEST_ID...] [--all | --wait]",
		Short: "Approve pending pairing requests",
		Long: `Approve devices waiting to pair with the gateway: the request IDs given
(a unique prefix is enough), every pending request (--all), or the first
request that arrives after the command starts (--wait). --wait never
approves a request that was already pending: it lists those with their age
and address, to approve by ID if they are yours.`,
		Example: `  # Approve one request (IDs from moltctl devices list)
  moltctl devices approve 6f1c2d3e-...

  # Approve every pending request
  moltctl devices approve --all

  # Open the Control UI in your browser, then wait for its request and approve it
  moltctl devices approve --wait --timeout 10m`,
		// Completing asks the gateway for its pending requests, which takes
		// seconds; only done when asked (Tab after approve).
		ValidArgsFunction: func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
			c, err := adminClient(cmd.Context(), f)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			l, err := c.Devices(cmd.Context())
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var ids []string
			for _, d := range l.Pending {
				ids = append(ids, d.RequestID+"\t"+d.Name())
			}
			return ids, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.RequestIDs = args
			n := 0
			for _, set := range []bool{len(args) > 0, opts.All, opts.Wait} {
				if set {
					n++
				}
			}
			if n != 1 {
				return &clierr.UsageError{
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
	cmd.Flags().BoolVar(&opts.Wait, "wait", false, "wait for the first request made after this starts (open the Control UI now), then approve it")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 10*time.Minute, "how long --wait waits for a request")
	return cmd
}

func approveRun(ctx context.Context, opts *ApproveOptions) error {
	f := opts.Factory
	c, err := adminClient(ctx, f)
	if err != nil {
		return err
	}
	rep := &ApproveReport{Approved: []string{}, Failed: []FailedApproval{}}
	switch {
	case opts.All:
		f.IOStreams.StartProgress("Approving every pending request (this takes 10-20 seconds)")
		r, err := c.ApproveAll(ctx)
		f.IOStreams.StopProgress()
		if err != nil {
			return err
		}
		rep.Approved = r.Approved
		for _, fa := range r.Failed {
			rep.Failed = append(rep.Failed, FailedApproval{RequestID: fa.RequestID, Error: fa.Error})
		}
	case opts.Wait:
		id, err := waitForRequest(ctx, opts, c)
		if err != nil {
			return err
		}
		approveIDs(ctx, f, c, []string{id}, rep)
	default:
		ids, err := expandPrefixes(ctx, f, c, opts.RequestIDs)
		if err != nil {
			return err
		}
		approveIDs(ctx, f, c, ids, rep)
	}
	return report(f, rep)
}

func approveIDs(ctx context.Context, f *cmdutil.Factory, c *assistant.Client, ids []string, rep *ApproveReport) {
	for _, id := range ids {
		f.IOStreams.StartProgress(fmt.Sprintf("Approving %s (this takes 10-20 seconds)", id))
		_, err := c.Approve(ctx, id)
		f.IOStreams.StopProgress()
		if err != nil {
			rep.Failed = append(rep.Failed, FailedApproval{RequestID: id, Error: err.Error()})
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
	// Milliseconds, as the gateway stamps requests.
	start := f.Now().Truncate(time.Millisecond)
	if opts.waiting != nil {
		opts.waiting()
	}
	fmt.Fprintf(f.IOStreams.ErrOut, "Waiting for a pairing request. Open the Control UI now (%s prints its URL).\n", f.Command("open"))
	f.IOStreams.StartProgress("Waiting for a pairing request")
	defer f.IOStreams.StopProgress()
	// Requests pending before this started are someone else's, or an
	// earlier browser's: they are shown, never approved here. The first
	// list can take 10-20 seconds, so a request made meanwhile (stamped
	// after start) still counts as new.
	var earlier map[string]bool
	for {
		l, err := c.Devices(wctx)
		switch {
		case err == nil && earlier == nil:
			earlier = map[string]bool{}
			for _, d := range l.Pending {
				if d.RequestedAt().Before(start) {
					earlier[d.RequestID] = true
				}
			}
			if len(earlier) > 0 {
				f.IOStreams.StopProgress()
				fmt.Fprintf(f.IOStreams.ErrOut, "%d request(s) were already pending; not approving them here (approve one by ID if it is yours):\n", len(earlier))
				for _, d := range l.Pending {
					if earlier[d.RequestID] {
						fmt.Fprintf(f.IOStreams.ErrOut, "  %s  %s  from %s, %s\n", d.RequestID, dash(d.Name()), dash(d.RemoteIP), age(f.Now(), d.RequestedAt()))
					}
				}
				f.IOStreams.StartProgress("Waiting for a new pairing request")
			}
			fallthrough
		case err == nil:
			var d *assistant.Device
			for i, p := range l.Pending {
				if !earlier[p.RequestID] && (d == nil || p.TS > d.TS) {
					d = &l.Pending[i]
				}
			}
			if d != nil {
				f.IOStreams.StopProgress()
				fmt.Fprintf(f.IOStreams.ErrOut, "Pairing request %s from %s (%s)\n", d.RequestID, dash(d.Name()), dash(d.RemoteIP))
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
			return "", clierr.WithHint(fmt.Errorf("no pairing request arrived within %s", opts.Timeout),
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
			return &clierr.SilentError{Code: clierr.ExitError}
		}
		return fmt.Errorf("%d of %d requests were not approved", len(rep.Failed), len(rep.Failed)+len(rep.Approved))
	}
	return nil
}

// age says how long ago t was, for a person.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "at an unknown time"
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}

// expandPrefixes turns each ID that is not a pending request's whole ID
// into the one pending request it is a prefix of, and fails on a prefix
// that matches none or several.
func expandPrefixes(ctx context.Context, f *cmdutil.Factory, c *assistant.Client, ids []string) ([]string, error) {
	f.IOStreams.StartProgress(progressLabel)
	l, err := c.Devices(ctx)
	f.IOStreams.StopProgress()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		var match []string
		for _, d := range l.Pending {
			if d.RequestID == id {
				match = []string{id}
				break
			}
			if strings.HasPrefix(d.RequestID, id) {
				match = append(match, d.RequestID)
			}
		}
		switch len(match) {
		case 1:
			out = append(out, match[0])
		case 0:
			return nil, &clierr.UsageError{Err: fmt.Errorf("no pending request has the ID %q", id), Fix: "list the requests with " + f.Command("devices list")}
		default:
			return nil, &clierr.UsageError{Err: fmt.Errorf("%q is the start of %d pending requests: %s", id, len(match), strings.Join(match, ", ")), Fix: "give more of the ID"}
		}
	}
	return out, nil
}
