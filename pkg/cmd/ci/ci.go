// Package ci implements `moltctl ci`, what a CI pipeline needs to deploy
// the assistant.
package ci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/remotestate"
)

// NewCmdCI returns the ci command group.
func NewCmdCI(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ci <command>",
		Short: "Set up CI to deploy the assistant",
	}
	cmd.AddCommand(NewCmdSetup(f, nil))
	return cmd
}

// SetupOptions are the flags of ci setup.
type SetupOptions struct {
	F *cmdutil.Factory
}

// Setup is the JSON form of ci setup's output.
type Setup struct {
	// Secrets are the CI secrets with their values (only moltctl's key).
	Secrets map[string]string `json:"secrets"`
	// Needed are the other CI secrets the deploy reads, by name.
	Needed []Needed `json:"needed"`
	// Unavailable are manifest sources a runner will not have.
	Unavailable []string `json:"unavailable,omitempty"`
}

// Needed is one CI secret the user sets from a value they hold.
type Needed struct {
	Name string `json:"name"`
	For  string `json:"for"`
}

// NewCmdSetup returns `ci setup`.
func NewCmdSetup(f *cmdutil.Factory, runF func(*SetupOptions) error) *cobra.Command {
	opts := &SetupOptions{F: f}
	return &cobra.Command{
		Use:   "setup",
		Short: "Print the CI secrets a pipeline needs, moltctl's key included",
		Long: `Print what to add as CI secrets so a runner deploys this project without
replacing any credential: moltctl's key ($MOLTCTL_AGE_KEY), which opens the
credentials moltctl keeps in the Cloudflare account, with its value, and the
names of the other variables the deploy reads (CLOUDFLARE_API_TOKEN and the
env sources of moltctl.yaml), whose values you hold.

Run before any deploy, it creates the key (~/.config/moltctl/age.key), so
that a first deploy from CI seals the credentials to a key you hold.

This is the only moltctl command that prints a secret, and only to standard
output. Paste it into the CI's secret settings, not into a file in the
repository. See docs/state.md.`,
		Example: `  # GitHub: add each line as a repository secret
  moltctl ci setup`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return setupRun(cmd.Context(), opts)
		},
	}
}

func setupRun(ctx context.Context, opts *SetupOptions) error {
	f := opts.F
	key, err := remotestate.LoadKey(f.Getenv)
	if err != nil && !errors.Is(err, remotestate.ErrNoKey) {
		return err
	}
	// A key the account's credentials are not sealed to would give the
	// runner nothing: check, when the account can be asked.
	if f.Getenv("CLOUDFLARE_API_TOKEN") != "" {
		if t, rerr := f.Target(ctx, false); rerr == nil && t.Keeper != nil && t.Keeper.Locked {
			why := "this machine has no key"
			if key != nil {
				why = fmt.Sprintf("they are not sealed to the key in %s (%s)", key.Source, key.Recipient())
			}
			return clierr.WithHint(fmt.Errorf("the credentials in the account cannot be opened here: %s", why),
				"run moltctl ci setup on the machine that deployed, or copy its key here (docs/state.md)")
		}
	}
	if key == nil {
		// Before any deploy: the key is made here, on the user's machine,
		// not on a runner that forgets it.
		p := remotestate.KeyPath(f.Getenv)
		if p == "" {
			return clierr.WithHint(err, "set HOME or MOLTCTL_CONFIG_DIR")
		}
		if key, err = remotestate.CreateKey(p); err != nil {
			return err
		}
		f.IOStreams.Warn("created " + key.Source + ", the key that seals the credentials moltctl keeps in the account: back it up; deploys from here and from CI use it")
	}
	out := Setup{Secrets: map[string]string{remotestate.EnvKey: key.Identity.String()},
		Needed: []Needed{{Name: "CLOUDFLARE_API_TOKEN", For: "the Cloudflare API"}, {Name: "CLOUDFLARE_ACCOUNT_ID", For: "the account (not secret, but required)"}}}
	if cfg, err := f.Config(); err == nil {
		if m, err := manifest.Load(manifest.Path(cfg.ProjectDir())); err == nil {
			for _, s := range m.Secrets {
				switch {
				case s.Source.Kind == manifest.SourceEnv:
					out.Needed = append(out.Needed, Needed{Name: s.Source.Env, For: s.Name})
				case s.Source.MachineLocal():
					out.Unavailable = append(out.Unavailable, fmt.Sprintf("%s (source %s, line %d)", s.Name, s.Source.Kind, s.Line))
				}
			}
		}
	}
	sort.Strings(out.Unavailable)
	if f.Global.JSON() {
		return cmdutil.WriteJSON(f.IOStreams.Out, out)
	}
	render(f.IOStreams.Out, &out)
	for _, u := range out.Unavailable {
		f.IOStreams.Warn(u + ": a CI runner will not have it; give it an env source (moltctl init --ci converts it)")
	}
	return nil
}

func render(w io.Writer, s *Setup) {
	fmt.Fprintln(w, "# Add these CI secrets (GitHub: Settings > Secrets and variables > Actions;")
	fmt.Fprintln(w, "# GitLab: Settings > CI/CD > Variables, masked and protected).")
	fmt.Fprintln(w, "# moltctl's key, which opens the credentials kept in the Cloudflare account:")
	fmt.Fprintf(w, "%s=%s\n", remotestate.EnvKey, s.Secrets[remotestate.EnvKey])
	fmt.Fprintln(w, "# and these, with the values you hold:")
	for _, n := range s.Needed {
		fmt.Fprintf(w, "# %-28s %s\n", n.Name, n.For)
	}
}
