package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/moltctl/moltctl/pkg/manifest"
)

// preflightStep runs the doctor's checks and resolves the secrets'
// values, so that nothing is built or changed when something is missing.
type preflightStep struct{}

func (*preflightStep) Name() string { return "preflight" }
func (*preflightStep) String() string {
	return "check the account, token, project and secrets (moltctl doctor)"
}

func (*preflightStep) Skip(context.Context, *State) (bool, string) { return false, "" }
func (*preflightStep) readOnly()                                   {}

func (*preflightStep) Run(ctx context.Context, st *State) error {
	if st.Deps.Preflight != nil {
		blocking, report, err := st.Deps.Preflight(ctx, st)
		if err != nil {
			return fmt.Errorf("run checks: %w", err)
		}
		if len(blocking) > 0 {
			st.Deps.logf("%s", report)
			return PreflightError(blocking)
		}
	}
	if err := st.resolveValues(ctx); err != nil {
		return err
	}
	if st.Learned.Values.Len() > 0 {
		st.Learned.Details["preflight"] = fmt.Sprintf("%d secret(s) resolved", st.Learned.Values.Len())
	}
	return nil
}

// resolveValues reads every secret's value from its source in the
// manifest; generated values are kept in the credentials file (0600).
func (st *State) resolveValues(ctx context.Context) error {
	if st.Learned.resolved || st.In.Manifest == nil || st.Learned.Values.Len() > 0 {
		st.Learned.resolved = true
		return nil
	}
	if st.needsGenerate() {
		// Generated values are kept in the saved state: made under the lease.
		if err := st.Deps.hold(ctx); err != nil {
			return err
		}
		if st.Learned.resolved {
			return nil // resolved under the lease, with the state read again
		}
	}
	before := len(st.Saved.Creds.Generated)
	opts := manifest.ResolveOptions{Getenv: st.Deps.Getenv, Generated: st.Saved.Creds.Generated, Warn: st.Deps.Warn}
	if st.Saved.locked() {
		// Generated values are sealed in the account: keep the Worker's
		// rather than generate new ones.
		var kept []string
		for _, s := range st.In.Manifest.Secrets {
			if s.Source.Kind == manifest.SourceGenerate {
				kept = append(kept, s.Name)
			} else if s.Source.Kind != manifest.SourceDeploy {
				opts.Names = append(opts.Names, s.Name)
			}
		}
		if len(kept) > 0 {
			st.Deps.warn("%s: kept as the Worker has it (the key is not here to read it)", strings.Join(kept, ", "))
		}
		if len(opts.Names) == 0 {
			st.Learned.resolved = true
			return nil
		}
	}
	vals, err := st.In.Manifest.Resolve(ctx, opts)
	if err != nil {
		return fmt.Errorf("read the secrets moltctl.yaml names: %w", err)
	}
	if len(st.Saved.Creds.Generated) != before {
		if err := st.Saved.save(ctx); err != nil {
			return fmt.Errorf("save generated secrets: %w", err)
		}
	}
	st.Learned.Values, st.Learned.resolved = vals, true
	return nil
}

// needsGenerate reports whether resolving the manifest's values makes one
// (a generate source this Worker has no value for yet).
func (st *State) needsGenerate() bool {
	if st.In.Manifest == nil || st.Saved.locked() {
		return false
	}
	for _, s := range st.In.Manifest.Secrets {
		if s.Source.Kind == manifest.SourceGenerate && st.Saved.Creds.Generated[s.Name] == "" {
			return true
		}
	}
	return false
}
