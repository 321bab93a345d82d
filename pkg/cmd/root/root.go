// Package root builds moltctl's command tree and is the one place where
// errors become messages and exit codes.
package root

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/clierr"
	buildcmd "github.com/moltctl/moltctl/pkg/cmd/build"
	cicmd "github.com/moltctl/moltctl/pkg/cmd/ci"
	deploycmd "github.com/moltctl/moltctl/pkg/cmd/deploy"
	destroycmd "github.com/moltctl/moltctl/pkg/cmd/destroy"
	devicescmd "github.com/moltctl/moltctl/pkg/cmd/devices"
	doctorcmd "github.com/moltctl/moltctl/pkg/cmd/doctor"
	initcmd "github.com/moltctl/moltctl/pkg/cmd/initcmd"
	launchcmd "github.com/moltctl/moltctl/pkg/cmd/launch"
	logscmd "github.com/moltctl/moltctl/pkg/cmd/logs"
	opencmd "github.com/moltctl/moltctl/pkg/cmd/open"
	pushcmd "github.com/moltctl/moltctl/pkg/cmd/push"
	restartcmd "github.com/moltctl/moltctl/pkg/cmd/restart"
	secretscmd "github.com/moltctl/moltctl/pkg/cmd/secrets"
	statuscmd "github.com/moltctl/moltctl/pkg/cmd/status"
	versioncmd "github.com/moltctl/moltctl/pkg/cmd/version"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/iostreams"
)

// NewCmdRoot returns the moltctl command with every subcommand attached.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	g := f.Global
	cmd := &cobra.Command{
		Use:   "moltctl <command> [flags]",
		Short: "Deploy and run a moltworker assistant on Cloudflare",
		Long: `moltctl takes a moltworker checkout to a working, protected, persistent
assistant on Cloudflare in one command, and keeps it healthy after.

It reads the project's own wrangler.jsonc, finds every problem up front
(moltctl doctor), and deploys the container, Worker, secrets, Cloudflare
Access and R2 persistence in one converging run (moltctl deploy).`,
		Example: `  # Check everything a deploy needs, and fix what the API can
  moltctl doctor --fix

  # Deploy from a moltworker checkout
  export CLOUDFLARE_API_TOKEN=...
  moltctl deploy

  # In CI: no prompts, machine-readable output
  moltctl deploy --yes --output json`,
		Version:       versioncmd.Current().String(),
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if g.Output != cmdutil.OutputText && g.Output != cmdutil.OutputJSON {
				return clierr.Usagef("--output must be %q or %q, not %q", cmdutil.OutputText, cmdutil.OutputJSON, g.Output)
			}
			if g.Yes {
				f.IOStreams.SetNeverPrompt(true)
			}
			return nil
		},
	}
	cmd.SetVersionTemplate("{{.Version}}\n")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &clierr.UsageError{Err: err, Fix: "see --help for the flags this command takes"}
	})

	pf := cmd.PersistentFlags()
	pf.StringVar(&g.Account, "account", "", "Cloudflare account ID (default: $CLOUDFLARE_ACCOUNT_ID, or the only account the token can see)")
	pf.StringVarP(&g.ConfigPath, "config", "c", "", "path to the project's wrangler.jsonc (default: found walking up from the current directory)")
	pf.StringVarP(&g.Env, "env", "e", "", "wrangler environment to use, as wrangler --env selects one")
	pf.StringVarP(&g.Output, "output", "o", cmdutil.OutputText, "output format: text or json")
	pf.BoolVarP(&g.Yes, "yes", "y", false, "never prompt, and confirm everything, including what cannot be undone (destroy, secrets unset, rotating a secret, registering a workers.dev name). Without a terminal (or with CI set) nothing prompts: other confirmations go ahead, these need --yes")
	pf.BoolVar(&g.Yes, "non-interactive", false, "same as --yes")
	pf.BoolVarP(&g.Verbose, "verbose", "v", false, "trace API requests to stderr (credentials and secret values are redacted)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("env", f.CompleteEnvNames)

	cmd.AddGroup(
		&cobra.Group{ID: "core", Title: "Deploy:"},
		&cobra.Group{ID: "ops", Title: "Operate:"},
	)
	// deploy offers init's form for a project without moltctl.yaml.
	initFuncs := deploycmd.InitFuncs{Run: initcmd.Run, Suggest: initcmd.SuggestCommand}
	for _, c := range []*cobra.Command{
		launchcmd.NewCmdLaunch(f, nil),
		initcmd.NewCmdInit(f),
		doctorcmd.NewCmdDoctor(f, nil),
		deploycmd.NewCmdDeploy(f, initFuncs, nil),
		cicmd.NewCmdCI(f),
		secretscmd.NewCmdSecrets(f, func(ctx context.Context, f *cmdutil.Factory, name string, waitLock bool) error {
			return deploycmd.Rotate(ctx, f, initFuncs, name, waitLock)
		}),
		buildcmd.NewCmdBuild(f),
		pushcmd.NewCmdPush(f),
	} {
		c.GroupID = "core"
		cmd.AddCommand(c)
	}
	for _, c := range []*cobra.Command{
		statuscmd.NewCmdStatus(f, nil),
		devicescmd.NewCmdDevices(f),
		logscmd.NewCmdLogs(f, nil),
		opencmd.NewCmdOpen(f, nil),
		restartcmd.NewCmdRestart(f, nil),
		destroycmd.NewCmdDestroy(f, nil),
	} {
		c.GroupID = "ops"
		cmd.AddCommand(c)
	}
	cmd.AddCommand(versioncmd.NewCmdVersion(f))
	strictCompletion(cmd)
	return cmd
}

// completionShells are the shells cobra's completion command writes for.
var completionShells = []string{"bash", "zsh", "fish", "powershell"}

// strictCompletion makes `completion` with no shell or an unknown one a
// usage error: cobra's own command, having subcommands and no Run, prints
// its help and exits 0, so a typo in a dotfile would pass unnoticed.
func strictCompletion(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(_ *cobra.Command, args []string) error {
			fix := "one of " + strings.Join(completionShells, ", ") + ", e.g. moltctl completion bash"
			if len(args) == 0 {
				return &clierr.UsageError{Err: errors.New("no shell given"), Fix: fix}
			}
			return &clierr.UsageError{Err: fmt.Errorf("unknown shell %s", args[0]), Fix: fix}
		}
	}
}

// NewFactory returns the Factory for a real process.
func NewFactory(streams *iostreams.IOStreams, getenv func(string) string, wd string) *cmdutil.Factory {
	return &cmdutil.Factory{
		IOStreams:  streams,
		Global:     &cmdutil.GlobalOptions{Output: cmdutil.OutputText},
		Getenv:     getenv,
		WorkingDir: wd,
		Now:        time.Now,
		HTTPClient: cmdutil.NewHTTPClient(),
	}
}

// Main runs moltctl with args and returns the process exit code. It is
// what cmd/moltctl calls and what the command-level tests call in-process.
func Main(ctx context.Context, args []string, streams *iostreams.IOStreams, getenv func(string) string) int {
	wd, err := os.Getwd()
	if err != nil {
		wd = "."
	}
	f := NewFactory(streams, getenv, wd)
	return Run(ctx, f, args)
}

// Run executes the command tree for f and prints any error.
func Run(ctx context.Context, f *cmdutil.Factory, args []string) int {
	cmd := NewCmdRoot(f)
	cmd.SetArgs(args)
	cmd.SetIn(f.IOStreams.In)
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)

	started := false
	prev := cmd.PersistentPreRunE
	cmd.PersistentPreRunE = func(c *cobra.Command, a []string) error {
		started = true
		return prev(c, a)
	}
	err := cmd.ExecuteContext(ctx)
	f.IOStreams.StopProgress()
	if err == nil && ctx.Err() != nil {
		// A signal arrived and the command stopped cleanly (logs streams
		// until Ctrl-C): nothing to print, but 130 tells scripts it was
		// stopped rather than done.
		err = &clierr.SilentError{Code: clierr.ExitInterrupted}
	}
	if err == nil {
		return clierr.ExitOK
	}
	if !started && clierr.ExitCodeOf(err) == clierr.ExitError {
		// Cobra rejected the arguments before the command ran: unknown
		// command, wrong number of arguments.
		err = &clierr.UsageError{Err: err, Fix: "see moltctl --help"}
	}
	if ctx.Err() != nil && clierr.ExitCodeOf(err) != clierr.ExitInterrupted {
		err = &clierr.InterruptedError{}
	}
	printError(f.IOStreams, err)
	return clierr.ExitCodeOf(err)
}

func printError(io *iostreams.IOStreams, err error) {
	var silent *clierr.SilentError
	if errors.As(err, &silent) {
		return
	}
	cs := io.ColorScheme()
	msg := strings.TrimSpace(err.Error())
	fmt.Fprintf(io.ErrOut, "%s %s\n", cs.Red("Error:"), msg)
	if hint := clierr.HintOf(err); hint != "" {
		fmt.Fprintf(io.ErrOut, "%s %s\n", cs.Bold("Fix:"), hint)
	}
}
