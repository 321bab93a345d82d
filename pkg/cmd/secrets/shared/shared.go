// Package shared holds what the secrets subcommands have in common: the
// project (Worker name, manifest, state store), the API client and the
// rendering of validation problems.
package shared

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/iostreams"
	"github.com/moltctl/moltctl/pkg/lease"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/remotestate"
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
		return nil, &clierr.UsageError{Err: fmt.Errorf("%s has no name", cfg.Path), Fix: "set \"name\" in wrangler.jsonc"}
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
// prompting on a terminal, warning on stderr. Generated values are taken
// from and added to creds (the caller saves them), or to the local
// credentials file when creds is nil.
func Resolve(ctx context.Context, f *cmdutil.Factory, p *Project, m *manifest.Manifest, names []string, creds *state.Credentials) (secrets.Values, error) {
	var stdin io.Reader
	if !f.IOStreams.IsStdinTTY() {
		stdin = f.IOStreams.In
	}
	opts := manifest.ResolveOptions{
		Getenv:   f.Getenv,
		Stdin:    stdin,
		Prompter: f.Prompter(),
		Store:    p.Store,
		Names:    names,
		Warn:     f.IOStreams.Warn,
	}
	if creds != nil {
		opts.Generated = creds.Generated
	}
	return m.Resolve(ctx, opts)
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
	a, err := c.OnlyAccount(ctx)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	c.SetAccountID(a.ID)
	return c, nil
}

// WorkerMissing turns a 404 about the Worker into an error with the fix.
func WorkerMissing(err error, worker string) error {
	if err != nil && (cfapi.NotFound(err) || cfapi.HasCode(err, 10007)) {
		return clierr.WithHint(fmt.Errorf("worker %q does not exist yet on Cloudflare", worker),
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
	onRemote, err := remoteNames(ctx, c, p)
	if err != nil {
		return nil, nil, err
	}
	return c, onRemote, nil
}

func remoteNames(ctx context.Context, c *cfapi.Client, p *Project) (map[string]bool, error) {
	remote, err := c.ListSecrets(ctx, p.Worker)
	if err != nil {
		return nil, WorkerMissing(err, p.Worker)
	}
	onRemote := map[string]bool{}
	for _, s := range remote {
		onRemote[s.Name] = true
	}
	return onRemote, nil
}

// RemoteState is the Worker's secrets on Cloudflare beside what moltctl
// recorded about them (in the account, else on this machine).
type RemoteState struct {
	// Client is the API client for the project's account.
	Client *cfapi.Client
	// OnRemote holds the names of the Worker's secrets on Cloudflare.
	OnRemote map[string]bool
	// Deployment is the project's deployment state, with the digest of
	// each value last sent.
	Deployment *state.Deployment
	// DigestKey is the key of those digests (nil when Locked).
	DigestKey []byte
	// Credentials are what moltctl generated (empty when Locked).
	Credentials *state.Credentials
	// Keeper reads and writes the state.
	Keeper *remotestate.Keeper
	// Release gives up the deploy lease HoldRemoteState took.
	Release func()
}

// Locked reports that the account's credentials are sealed to a key this
// machine lacks: generated values are unknown here and must not be made anew.
func (rs *RemoteState) Locked() bool { return rs.Keeper.Locked }

// LoadRemoteState lists the Worker's secrets on Cloudflare and reads the
// deployment state and the digest key, for commands that only look.
func LoadRemoteState(ctx context.Context, f *cmdutil.Factory, p *Project) (*RemoteState, error) {
	c, onRemote, err := RemoteSecrets(ctx, f, p)
	if err != nil {
		return nil, err
	}
	rs := &RemoteState{Client: c, OnRemote: onRemote, Release: func() {}}
	return rs, rs.load(ctx, f, p)
}

// HoldRemoteState is LoadRemoteState for commands that change the Worker's
// secrets and record it: it takes the deploy lease first, so no deploy or
// other checkout writes the state in between. Call Release when done.
func HoldRemoteState(ctx context.Context, f *cmdutil.Factory, p *Project, command string) (*RemoteState, error) {
	c, err := Client(ctx, f, p)
	if err != nil {
		return nil, err
	}
	rs := &RemoteState{Client: c}
	// The two reads go out together once the lease's bucket is made, beside
	// the write of its holder: one round trip for all three.
	read := func(ctx context.Context) error {
		var nerr, lerr error
		var wg sync.WaitGroup
		wg.Go(func() { rs.OnRemote, nerr = remoteNames(ctx, c, p) })
		lerr = rs.load(ctx, f, p)
		wg.Wait()
		if nerr != nil {
			return nerr // the Worker is missing: the more basic fix
		}
		return lerr
	}
	if rs.Release, err = lease.Hold(ctx, c, p.Store, p.Worker, command, lease.Options{Meanwhile: read}, f.IOStreams.Warn); err != nil {
		return nil, err
	}
	return rs, nil
}

func (rs *RemoteState) load(ctx context.Context, f *cmdutil.Factory, p *Project) error {
	k, err := remotestate.NewKeeper(rs.Client, p.Store, p.Worker, f.Getenv, f.IOStreams.Warn)
	if err != nil {
		return err
	}
	rs.Keeper = k
	rs.Deployment, rs.Credentials, err = k.Load(ctx)
	rs.DigestKey = k.DigestKey
	return err
}

// Save records the deployment state and credentials, in the account when
// it keeps them and in .moltctl/.
func (rs *RemoteState) Save(ctx context.Context) error {
	return rs.Keeper.Save(ctx, rs.Deployment, rs.Credentials)
}
