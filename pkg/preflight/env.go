package preflight

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/state"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

// Env is what checks read. Every field is optional: a check whose input is
// missing returns Skip with the reason.
type Env struct {
	// Getenv reads the environment (the Factory's, never os.Getenv directly).
	Getenv func(string) string
	// API is the Cloudflare client; nil when no token is configured.
	API *cfapi.Client
	// AccountID is --account or CLOUDFLARE_ACCOUNT_ID; "" means resolve it.
	AccountID string
	// Config is the project's wrangler configuration, or ConfigErr why it
	// could not be loaded (with file:line:col when it is a parse error).
	Config    *wrangler.Config
	ConfigErr error
	// Manifest is moltctl.yaml, or ManifestErr why it could not be loaded.
	// Both nil: the project has no manifest.
	Manifest    *manifest.Manifest
	ManifestErr error
	// Docker probes the Docker daemon; nil skips the Docker checks.
	Docker DockerProber
	// State is the local deployment state (nil when never deployed) and
	// StateKey the HMAC key its secret digests were made with.
	State    *state.Deployment
	StateKey []byte
	// Secrets, when set, compares deployed secret values (the emulator can).
	Secrets SecretMatcher
	// Now is the clock (token expiry); nil means time.Now.
	Now func() time.Time
	// Dashboard is the dashboard's base URL; "" means https://dash.cloudflare.com.
	Dashboard string
	// Subdomain is the workers.dev name to register when the account has
	// none (doctor --subdomain); "" picks a free one from the account name.
	Subdomain string

	memo sync.Map // key → *cell
}

type cell struct {
	once sync.Once
	v    any
	err  error
	done bool
}

// Shared computes fn once per Env and key, and hands every caller the same
// value: checks that depend on one remote fact (the token, the account)
// wait for a single request instead of each making their own.
func Shared[T any](env *Env, key string, fn func() (T, error)) (T, error) {
	c, _ := env.memo.LoadOrStore(key, &cell{})
	cl := c.(*cell)
	cl.once.Do(func() {
		v, err := fn()
		cl.v, cl.err, cl.done = v, err, true
	})
	v, _ := cl.v.(T)
	return v, cl.err
}

// Facts a caller can hand in, read already in its run, so that no check
// asks for them again (Know), or take out after the checks ran, so that
// its own steps do not ask again (Fact).
const (
	// FactSubdomain is the account's workers.dev subdomain (string, "" none).
	FactSubdomain = keySubdomain
	// FactBuckets are the account's R2 buckets ([]cfapi.Bucket).
	FactBuckets = keyBuckets
	// FactAccessOrg is the Zero Trust organization (*cfapi.AccessOrganization, nil none).
	FactAccessOrg = keyOrg
	// FactAccessApps are the Access applications ([]cfapi.AccessApp).
	FactAccessApps = keyApps
)

// Know hands in fact key (one of the Fact constants, with its type), read
// elsewhere in this run; the checks use it instead of asking. Call it
// before Run.
func (e *Env) Know(key string, v any) {
	c := &cell{v: v, done: true}
	c.once.Do(func() {})
	e.memo.Store(key, c)
}

// Fact returns what the checks read for key (a Fact constant), when they
// read it and the read succeeded. Call it after Run.
func (e *Env) Fact(key string) (any, bool) {
	c, ok := e.memo.Load(key)
	if !ok {
		return nil, false
	}
	cl := c.(*cell)
	if !cl.done || cl.err != nil {
		return nil, false
	}
	return cl.v, true
}

// KnowWorkerSecrets hands in the names of the deployed Worker's secrets,
// read elsewhere in this run (so the Worker exists). Call it before Run.
func (e *Env) KnowWorkerSecrets(names []string) {
	rs := &remoteScript{Exists: true, Secrets: map[string]bool{}}
	for _, n := range names {
		rs.Secrets[n] = true
	}
	e.Know(keyScript, rs)
}

// WorkerSecrets returns the names of the deployed Worker's secrets as the
// checks read them; ok is false when they did not, or the Worker is not
// deployed yet. Call it after Run.
func (e *Env) WorkerSecrets() (names []string, ok bool) {
	v, ok := e.Fact(keyScript)
	rs, _ := v.(*remoteScript)
	if !ok || rs == nil || !rs.Exists {
		return nil, false
	}
	for n := range rs.Secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, true
}

// Forget drops a shared value so the next caller recomputes it (after a fix).
func (e *Env) Forget(key string) { e.memo.Delete(key) }

// Reset drops every shared value; doctor calls it before re-running checks.
func (e *Env) Reset() {
	e.memo.Range(func(k, _ any) bool {
		e.memo.Delete(k)
		return true
	})
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// DockerProber reports on the Docker daemon moltctl would build with.
type DockerProber interface {
	// Probe connects (honouring DOCKER_HOST and the docker context) and describes the daemon.
	Probe(ctx context.Context) (*DockerInfo, error)
	// Advice turns a connection error into per-OS advice ("start Docker Desktop", "systemctl start docker").
	Advice(err error) string
}

// DockerInfo describes a reachable Docker daemon.
type DockerInfo struct {
	// Host is the endpoint used (unix:///var/run/docker.sock, tcp://…), and
	// Context the docker context it came from, if any.
	Host    string
	Context string
	// ServerVersion and APIVersion are the daemon's.
	ServerVersion string
	APIVersion    string
	// OSType and Architecture are the daemon's ("linux", "x86_64"/"aarch64").
	OSType       string
	Architecture string
	// CanBuildAMD64 reports whether the daemon can build linux/amd64 images
	// (native, or through registered emulation); AMD64Note explains a no.
	CanBuildAMD64 bool
	AMD64Note     string
	// FreeBytes is the free space where the daemon keeps images; -1 unknown.
	FreeBytes int64
	// RootDir is the daemon's data directory.
	RootDir string
}
