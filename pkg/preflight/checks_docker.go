package preflight

import (
	"context"

	"github.com/moltctl/moltctl/pkg/internal/bytesize"
)

// Check IDs of the Docker checks.
const (
	IDDocker         = "docker"
	IDDockerPlatform = "docker.platform"
	IDDockerDisk     = "docker.disk"
)

// Free space thresholds for the image build (moltworker's image is about
// 2 GB unpacked, and a build needs room for its layers twice over).
const (
	diskFailBytes = 4 << 30
	diskWarnBytes = 10 << 30
)

func (e *Env) docker(ctx context.Context) (*DockerInfo, error) {
	return Shared(e, keyDocker, func() (*DockerInfo, error) { return e.Docker.Probe(ctx) })
}

func checkDocker(ctx context.Context, e *Env) Result {
	if e.Docker == nil {
		return Skip("Docker is not used here")
	}
	info, err := e.docker(ctx)
	if err != nil {
		fix := e.Docker.Advice(err)
		if fix == "" {
			fix = "start Docker, or point DOCKER_HOST at a running daemon"
		}
		return Fail(fix, "the Docker daemon does not answer: %v", err)
	}
	where := info.Host
	if info.Context != "" && info.Context != "default" {
		where += " (context " + info.Context + ")"
	}
	return OK("Docker %s, API %s, at %s", info.ServerVersion, info.APIVersion, where)
}

func checkDockerPlatform(ctx context.Context, e *Env) Result {
	if e.Docker == nil {
		return Skip("Docker is not used here")
	}
	info, err := e.docker(ctx)
	if err != nil {
		return Skip("Docker is not running (see check docker)")
	}
	if info.OSType != "" && info.OSType != "linux" {
		return Fail("switch Docker Desktop to Linux containers (right-click the tray icon → Switch to Linux containers)",
			"the daemon runs %s containers; Cloudflare Containers need linux/amd64 images", info.OSType)
	}
	if !info.CanBuildAMD64 {
		note := info.AMD64Note
		if note == "" {
			note = "no amd64 emulation is registered"
		}
		return Fail("register amd64 emulation: docker run --privileged --rm tonistiigi/binfmt --install amd64 (Docker Desktop: enable \"Use Rosetta for x86_64/amd64 emulation\")",
			"the daemon (%s) cannot build linux/amd64 images: %s", info.Architecture, note)
	}
	if info.Architecture != "" && info.Architecture != "x86_64" && info.Architecture != "amd64" {
		return OK("builds linux/amd64 through emulation on %s (slower than native)", info.Architecture)
	}
	return OK("builds linux/amd64 natively")
}

func checkDockerDisk(ctx context.Context, e *Env) Result {
	if e.Docker == nil {
		return Skip("Docker is not used here")
	}
	info, err := e.docker(ctx)
	if err != nil {
		return Skip("Docker is not running (see check docker)")
	}
	if info.FreeBytes < 0 {
		return Skip("free space of the daemon's disk is unknown (remote daemon)")
	}
	where := info.RootDir
	if where == "" {
		where = "the daemon's data directory"
	}
	free := bytesize.IEC(info.FreeBytes)
	switch {
	case info.FreeBytes < diskFailBytes:
		return Fail("free space: docker system prune (removes stopped containers, unused networks and dangling images)",
			"%s free on %s; the image build needs at least %s", free, where, bytesize.IEC(diskFailBytes))
	case info.FreeBytes < diskWarnBytes:
		return Warn("docker system prune frees space from old images and build cache",
			"%s free on %s; builds may run out of space", free, where)
	}
	return OK("%s free on %s", free, where)
}
