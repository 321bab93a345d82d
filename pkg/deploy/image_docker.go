package deploy

import (
	"context"

	"github.com/docker/docker/client"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/image"
)

// DockerImages builds with the Docker Engine and pushes with pkg/image,
// logging in to the registry with short-lived credentials from the
// Containers API. The Docker daemon is only contacted when the registry
// lacks the content tag.
type DockerImages struct {
	API *cfapi.Client
	// Connect connects to the Docker daemon (the Factory's connection).
	Connect      func(context.Context) (*client.Client, error)
	RegistryHost string
	// Engine overrides the daemon connection (tests share one).
	Engine image.Engine
}

// BuildAndPush implements ImageBuilder.
func (d *DockerImages) BuildAndPush(ctx context.Context, req image.Request) (*image.Result, error) {
	auth, err := image.Login(ctx, d.API, d.RegistryHost)
	if err != nil {
		return nil, err
	}
	eng := d.Engine
	if eng == nil && d.Connect != nil {
		if c, err := d.Connect(ctx); err == nil {
			defer c.Close()
			eng = c
		}
	}
	req.Auth = auth
	return image.BuildAndPush(ctx, eng, req)
}
