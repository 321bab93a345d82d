// Package build implements `moltctl build`: build the container image
// named by wrangler.jsonc's containers[].image for linux/amd64, tagged with
// its content tag.
package build

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/dockerhost"
	"github.com/moltctl/moltctl/pkg/image"
	"github.com/moltctl/moltctl/pkg/internal/bytesize"
)

// BuildOptions are the inputs of `moltctl build`.
type BuildOptions struct {
	Factory *cmdutil.Factory
	// Container picks a containers[] entry by class_name or name (default: the first).
	Container string
	// Rebuild builds even when a local image has the content tag.
	Rebuild bool
	// NoCache disables the daemon's build cache.
	NoCache bool
	// TagOnly prints the content tag without building.
	TagOnly bool
}

// BuildResult is what `moltctl build --output json` prints.
type BuildResult struct {
	App     string             `json:"app"`
	Tag     string             `json:"tag"`
	ImageID string             `json:"image_id,omitempty"`
	Refs    []string           `json:"refs,omitempty"`
	Cached  bool               `json:"cached"`
	Checks  *image.CheckReport `json:"checks,omitempty"`
	Build   *image.BuildResult `json:"-"`
}

// NewCmdBuild returns the build command.
func NewCmdBuild(f *cmdutil.Factory) *cobra.Command { return NewCmdBuildWith(f, nil) }

// NewCmdBuildWith returns the build command running runF instead of the build (for tests).
func NewCmdBuildWith(f *cmdutil.Factory, runF func(context.Context, *BuildOptions) error) *cobra.Command {
	opts := &BuildOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the container image (skipped when its inputs have not changed)",
		Long: `Build the agent's container image for linux/amd64 through the Docker Engine.

The Dockerfile is containers[].image in wrangler.jsonc; the build context is
image_build_context or the Dockerfile's directory, with .dockerignore
honoured, except that .moltctl/, .git/, .env*, .dev.vars* and the files
moltctl.yaml reads secrets from are never sent, whatever .dockerignore says;
image_vars are passed as build args. The image is tagged with a
content tag derived from those inputs, so the same sources give the same
tag on any machine and an unchanged image is never rebuilt. (There is no
need to edit a comment in the Dockerfile to force a rebuild.)

The Docker daemon is found as the docker CLI finds it: DOCKER_HOST, else
DOCKER_CONTEXT or the current docker context. Build output is shown as it
runs; with --output json each step is a JSON line on stderr and the result
is printed on stdout. "moltctl push" (and "moltctl deploy") push the image
built here, or build it themselves when it is missing.`,
		Example: `  # Build the image of the container in ./wrangler.jsonc
  moltctl build

  # The content tag alone (e.g. as a CI cache key)
  moltctl build --tag-only

  # CI: build in one job, push in another (the push finds or rebuilds the same tag)
  moltctl build --output json > build.json
  moltctl push --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return buildRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Container, "container", "", "the containers[] entry to build, by class_name or name (default: the first)")
	fl.BoolVar(&opts.Rebuild, "rebuild", false, "build even when a local image has the same content tag")
	fl.BoolVar(&opts.NoCache, "no-cache", false, "do not use the Docker build cache")
	fl.BoolVar(&opts.TagOnly, "tag-only", false, "print the content tag and exit without building")
	return cmd
}

func buildRun(ctx context.Context, opts *BuildOptions) error {
	f := opts.Factory
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	t, err := image.TargetFor(cfg, opts.Container)
	if err != nil {
		return err
	}
	if opts.TagOnly {
		tag, err := image.ContentTag(t.Spec)
		if err != nil {
			return err
		}
		if f.Global.JSON() {
			return cmdutil.WriteJSON(f.IOStreams.Out, BuildResult{App: t.App, Tag: tag})
		}
		fmt.Fprintln(f.IOStreams.Out, tag)
		return nil
	}
	engine, err := f.Docker(ctx)
	if err != nil {
		return err
	}
	defer engine.Close()
	names := []string{t.App}
	if acct := f.AccountID(); acct != "" {
		names = append(names, image.Repository(f.RegistryHost(), acct, t.App))
	}
	br, err := image.Build(ctx, engine, image.BuildRequest{Spec: t.Spec, Names: names, Rebuild: opts.Rebuild, NoCache: opts.NoCache, Progress: f.ImageProgress()})
	if err != nil {
		return dockerhost.DaemonError(err)
	}
	res := BuildResult{App: t.App, Tag: br.Tag, ImageID: br.ImageID, Refs: br.Refs, Cached: br.Cached}
	ins, err := engine.ImageInspect(ctx, br.ImageID)
	if err != nil {
		return dockerhost.DaemonError(fmt.Errorf("inspect image: %w", err))
	}
	res.ImageID = ins.ID
	report, checkErr := image.CheckImage(ins, image.CheckOptions{InstanceType: t.Container.InstanceType.Name, DiskMB: t.Container.InstanceType.DiskMB})
	res.Checks = report
	if f.Global.JSON() {
		if err := cmdutil.WriteJSON(f.IOStreams.Out, res); err != nil {
			return err
		}
	} else {
		for _, w := range report.Warnings {
			f.IOStreams.Warn(w)
		}
		for _, r := range res.Refs {
			fmt.Fprintln(f.IOStreams.Out, r)
		}
		if checkErr == nil && report.Disk > 0 {
			fmt.Fprintf(f.IOStreams.ErrOut, "%s %s, %d layers, fits %s (needs %s of %s)\n", f.IOStreams.ColorScheme().SuccessIcon(),
				bytesize.SI(report.Size), report.Layers, report.InstanceType, bytesize.SI(report.RequiredDisk), bytesize.SI(report.Disk))
		}
	}
	return checkErr
}
