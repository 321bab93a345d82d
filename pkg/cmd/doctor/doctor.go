// Package doctor implements `moltctl doctor`: every preflight check at
// once, each problem with its fix, and --fix for what the API can repair.
package doctor

import (
	"context"
	"fmt"
	"sync"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/iostreams"
	"github.com/moltctl/moltctl/pkg/preflight"
	"github.com/moltctl/moltctl/pkg/prompt"
	"github.com/spf13/cobra"
)

// DoctorOptions are the inputs of one doctor run.
type DoctorOptions struct {
	IO   *iostreams.IOStreams
	JSON bool
	Fix  bool
	Yes  bool
	Only []string
	// Subdomain is the workers.dev name --fix registers (--subdomain).
	Subdomain string
	// CanPrompt reports whether someone can answer a question.
	CanPrompt bool
	Prompter  func() prompt.Prompter
	// NewEnv gathers the checks' inputs (the Factory's by default).
	NewEnv func() *preflight.Env
	// Docker, when set, replaces the real Docker prober (tests).
	Docker preflight.DockerProber
	// Checks are the checks to run (preflight.Standard by default).
	Checks []preflight.Check
	// Composed leaves the "run doctor again" advice to the command that
	// runs doctor as one of its steps (launch).
	Composed bool
	// Again is the command the advice names ("moltctl doctor" with the
	// global flags that chose the project).
	Again string
}

// NewCmdDoctor returns the doctor command; runF replaces the run in tests.
func NewCmdDoctor(f *cmdutil.Factory, runF func(context.Context, *DoctorOptions) error) *cobra.Command {
	opts := &DoctorOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Find every problem that would stop a deploy, each with its fix",
		Long: `Run every preflight check at once: Docker, API token and permissions, account,
Workers Paid plan and Containers, R2, workers.dev subdomain, Zero Trust
organization, project files, secrets, and Access wiring of a deployed Worker.

Each problem comes with its fix: a command to run or a dashboard link.
--fix applies what the API allows (register a workers.dev subdomain, create
the R2 bucket and the Zero Trust organization) after one confirmation, names
what needs you (subscribing to Workers Paid, enabling R2), then checks again.
Without a terminal the fixes are applied without asking, except registering
the workers.dev name: it is the account's permanent public name, shown
before it is registered (--subdomain NAME chooses it), and needs --yes or
an answer on a terminal.

Exit status: 0 when nothing fails (warnings allowed), 3 when a check fails.
Check IDs and the JSON output are described in docs/doctor.md.
`,
		Example: `# check everything
$ moltctl doctor

# repair what the API can, without asking
$ moltctl doctor --fix --yes

# machine-readable, for CI
$ moltctl doctor --output json

# only some checks
$ moltctl doctor --check token --check token.permissions
`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.JSON = f.Global.JSON()
			opts.Yes = f.Global.Yes
			opts.Prompter = f.Prompter
			opts.CanPrompt = f.IOStreams.CanPrompt()
			opts.Composed = f.Composed
			opts.Again = f.Command("doctor")
			opts.NewEnv = func() *preflight.Env {
				env := f.PreflightEnv()
				env.Subdomain = opts.Subdomain
				return env
			}
			opts.Checks = preflight.Standard()
			if len(opts.Only) > 0 {
				known := map[string]bool{}
				for _, c := range opts.Checks {
					known[c.ID] = true
				}
				for _, id := range opts.Only {
					if !known[id] {
						return &clierr.UsageError{Err: fmt.Errorf("unknown check %q", id), Fix: "see docs/doctor.md for the check IDs"}
					}
				}
				opts.Checks = preflight.Select(opts.Checks, opts.Only...)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return doctorRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Fix, "fix", false, "apply the fixes the API allows, after one confirmation (--yes skips it), then check again")
	cmd.Flags().StringSliceVar(&opts.Only, "check", nil, "run only the check with this ID (repeatable)")
	cmd.Flags().StringVar(&opts.Subdomain, "subdomain", "", "the workers.dev name --fix registers when the account has none (default: a free name from the account's)")
	_ = cmd.RegisterFlagCompletionFunc("check", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var ids []string
		for _, c := range preflight.Standard() {
			ids = append(ids, c.ID+"\t"+c.Title)
		}
		return ids, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func doctorRun(ctx context.Context, opts *DoctorOptions) error {
	env := opts.NewEnv()
	if opts.Docker != nil {
		env.Docker = opts.Docker
	}
	checks := opts.Checks
	if checks == nil {
		checks = preflight.Standard()
	}
	report := runWithProgress(ctx, opts.IO, checks, env)
	if report.Interrupted {
		return &clierr.InterruptedError{}
	}

	// listed: the checklist is on screen and still current (shown before
	// the fixes, and nothing changed), so only the counts follow.
	listed := false
	if opts.Fix {
		if !opts.JSON && (len(report.Actions()) > 0 || len(report.HumanSteps()) > 0) {
			// The counts and the advice come once, at the end.
			preflight.RenderList(opts.IO.Out, opts.IO.ColorScheme(), report)
			listed = true
		}
		changed, err := applyFixes(ctx, opts, env, report)
		if err != nil {
			return err
		}
		if changed {
			if listed {
				// A blank line between the list before the fixes and
				// the one after; when nothing changed, the summary
				// follows the list with its own.
				fmt.Fprintln(opts.IO.Out)
			}
			// The same inputs, checked again: only what the checks
			// learned from the API was dropped by the fixes.
			listed = false
			if !opts.JSON {
				fmt.Fprintln(opts.IO.ErrOut, "\nChecking again…")
			}
			report = runWithProgress(ctx, opts.IO, checks, env)
			if report.Interrupted {
				return &clierr.InterruptedError{}
			}
		}
	}

	if opts.JSON {
		if err := cmdutil.WriteJSON(opts.IO.Out, report); err != nil {
			return err
		}
	} else {
		if !listed {
			preflight.RenderList(opts.IO.Out, opts.IO.ColorScheme(), report)
		}
		again := opts.Again
		if again == "" {
			again = "moltctl doctor"
		}
		if opts.Composed {
			again = "" // launch says what comes next
		}
		preflight.RenderSummary(opts.IO.Out, opts.IO.ColorScheme(), report, again)
	}
	if report.Failed() {
		return &clierr.SilentError{Code: clierr.ExitPreflight}
	}
	return nil
}

// runWithProgress runs the checks, showing how many are done on a TTY.
func runWithProgress(ctx context.Context, io *iostreams.IOStreams, checks []preflight.Check, env *preflight.Env) *preflight.Report {
	total := len(checks)
	io.StartProgress(fmt.Sprintf("Running %d checks", total))
	var mu sync.Mutex
	done := 0
	report := preflight.RunWith(ctx, checks, env, preflight.Options{OnDone: func(o preflight.Outcome) {
		mu.Lock()
		done++
		n := done
		mu.Unlock()
		if n < total {
			io.StartProgress(fmt.Sprintf("Running %d checks (%d done; last: %s)", total, n, o.Title))
		}
	}})
	io.StopProgress()
	return report
}

// applyFixes confirms and applies the report's automatic fixes and lists
// those that need a person. It reports whether anything was attempted.
func applyFixes(ctx context.Context, opts *DoctorOptions, env *preflight.Env, report *preflight.Report) (bool, error) {
	w := opts.IO.ErrOut
	cs := opts.IO.ColorScheme()
	actions := report.Actions()
	human := report.HumanSteps()
	if len(actions) == 0 {
		fmt.Fprintln(w, "Nothing for --fix to do through the API.")
	} else {
		// Without a terminal, fixes that can be undone go ahead; one that
		// is permanent needs --yes.
		if !opts.Yes && !opts.CanPrompt {
			var kept []preflight.Outcome
			for _, a := range actions {
				if a.Action.Permanent {
					fmt.Fprintf(w, "%s not done without --yes: %s  (%s)\n", cs.WarningIcon(), a.Action.Summary, a.ID)
					continue
				}
				kept = append(kept, a)
			}
			actions = kept
		}
	}
	if len(actions) > 0 {
		fmt.Fprintln(w, "moltctl doctor --fix will:")
		for _, a := range actions {
			fmt.Fprintf(w, "  • %s  (%s)\n", a.Action.Summary, a.ID)
		}
		if !opts.Yes && opts.CanPrompt {
			ok, err := opts.Prompter().Confirm(fmt.Sprintf("Apply %d fix(es)?", len(actions)), true)
			if err != nil {
				return false, err
			}
			if !ok {
				return false, clierr.ErrCancelled
			}
		}
		preflight.ApplyFixes(ctx, env, actions, func(a preflight.Outcome, err error) {
			if err != nil {
				fmt.Fprintf(w, "%s %s: %v\n", cs.FailureIcon(), a.Action.Summary, err)
				return
			}
			fmt.Fprintf(w, "%s %s\n", cs.SuccessIcon(), a.Action.Summary)
		})
	}
	if len(human) > 0 {
		fmt.Fprintln(w, "\nThese need you (the API cannot do them):")
		for _, h := range human {
			fmt.Fprintf(w, "  • %s  (%s)\n", h.Human, h.ID)
		}
		// What to do after them is the report's last line (or launch's).
	}
	return len(actions) > 0, nil
}
