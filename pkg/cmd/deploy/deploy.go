// Package deploy implements `moltctl deploy`.
package deploy

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/assistant"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/deploy"
	"github.com/moltctl/moltctl/pkg/iostreams"
	"github.com/moltctl/moltctl/pkg/lease"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/preflight"
	"github.com/moltctl/moltctl/pkg/wrangler"
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
checkout, a deploy holds a lease in the account itself from its first
change: an R2 bucket named moltctl-lock-<worker>, deleted when the deploy
ends. A lease left by a run that died expires 10 minutes after its last
refresh. A deploy with nothing to change only reads: no lease, nothing
written.

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
				return clierr.Usagef("--skip-build needs --image REF, the image an earlier build pushed")
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
	f, ios := o.F, o.F.IOStreams
	start := time.Now()
	cfg, err := f.DeployConfig()
	if err != nil {
		return err
	}
	interactive := !f.Global.Yes && ios.CanPrompt()
	p, err := deploy.Prepare(ctx, prepareInputs(o, cfg, interactive))
	if err != nil {
		return err
	}
	defer p.Close()
	st := p.State
	steps := o.Steps
	if steps == nil {
		steps = deploy.Steps()
	}
	if o.Rotate != "" {
		if steps, err = st.RotateSteps(o.Rotate); err != nil {
			return err
		}
		if err := confirmRotate(o, cfg.Name); err != nil {
			return err
		}
	}
	// The dry run and the confirmation both come after every check (which
	// change nothing here), so neither shows a plan that cannot happen.
	var v *deploy.Verdict
	if o.DryRun || interactive {
		ios.StartProgress("Running the preflight checks")
		v = p.Preview(ctx)
		ios.StopProgress()
		if len(v.Blockers) > 0 && !f.Global.JSON() {
			fmt.Fprint(ios.ErrOut, v.Text)
		}
	}
	if o.DryRun {
		return dryRun(ctx, o, st, steps, v)
	}
	if interactive && o.Rotate == "" {
		if err := confirmDeploy(ctx, o, st, v); err != nil {
			return err
		}
	}
	prog := newProgress(ios, f.Global.JSON())
	prog.kv = o.LogFormat == cmdutil.LogKV
	runner := &deploy.Runner{Steps: steps, Progress: prog, OnStepStart: o.OnStepStart}
	results, runErr := runner.Run(ctx, st)
	res := buildResult(st, results, o.ShowToken)
	res.DurationMS = time.Since(start).Milliseconds()
	return report(o, res, runErr)
}

// prepareInputs are what deploy.Prepare needs, from the flags and the Factory.
func prepareInputs(o *DeployOptions, cfg *wrangler.Config, interactive bool) deploy.PrepareInputs {
	f, ios := o.F, o.F.IOStreams
	api, apiErr := f.Cloudflare()
	var logw io.Writer = ios.ErrOut
	if f.Global.JSON() {
		logw = io.Discard
	}
	images := o.Images
	if images == nil {
		images = &deploy.DockerImages{API: api, Connect: f.Docker, RegistryHost: f.RegistryHost()}
	}
	in := deploy.PrepareInputs{
		Config: cfg, AccountID: f.AccountID(), DryRun: o.DryRun, WaitLock: o.WaitLock, Lease: o.Lease,
		NoManifest: func(ctx context.Context, dir string) (*manifest.Manifest, error) { return noManifest(ctx, o, dir) },
		Options:    deploy.Options{NoWait: o.NoWait, SkipBuild: o.SkipBuild, Image: o.Image, WaitTimeout: o.Timeout, Resume: resumeCommand(f, o)},
		Permanent:  f.Global.Yes || interactive,
		Checks:     f.PreflightInputs(preflight.Project{}),
		Deps: deploy.Deps{API: api, Getenv: f.Getenv, WorkersDevURL: f.WorkersDevURL, RegistryHost: f.RegistryHost(),
			Image: images, Secrets: deploy.APISecrets{API: api}, Assistants: deploy.NewAssistants(f.HTTPClient),
			Log: logw, Warn: ios.Warn, Now: f.Now},
		APIErr: apiErr, Colors: ios.ColorScheme(),
	}
	// On a terminal, a secret whose variable is unset is asked for now, as
	// moltctl secrets set does; the value never reaches the environment or a file.
	if interactive && !f.Global.JSON() {
		in.AskMissing = func(ctx context.Context, m *manifest.Manifest) (map[string]string, error) {
			return m.AskMissing(ctx, f.Getenv, f.Prompter())
		}
	}
	return in
}

// confirmRotate asks before replacing a credential, which cannot be
// undone, unless --yes was given.
func confirmRotate(o *DeployOptions, worker string) error {
	f := o.F
	if o.DryRun || f.Global.Yes {
		return nil
	}
	q := fmt.Sprintf("Replace %s of %s (the old one stops working at once) and restart the gateway?", o.Rotate, worker)
	ok, err := f.Prompter().Confirm(q, false)
	if err != nil {
		return err
	}
	if !ok {
		return clierr.ErrCancelled
	}
	return nil
}

// confirmDeploy shows what the deploy will do and asks, on a terminal.
func confirmDeploy(ctx context.Context, o *DeployOptions, st *deploy.State, v *deploy.Verdict) error {
	f, ios := o.F, o.F.IOStreams
	if len(v.Blockers) > 0 {
		return deploy.PreflightError(v.Blockers)
	}
	fmt.Fprintln(ios.ErrOut, deploy.ConfirmLine(ctx, st))
	for _, w := range v.Fixes {
		fmt.Fprintf(ios.ErrOut, "  and first: %s\n", w)
	}
	ok, err := f.Prompter().Confirm("Deploy?", true)
	if err != nil {
		return err
	}
	if !ok {
		return clierr.ErrCancelled
	}
	return nil
}

// dryRun prints the plan, with what would block it, and changes nothing.
func dryRun(ctx context.Context, o *DeployOptions, st *deploy.State, steps []deploy.Step, v *deploy.Verdict) error {
	f, ios := o.F, o.F.IOStreams
	plan, err := deploy.MakePlan(ctx, steps, st)
	if err != nil {
		return err
	}
	plan.Blockers, plan.Fixes = v.Blockers, v.Fixes
	if f.Global.JSON() {
		if err := cmdutil.WriteJSON(ios.Out, plan); err != nil {
			return err
		}
	} else {
		plan.WriteText(ios.Out)
	}
	switch {
	case len(v.Blockers) == 0:
		return nil
	case f.Global.JSON():
		return &clierr.SilentError{Code: preflight.ExitCode(v.Blockers)}
	}
	return deploy.PreflightError(v.Blockers)
}

// report prints the deploy's result: JSON, or the summary on a terminal.
func report(o *DeployOptions, res *Result, runErr error) error {
	f, ios := o.F, o.F.IOStreams
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
		fmt.Fprintf(ios.ErrOut, "%s replaced %s of %s everywhere it is held\n", ios.ColorScheme().SuccessIcon(), o.Rotate, res.Worker)
		return nil
	}
	printSummary(ios.Out, res, o)
	return nil
}

func buildResult(st *deploy.State, results []deploy.StepResult, showToken bool) *Result {
	res := &Result{URL: st.Learned.URL, Worker: st.WorkerName(), Env: st.In.Config.EnvName, AccountID: st.In.AccountID,
		Image: st.Learned.ImageRef, Running: st.Learned.Running, Restarted: st.Learned.Restarted, Steps: results}
	if res.Steps == nil {
		res.Steps = []deploy.StepResult{}
	}
	if st.Learned.URL != "" {
		res.AdminURL = strings.TrimRight(st.Learned.URL, "/") + "/_admin/"
		if tok, ok := st.Learned.Values.Get("MOLTBOT_GATEWAY_TOKEN"); ok && tok != "" {
			res.ControlUIURL = assistant.ControlUIURL(st.Learned.URL, tok, showToken)
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
	fail := &clierr.UsageError{
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
