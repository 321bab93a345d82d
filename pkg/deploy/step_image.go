package deploy

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/moltctl/moltctl/pkg/clierr"
)

// imageStep builds the container image and pushes it to Cloudflare's
// registry. It has nothing to do when the container application already
// runs the image the sources hash to (no registry request at all); else
// the builder skips building and pushing when the registry holds the
// content tag.
type imageStep struct{}

func (*imageStep) Name() string { return "image" }
func (*imageStep) String() string {
	return "build and push the container image (skipped when unchanged)"
}

// ContentTagger is an ImageBuilder that can name, without the registry or
// the Docker daemon, the content tag the request's sources hash to.
type ContentTagger interface {
	ContentTag(req ImageRequest) (string, error)
}

// isDockerfile reports whether a container's image is a Dockerfile path
// rather than a registry reference.
func isDockerfile(image string) bool {
	return strings.HasPrefix(image, ".") || strings.HasPrefix(image, "/") || strings.Contains(filepath.Base(image), "Dockerfile")
}

// request is what to build and where to push it.
func (*imageStep) request(st *State) ImageRequest {
	ct, _ := st.In.container()
	cfg := st.In.Config
	dockerfile := cfg.Resolve(ct.Image)
	ctxDir := filepath.Dir(dockerfile)
	if ct.ImageBuildContext != "" {
		ctxDir = cfg.Resolve(ct.ImageBuildContext)
	}
	var exclude []string
	if st.In.Manifest != nil {
		exclude = st.In.Manifest.SecretFiles()
	}
	return ImageRequest{ContextDir: ctxDir, Dockerfile: dockerfile, BuildArgs: ct.ImageVars, Exclude: exclude,
		Repository: st.Deps.RegistryHost + "/" + st.In.AccountID + "/" + cfg.ContainerAppName(ct), Progress: st.Deps.Log}
}

func (s *imageStep) Skip(ctx context.Context, st *State) (bool, string) {
	ct, ok := st.In.container()
	if !ok {
		return true, "the Worker has no container"
	}
	if st.In.Options.SkipBuild {
		return true, "--skip-build: deploying " + st.In.Options.Image
	}
	if !isDockerfile(ct.Image) {
		return true, "the configuration names a pushed image: " + ct.Image
	}
	if s.deployed(ctx, st) {
		return true, st.Saved.Dep.Image.Ref + " runs already, built from these sources"
	}
	return false, "build " + ct.Image
}

// deployed reports whether the container application runs the image the
// last deploy pushed and the sources still hash to its content tag.
func (s *imageStep) deployed(ctx context.Context, st *State) bool {
	img := st.Saved.Dep.Image
	tagger, ok := st.Deps.Image.(ContentTagger)
	if !ok || img.Ref == "" || img.Tag == "" {
		return false
	}
	tag, err := tagger.ContentTag(s.request(st))
	if err != nil || tag != img.Tag {
		return false
	}
	ct, _ := st.In.container()
	app, err := st.deployedApp(ctx, st.In.Config.ContainerAppName(ct))
	return err == nil && app != nil && app.Image() == img.Ref
}

func (s *imageStep) Run(ctx context.Context, st *State) error {
	if st.Deps.Image == nil {
		return &clierr.HintError{Err: errors.New("no image builder is available"), Fix: "pass --skip-build --image REF to deploy an image pushed earlier"}
	}
	req := s.request(st)
	res, err := st.Deps.Image.BuildAndPush(ctx, req)
	if err != nil {
		err = fmt.Errorf("build and push %s: %w", req.Repository, err)
		if clierr.HintOf(err) == "" && clierr.ExitCodeOf(err) == clierr.ExitError {
			// The content tag makes building and pushing again harmless.
			return Retryable(err)
		}
		return err
	}
	st.Learned.ImageRef, st.Learned.ImageDigest = res.Ref, res.Digest
	st.Saved.Dep.Image.Ref, st.Saved.Dep.Image.Digest, st.Saved.Dep.Image.Tag = res.Ref, res.Digest, res.Tag
	if res.Skipped {
		st.Learned.Details["image"] = res.Ref + " is already in the registry"
		return nil
	}
	st.Learned.Details["image"] = fmt.Sprintf("pushed %s (%d layer(s) sent, %d already there)", res.Ref, res.LayersPushed, res.LayersSkipped)
	return nil
}
