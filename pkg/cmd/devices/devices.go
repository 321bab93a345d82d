// Package devices implements `moltctl devices list` and `moltctl devices approve`.
package devices

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/assistant"
	"github.com/moltctl/moltctl/pkg/cmdutil"
)

// NewCmdDevices returns the devices command group.
func NewCmdDevices(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "devices <command>",
		Short: "List and approve devices waiting for pairing",
		Long: `Approve the browsers and apps that ask to pair with the assistant's gateway.

The first time a browser opens the Control UI, the gateway answers
"Pairing required" until the device is approved. These commands call the
Worker's admin API through Cloudflare Access with the service token that
moltctl deploy created, so no browser sign-in is needed.`,
		Example: `  # See pending requests and paired devices
  moltctl devices list

  # Open the Control UI in a browser, then approve it from the terminal
  moltctl devices approve --wait

  # Approve everything that is waiting
  moltctl devices approve --all`,
	}
	cmd.AddCommand(NewCmdList(f, nil), NewCmdApprove(f, nil))
	return cmd
}

// progressLabel is shown while a call runs: the gateway's CLI is slow.
const progressLabel = "Asking the gateway (this takes 10-20 seconds)"

func since(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return t.Format(time.RFC3339)
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func role(d assistant.Device) string {
	if d.Role != "" {
		return d.Role
	}
	return strings.Join(d.Roles, ",")
}

// writeTable prints pending requests and paired devices in one table; the
// header only on a terminal, so piped output stays parseable.
func writeTable(w io.Writer, header bool, now time.Time, l *assistant.DeviceList) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if header {
		fmt.Fprintln(tw, "STATE\tID\tNAME\tPLATFORM\tROLE\tSINCE")
	}
	for _, d := range l.Pending {
		fmt.Fprintf(tw, "pending\t%s\t%s\t%s\t%s\t%s\n", dash(d.RequestID), dash(d.Name()), dash(d.Platform), dash(role(d)), since(now, d.RequestedAt()))
	}
	for _, d := range l.Paired {
		fmt.Fprintf(tw, "paired\t%s\t%s\t%s\t%s\t%s\n", dash(d.DeviceID), dash(d.Name()), dash(d.Platform), dash(role(d)), since(now, d.ApprovedAt()))
	}
	return tw.Flush()
}
