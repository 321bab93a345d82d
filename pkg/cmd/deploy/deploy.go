// Package deploy implements `moltctl deploy`.
package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/deploy"
	"github.com/moltctl/moltctl/pkg/iostreams"
	"github.com/moltctl/moltctl/pkg/lease"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/preflight"
	"github.com/moltctl/moltctl/pkg/remotestate"
	"github.com/moltctl/moltctl/pkg/state"
)

// DeployOptions are deploy's flags.
type DeployOptions struct {
	F *cmdutil.Factory

	DryRun    bool
	NoWait    bool
	SkipBuild bool
	Image     string
	ShowToken bool
	WaitLock  bool
	// LogFormat is --log-format: text or kv.
	LogFormat string
	// Lease tunes the account-wide deploy lease (tests shorten its timings).
	Lease   lease.Options
	Timeout time.Duration

	// Rotate, when set, replaces that credential (deploy.Rotatable) instead
	// of deploying: `moltctl secrets rotate`.
	Rotate string

	// Init is what deploy borrows from init when there is no moltctl.yaml.
	Init InitFuncs

	// Hooks for tests: the runner's step-start callback, a shared image
	// builder, and the steps to run.
	OnStepStart func(step string)
	Images      deploy.ImageBuilder
	Steps       []deploy.Step
}

// defaultTimeout is how long deploy waits for the assistant without --timeout.
const defaultTimeout = 5 * time.Minute

// InitFuncs are init's form and its suggested command, which deploy offers
// for a project without moltctl.yaml. Root passes init's, so that one
// command does not import another.
type InitFuncs struct {
	// Run shows init's form, as `moltctl init` without flags does.
	Run func(ctx context.Context, f *cmdutil.Factory) error
	// Suggest is the `moltctl init --yes …` that fits the environment.
	Suggest func(getenv func(string) string, email string) string
}

// NewCmdDeploy returns the deploy command.
func NewCmdDeploy(f *cmdutil.Factory, initFuncs InitFuncs, runF func(*DeployOptions) error) *cobra.Command {
	opts := &DeployOptions{F: f, Init: initFuncs}
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy the assistant: image, Worker, secrets, Access and R2, then wait until it answers",
		Long: `Install the project's dependencies when node_modules is missing or older than
package.json or the lockfile, and run its build (build.command in
wrangler.jsonc, moltworker's npm run build) when the sources' content changed;
--env NAME builds with CLOUDFLARE_ENV=NAME. Then build and push the
container image, upload the Worker and its static assets,
create or roll out the container application, protect the Worker with
Cloudflare Access, give the container R2 credentials for its bucket, set the
secrets from moltctl.yaml and wait until the assistant answers.

Every step reads what Cloudflare holds and changes only the difference, so a
second run changes nothing, and a run that failed or was interrupted (Ctrl-C)
continues where it stopped when run again. Two deploys of the same Worker do
not interleave, even from CI runners that share no disk: the second refuses,
naming the first, or waits (--wait-lock). Besides a lock file in the
checkout, a deploy holds a lease in the account itself: an R2 bucket named
moltctl-lock-<worker>, deleted when the deploy ends. A lease left by a run
that died expires 10 minutes after its last refresh.

What moltctl created (ids, digests) is kept in the account (R2 bucket
moltctl-state), the credentials it generated sealed to your key, so a deploy
from another checkout or a CI runner changes nothing and replaces no
credential; .moltctl/<worker>/ (0600) is a cache. See docs/state.md.

Without moltctl.yaml (a fresh clone), deploy offers init's form on a
terminal; otherwise it stops and names the moltctl init --yes command that
fits the environment.`,
		Example: `  # Deploy the project in the current directory
  moltctl deploy

  # See what would change, with the monthly cost estimate, changing nothing
  moltctl deploy --dry-run

  # In CI: no prompts, JSON result, an image pushed by an earlier job
  moltctl deploy --yes --output json --skip-build --image registry.cloudflare.com/<account>/moltbot-sandbox-sandbox:<tag>

  # Deploy the wrangler environment "staging" (its own Worker, bucket and Access app)
  moltctl deploy --env staging`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.CheckLogFormat(opts.LogFormat); err != nil {
				return err
			}
			if opts.SkipBuild && opts.Image == "" {
				return cmdutil.Usagef("--skip-build needs --image REF, the image an earlier build pushed")
			}
			if opts.Image != "" {
				opts.SkipBuild = true
			}
			if runF != nil {
				return runF(opts)
			}
			return deployRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	cmdutil.AddLogFormatFlag(cmd, &opts.LogFormat)
	fl.BoolVar(&opts.DryRun, "dry-run", false, "print the plan (and the monthly cost estimate) and change nothing")
	fl.BoolVar(&opts.NoWait, "no-wait", false, "do not wait for the assistant to answer")
	fl.BoolVar(&opts.SkipBuild, "skip-build", false, "do not build: deploy the image given with --image")
	fl.StringVar(&opts.Image, "image", "", "image reference pushed earlier (implies --skip-build)")
	fl.BoolVar(&opts.ShowToken, "show-token", false, "print the Control UI URL with the gateway token unmasked")
	fl.BoolVar(&opts.WaitLock, "wait-lock", false, "wait for another deploy of this Worker to finish instead of refusing")
	fl.DurationVar(&opts.Timeout, "timeout", defaultTimeout, "how long to wait for the assistant to answer")
	return cmd
}

// Result is the final object of --output json (docs/json-output.md).
type Result struct {
	URL          string              `json:"url"`
	AdminURL     string              `json:"admin_url"`
	ControlUIURL string              `json:"control_ui_url,omitempty"`
	Worker       string              `json:"worker"`
	Env          string              `json:"env,omitempty"`
	AccountID    string              `json:"account_id"`
	Image        string              `json:"image"`
	Running      bool                `json:"running"`
	Restarted    bool                `json:"restarted"`
	Steps        []deploy.StepResult `json:"steps"`
	Versions     map[string]any      `json:"versions"`
	Digests      map[string]string   `json:"digests"`
	DurationMS   int64               `json:"duration_ms"`
	Error        string              `json:"error,omitempty"`
}

// resumeCommand is the deploy that continues this one: every flag this
// run was given (global and deploy's own; --dry-run aside, and
// --skip-build, which --image implies), so that it acts on the same
// project and account, and waits, logs and answers as this run did.
func resumeCommand(f *cmdutil.Factory, o *DeployOptions) string {
	var flags []string
	if o.Image != "" {
		flags = append(flags, "--image", o.Image)
	}
	if o.LogFormat != "" && o.LogFormat != cmdutil.LogText {
		flags = append(flags, "--log-format", o.LogFormat)
	}
	if o.NoWait {
		flags = append(flags, "--no-wait", "")
	}
	if o.ShowToken {
		flags = append(flags, "--show-token", "")
	}
	if o.Timeout != 0 && o.Timeout != defaultTimeout {
		flags = append(flags, "--timeout", o.Timeout.String())
	}
	if o.WaitLock {
		flags = append(flags, "--wait-lock", "")
	}
	return f.Rerun("deploy", flags...)
}

func deployRun(ctx context.Context, o *DeployOptions) error {
	f := o.F
	ios := f.IOStreams
	cs := ios.ColorScheme()
	start := time.Now()

	cfg, err := f.DeployConfig()
	if err != nil {
		return err
	}
	if cfg.Name == "" {
		return &cmdutil.UsageError{Err: fmt.Errorf("%s has no \"name\"", cfg.Path), Fix: "set name to the Worker's name (moltworker: moltbot-sandbox)"}
	}
	projectDir := cfg.ProjectDir()
	man, err := manifest.Load(manifest.Path(projectDir))
	if errors.Is(err, manifest.ErrNotFound) {
		man, err = noManifest(ctx, o, projectDir)
	}
	if err != nil {
		return err
	}
	api, err := f.Cloudflare()
	if err != nil {
		return err
	}
	accountID := f.AccountID()
	if accountID == "" {
		accts, err := api.ListAccounts(ctx)
		if err != nil {
			return fmt.Errorf("list accounts: %w", err)
		}
		if len(accts) != 1 {
			return &cmdutil.UsageError{Err: fmt.Errorf("the token can see %d accounts", len(accts)), Fix: "pass --account or set CLOUDFLARE_ACCOUNT_ID"}
		}
		accountID = accts[0].ID
	}
	api.SetAccountID(accountID)

	store, err := state.Open(projectDir, cfg.Name)
	if err != nil {
		return err
	}
	resume := resumeCommand(f, o)
	if !o.DryRun {
		unlock, err := store.Lock(ctx, resume, o.WaitLock)
		if err != nil {
			return err
		}
		defer unlock()
	}
	warn := ios.Warn
	keeper, err := remotestate.NewKeeper(api, store, cfg.Name, f.Getenv, warn)
	if err != nil {
		return err
	}
	if !o.DryRun {
		// Rotating cannot be undone: it is confirmed here, or needs --yes.
		// A deploy is confirmed after its checks, below, on a terminal.
		if !f.Global.Yes && o.Rotate != "" {
			q := fmt.Sprintf("Replace %s of %s (the old one stops working at once) and restart the gateway?", o.Rotate, cfg.Name)
			ok, err := f.Prompter().Confirm(q, false)
			if err != nil {
				return err
			}
			if !ok {
				return cmdutil.ErrCancelled
			}
		}
		// The state is read and written only while the lease is held, so
		// no other runner changes it in between.
		leaseOpts := o.Lease
		leaseOpts.Wait = o.WaitLock
		release, err := lease.Hold(ctx, api, store, cfg.Name, resume, leaseOpts, warn)
		if err != nil {
			return err
		}
		defer release()
	}
	dep, creds, err := keeper.Load(ctx)
	if err != nil {
		return err
	}
	if dep.AccountID != "" && dep.AccountID != accountID {
		warn(fmt.Sprintf("the last deploy of %s went to account %s; deploying to %s", cfg.Name, dep.AccountID, accountID))
		dep = &state.Deployment{SchemaVersion: state.SchemaVersion, Secrets: map[string]string{}}
	}
	dep.AccountID, dep.WorkerName, dep.Env = accountID, cfg.Name, cfg.EnvName

	var logw io.Writer = ios.ErrOut
	if f.Global.JSON() {
		logw = io.Discard
	}
	images := o.Images
	if images == nil {
		images = &deploy.DockerImages{API: api, Connect: f.Docker, RegistryHost: f.RegistryHost()}
	}
	st := &deploy.State{
		In: deploy.Inputs{Config: cfg, Manifest: man, AccountID: accountID,
			Options: deploy.Options{NoWait: o.NoWait, SkipBuild: o.SkipBuild, Image: o.Image, WaitTimeout: o.Timeout, Resume: resume}},
		Deps: deploy.Deps{API: api, Getenv: f.Getenv, WorkersDevURL: f.WorkersDevURL, RegistryHost: f.RegistryHost(),
			Image: images, Secrets: deploy.APISecrets{API: api}, Assistants: deploy.NewAssistants(f.HTTPClient),
			Log: logw, Warn: warn, Now: f.Now},
		Saved: deploy.Saved{Keeper: keeper, Store: store, Dep: dep, Creds: creds, HMACKey: keeper.DigestKey},
	}
	// On a terminal, a secret whose variable is unset is asked for now, as
	// moltctl secrets set does, and read from memory by the checks and the
	// secrets step; the value never reaches the environment or a file.
	getenv := f.Getenv
	interactive := !f.Global.Yes && ios.CanPrompt()
	if man != nil && interactive && !f.Global.JSON() {
		asked, err := man.AskMissing(ctx, f.Getenv, f.Prompter())
		if err != nil {
			return err
		}
		getenv = manifest.Overlay(f.Getenv, asked)
		st.Deps.Getenv = getenv
	}
	// The checks read what this run loaded; only what they learn from the
	// API is asked for anew (a fresh Env each run, and after fixes).
	in := f.PreflightInputs(preflight.Project{Config: cfg, Manifest: man, State: dep, StateKey: keeper.DigestKey})
	in.Getenv, in.API, in.AccountID = getenv, api, accountID
	if o.SkipBuild {
		in.Docker = nil
	}
	// check runs the doctor's checks; with fix, it first repairs through
	// the API what blocks, but only when that clears every blocker.
	check := func(ctx context.Context, fix bool) (*preflight.Report, string) {
		env := preflight.NewEnv(in)
		r := preflight.Run(ctx, preflight.Standard(), env)
		var b bytes.Buffer
		if fixes := deploy.Fixes(r, f.Global.Yes || interactive); fix && len(fixes) > 0 {
			preflight.ApplyFixes(ctx, env, fixes, func(c preflight.Outcome, err error) {
				if err != nil {
					fmt.Fprintf(&b, "%s %s: %v\n", cs.FailureIcon(), c.Action.Summary, err)
					return
				}
				fmt.Fprintf(logw, "%s preflight: %s (%s)\n", cs.SuccessIcon(), c.Action.Summary, c.ID)
			})
			r = preflight.Run(ctx, preflight.Standard(), env)
		}
		preflight.RenderChecks(&b, cs, r)
		return r, b.String()
	}
	st.Deps.Preflight = func(ctx context.Context, _ *deploy.State) ([]string, string, error) {
		r, report := check(ctx, true)
		return deploy.Blockers(r), report, nil
	}
	steps := o.Steps
	if steps == nil {
		steps = deploy.Steps()
	}
	if o.Rotate != "" {
		if steps, err = st.RotateSteps(o.Rotate); err != nil {
			return err
		}
	}

	// The dry run and the confirmation both come after the checks (which
	// change nothing here), so neither shows a plan that cannot happen.
	var stop []string // blockers the API cannot fix
	var willFix []string
	if o.DryRun || interactive {
		ios.StartProgress("Running the preflight checks")
		r, report := check(ctx, false)
		ios.StopProgress()
		fixes := deploy.Fixes(r, f.Global.Yes || interactive)
		for _, c := range fixes {
			willFix = append(willFix, c.Action.Summary)
		}
		if len(fixes) == 0 {
			stop = deploy.Blockers(r)
		}
		if len(stop) > 0 && !f.Global.JSON() {
			fmt.Fprint(ios.ErrOut, report)
		}
	}
	preflightErr := func() error {
		return &cmdutil.HintError{Err: fmt.Errorf("preflight checks failed (%s); nothing was changed", strings.Join(stop, ", ")),
			Fix: "fix what the checks above name (moltctl doctor shows each fix), then run the same command again", Code: cmdutil.ExitPreflight}
	}

	if o.DryRun {
		plan, err := deploy.MakePlan(ctx, steps, st)
		if err != nil {
			return err
		}
		plan.Blockers, plan.Fixes = stop, willFix
		if f.Global.JSON() {
			if err := cmdutil.WriteJSON(ios.Out, plan); err != nil {
				return err
			}
		} else {
			plan.WriteText(ios.Out)
		}
		if len(stop) > 0 {
			if f.Global.JSON() {
				return &cmdutil.SilentError{Code: cmdutil.ExitPreflight}
			}
			return preflightErr()
		}
		return nil
	}

	if interactive && o.Rotate == "" {
		if len(stop) > 0 {
			return preflightErr()
		}
		fmt.Fprintln(ios.ErrOut, deploy.ConfirmLine(ctx, st))
		for _, w := range willFix {
			fmt.Fprintf(ios.ErrOut, "  and first: %s\n", w)
		}
		ok, err := f.Prompter().Confirm("Deploy?", true)
		if err != nil {
			return err
		}
		if !ok {
			return cmdutil.ErrCancelled
		}
	}

	prog := newProgress(ios, f.Global.JSON())
	prog.kv = o.LogFormat == cmdutil.LogKV
	runner := &deploy.Runner{Steps: steps, Progress: prog, OnStepStart: o.OnStepStart}
	results, runErr := runner.Run(ctx, st)
	res := buildResult(st, results, o.ShowToken)
	res.DurationMS = time.Since(start).Milliseconds()
	if runErr != nil {
		res.Error = runErr.Error()
		if f.Global.JSON() {
			_ = cmdutil.WriteJSON(ios.Out, res)
		}
		return runErr
	}
	if f.Global.JSON() {
		return cmdutil.WriteJSON(ios.Out, res)
	}
	if o.Rotate != "" {
		fmt.Fprintf(ios.ErrOut, "%s replaced %s of %s everywhere it is held\n", cs.SuccessIcon(), o.Rotate, cfg.Name)
		return nil
	}
	printSummary(ios.Out, res, o)
	return nil
}

const tokenMask = "********"

func buildResult(st *deploy.State, results []deploy.StepResult, showToken bool) *Result {
	res := &Result{URL: st.Learned.URL, Worker: st.WorkerName(), Env: st.In.Config.EnvName, AccountID: st.In.AccountID,
		Image: st.Learned.ImageRef, Running: st.Learned.Running, Restarted: st.Learned.Restarted, Steps: results}
	if res.Steps == nil {
		res.Steps = []deploy.StepResult{}
	}
	if st.Learned.URL != "" {
		res.AdminURL = strings.TrimRight(st.Learned.URL, "/") + "/_admin/"
		if tok, ok := st.Learned.Values.Get("MOLTBOT_GATEWAY_TOKEN"); ok && tok != "" {
			shown := tokenMask
			if showToken {
				shown = url.QueryEscape(tok)
			}
			res.ControlUIURL = strings.TrimRight(st.Learned.URL, "/") + "/?token=" + shown
		}
	}
	res.Versions = map[string]any{"worker": st.Saved.Dep.Worker.VersionID, "container_app": st.Saved.Dep.ContainerApp.Version}
	res.Digests = map[string]string{}
	if st.Saved.Dep.Image.Digest != "" {
		res.Digests["image"] = st.Saved.Dep.Image.Digest
	}
	if st.Saved.Dep.Worker.ContentHash != "" {
		res.Digests["worker"] = "sha256:" + st.Saved.Dep.Worker.ContentHash
	}
	names := make([]string, 0, len(st.Saved.Dep.Secrets))
	for k := range st.Saved.Dep.Secrets {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		// HMAC digests under the sealed digest key: they show a change, never the value.
		res.Digests["secret:"+k] = "hmac-sha256:" + st.Saved.Dep.Secrets[k][:16]
	}
	return res
}

func printSummary(w io.Writer, res *Result, o *DeployOptions) {
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Deployed %s", res.Worker)
	if res.Env != "" {
		fmt.Fprintf(w, " (env %s)", res.Env)
	}
	fmt.Fprintf(w, " in %s\n", (time.Duration(res.DurationMS) * time.Millisecond).Round(100*time.Millisecond))
	if res.Image != "" {
		fmt.Fprintf(w, "  Image:       %s\n", res.Image)
	}
	fmt.Fprintf(w, "  URL:         %s\n", res.URL)
	if res.ControlUIURL != "" {
		fmt.Fprintf(w, "  Control UI:  %s", res.ControlUIURL)
		if !o.ShowToken {
			fmt.Fprint(w, "  (token hidden: --show-token prints it)")
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  Admin:       %s  (behind Cloudflare Access)\n", res.AdminURL)
	switch {
	case res.Restarted:
		fmt.Fprintln(w, "  Gateway:     restarted to pick up the changed secrets, and running")
	case res.Running:
		fmt.Fprintln(w, "  Gateway:     running")
	case o.NoWait:
		fmt.Fprintln(w, "  Gateway:     not waited for (--no-wait); moltctl status shows it")
	}
	if o.F.Composed {
		return // launch pairs the browser next and says so
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Next steps:")
	fmt.Fprintln(w, "  1. Open the Control UI URL in your browser and sign in through Cloudflare Access")
	fmt.Fprintln(w, "  2. Pair your device: moltctl devices approve --wait")
	fmt.Fprintln(w, "  3. Check on it any time: moltctl status")
}

// progress shows steps as they run: a spinner and ticks on a terminal,
// one structured line per step otherwise. Under --output json it stays
// quiet, so stdout holds only the result.
type progress struct {
	ios   *iostreams.IOStreams
	quiet bool
	// kv writes one key=value line per step (--log-format kv), for log
	// collectors; people get the same lines with or without a terminal.
	kv bool
}

func newProgress(ios *iostreams.IOStreams, quiet bool) *progress {
	return &progress{ios: ios, quiet: quiet}
}

func (p *progress) Start(name, what string) {
	if !p.quiet {
		p.ios.StartProgress(name + ": " + what)
	}
}

func (p *progress) Done(r deploy.StepResult) {
	p.ios.StopProgress()
	if p.quiet {
		return
	}
	w := p.ios.ErrOut
	d := (time.Duration(r.DurationMS) * time.Millisecond).Round(10 * time.Millisecond)
	if !p.kv {
		cs := p.ios.ColorScheme()
		icon := cs.SuccessIcon()
		switch r.Status {
		case deploy.StatusSkipped:
			icon = cs.SkippedIcon()
		case deploy.StatusFailed:
			icon = cs.FailureIcon()
		}
		fmt.Fprintf(w, "%s %-15s %-7s %s\n", icon, r.Name, cs.Gray(d.String()), r.Detail)
		return
	}
	cmdutil.WriteKV(w, r.Name, string(r.Status), d, r.Detail)
}

// Rotate replaces the credential name of the project's assistant (see
// deploy.Rotatable) and puts the new one everywhere it is held.
func Rotate(ctx context.Context, f *cmdutil.Factory, initFuncs InitFuncs, name string, waitLock bool) error {
	return deployRun(ctx, &DeployOptions{F: f, Init: initFuncs, Rotate: name, WaitLock: waitLock, Timeout: defaultTimeout})
}

// noManifest handles a project without moltctl.yaml (a fresh clone): on a
// terminal it offers init's form and loads what it wrote; otherwise it
// fails, naming the init command that fits the environment.
func noManifest(ctx context.Context, o *DeployOptions, projectDir string) (*manifest.Manifest, error) {
	f := o.F
	ios := f.IOStreams
	path := manifest.Path(projectDir)
	suggest := "moltctl init --yes"
	if o.Init.Suggest != nil {
		suggest = o.Init.Suggest(f.Getenv, gitEmail(ctx, projectDir))
	}
	if f.Global.Env != "" {
		suggest += " --env " + f.Global.Env
	}
	fail := &cmdutil.UsageError{
		Err: fmt.Errorf("no %s in %s: moltctl does not know where the assistant's secrets come from or who may open it", manifest.FileName, projectDir),
		Fix: "run `" + suggest + "` (or `moltctl init` on a terminal for the form), then `moltctl deploy` again"}
	if f.Global.Yes || o.DryRun || !ios.CanPrompt() || o.Init.Run == nil {
		return nil, fail
	}
	ok, err := f.Prompter().Confirm(fmt.Sprintf("No %s here yet. Set the assistant up now with moltctl init's form?", manifest.FileName), true)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fail
	}
	if err := o.Init.Run(ctx, f); err != nil {
		return nil, err
	}
	return manifest.Load(path)
}

// gitEmail is git's user.email for dir, or "" (for the --allow suggestion).
func gitEmail(ctx context.Context, dir string) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "config", "user.email")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
