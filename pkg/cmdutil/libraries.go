package cmdutil

import (
	"context"

	"github.com/moltctl/moltctl/pkg/assistant/target"
	"github.com/moltctl/moltctl/pkg/preflight"
)

// Libraries take explicit inputs, never the Factory; these methods fill
// them in, so every command reads flags and environment the same way.

// PreflightEnv returns what the preflight checks read. It sends no request.
func (f *Factory) PreflightEnv() *preflight.Env {
	in := preflight.Inputs{AccountID: f.AccountID(), WorkingDir: f.WorkingDir, Getenv: f.Getenv, Now: f.Now,
		Secrets: f.SecretMatcher}
	if c, err := f.Cloudflare(); err == nil {
		in.API = c
	}
	in.Config, in.ConfigErr = f.Config()
	return preflight.NewEnv(in)
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
