// Package shared holds what the secrets subcommands have in common: the
// project (Worker name, manifest, state store), the API client and the
// rendering of validation problems.
package shared

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/iostreams"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/secrets"
	"github.com/moltctl/moltctl/pkg/state"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

// Project is the moltworker checkout a command works on.
type Project struct {
	Config       *wrangler.Config
	Worker       string
	Dir          string
	ManifestPath string
	Store        *state.Store
}

// LoadProject finds wrangler.jsonc, the Worker's name and its state store.
func LoadProject(f *cmdutil.Factory) (*Project, error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		return nil, &cmdutil.UsageError{Err: fmt.Errorf("%s has no name", cfg.Path), Fix: "set \"name\" in wrangler.jsonc"}
	}
	store, err := state.Open(cfg.ProjectDir(), cfg.Name)
	if err != nil {
		return nil, err
	}
	return &Project{Config: cfg, Worker: cfg.Name, Dir: cfg.ProjectDir(), ManifestPath: manifest.Path(cfg.ProjectDir()), Store: store}, nil
}

// Manifest loads the project's moltctl.yaml.
func (p *Project) Manifest() (*manifest.Manifest, error) {
	return manifest.Load(p.ManifestPath)
}

// Resolve reads the values of names (all when empty) from their sources,
// prompting on a terminal, warning on stderr, keeping generated values.
func Resolve(ctx context.Context, f *cmdutil.Factory, p *Project, m *manifest.Manifest, names []string) (secrets.Values, error) {
	var stdin io.Reader
	if !f.IOStreams.IsStdinTTY() {
		stdin = f.IOStreams.In
	}
	return m.Resolve(ctx, manifest.ResolveOptions{
		Getenv:   f.Getenv,
		Stdin:    stdin,
		Prompter: f.Prompter(),
		Store:    p.Store,
		Names:    names,
		Warn:     f.IOStreams.Warn,
	})
}

// PrintProblems writes each problem (errors and warnings) to stderr.
func PrintProblems(io *iostreams.IOStreams, problems []secrets.Problem) {
	cs := io.ColorScheme()
	for _, p := range problems {
		icon := cs.FailureIcon()
		if p.Severity == secrets.SeverityWarning {
			icon = cs.WarningIcon()
		}
		fmt.Fprintf(io.ErrOut, "%s %s\n", icon, p.Message)
		if p.Fix != "" {
			fmt.Fprintf(io.ErrOut, "  %s %s\n", cs.Gray("fix:"), p.Fix)
		}
	}
}

// Client returns the API client for the project's account: --account,
// CLOUDFLARE_ACCOUNT_ID, the account in the deployment state, or the only
// account the token can see.
func Client(ctx context.Context, f *cmdutil.Factory, p *Project) (*cfapi.Client, error) {
	c, err := f.Cloudflare()
	if err != nil {
		return nil, err
	}
	if c.AccountID() != "" {
		return c, nil
	}
	if d, err := p.Store.Load(); err == nil && d.AccountID != "" {
		c.SetAccountID(d.AccountID)
		return c, nil
	}
	var accounts []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := c.Do(ctx, cfapi.Request{Method: http.MethodGet, Path: "accounts"}, &accounts); err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	switch len(accounts) {
	case 1:
		c.SetAccountID(accounts[0].ID)
		return c, nil
	case 0:
		return nil, cmdutil.WithHint(errors.New("the API token can see no account"), "give the token access to your account, or pass --account")
	}
	return nil, &cmdutil.UsageError{Err: fmt.Errorf("the API token can see %d accounts", len(accounts)),
		Fix: "pass --account <id> or set CLOUDFLARE_ACCOUNT_ID"}
}

// WorkerMissing turns a 404 about the Worker into an error with the fix.
func WorkerMissing(err error, worker string) error {
	if err != nil && (cfapi.NotFound(err) || cfapi.HasCode(err, 10007)) {
		return cmdutil.WithHint(fmt.Errorf("worker %q does not exist yet on Cloudflare", worker),
			"run moltctl deploy: it creates the Worker and sends its secrets")
	}
	return err
}

// RemoteSecrets returns the API client for the project's account and the
// names of the Worker's secrets on Cloudflare, as a set.
func RemoteSecrets(ctx context.Context, f *cmdutil.Factory, p *Project) (*cfapi.Client, map[string]bool, error) {
	c, err := Client(ctx, f, p)
	if err != nil {
		return nil, nil, err
	}
	remote, err := c.ListSecrets(ctx, p.Worker)
	if err != nil {
		return nil, nil, WorkerMissing(err, p.Worker)
	}
	onRemote := map[string]bool{}
	for _, s := range remote {
		onRemote[s.Name] = true
	}
	return c, onRemote, nil
}

// RemoteState is the Worker's secrets on Cloudflare beside what moltctl
// recorded about them on this machine.
type RemoteState struct {
	// Client is the API client for the project's account.
	Client *cfapi.Client
	// OnRemote holds the names of the Worker's secrets on Cloudflare.
	OnRemote map[string]bool
	// Deployment is the project's deployment state, with the digest of
	// each value last sent.
	Deployment *state.Deployment
	// DigestKey is the key of those digests.
	DigestKey []byte
}

// LoadRemoteState lists the Worker's secrets on Cloudflare and reads the
// deployment state and the digest key.
func LoadRemoteState(ctx context.Context, f *cmdutil.Factory, p *Project) (*RemoteState, error) {
	c, onRemote, err := RemoteSecrets(ctx, f, p)
	if err != nil {
		return nil, err
	}
	d, err := p.Store.Load()
	if err != nil {
		return nil, fmt.Errorf("read deployment state: %w", err)
	}
	key, err := p.Store.HMACKey()
	if err != nil {
		return nil, fmt.Errorf("read digest key: %w", err)
	}
	return &RemoteState{Client: c, OnRemote: onRemote, Deployment: d, DigestKey: key}, nil
}
