package preflight

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/dockerhost"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/state"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

// Inputs are what NewEnv reads; commands fill them from their Factory.
type Inputs struct {
	// API is nil when no API token is set.
	API *cfapi.Client
	// AccountID is --account or CLOUDFLARE_ACCOUNT_ID.
	AccountID string
	// Config and ConfigErr are the outcome of loading wrangler.jsonc.
	Config    *wrangler.Config
	ConfigErr error
	// WorkingDir is where moltctl.yaml is looked for without a Config.
	WorkingDir string
	Getenv     func(string) string
	Now        func() time.Time
	// Secrets reads deployed secret values; nil in moltctl, which only
	// has the digests of its state. Tests pass the emulator.
	Secrets SecretMatcher
}

// NewEnv gathers what the checks read: the API client (nil without a
// token), the account, wrangler.jsonc, moltctl.yaml beside it, local
// deployment state, and the real Docker prober. It sends no request.
func NewEnv(in Inputs) *Env {
	e := &Env{Getenv: in.Getenv, AccountID: in.AccountID, Now: in.Now, API: in.API}
	e.Config, e.ConfigErr = in.Config, in.ConfigErr
	dir := in.WorkingDir
	if e.Config != nil {
		dir = e.Config.ProjectDir()
	}
	m, err := manifest.Load(manifest.Path(dir))
	switch {
	case errors.Is(err, manifest.ErrNotFound):
	case err != nil:
		e.ManifestErr = err
	default:
		e.Manifest = FromManifest(m)
	}
	if e.Config != nil && e.Config.Name != "" {
		e.State, e.StateKey = loadState(dir, e.Config.Name)
	}
	e.Docker = NewDockerProber(in.Getenv)
	e.Secrets = in.Secrets
	return e
}

// loadState reads the deployment state without creating anything when the
// project was never deployed.
func loadState(projectDir, worker string) (*state.Deployment, []byte) {
	if _, err := os.Stat(filepath.Join(projectDir, state.DirName, worker, "state.json")); err != nil {
		return nil, nil
	}
	st, err := state.Open(projectDir, worker)
	if err != nil {
		return nil, nil
	}
	d, err := st.Load()
	if err != nil {
		return nil, nil
	}
	var key []byte
	if _, err := os.Stat(filepath.Join(projectDir, state.DirName, "hmac.key")); err == nil {
		key, _ = st.HMACKey()
	}
	return d, key
}

// FromManifest converts a parsed moltctl.yaml into what the checks read.
func FromManifest(m *manifest.Manifest) *Manifest {
	if m == nil {
		return nil
	}
	out := &Manifest{Path: m.Path, Vars: m.Vars, AccessAllow: m.Access.Allow,
		AccessAllowDomains: m.Access.AllowDomains, R2: m.Persistence.R2, parsed: m}
	for _, s := range m.Secrets {
		ref := s.Source.Env
		if ref == "" {
			ref = s.Source.File
		}
		out.Secrets = append(out.Secrets, ManifestSecret{Name: s.Name, Source: string(s.Source.Kind), Ref: ref, Line: s.Line})
	}
	return out
}

// NewDockerProber returns the prober of the Docker daemon the docker CLI
// would use (DOCKER_HOST, DOCKER_CONTEXT, the current context).
func NewDockerProber(getenv func(string) string) DockerProber {
	return &engineProber{getenv: getenv}
}

type engineProber struct{ getenv func(string) string }

func (p *engineProber) Probe(ctx context.Context) (*DockerInfo, error) {
	ep, err := dockerhost.Resolve(p.getenv)
	if err != nil {
		return nil, err
	}
	c, err := dockerhost.ConnectEndpoint(ctx, ep)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	info, err := dockerhost.Inspect(ctx, c)
	if err != nil {
		return nil, err
	}
	d := &DockerInfo{Host: info.Host, Context: ep.Context, ServerVersion: info.ServerVersion, APIVersion: info.APIVersion,
		OSType: info.OS, Architecture: info.Arch, FreeBytes: info.FreeDisk, RootDir: info.RootDir}
	switch {
	case info.Arch == "amd64" || info.Arch == "x86_64":
		d.CanBuildAMD64 = true
	case strings.Contains(info.OperatingSystem, "Docker Desktop"):
		d.CanBuildAMD64 = true // Docker Desktop ships QEMU/Rosetta emulation
	case strings.HasPrefix(info.Host, "unix://"):
		if _, err := os.Stat("/proc/sys/fs/binfmt_misc/qemu-x86_64"); err == nil {
			d.CanBuildAMD64 = true
		} else {
			d.AMD64Note = "no qemu-x86_64 handler in /proc/sys/fs/binfmt_misc"
		}
	default:
		d.AMD64Note = "cannot tell whether the remote daemon emulates amd64"
		d.CanBuildAMD64 = true // do not fail on what we cannot see
	}
	return d, nil
}

func (p *engineProber) Advice(err error) string { return dockerhost.Describe(err) }
