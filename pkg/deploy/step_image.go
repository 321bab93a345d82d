package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/image"
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

// isDockerfile reports whether a container's image is a Dockerfile path
// rather than a registry reference.
func isDockerfile(image string) bool {
	return strings.HasPrefix(image, ".") || strings.HasPrefix(image, "/") || strings.Contains(filepath.Base(image), "Dockerfile")
}

// request is what to build and where to push it.
func (*imageStep) request(st *State) image.Request {
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
	log := st.Deps.Log
	if log == nil {
		log = io.Discard
	}
	return image.Request{
		Spec:       image.Spec{ContextDir: ctxDir, Dockerfile: dockerfile, BuildArgs: ct.ImageVars, Platform: image.DefaultPlatform, Exclude: exclude},
		Repository: st.Deps.RegistryHost + "/" + st.In.AccountID + "/" + cfg.ContainerAppName(ct),
		Progress:   image.TextProgress(log, false),
	}
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
	if st.Deps.Image == nil || img.Ref == "" || img.Tag == "" {
		return false
	}
	tag, err := image.ContentTag(s.request(st).Spec)
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
	ref := res.DigestRef()
	st.Learned.ImageRef, st.Learned.ImageDigest = ref, res.Digest
	st.Saved.Dep.Image.Ref, st.Saved.Dep.Image.Digest, st.Saved.Dep.Image.Tag = ref, res.Digest, res.Tag
	if res.Skipped {
		st.Learned.Details["image"] = ref + " is already in the registry"
		return nil
	}
	st.Learned.Details["image"] = fmt.Sprintf("pushed %s (%d layer(s) sent, %d already there)", ref, res.LayersPushed, res.LayersSkipped)
	return nil
}
