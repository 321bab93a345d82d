// Package unset implements `moltctl secrets unset`.
package unset

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmd/secrets/shared"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/secrets"
)

// UnsetOptions are the inputs of secrets unset.
type UnsetOptions struct {
	Factory *cmdutil.Factory
	Names   []string
}

// Result is what unset did. JSON contract.
type Result struct {
	Worker   string   `json:"worker"`
	Deleted  []string `json:"deleted"`
	NotFound []string `json:"not_found"`
}

// NewCmdUnset returns the unset command; runF replaces the run in tests.
func NewCmdUnset(f *cmdutil.Factory, runF func(context.Context, *UnsetOptions) error) *cobra.Command {
	opts := &UnsetOptions{Factory: f}
	return &cobra.Command{
		Use:   "unset NAME...",
		Short: "Delete secrets from the Worker",
		Long: `Delete the named secrets from the Worker on Cloudflare in one request. On a
terminal it asks first; otherwise pass --yes. A name still declared in
moltctl.yaml is sent again by the next secrets set or deploy: remove it there too.`,
		Example: `  $ moltctl secrets unset TELEGRAM_BOT_TOKEN
  $ moltctl secrets unset SLACK_BOT_TOKEN SLACK_APP_TOKEN --yes`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: f.CompleteSecretNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			for i, n := range args {
				if !secrets.ValidName(n) {
					// Not repeated: it may be a value typed in the wrong place.
					return clierr.Usagef("argument %d is not a secret name (not shown: it may be a value)", i+1)
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return unsetRun(cmd.Context(), opts)
		},
	}
}

func unsetRun(ctx context.Context, opts *UnsetOptions) error {
	f := opts.Factory
	io := f.IOStreams
	p, err := shared.LoadProject(f)
	if err != nil {
		return err
	}
	// Locked before the Worker's secrets are read, so the state written
	// at the end matches what this run saw and did.
	unlock, err := p.Store.Lock(ctx, "moltctl secrets unset", false)
	if err != nil {
		return err
	}
	defer unlock()
	rs, err := shared.HoldRemoteState(ctx, f, p, "moltctl secrets unset")
	if err != nil {
		return err
	}
	defer rs.Release()
	c, on := rs.Client, rs.OnRemote
	res := &Result{Worker: p.Worker, Deleted: []string{}, NotFound: []string{}}
	seen := map[string]bool{}
	for _, n := range opts.Names {
		if seen[n] {
			continue
		}
		seen[n] = true
		if on[n] {
			res.Deleted = append(res.Deleted, n)
		} else {
			res.NotFound = append(res.NotFound, n)
		}
	}
	if len(res.Deleted) == 0 {
		// A name the Worker does not have is a bad argument (exit 2), as
		// an unknown name is for devices approve.
		return &clierr.UsageError{Err: fmt.Errorf("%s not set on worker %q", strings.Join(res.NotFound, ", "), p.Worker),
			Fix: "run moltctl secrets list to see the Worker's secrets"}
	}
	if !f.Global.Yes {
		ok, err := f.Prompter().Confirm(fmt.Sprintf("Delete %s from %s?", strings.Join(res.Deleted, ", "), p.Worker), false)
		if err != nil {
			return err
		}
		if !ok {
			return clierr.ErrCancelled
		}
	}
	if err := c.BulkSecrets(ctx, p.Worker, nil, res.Deleted); err != nil {
		return shared.WorkerMissing(err, p.Worker)
	}
	for _, n := range res.Deleted {
		delete(rs.Deployment.Secrets, n)
	}
	// The deletion made a new version: record it as moltctl's own, as
	// secrets set does, so status does not take it for a deploy made
	// another way.
	if version, err := c.DeployedVersion(ctx, p.Worker); err == nil && version != "" {
		rs.Deployment.Worker.VersionID = version
	}
	if err := rs.Save(ctx); err != nil {
		return fmt.Errorf("record the deletion: %w", err)
	}
	var still []string
	if m, err := p.Manifest(); err == nil {
		for _, n := range res.Deleted {
			if _, ok := m.Secret(n); ok {
				still = append(still, n)
			}
		}
	}
	if f.Global.JSON() {
		return cmdutil.WriteJSON(io.Out, res)
	}
	cs := io.ColorScheme()
	fmt.Fprintf(io.Out, "%s Deleted %s from %s\n", cs.SuccessIcon(), strings.Join(res.Deleted, ", "), p.Worker)
	if len(res.NotFound) > 0 {
		io.Warn(fmt.Sprintf("not set on %s: %s", p.Worker, strings.Join(res.NotFound, ", ")))
	}
	if len(still) > 0 {
		io.Warn(fmt.Sprintf("%s still in moltctl.yaml: the next secrets set or deploy sends it again; remove it there too", strings.Join(still, ", ")))
	}
	return nil
}
