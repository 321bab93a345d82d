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
// stderr under --output json, else text on stderr, the same lines with or
// without a terminal; a terminal also gets the bytes sent in a spinner.
func (f *Factory) ImageProgress() image.Progress {
	ios := f.IOStreams
	if f.Global.JSON() {
		return image.JSONProgress(ios.ErrOut)
	}
	text := image.TextProgress(ios.ErrOut, true)
	return func(e image.Event) {
		if e.Kind == image.EventLayerBytes {
			ios.StartProgress(image.LayerBytesLabel(e)) // nothing without a terminal
			return
		}
		ios.StopProgress()
		text(e)
	}
}
