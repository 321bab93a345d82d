// Package initcmd implements `moltctl init`: a guided form (or flags) that
// writes moltctl.yaml for a moltworker checkout, optionally a CI workflow
// that deploys it, and then runs the doctor checks.
package initcmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/moltctl/moltctl/pkg/buildinfo"
	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/iostreams"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/preflight"
	"github.com/moltctl/moltctl/templates"
)

// ManifestName is the manifest's file name, beside wrangler.jsonc.
const ManifestName = manifest.FileName

// CI workflow files, relative to the project directory.
var ciFiles = map[string]struct{ path, template string }{
	"github": {filepath.Join(".github", "workflows", "moltctl-deploy.yml"), templates.GitHubTemplate},
	"gitlab": {".gitlab-ci.yml", templates.GitLabTemplate},
}

// InitOptions are init's inputs.
type InitOptions struct {
	IO      *iostreams.IOStreams
	Factory *cmdutil.Factory
	// NewDoctorEnv gathers what the doctor checks read, as moltctl doctor does.
	NewDoctorEnv func() *preflight.Env

	Provider         string
	GatewayAccountID string
	GatewayID        string
	Channels         []string
	R2               bool
	Allow            []string
	SleepAfter       string
	CI               []string
	SkipDoctor       bool
	Force            bool

	// Set records which of the flags above were given.
	Set map[string]bool
}

// NewCmdInit returns the init command.
func NewCmdInit(f *cmdutil.Factory) *cobra.Command { return newCmdInit(f, nil) }

func newCmdInit(f *cmdutil.Factory, runF func(*InitOptions) error) *cobra.Command {
	opts := &InitOptions{IO: f.IOStreams, Factory: f, NewDoctorEnv: f.PreflightEnv, Set: map[string]bool{}}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create moltctl.yaml for this project with a guided form",
		Long: `Ask which AI provider, chat channels, persistence, Access allow list and
sleep policy to use, write moltctl.yaml beside the project's wrangler.jsonc,
and run the doctor checks.

init works in the moltworker checkout it finds (walking up from the current
directory, or --config); it never clones or downloads anything. On a
terminal it shows a form; with --yes, in CI or without a terminal it takes
the answers from flags. Running it again edits the existing moltctl.yaml:
it changes only what the answers change and keeps comments and entries it
does not know.

The sleep policy's cost is estimated from moltworker's own figure of about
$34.50 a month for a standard-1 container running 24/7, i.e. about $0.047
per hour awake; the Workers Paid plan ($5/month) comes on top.

--ci github writes .github/workflows/moltctl-deploy.yml, --ci gitlab writes
.gitlab-ci.yml: pipelines that deploy on every push to main.`,
		Example: `  # Answer the questions on the terminal
  moltctl init

  # The same without questions
  moltctl init --yes --provider anthropic --channels telegram \
    --allow me@example.com --r2 --sleep-after 10m

  # Cloudflare AI Gateway (the key comes from CLOUDFLARE_AI_GATEWAY_API_KEY)
  moltctl init --yes --provider ai-gateway --ai-gateway-account-id 0123… \
    --ai-gateway-id my-gateway --allow example.com

  # Add a GitHub Actions workflow that deploys on push to main
  moltctl init --ci github`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.Flags().Visit(func(fl *pflag.Flag) { opts.Set[fl.Name] = true })
			if runF != nil {
				return runF(opts)
			}
			return initRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Provider, "provider", "", "AI provider: anthropic, openai or ai-gateway")
	fl.StringVar(&opts.GatewayAccountID, "ai-gateway-account-id", "", "Cloudflare AI Gateway: the gateway's account ID (default: the deploy account)")
	fl.StringVar(&opts.GatewayID, "ai-gateway-id", "", "Cloudflare AI Gateway: the gateway ID")
	fl.StringSliceVar(&opts.Channels, "channels", nil, "chat channels to enable: telegram, discord, slack (comma-separated; none for none)")
	fl.BoolVar(&opts.R2, "r2", true, "keep the assistant's data in R2 (--r2=false for none)")
	fl.StringSliceVar(&opts.Allow, "allow", nil, "who may open the assistant: email addresses or domains (comma-separated)")
	fl.StringVar(&opts.SleepAfter, "sleep-after", "", "container sleep policy: never, or an idle time such as 10m or 1h (default 10m for a new manifest)")
	fl.StringSliceVar(&opts.CI, "ci", nil, "also write a CI pipeline: github or gitlab")
	fl.BoolVar(&opts.SkipDoctor, "skip-doctor", false, "do not run the doctor checks after writing moltctl.yaml")
	fl.BoolVar(&opts.Force, "force", false, "overwrite an existing CI file")
	_ = cmd.RegisterFlagCompletionFunc("provider", cobra.FixedCompletions(providerNames, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("channels", cobra.FixedCompletions(channelNames, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("ci", cobra.FixedCompletions([]string{"github", "gitlab"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("sleep-after", cobra.FixedCompletions([]string{"never", "1h", "30m", "10m"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Result is what init did; `--output json` prints it.
type Result struct {
	Manifest string         `json:"manifest"`
	Action   string         `json:"action"` // created, updated or unchanged
	Worker   string         `json:"worker"`
	Account  *cfapi.Account `json:"account,omitempty"`
	Answers
	// ContainerMonthlyUSD estimates the container's monthly cost; absent
	// for a custom sleep duration.
	ContainerMonthlyUSD *float64      `json:"container_monthly_usd,omitempty"`
	CIFiles             []FileResult  `json:"ci_files,omitempty"`
	Doctor              *DoctorResult `json:"doctor"`
	Next                []string      `json:"next"`
}

// FileResult is one CI file init considered.
type FileResult struct {
	Path   string `json:"path"`
	Action string `json:"action"` // created, updated, unchanged or skipped
}

func initRun(ctx context.Context, opts *InitOptions) error {
	f := opts.Factory
	io := opts.IO
	cs := io.ColorScheme()
	interactive := !f.Global.Yes && io.CanPrompt()

	for _, c := range opts.CI {
		if _, ok := ciFiles[c]; !ok {
			return clierr.Usagef("--ci %q: want github or gitlab", c)
		}
	}

	cfgPath, err := f.ConfigPath()
	if err != nil {
		return &clierr.HintError{Err: fmt.Errorf("find the moltworker project: %w", err), Code: clierr.ExitCodeOf(err),
			Fix: "run moltctl init inside your moltworker checkout (git clone https://github.com/cloudflare/moltworker), or pass --config path/to/wrangler.jsonc"}
	}
	cfg, err := f.Config()
	if err != nil {
		return fmt.Errorf("read %s: %w", cfgPath, err)
	}
	projectDir := filepath.Dir(cfgPath)
	if cfg.SourcePath != "" {
		projectDir = filepath.Dir(cfg.SourcePath)
	}
	manifestPath := manifest.Path(projectDir)
	res := &Result{Manifest: manifestPath, Worker: cfg.Name}
	fmt.Fprintf(io.ErrOut, "Project: %s (Worker %s)\n", cfgPath, cfg.Name)

	doc, err := readManifest(manifestPath)
	if err != nil {
		// The manifest's own error: file:line:column and its fix, exit 2.
		return fmt.Errorf("read the existing manifest: %w", err)
	}

	// Start from defaults, then the existing manifest, then the flags.
	a := Answers{Provider: ProviderAnthropic, R2: true, SleepAfter: defaultSleep}
	if doc != nil {
		prev := answersFrom(doc)
		if prev.Provider != "" {
			a.Provider = prev.Provider
		}
		a.GatewayAccountID, a.GatewayID = prev.GatewayAccountID, prev.GatewayID
		a.Channels, a.Allow, a.AllowDomains = prev.Channels, prev.Allow, prev.AllowDomains
		a.R2 = prev.R2
		if prev.SleepAfter != "" {
			a.SleepAfter = prev.SleepAfter
		}
		fmt.Fprintf(io.ErrOut, "Editing the existing %s; your other entries and comments stay.\n", ManifestName)
	}
	if err := applyFlags(opts, &a); err != nil {
		return err
	}

	// The account(s) the token can see, for the AI Gateway default and to
	// tell the user where deploys will go.
	accounts, accountID := detectAccounts(ctx, f)
	// Nobody allowed yet (a new manifest, no --allow): start from the
	// email of the token's user, the person most likely to sign in.
	if len(a.Allow)+len(a.AllowDomains) == 0 {
		if email := userEmail(ctx, f); email != "" {
			a.Allow = []string{email}
			if !interactive {
				fmt.Fprintf(io.ErrOut, "Access: allowing %s, the token's user (--allow changes it).\n", email)
			}
		}
	}
	if interactive {
		if err := runForm(f.Prompter(), io.ErrOut, &a, accounts, &accountID); err != nil {
			return err
		}
	}
	for i := range accounts {
		if accounts[i].ID == accountID {
			res.Account = &accounts[i]
		}
	}
	if res.Account == nil && accountID != "" {
		res.Account = &cfapi.Account{ID: accountID}
	}
	if a.Provider == ProviderGateway && a.GatewayAccountID == "" {
		a.GatewayAccountID = accountID
	}
	if err := checkAnswers(&a); err != nil {
		return err
	}
	res.Answers = a
	if usd, known, _ := sleepCost(a.SleepAfter); known {
		res.ContainerMonthlyUSD = &usd
	}

	// Write the manifest: a fresh one from the template, or the old one edited.
	var content []byte
	if doc == nil {
		content, err = renderManifest(cfg.Name, &a)
		res.Action = "created"
	} else {
		if len(opts.CI) > 0 {
			offerEnvSources(f, doc, manifestPath, interactive)
		}
		editManifest(doc, &a)
		content, err = encode(doc)
		res.Action = "updated"
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", ManifestName, err)
	}
	if err := validateManifest(manifestPath, content); err != nil {
		return fmt.Errorf("the manifest init produced does not load (please report this): %w", err)
	}
	if old, err := os.ReadFile(manifestPath); err == nil && bytes.Equal(old, content) {
		res.Action = "unchanged"
	} else if err := writeFileAtomic(manifestPath, content, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", manifestPath, err)
	}

	if len(opts.CI) > 0 {
		data, err := ciData(manifestPath, cfg.Name, f.Global.Env)
		if err != nil {
			return err
		}
		if data.PinNote != "" {
			io.Warn(data.PinNote)
		}
		for _, u := range data.Unavailable {
			io.Warn(u + ": a CI runner will not have this source; the deploy there fails until it comes from an environment variable")
		}
		for _, c := range opts.CI {
			fr, err := writeCI(projectDir, c, data, opts.Force)
			if err != nil {
				return err
			}
			res.CIFiles = append(res.CIFiles, *fr)
		}
	}

	res.Next = nextSteps(f, &a)
	if opts.SkipDoctor {
		res.Doctor = &DoctorResult{Reason: "--skip-doctor"}
	} else if f.Getenv("CLOUDFLARE_API_TOKEN") == "" {
		res.Doctor = &DoctorResult{Reason: "CLOUDFLARE_API_TOKEN is not set"}
	} else {
		io.StartProgress("Running the doctor checks")
		res.Doctor, err = runDoctor(ctx, opts.NewDoctorEnv)
		io.StopProgress()
		if err != nil {
			res.Doctor = &DoctorResult{Reason: "the checks could not run: " + err.Error()}
		}
	}

	if f.Global.JSON() {
		return cmdutil.WriteJSON(io.Out, res)
	}
	printResult(io, cs, res, f.Composed)
	return nil
}

// applyFlags overrides a with the flags that were given.
func applyFlags(opts *InitOptions, a *Answers) error {
	if opts.Set["provider"] {
		p := strings.ToLower(strings.TrimSpace(opts.Provider))
		if _, ok := providerSecrets[p]; !ok {
			return clierr.Usagef("--provider %q: want %s", opts.Provider, strings.Join(providerNames, ", "))
		}
		a.Provider = p
	}
	if opts.Set["ai-gateway-account-id"] {
		a.GatewayAccountID = strings.TrimSpace(opts.GatewayAccountID)
	}
	if opts.Set["ai-gateway-id"] {
		a.GatewayID = strings.TrimSpace(opts.GatewayID)
	}
	if opts.Set["channels"] {
		ch, err := normalizeChannels(opts.Channels)
		if err != nil {
			return &clierr.UsageError{Err: fmt.Errorf("--channels: %w", err)}
		}
		a.Channels = ch
	}
	if opts.Set["r2"] {
		a.R2 = opts.R2
	}
	if opts.Set["allow"] {
		e, d, err := parseAllow(opts.Allow)
		if err != nil {
			return &clierr.UsageError{Err: fmt.Errorf("--allow: %w", err), Fix: "pass email addresses (me@example.com) or domains (example.com)"}
		}
		a.Allow, a.AllowDomains = e, d
	}
	if opts.Set["sleep-after"] {
		s, err := normalizeSleep(opts.SleepAfter)
		if err != nil {
			return &clierr.UsageError{Err: fmt.Errorf("--sleep-after: %w", err)}
		}
		a.SleepAfter = s
	}
	return nil
}

// checkAnswers validates the final answers, naming the flag that fixes each problem.
func checkAnswers(a *Answers) error {
	if a.Provider == ProviderGateway {
		if err := validateHexID(a.GatewayAccountID); err != nil {
			return &clierr.UsageError{Err: fmt.Errorf("cloudflare AI Gateway needs its account ID: %w", err),
				Fix: "pass --ai-gateway-account-id (or set CLOUDFLARE_ACCOUNT_ID / --account to use the deploy account)"}
		}
		if a.GatewayID == "" {
			return &clierr.UsageError{Err: errors.New("cloudflare AI Gateway needs its gateway ID"), Fix: "pass --ai-gateway-id"}
		}
	}
	if len(a.Allow)+len(a.AllowDomains) == 0 {
		return &clierr.UsageError{Err: errors.New("nobody would be allowed through Cloudflare Access"),
			Fix: "pass --allow with your email address or your domain, e.g. --allow me@example.com"}
	}
	s, err := normalizeSleep(a.SleepAfter)
	if err != nil {
		return &clierr.UsageError{Err: err, Fix: "pass --sleep-after never, 1h, 30m or 10m"}
	}
	a.SleepAfter = s
	if a.Channels == nil {
		a.Channels = []string{}
	}
	if a.Allow == nil {
		a.Allow = []string{}
	}
	if a.AllowDomains == nil {
		a.AllowDomains = []string{}
	}
	return nil
}

// detectAccounts lists the accounts the token can see and picks the one
// deploys will use: --account / CLOUDFLARE_ACCOUNT_ID, else the only one.
// Without a token it says so and carries on.
func detectAccounts(ctx context.Context, f *cmdutil.Factory) ([]cfapi.Account, string) {
	io := f.IOStreams
	accountID := f.AccountID()
	if f.Getenv("CLOUDFLARE_API_TOKEN") == "" {
		fmt.Fprintln(io.ErrOut, "No CLOUDFLARE_API_TOKEN: skipping account detection and the doctor checks (see docs/token-permissions.md).")
		return nil, accountID
	}
	client, err := f.Cloudflare()
	if err != nil {
		return nil, accountID
	}
	accounts, err := client.ListAccounts(ctx)
	if err != nil {
		fmt.Fprintf(io.ErrOut, "Could not list the token's accounts (%v); carrying on.\n", err)
		return nil, accountID
	}
	switch {
	case accountID != "":
	case len(accounts) == 1:
		accountID = accounts[0].ID
	case len(accounts) > 1 && (f.Global.Yes || !io.CanPrompt()):
		fmt.Fprintf(io.ErrOut, "The token can see %d accounts; set CLOUDFLARE_ACCOUNT_ID or pass --account to choose.\n", len(accounts))
	}
	for _, acc := range accounts {
		if acc.ID == accountID {
			fmt.Fprintf(io.ErrOut, "Account: %s (%s)\n", acc.Name, acc.ID)
		}
	}
	return accounts, accountID
}

// ciData is what the CI templates need: the environment variables the
// manifest reads (each a CI secret), the sources a runner will not have,
// and the moltctl version to install.
func ciData(manifestPath, worker, env string) (templates.CIData, error) {
	d := templates.CIData{Worker: worker, Env: env, Install: "latest"}
	if v, _, _ := buildinfo.Resolved(); strings.HasPrefix(v, "v") && !strings.Contains(v, "-") {
		d.Install = v
	} else {
		d.PinNote = fmt.Sprintf("this moltctl (%s) is not a release: the workflow installs the latest release; set MOLTCTL_VERSION in it to pin one", v)
	}
	m, err := manifest.Load(manifestPath)
	if err != nil {
		return d, fmt.Errorf("read %s: %w", manifestPath, err)
	}
	for _, s := range m.Secrets {
		switch {
		case s.Source.Kind == manifest.SourceEnv:
			d.SecretEnv = append(d.SecretEnv, s.Source.Env)
		case s.Source.MachineLocal():
			d.Unavailable = append(d.Unavailable, fmt.Sprintf("%s (%s source, %s:%d)", s.Name, s.Source.Kind, filepath.Base(m.Path), s.Line))
		}
	}
	return d, nil
}

// offerEnvSources offers, on a terminal, to give an env source to each
// secret whose source a CI runner will not have (a git-ignored dotenv file,
// a local file, a command, standard input); the runner then reads it from
// a CI secret of the same name. Without a terminal it changes nothing: the
// workflow lists them and init warns.
func offerEnvSources(f *cmdutil.Factory, doc *yaml.Node, manifestPath string, interactive bool) {
	m, err := manifest.Load(manifestPath)
	if err != nil || !interactive {
		return
	}
	secrets := lookup(doc.Content[0], "secrets")
	for _, s := range m.Secrets {
		if !s.Source.MachineLocal() {
			continue
		}
		q := fmt.Sprintf("%s comes from a %s source a CI runner will not have. Read it from $%s instead (a CI secret there; export it here)?", s.Name, s.Source.Kind, s.Name)
		if ok, err := f.Prompter().Confirm(q, true); err == nil && ok {
			set(secrets, s.Name, envSource(s.Name).node(), "")
		}
	}
}

// writeCI writes one CI pipeline file unless a different one is there.
func writeCI(projectDir, kind string, data templates.CIData, force bool) (*FileResult, error) {
	spec := ciFiles[kind]
	content, err := templates.Render(spec.template, data)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(projectDir, spec.path)
	fr := &FileResult{Path: path, Action: "created"}
	if old, err := os.ReadFile(path); err == nil {
		switch {
		case bytes.Equal(old, content):
			fr.Action = "unchanged"
			return fr, nil
		case !force:
			fr.Action = "skipped"
			return fr, nil
		}
		fr.Action = "updated"
	}
	if err := writeFileAtomic(path, content, 0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return fr, nil
}

// nextSteps are the commands to run after init.
func nextSteps(f *cmdutil.Factory, a *Answers) []string {
	var next []string
	if f.Getenv("CLOUDFLARE_API_TOKEN") == "" {
		next = append(next, "export CLOUDFLARE_API_TOKEN=…   # see docs/token-permissions.md")
	}
	for _, name := range a.EnvSecrets() {
		if f.Getenv(name) == "" {
			next = append(next, "export "+name+"=…")
		}
	}
	next = append(next, "moltctl doctor --fix", "moltctl deploy")
	return next
}

// printResult writes what init did. composed (init as a step of launch)
// leaves out the doctor line and the next steps: launch runs doctor and
// says what comes next itself.
func printResult(io *iostreams.IOStreams, cs *iostreams.ColorScheme, r *Result, composed bool) {
	out := io.Out
	verb := map[string]string{"created": "Created", "updated": "Updated", "unchanged": "Unchanged:"}[r.Action]
	fmt.Fprintf(out, "%s %s %s\n", cs.SuccessIcon(), verb, r.Manifest)
	channels := "none"
	if len(r.Channels) > 0 {
		channels = strings.Join(r.Channels, ", ")
	}
	_, _, cost := sleepCost(r.SleepAfter)
	r2 := "off"
	if r.R2 {
		r2 = "on"
	}
	fmt.Fprintf(out, "  provider  %s\n  channels  %s\n  R2        %s\n  access    %s\n  sleep     %s, %s\n",
		r.Provider, channels, r2, strings.Join(append(append([]string(nil), r.Allow...), r.AllowDomains...), ", "), r.SleepAfter, cost)
	if r.Account != nil {
		name := r.Account.Name
		if name == "" {
			name = "account"
		}
		fmt.Fprintf(out, "  account   %s (%s)\n", name, r.Account.ID)
	}
	for _, c := range r.CIFiles {
		if c.Action == "skipped" {
			fmt.Fprintf(out, "%s Kept %s: it differs from the template (pass --force to overwrite)\n", cs.WarningIcon(), c.Path)
			continue
		}
		fmt.Fprintf(out, "%s %s %s\n", cs.SuccessIcon(), strings.ToUpper(c.Action[:1])+c.Action[1:], c.Path)
	}
	if composed {
		return
	}
	if d := r.Doctor; d != nil {
		if !d.Ran {
			fmt.Fprintf(out, "%s Doctor checks skipped: %s\n", cs.Gray("-"), d.Reason)
		} else {
			// The same checklist moltctl doctor prints.
			fmt.Fprintln(out)
			// Without the advice to run doctor again: the Next list below says
			// what to do, once.
			preflight.RenderChecks(out, cs, &preflight.Report{OK: !d.Failed, Checks: d.Checks})
		}
	}
	fmt.Fprintln(out, "\nNext:")
	for _, n := range r.Next {
		fmt.Fprintf(out, "  %s\n", n)
	}
}

// userEmail is the email of the token's user (GET /user), or "" when the
// token cannot read it (an account token, no User Details permission):
// it only pre-fills the allow list, so nothing depends on it.
func userEmail(ctx context.Context, f *cmdutil.Factory) string {
	if f.Getenv("CLOUDFLARE_API_TOKEN") == "" {
		return ""
	}
	client, err := f.Cloudflare()
	if err != nil {
		return ""
	}
	var u struct {
		Email string `json:"email"`
	}
	if err := client.Do(ctx, cfapi.Request{Method: "GET", Path: "user"}, &u); err != nil {
		return ""
	}
	if e, _, err := parseAllow([]string{u.Email}); err != nil || len(e) != 1 {
		return ""
	}
	return u.Email
}
