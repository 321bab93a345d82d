package deploy

import (
	"context"
	"io"

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
func (d *DockerImages) BuildAndPush(ctx context.Context, req ImageRequest) (*ImageResult, error) {
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
	w := req.Progress
	if w == nil {
		w = io.Discard
	}
	res, err := image.BuildAndPush(ctx, eng, image.Request{
		Spec:       spec(req),
		Repository: req.Repository, Auth: auth, Progress: image.TextProgress(w, false),
	})
	if err != nil {
		return nil, err
	}
	return &ImageResult{Ref: res.DigestRef(), Digest: res.Digest, Tag: res.Tag, Skipped: res.Skipped,
		BytesPushed: res.BytesPushed, LayersPushed: res.LayersPushed, LayersSkipped: res.LayersSkipped}, nil
}

// ContentTag implements ContentTagger: the tag BuildAndPush would push,
// from the sources alone.
func (d *DockerImages) ContentTag(req ImageRequest) (string, error) {
	return image.ContentTag(spec(req))
}

func spec(req ImageRequest) image.Spec {
	return image.Spec{ContextDir: req.ContextDir, Dockerfile: req.Dockerfile, BuildArgs: req.BuildArgs, Platform: image.DefaultPlatform, Exclude: req.Exclude}
}
