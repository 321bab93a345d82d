package devices

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/assistant"
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
  moltctl devices list --output json | jq -r '.pending[].request_id'`,
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
		return cmdutil.WriteJSON(f.IOStreams.Out, listJSON(l))
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
	t, err := f.Target(ctx, false)
	if err != nil {
		return nil, err
	}
	if err := t.RequireAdmin(); err != nil {
		return nil, err
	}
	return t.Assistant()
}

// ListResult is `moltctl devices list --output json`: snake_case names and
// RFC 3339 times like every moltctl output, whatever the gateway's CLI says.
type ListResult struct {
	Pending []DeviceJSON `json:"pending"`
	Paired  []DeviceJSON `json:"paired"`
}

// DeviceJSON is one pending request or paired device.
type DeviceJSON struct {
	// RequestID is set on pending requests; it is what approve takes.
	RequestID   string     `json:"request_id,omitempty"`
	DeviceID    string     `json:"device_id,omitempty"`
	DisplayName string     `json:"display_name,omitempty"`
	Platform    string     `json:"platform,omitempty"`
	ClientID    string     `json:"client_id,omitempty"`
	ClientMode  string     `json:"client_mode,omitempty"`
	Role        string     `json:"role,omitempty"`
	Roles       []string   `json:"roles,omitempty"`
	Scopes      []string   `json:"scopes,omitempty"`
	RemoteIP    string     `json:"remote_ip,omitempty"`
	RequestedAt *time.Time `json:"requested_at,omitempty"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	ApprovedAt  *time.Time `json:"approved_at,omitempty"`
}

func listJSON(l *assistant.DeviceList) ListResult {
	conv := func(in []assistant.Device) []DeviceJSON {
		out := make([]DeviceJSON, 0, len(in))
		for _, d := range in {
			out = append(out, DeviceJSON{RequestID: d.RequestID, DeviceID: d.DeviceID, DisplayName: d.DisplayName,
				Platform: d.Platform, ClientID: d.ClientID, ClientMode: d.ClientMode, Role: d.Role, Roles: d.Roles,
				Scopes: d.Scopes, RemoteIP: d.RemoteIP, RequestedAt: timePtr(d.RequestedAt()),
				CreatedAt: timePtr(d.CreatedAt()), ApprovedAt: timePtr(d.ApprovedAt())})
		}
		return out
	}
	return ListResult{Pending: conv(l.Pending), Paired: conv(l.Paired)}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
