// Package launch implements `moltctl launch`: the first hour in one
// command, as fly launch does it: init's questions, doctor with its fixes,
// the steps only a person can take (each re-checked when they say it is
// done), deploy, and the first browser's pairing.
package launch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/clierr"
	deploycmd "github.com/moltctl/moltctl/pkg/cmd/deploy"
	devicescmd "github.com/moltctl/moltctl/pkg/cmd/devices"
	doctorcmd "github.com/moltctl/moltctl/pkg/cmd/doctor"
	initcmd "github.com/moltctl/moltctl/pkg/cmd/initcmd"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/manifest"
)

// LaunchOptions are the inputs of `moltctl launch`.
type LaunchOptions struct {
	Factory *cmdutil.Factory
	// Subdomain is the workers.dev name to register if the account has none.
	Subdomain string
	// NoPair skips waiting for the first browser to pair.
	NoPair bool
	// run executes one moltctl command (tests replace it).
	run func(ctx context.Context, cmd *cobra.Command, args ...string) error
}

// NewCmdLaunch returns the launch command.
func NewCmdLaunch(f *cmdutil.Factory, runF func(context.Context, *LaunchOptions) error) *cobra.Command {
	opts := &LaunchOptions{Factory: f, run: execute}
	cmd := &cobra.Command{
		Use:   "launch",
		Short: "From a moltworker checkout to a paired assistant in one command",
		Long: `Take a moltworker checkout to a running, protected assistant, one step
after the other, as a new user would:

  1. moltctl init: the questions (skipped when moltctl.yaml exists)
  2. moltctl doctor --fix: every check, and the fixes the API can make
  3. the steps only you can take (subscribing to Workers Paid, enabling
     R2), each with its link; press Enter when done and it checks again
  4. moltctl deploy
  5. moltctl devices approve --wait: open the Control UI and it pairs

Without a terminal it does what it can (init from flags' defaults, the
fixes that can be undone), prints the steps left for you, and exits 3;
run it again when they are done.`,
		Example: `  # In your moltworker checkout
  export CLOUDFLARE_API_TOKEN=...
  moltctl launch`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.Global.JSON() {
				return clierr.Usagef("launch talks to a person; use init, doctor and deploy with --output json in scripts")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return launchRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Subdomain, "subdomain", "", "the workers.dev name to register when the account has none")
	cmd.Flags().BoolVar(&opts.NoPair, "no-pair", false, "do not wait for the first browser to pair after the deploy")
	return cmd
}

// execute runs cmd with args as if typed after moltctl.
func execute(ctx context.Context, cmd *cobra.Command, args ...string) error {
	// Never nil: cobra reads os.Args for a command given nil args, and
	// launch's own flags (--yes, --no-pair) are unknown to deploy.
	cmd.SetArgs(append([]string{}, args...))
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return cmd.ExecuteContext(ctx)
}

func launchRun(ctx context.Context, opts *LaunchOptions) error {
	f := opts.Factory
	ios := f.IOStreams
	cs := ios.ColorScheme()
	interactive := !f.Global.Yes && ios.CanPrompt()
	// init, doctor and deploy run as steps: each leaves out its own "next"
	// line, so that launch ends with one.
	composed := *f
	composed.Composed = true
	f = &composed
	again := func() error {
		fmt.Fprintf(ios.ErrOut, "\nWhen the steps above are done, run %s again.\n", f.Command("launch"))
		return &clierr.SilentError{Code: clierr.ExitPreflight}
	}
	step := func(n int, what string) {
		fmt.Fprintf(ios.ErrOut, "\n%s\n", cs.Bold(fmt.Sprintf("%d/5  %s", n, what)))
	}

	// A token Cloudflare refuses would make init guess (nobody to allow
	// through Access) and doctor fail every check: one clear error first,
	// exit 2 as status and deploy give. No token at all is a step left
	// for the person: doctor's token check names it.
	if api, err := f.Cloudflare(); err == nil {
		if err := api.CheckToken(ctx, f.Now()); err != nil {
			return err
		}
	}

	// 1. The manifest.
	step(1, "moltctl.yaml")
	cfgPath, err := f.ConfigPath()
	if err != nil {
		return err
	}
	if _, err := os.Stat(manifest.Path(filepath.Dir(cfgPath))); err == nil {
		fmt.Fprintf(ios.ErrOut, "%s %s exists (moltctl init edits it)\n", cs.SuccessIcon(), manifest.FileName)
	} else if err := opts.run(ctx, initcmd.NewCmdInit(f), "--skip-doctor"); err != nil {
		return err
	}

	// On a terminal, a secret whose variable is unset is asked for now (as
	// deploy would) and kept in memory for the checks and the deploy, so
	// that it is not reported as a step for the person.
	if interactive {
		m, err := manifest.Load(manifest.Path(filepath.Dir(cfgPath)))
		if err == nil {
			asked, err := m.AskMissing(ctx, f.Getenv, f.Prompter())
			if err != nil {
				return err
			}
			cp := *f
			cp.Getenv = manifest.Overlay(f.Getenv, asked)
			f = &cp
		}
	}

	// 2 and 3. The checks, the API's fixes, and the person's steps.
	step(2, "moltctl doctor --fix")
	args := []string{"--fix"}
	if opts.Subdomain != "" {
		args = append(args, "--subdomain", opts.Subdomain)
	}
	for {
		err := opts.run(ctx, doctorcmd.NewCmdDoctor(f, nil), args...)
		if clierr.ExitCodeOf(err) != clierr.ExitPreflight {
			if err != nil {
				return err
			}
			break
		}
		if !interactive {
			return again()
		}
		step(3, "the steps only you can take (listed above)")
		ok, err := f.Prompter().Confirm("Done? Check again", true)
		if err != nil {
			return err
		}
		if !ok {
			return again()
		}
	}

	// 4. The deploy (it asks to confirm on a terminal, after its checks).
	step(4, "moltctl deploy")
	if err := opts.run(ctx, deploycmd.NewCmdDeploy(f, deploycmd.InitFuncs{Run: initcmd.Run, Suggest: initcmd.SuggestCommand}, nil)); err != nil {
		return err
	}

	// 5. The first browser.
	step(5, "pairing your browser")
	if opts.NoPair || !interactive {
		fmt.Fprintf(ios.ErrOut, "Next: %s, then open the Control UI (%s).\n", f.Command("devices approve --wait"), f.Command("open"))
		return nil
	}
	return opts.run(ctx, devicescmd.NewCmdDevices(f), "approve", "--wait")
}
