// Package image builds the agent's container image through the Docker
// Engine API and pushes it to Cloudflare's registry, skipping both when the
// registry already holds an image built from the same inputs.
//
// The tag is derived from the build inputs (ContentTag). Builds use the
// Engine API's classic builder, which needs no client-side BuildKit
// session and works from Docker 20.10 to current daemons. Pushes read the
// image from the daemon and write it with go-containerregistry, so the
// registry is asked for every blob first, bytes are counted exactly, and
// the short-lived credentials go to the registry only (never to the daemon
// or a credential store).
package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

// Request asks BuildAndPush for the image of Spec in Repository.
type Request struct {
	Spec Spec
	// Repository is "<registry host>/<account id>/<container app name>".
	Repository string
	Auth       Auth
	Progress   Progress
	// Checks are the image checks run before pushing.
	Checks CheckOptions
	// Rebuild builds even when a local image has the content tag.
	Rebuild bool
	// Transport is for tests; nil uses go-containerregistry's default.
	Transport http.RoundTripper
}

// Result is what BuildAndPush did.
type Result struct {
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
	Tag    string `json:"tag"`
	// Skipped is true when the registry already had the tag: nothing was built or pushed.
	Skipped bool `json:"skipped"`
	// Built is true when the daemon built the image (false when skipped or a local image was reused).
	Built         bool         `json:"built"`
	ImageID       string       `json:"image_id,omitempty"`
	BytesPushed   int64        `json:"bytes_pushed"`
	ImageBytes    int64        `json:"image_bytes,omitempty"`
	LayersPushed  int          `json:"layers_pushed"`
	LayersSkipped int          `json:"layers_skipped"`
	Checks        *CheckReport `json:"checks,omitempty"`
	Warnings      []string     `json:"warnings,omitempty"`
	DurationMS    int64        `json:"duration_ms"`
}

// DigestRef is the digest-pinned reference "<repository>@sha256:…".
func (r *Result) DigestRef() string {
	repo, _, _ := strings.Cut(r.Ref, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo + "@" + r.Digest
}

// BuildAndPush makes sure the registry holds the image built from
// req.Spec, tagged with its content tag: if the registry has the tag,
// nothing is built or pushed; else the image is built (or a local image
// with the content tag reused), checked, and pushed.
func BuildAndPush(ctx context.Context, engine Engine, req Request) (*Result, error) {
	start := time.Now()
	bc, err := readContext(req.Spec)
	if err != nil {
		return nil, err
	}
	tag, err := bc.tag()
	if err != nil {
		return nil, err
	}
	ref := req.Repository + ":" + tag
	res := &Result{Ref: ref, Tag: tag}
	req.Progress.emit(Event{Kind: EventTag, Tag: tag, Ref: ref})
	done := func() (*Result, error) { res.DurationMS = time.Since(start).Milliseconds(); return res, nil }

	digest, err := RemoteDigest(ctx, ref, req.Auth, req.Transport)
	if err != nil {
		return nil, err
	}
	if digest != "" {
		res.Skipped, res.Digest = true, digest
		req.Progress.emit(Event{Kind: EventRemoteHit, Ref: ref, Digest: digest, Tag: tag})
		return done()
	}
	if engine == nil {
		return nil, errors.New("no Docker Engine to build with")
	}
	br, err := build1(ctx, engine, bc, tag, BuildRequest{Spec: req.Spec, Names: []string{req.Repository}, Rebuild: req.Rebuild, Progress: req.Progress})
	if err != nil {
		return nil, err
	}
	res.ImageID, res.Built = br.ImageID, !br.Cached
	ins, err := engine.ImageInspect(ctx, br.ImageID)
	if err != nil {
		return nil, fmt.Errorf("inspect image %s: %w", ShortID(br.ImageID), err)
	}
	res.ImageID = ins.ID
	report, err := CheckImage(ins, req.Checks)
	res.Checks = report
	if err != nil {
		return nil, err
	}
	for _, w := range report.Warnings {
		res.Warnings = append(res.Warnings, w)
		req.Progress.emit(Event{Kind: EventWarning, Message: w})
	}
	pr, err := Push(ctx, engine, PushRequest{ImageID: ins.ID, Ref: ref, Auth: req.Auth, Progress: req.Progress, Transport: req.Transport})
	if err != nil {
		return nil, err
	}
	res.Digest, res.BytesPushed, res.ImageBytes = pr.Digest, pr.BytesPushed, pr.ImageBytes
	res.LayersPushed, res.LayersSkipped = pr.LayersPushed, pr.LayersSkipped
	return done()
}

// Repository returns "<host>/<account>/<app>", the name wrangler gives the image.
func Repository(host, accountID, app string) string {
	return strings.TrimSuffix(host, "/") + "/" + accountID + "/" + app
}

// ErrNoContainer means wrangler.jsonc has no containers[] entry.
var ErrNoContainer = errors.New("wrangler configuration has no containers[] entry")

// Target is the container of a wrangler configuration and how to build it.
type Target struct {
	Container wrangler.Container
	// App is the container application name (the image's repository name).
	App  string
	Spec Spec
}

// TargetFor returns the first container of cfg (or the one whose
// class_name or name is className) with its build spec: Dockerfile =
// containers[].image, context = image_build_context or the Dockerfile's
// directory, build args = image_vars, platform linux/amd64.
func TargetFor(cfg *wrangler.Config, className string) (*Target, error) {
	if len(cfg.Containers) == 0 {
		return nil, &clierr.UsageError{Err: fmt.Errorf("%s: %w", cfg.Path, ErrNoContainer),
			Fix: "add the container (class_name, image: \"./Dockerfile\", instance_type) to wrangler.jsonc as moltworker's has"}
	}
	ct := cfg.Containers[0]
	if className != "" {
		found := false
		for _, c := range cfg.Containers {
			if c.ClassName == className || c.Name == className {
				ct, found = c, true
				break
			}
		}
		if !found {
			return nil, clierr.Usagef("no container with class_name %q in %s", className, cfg.Path)
		}
	}
	df := cfg.Resolve(ct.Image)
	st, err := os.Stat(df)
	if err != nil || st.IsDir() {
		return nil, &clierr.UsageError{Err: fmt.Errorf("container %s: image %q is not a Dockerfile in %s", ct.ClassName, ct.Image, cfg.Dir()),
			Fix: "set containers[].image in wrangler.jsonc to the Dockerfile's path (moltworker: \"./Dockerfile\")"}
	}
	ctxDir := filepath.Dir(df)
	if ct.ImageBuildContext != "" {
		ctxDir = cfg.Resolve(ct.ImageBuildContext)
	}
	return &Target{Container: ct, App: cfg.ContainerAppName(ct),
		Spec: Spec{ContextDir: ctxDir, Dockerfile: df, BuildArgs: ct.ImageVars, Platform: DefaultPlatform, Exclude: SecretFiles(cfg.Dir())}}, nil
}

// SecretFiles lists the files moltctl.yaml in projectDir reads secret
// values from, for Spec.Exclude; none when there is no readable manifest
// (the fixed exclusions of protectedPath still apply).
func SecretFiles(projectDir string) []string {
	m, err := manifest.Load(manifest.Path(projectDir))
	if err != nil {
		return nil
	}
	return m.SecretFiles()
}

// Login gets short-lived push credentials for host from the Containers
// API. A 401/403 is explained (plan, Containers enabled, token permission).
func Login(ctx context.Context, cf *cfapi.Client, host string) (Auth, error) {
	cred, err := cf.RegistryCredentials(ctx, host, cfapi.RegistryPush, 15)
	if err != nil {
		if cfapi.ContainersUnavailable(err) {
			return Auth{}, &clierr.HintError{Err: err, Fix: cfapi.ContainersFix, Code: clierr.ExitPreflight}
		}
		return Auth{}, err
	}
	return Auth{Username: cred.Username, Password: cred.Password}, nil
}
