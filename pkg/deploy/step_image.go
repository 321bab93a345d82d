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
// registry; the builder skips both when the registry holds the content tag.
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

func (*imageStep) Skip(_ context.Context, st *State) (bool, string) {
	ct, ok := st.In.container()
	if !ok {
		return true, "the Worker has no container"
	}
	if st.In.Options.SkipBuild {
		st.Learned.ImageRef = st.In.Options.Image
		return true, "--skip-build: deploying " + st.In.Options.Image
	}
	if !isDockerfile(ct.Image) {
		st.Learned.ImageRef = ct.Image
		return true, "the configuration names a pushed image: " + ct.Image
	}
	return false, "build " + ct.Image
}

func (*imageStep) Run(ctx context.Context, st *State) error {
	ct, _ := st.In.container()
	if st.Deps.Image == nil {
		return &clierr.HintError{Err: errors.New("no image builder is available"), Fix: "pass --skip-build --image REF to deploy an image pushed earlier"}
	}
	dockerfile := st.In.Config.Resolve(ct.Image)
	ctxDir := filepath.Dir(dockerfile)
	if ct.ImageBuildContext != "" {
		ctxDir = st.In.Config.Resolve(ct.ImageBuildContext)
	}
	repo := st.Deps.RegistryHost + "/" + st.In.AccountID + "/" + st.In.Config.ContainerAppName(ct)
	var exclude []string
	if st.In.Manifest != nil {
		exclude = st.In.Manifest.SecretFiles()
	}
	res, err := st.Deps.Image.BuildAndPush(ctx, ImageRequest{ContextDir: ctxDir, Dockerfile: dockerfile, BuildArgs: ct.ImageVars, Exclude: exclude, Repository: repo, Progress: st.Deps.Log})
	if err != nil {
		err = fmt.Errorf("build and push %s: %w", repo, err)
		if clierr.HintOf(err) == "" && clierr.ExitCodeOf(err) == clierr.ExitError {
			// The content tag makes building and pushing again harmless.
			return Retryable(err)
		}
		return err
	}
	st.Learned.ImageRef, st.Learned.ImageDigest = res.Ref, res.Digest
	st.Saved.Dep.Image.Ref, st.Saved.Dep.Image.Digest, st.Saved.Dep.Image.Tag = res.Ref, res.Digest, res.Tag
	if res.Skipped {
		return Skipped("%s is already in the registry", res.Ref)
	}
	st.Learned.Details["image"] = fmt.Sprintf("pushed %s (%d layer(s) sent, %d already there)", res.Ref, res.LayersPushed, res.LayersSkipped)
	return nil
}
