// Package deploy takes a moltworker project to a running, protected,
// persistent assistant: an ordered list of idempotent steps, each of which
// reads what Cloudflare holds and changes only the difference, and one
// runner that shows progress, times each step, stops cleanly when
// interrupted and can be re-run to converge after any failure.
package deploy

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/image"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/remotestate"
	"github.com/moltctl/moltctl/pkg/secrets"
	"github.com/moltctl/moltctl/pkg/state"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

// Step is one stage of a deploy.
type Step interface {
	// Name is the step's short id ("worker", "access"), used in output,
	// JSON and "interrupted at step X".
	Name() string
	// String says what the step does, for the plan and progress.
	String() string
	// Skip reports whether the step has nothing to do, and why (or what
	// it would change). It is the one way a step is skipped. It may read
	// (through st.Deps.Reads) but writes nothing, not even st.Learned: the
	// runner and MakePlan ask the steps concurrently, and again after a
	// step ran.
	Skip(ctx context.Context, st *State) (bool, string)
	// Run applies the step when Skip found something to do. It must be
	// safe to run again after a failure or interruption at any point.
	Run(ctx context.Context, st *State) error
}

// Options are what the user asked for.
type Options struct {
	// NoWait skips waiting for the assistant to answer.
	NoWait bool
	// SkipBuild deploys Image (pushed earlier) instead of building.
	SkipBuild bool
	Image     string
	// WaitTimeout bounds the wait for the assistant (default 5 minutes).
	WaitTimeout time.Duration
	// Resume is the command that continues the deploy, for messages.
	Resume string
}

// ImageBuilder builds the container image and pushes it to Cloudflare's
// registry, skipping both when the registry already holds the content tag.
type ImageBuilder interface {
	// BuildAndPush fills in what only it knows (the registry's
	// credentials, the Docker connection) and leaves the rest of req.
	BuildAndPush(ctx context.Context, req image.Request) (*image.Result, error)
}

// SecretsAPI sets a Worker's secrets.
type SecretsAPI interface {
	// SecretNames lists the names of the Worker's secrets.
	SecretNames(ctx context.Context, script string) ([]string, error)
	// BulkSecrets sets and deletes secrets in one request.
	BulkSecrets(ctx context.Context, script string, set map[string]string, unset []string) error
}

// Preflighter runs the doctor's checks; any blocking failure (named by
// check ID) stops the deploy before anything is built. report is printed
// as doctor prints it.
type Preflighter func(ctx context.Context, st *State) (blocking []string, report string, err error)

// Assistant is the deployed Worker's admin client.
type Assistant interface {
	// Running reports whether the gateway runs now (one probe).
	Running(ctx context.Context) (bool, error)
	Restart(ctx context.Context) error
	// WaitRunning waits until /api/status says running; tick reports progress.
	WaitRunning(ctx context.Context, timeout time.Duration, tick func(status string, elapsed time.Duration)) error
}

// AssistantFactory returns the admin client of the Worker at baseURL,
// authenticated with an Access service token.
type AssistantFactory func(baseURL, clientID, clientSecret string) Assistant

// State is one deploy: what was asked (In), what it works with (Deps),
// what earlier deploys left (Saved) and what this run finds out (Learned).
// Steps read In and Deps, and write Saved and Learned in Run only.
type State struct {
	In      Inputs
	Deps    Deps
	Saved   Saved
	Learned Learned
}

// Inputs are what the user and the project ask for. The build step is the
// one writer: it replaces Config with the configuration the build wrote.
type Inputs struct {
	Config    *wrangler.Config
	Manifest  *manifest.Manifest
	AccountID string
	Options   Options
}

// Deps are what a deploy works with: clients, output and the clock.
type Deps struct {
	API *cfapi.Client
	// Getenv reads the environment the manifest's secrets come from.
	Getenv func(string) string
	// WorkersDevURL maps a Worker name and subdomain to its base URL.
	WorkersDevURL func(name, subdomain string) string
	// RegistryHost is Cloudflare's container registry (or the emulator's).
	RegistryHost string
	Image        ImageBuilder
	Secrets      SecretsAPI
	Preflight    Preflighter
	Assistants   AssistantFactory
	// Log receives progress lines from inside steps (build output, waits).
	Log io.Writer
	// Warn receives warnings.
	Warn func(string)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Reads shares Cloudflare's answers within the run (the runner and
	// MakePlan make one when nil).
	Reads *Reads
	// Hold is called before the run's first change (deploy.Prepare's: the
	// checks that guard writes, the account-wide lease, the saved state
	// read again under it); nil changes without it.
	Hold func(ctx context.Context) error
}

// hold calls Hold, if any, before a change.
func (d *Deps) hold(ctx context.Context) error {
	if d.Hold == nil {
		return nil
	}
	return d.Hold(ctx)
}

// Saved is what deploys keep between runs. Keeper, when set, keeps Dep
// and Creds in the account and in Store.
type Saved struct {
	Keeper  *remotestate.Keeper
	Store   *state.Store
	Dep     *state.Deployment
	Creds   *state.Credentials
	HMACKey []byte
}

// Learned is what this run finds out: learn fills in what the plan and
// the steps both need before any step is asked, and steps' Run the rest.
// Skip never writes it.
type Learned struct {
	// Subdomain is the account's workers.dev subdomain; URL the Worker's.
	Subdomain string
	URL       string
	// ImageRef is the image the container application is to run.
	ImageRef    string
	ImageDigest string
	// VersionID is the Worker version deployed.
	VersionID string
	// NamespaceID is the Durable Object namespace of the container's class.
	NamespaceID string
	// Values are the manifest's secrets, read from their sources.
	Values secrets.Values
	// DeployValues are the secrets the deploy itself supplies (Access's
	// audience and team domain, the R2 keys).
	DeployValues map[string]string
	// SecretsChanged are the secrets this run set or removed.
	SecretsChanged []string
	Restarted      bool
	Waited         bool
	Running        bool
	// resolved is set once the manifest's secret values are read.
	resolved bool
	// Details are short facts per step for the final report.
	Details map[string]string
}

func (d *Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Deps) since(t time.Time) time.Duration { return d.now().Sub(t) }

func (d *Deps) warn(format string, args ...any) {
	if d.Warn != nil {
		d.Warn(fmt.Sprintf(format, args...))
	}
}

func (d *Deps) logf(format string, args ...any) {
	if d.Log != nil {
		_, _ = io.WriteString(d.Log, fmt.Sprintf(format, args...)+"\n")
	}
}

// save writes the deployment state and the credentials (to the account
// and the local cache, through Keeper); every step that learns an id or
// makes a credential calls it at once, so an interruption loses nothing.
func (s *Saved) save(ctx context.Context) error {
	switch {
	case s.Keeper != nil:
		return s.Keeper.Save(ctx, s.Dep, s.Creds)
	case s.Store != nil:
		if err := s.Store.Save(s.Dep); err != nil {
			return err
		}
		return s.Store.SaveCredentials(s.Creds)
	}
	return nil
}

// locked reports that the account holds credentials this machine cannot
// read: the deploy keeps every credential as it is.
func (s *Saved) locked() bool { return s.Keeper != nil && s.Keeper.Locked }

// WorkerName is the Worker being deployed.
func (st *State) WorkerName() string { return st.In.Config.Name }

// ObjectName is the deterministic name of what moltctl creates for this
// Worker (Access application, service token, API token): a retry or a
// re-run after a crash finds it by name.
func (in *Inputs) ObjectName(suffix string) string {
	n := "moltctl " + in.Config.Name
	if suffix != "" {
		n += " " + suffix
	}
	return n
}

// container is the Worker's container, if it has one.
func (in *Inputs) container() (wrangler.Container, bool) {
	if len(in.Config.Containers) == 0 {
		return wrangler.Container{}, false
	}
	return in.Config.Containers[0], true
}

// Steps returns the deploy's steps in order.
func Steps() []Step {
	return []Step{
		&preflightStep{},
		&bucketStep{},
		&buildStep{},
		&imageStep{},
		&workerStep{},
		&routeStep{},
		&containerStep{},
		&accessStep{},
		&r2CredentialsStep{},
		&secretsStep{},
		&restartStep{},
		&waitStep{},
	}
}
