package preflight

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/docker/docker/client"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/dockerhost"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/state"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

// Project is a checkout as loaded once by its caller (deploy.Load for
// doctor, deploy.Prepare for a deploy): the checks never read a file
// themselves, so the run after fixes sees the same inputs without loading
// them again.
type Project struct {
	// Config and ConfigErr are the outcome of loading wrangler.jsonc.
	Config    *wrangler.Config
	ConfigErr error
	// Manifest and ManifestErr are the outcome of loading moltctl.yaml;
	// both nil when the project has none.
	Manifest    *manifest.Manifest
	ManifestErr error
	// State is the deployment state (nil when never deployed) and
	// StateKey the HMAC key its secret digests were made with.
	State    *state.Deployment
	StateKey []byte
}

// Inputs are what the checks read: the project and the clients.
type Inputs struct {
	Project
	// API is nil when no API token is set.
	API *cfapi.Client
	// AccountID is --account or CLOUDFLARE_ACCOUNT_ID, or the account a
	// deploy resolved; "" makes the checks resolve it.
	AccountID string
	// Docker probes the daemon; nil skips the Docker checks.
	Docker DockerProber
	Getenv func(string) string
	Now    func() time.Time
	// Secrets reads deployed secret values; nil in moltctl, which only
	// has the digests of its state. Tests pass the emulator.
	Secrets SecretMatcher
	// Subdomain is the workers.dev name a fix registers (doctor --subdomain).
	Subdomain string
}

// NewEnv returns the checks' Env for in. It reads nothing and sends no
// request: everything the checks learn from the API they learn when run.
func NewEnv(in Inputs) *Env {
	return &Env{Getenv: in.Getenv, API: in.API, AccountID: in.AccountID, Config: in.Config, ConfigErr: in.ConfigErr,
		Manifest: in.Manifest, ManifestErr: in.ManifestErr, State: in.State, StateKey: in.StateKey,
		Docker: in.Docker, Secrets: in.Secrets, Now: in.Now, Subdomain: in.Subdomain}
}

// NewDockerProber returns the prober of the Docker daemon that connect
// reaches (the Factory's connection, the one build and push use); getenv
// names the docker context it came from.
func NewDockerProber(connect func(context.Context) (*client.Client, error), getenv func(string) string) DockerProber {
	return &engineProber{connect: connect, getenv: getenv}
}

type engineProber struct {
	connect func(context.Context) (*client.Client, error)
	getenv  func(string) string
}

func (p *engineProber) Probe(ctx context.Context) (*DockerInfo, error) {
	c, err := p.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	info, err := dockerhost.Inspect(ctx, c)
	if err != nil {
		return nil, err
	}
	d := &DockerInfo{Host: info.Host, ServerVersion: info.ServerVersion, APIVersion: info.APIVersion,
		OSType: info.OS, Architecture: info.Arch, FreeBytes: info.FreeDisk, RootDir: info.RootDir}
	if ep, err := dockerhost.Resolve(p.getenv); err == nil {
		d.Context = ep.Context // only named in the message
	}
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
