package cmdutil

import (
	"context"

	"github.com/moltctl/moltctl/pkg/assistant/target"
	"github.com/moltctl/moltctl/pkg/deploy"
	"github.com/moltctl/moltctl/pkg/preflight"
)

// Libraries take explicit inputs, never the Factory; these methods fill
// them in, so every command reads flags and environment the same way.

// PreflightEnv returns what the preflight checks read: the project as
// deploy.Load reads it, the API client and the Docker connection. It sends
// no request.
func (f *Factory) PreflightEnv() *preflight.Env {
	cfg, cfgErr := f.Config()
	return preflight.NewEnv(f.PreflightInputs(deploy.Load(cfg, cfgErr, f.WorkingDir)))
}

// PreflightInputs are the checks' inputs for the project p, as loaded.
func (f *Factory) PreflightInputs(p preflight.Project) preflight.Inputs {
	in := preflight.Inputs{Project: p, AccountID: f.AccountID(), Getenv: f.Getenv, Now: f.Now, Secrets: f.SecretMatcher,
		Docker: preflight.NewDockerProber(f.Docker, f.Getenv)}
	if c, err := f.Cloudflare(); err == nil {
		in.API = c
	}
	return in
}

// Target finds the deployed assistant the command acts on. With needAPI
// it fails unless an API token is set.
func (f *Factory) Target(ctx context.Context, needAPI bool) (*target.Target, error) {
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	in := target.Inputs{Config: cfg, AccountID: f.AccountID(), Getenv: f.Getenv, Warn: f.IOStreams.Warn,
		WorkersDevURL: f.WorkersDevURL, HTTPClient: f.HTTPClient}
	in.API, in.APIErr = f.Cloudflare()
	return target.Resolve(ctx, in, needAPI)
}
