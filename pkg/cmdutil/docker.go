package cmdutil

import (
	"context"

	"github.com/docker/docker/client"

	"github.com/moltctl/moltctl/pkg/dockerhost"
	"github.com/moltctl/moltctl/pkg/image"
)

// Docker connects to the Docker daemon the docker CLI would use
// (DOCKER_HOST, DOCKER_CONTEXT, the current context). The caller closes it.
func (f *Factory) Docker(ctx context.Context) (*client.Client, error) {
	return dockerhost.Dial(ctx, f.Getenv)
}

// ImageProgress is how build and push report progress: JSON lines on
// stderr under --output json, else text on stderr.
func (f *Factory) ImageProgress() image.Progress {
	return image.ProgressTo(f.IOStreams.ErrOut, f.Global.JSON(), f.IOStreams.IsStderrTTY())
}
