// Package cmdutil holds what every command shares: the Factory of
// dependencies, the global options and the shared flags. It is for
// commands (pkg/cmd/...) only; libraries take explicit inputs and return
// the errors of pkg/clierr.
package cmdutil

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moltctl/moltctl/pkg/buildinfo"
	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/iostreams"
	"github.com/moltctl/moltctl/pkg/preflight"
	"github.com/moltctl/moltctl/pkg/prompt"
	"github.com/moltctl/moltctl/pkg/safehttp"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

// Output formats for --output.
const (
	OutputText = "text"
	OutputJSON = "json"
)

// GlobalOptions are the flags every command shares.
type GlobalOptions struct {
	Account    string
	ConfigPath string
	Env        string
	Output     string
	Yes        bool
	Verbose    bool
}

// JSON reports whether --output json was asked for.
func (g *GlobalOptions) JSON() bool { return g.Output == OutputJSON }

// Factory hands commands their dependencies. Tests build one with fakes.
type Factory struct {
	IOStreams *iostreams.IOStreams
	Global    *GlobalOptions
	// Getenv reads the environment; tests substitute a map.
	Getenv func(string) string
	// WorkingDir is where the config search starts.
	WorkingDir string
	Now        func() time.Time
	// HTTPClient is used for every outbound request.
	HTTPClient *http.Client
	// SecretMatcher reads deployed secret values for the preflight checks.
	// It is nil in moltctl (Cloudflare never returns them); tests pass the
	// emulator, which keeps them.
	SecretMatcher preflight.SecretMatcher
	// APIRequestTimeout and APIRetry bound Cloudflare API calls (one
	// attempt; a whole call with its retries). Zero means cfapi's defaults;
	// tests set short ones.
	APIRequestTimeout time.Duration
	APIRetry          cfapi.RetryPolicy
	// Composed is set when a command runs as a step of another (launch):
	// the outer command prints the one "next" line, so the inner one
	// leaves out its own.
	Composed bool
}

// Prompter returns an interactive prompter on a terminal, else one that
// fails naming the flag to pass instead.
func (f *Factory) Prompter() prompt.Prompter {
	if f.Global.Yes || !f.IOStreams.CanPrompt() {
		return prompt.NoPrompt{}
	}
	return &prompt.Terminal{In: f.IOStreams.In, Out: f.IOStreams.ErrOut}
}

// ConfigPath returns --config, or the wrangler.jsonc found walking up from the working directory.
func (f *Factory) ConfigPath() (string, error) {
	if f.Global.ConfigPath != "" {
		p := f.Global.ConfigPath
		if !filepath.IsAbs(p) {
			p = filepath.Join(f.WorkingDir, p)
		}
		if _, err := os.Stat(p); err != nil {
			return "", &clierr.UsageError{Err: fmt.Errorf("config file %s: %w", f.Global.ConfigPath, err), Fix: "pass --config with the path to your project's wrangler.jsonc"}
		}
		return p, nil
	}
	p, err := wrangler.Find(f.WorkingDir)
	if errors.Is(err, wrangler.ErrNotFound) {
		return "", &clierr.UsageError{Err: fmt.Errorf("%w in %s or any parent directory", err, f.WorkingDir),
			Fix: "run moltctl inside your moltworker checkout, or pass --config path/to/wrangler.jsonc"}
	}
	return p, err
}

// Config loads the project's wrangler configuration for --env.
func (f *Factory) Config() (*wrangler.Config, error) {
	p, err := f.ConfigPath()
	if err != nil {
		return nil, err
	}
	return f.warnConfig(wrangler.Load(p, f.Global.Env))
}

// warnConfig says wrangler's warnings about the config file, once a run.
func (f *Factory) warnConfig(cfg *wrangler.Config, err error) (*wrangler.Config, error) {
	if cfg != nil && f.IOStreams != nil {
		for _, w := range cfg.Warnings {
			f.IOStreams.WarnOnce(w)
		}
	}
	return cfg, err
}

// DeployConfig loads what a deploy uploads: the build output's config when present.
func (f *Factory) DeployConfig() (*wrangler.Config, error) {
	p, err := f.ConfigPath()
	if err != nil {
		return nil, err
	}
	return f.warnConfig(wrangler.LoadDeploy(p, f.Global.Env))
}

// AccountID is --account, else CLOUDFLARE_ACCOUNT_ID.
func (f *Factory) AccountID() string {
	if f.Global.Account != "" {
		return f.Global.Account
	}
	return f.Getenv("CLOUDFLARE_ACCOUNT_ID")
}

// APIBaseURL is CLOUDFLARE_API_BASE_URL (as wrangler reads it), else Cloudflare's.
func (f *Factory) APIBaseURL() string {
	if v := f.Getenv("CLOUDFLARE_API_BASE_URL"); v != "" {
		return v
	}
	if v := f.Getenv("CF_API_BASE_URL"); v != "" {
		return v
	}
	return cfapi.DefaultBaseURL
}

// ErrNoToken explains how to provide an API token.
var ErrNoToken = &clierr.HintError{
	Err:  errors.New("no Cloudflare API token: CLOUDFLARE_API_TOKEN is not set"),
	Fix:  "create a token at https://dash.cloudflare.com/profile/api-tokens (see docs/token-permissions.md) and export CLOUDFLARE_API_TOKEN",
	Code: clierr.ExitUsage,
}

// Cloudflare returns an API client, or ErrNoToken, or a usage error when
// the API base URL would send the token in clear text.
func (f *Factory) Cloudflare() (*cfapi.Client, error) {
	token := f.Getenv("CLOUDFLARE_API_TOKEN")
	if token == "" {
		return nil, ErrNoToken
	}
	if err := safehttp.CheckURL("CLOUDFLARE_API_BASE_URL", f.APIBaseURL()); err != nil {
		return nil, &clierr.HintError{Err: err, Fix: "use https://, or unset CLOUDFLARE_API_BASE_URL for Cloudflare's API (plain http is accepted only for 127.0.0.1, ::1, localhost and *.localhost)", Code: clierr.ExitUsage}
	}
	version, _, _ := buildinfo.Resolved()
	opts := cfapi.Options{
		BaseURL:        f.APIBaseURL(),
		Token:          token,
		AccountID:      f.AccountID(),
		HTTPClient:     f.HTTPClient,
		UserAgent:      "moltctl/" + version,
		RequestTimeout: f.APIRequestTimeout,
		Retry:          f.APIRetry,
	}
	if f.Global.Verbose {
		opts.Trace = f.IOStreams.ErrOut
	}
	return cfapi.New(opts), nil
}

// Command spells a moltctl command to suggest, with the global flags this
// run was given (--env, --config, --account), so that a hint run as shown
// acts on the same Worker.
func (f *Factory) Command(args string) string {
	parts := []string{"moltctl", args}
	g := f.Global
	if g.Env != "" {
		parts = append(parts, "--env", shellQuote(g.Env))
	}
	if g.ConfigPath != "" {
		parts = append(parts, "--config", shellQuote(g.ConfigPath))
	}
	if g.Account != "" {
		parts = append(parts, "--account", shellQuote(g.Account))
	}
	return strings.Join(parts, " ")
}

// Rerun spells the command that runs this one again as it was run: args
// with every global flag this run was given (Command's, and --output,
// --yes, --verbose), then flags, the command's own, as name/value pairs
// ("" for a flag without a value). A "continue with" hint then acts on
// the same project and account, and answers and prints as this run did.
func (f *Factory) Rerun(args string, flags ...string) string {
	parts := []string{f.Command(args)}
	for i := 0; i+1 < len(flags); i += 2 {
		parts = append(parts, flags[i])
		if flags[i+1] != "" {
			parts = append(parts, shellQuote(flags[i+1]))
		}
	}
	g := f.Global
	if g.Output != "" && g.Output != OutputText {
		parts = append(parts, "--output", shellQuote(g.Output))
	}
	if g.Yes {
		parts = append(parts, "--yes")
	}
	if g.Verbose {
		parts = append(parts, "--verbose")
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it holds anything but safe
// characters.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@+,", r)) {
			safe = false
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
