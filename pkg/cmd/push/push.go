// Package push implements `moltctl push`: make sure Cloudflare's registry
// holds the container image built from the current sources.
package push

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/dockerhost"
	"github.com/moltctl/moltctl/pkg/image"
	"github.com/moltctl/moltctl/pkg/internal/bytesize"
)

// PushOptions are the inputs of `moltctl push`.
type PushOptions struct {
	Factory *cmdutil.Factory
	// Container picks a containers[] entry by class_name or name (default: the first).
	Container string
	// Rebuild builds even when a local image has the content tag.
	Rebuild bool
}

// PushResult is what `moltctl push --output json` prints.
type PushResult struct {
	App string `json:"app"`
	*image.Result
	DigestRef string `json:"digest_ref"`
}

// NewCmdPush returns the push command.
func NewCmdPush(f *cmdutil.Factory) *cobra.Command { return NewCmdPushWith(f, nil) }

// NewCmdPushWith returns the push command running runF instead of the push (for tests).
func NewCmdPushWith(f *cmdutil.Factory, runF func(context.Context, *PushOptions) error) *cobra.Command {
	opts := &PushOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "push",
		Short: "Push the container image to Cloudflare's registry",
		Long: `Push the agent's container image to the registry Cloudflare Containers
pull from: <registry>/<account_id>/<container app name>:<content tag>.

First the registry is asked whether it already has the content tag of the
current sources; if it does, nothing is built or pushed. Otherwise the image
"moltctl build" made is used (or built now), checked (linux/amd64, fits the
instance type's disk, exposes the gateway port 18789), and pushed layer by
layer: layers the registry has are not sent, transient failures are
retried. Credentials are short-lived ones from the Containers API; they go
only to the registry and are never stored.

Needs CLOUDFLARE_API_TOKEN with the Containers permission and the account
(--account or CLOUDFLARE_ACCOUNT_ID). The registry host is
CLOUDFLARE_CONTAINER_REGISTRY, else registry.cloudflare.com.
Prints the pushed reference and its digest-pinned form on stdout.`,
		Example: `  moltctl push

  # In CI: the digest-pinned reference for a later step
  moltctl push --output json | jq -r .digest_ref`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return pushRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Container, "container", "", "the containers[] entry to push, by class_name or name (default: the first)")
	cmd.Flags().BoolVar(&opts.Rebuild, "rebuild", false, "build even when a local image has the same content tag")
	return cmd
}

func pushRun(ctx context.Context, opts *PushOptions) error {
	f := opts.Factory
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	t, err := image.TargetFor(cfg, opts.Container)
	if err != nil {
		return err
	}
	cf, err := f.Cloudflare()
	if err != nil {
		return err
	}
	if f.AccountID() == "" {
		return &clierr.UsageError{Err: fmt.Errorf("no account: the registry repository is <registry>/<account_id>/%s", t.App),
			Fix: "pass --account ACCOUNT_ID or export CLOUDFLARE_ACCOUNT_ID"}
	}
	// Learn at once whether the account can use Containers, before any build.
	me, err := cf.ContainersMe(ctx)
	if err != nil {
		if cfapi.ContainersUnavailable(err) {
			return &clierr.HintError{Err: err, Fix: cfapi.ContainersFix, Code: clierr.ExitPreflight}
		}
		return err
	}
	account := me.ExternalAccountID
	if account == "" {
		account = f.AccountID()
	}
	host := f.RegistryHost()
	auth, err := image.Login(ctx, cf, host)
	if err != nil {
		return err
	}
	engine, err := f.Docker(ctx)
	if err != nil {
		return err
	}
	defer engine.Close()
	res, err := image.BuildAndPush(ctx, engine, image.Request{
		Spec:       t.Spec,
		Repository: image.Repository(host, account, t.App),
		Auth:       auth,
		Progress:   f.ImageProgress(),
		Checks:     image.CheckOptions{InstanceType: t.Container.InstanceType.Name, DiskMB: t.Container.InstanceType.DiskMB},
		Rebuild:    opts.Rebuild,
	})
	if err != nil {
		return dockerhost.DaemonError(err)
	}
	out := PushResult{App: t.App, Result: res, DigestRef: res.DigestRef()}
	if f.Global.JSON() {
		return cmdutil.WriteJSON(f.IOStreams.Out, out)
	}
	cs := f.IOStreams.ColorScheme()
	if res.Skipped {
		fmt.Fprintf(f.IOStreams.ErrOut, "%s Up to date: the registry already has this image\n", cs.SuccessIcon())
	} else {
		fmt.Fprintf(f.IOStreams.ErrOut, "%s Pushed %d layer(s) (%s), %d already in the registry\n", cs.SuccessIcon(),
			res.LayersPushed, bytesize.SI(res.BytesPushed), res.LayersSkipped)
	}
	fmt.Fprintln(f.IOStreams.Out, res.Ref)
	fmt.Fprintln(f.IOStreams.Out, out.DigestRef)
	return nil
}
