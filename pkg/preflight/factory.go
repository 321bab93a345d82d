package preflight

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/dockerhost"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/state"
)

// NewEnv gathers what the checks read from the Factory: the API client (nil
// without a token), --account, wrangler.jsonc, moltctl.yaml beside it,
// local deployment state, and the real Docker prober. It sends no request.
func NewEnv(f *cmdutil.Factory) *Env {
	e := &Env{Getenv: f.Getenv, AccountID: f.AccountID(), Now: f.Now}
	if c, err := f.Cloudflare(); err == nil {
		e.API = c
	}
	e.Config, e.ConfigErr = f.Config()
	dir := f.WorkingDir
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
	e.Docker = NewDockerProber(f.Getenv)
	if m := NewEmulatorSecrets(f.APIBaseURL(), f.HTTPClient); m != nil {
		e.Secrets = m
	}
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
