package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
)

// routeStep serves the Worker on <name>.<subdomain>.workers.dev.
type routeStep struct{}

func (*routeStep) Name() string   { return "route" }
func (*routeStep) String() string { return "enable the Worker's workers.dev route" }

// subdomain resolves the account's workers.dev subdomain and the Worker's URL.
func (st *State) subdomain(ctx context.Context) (string, error) {
	if st.Learned.Subdomain != "" {
		return st.Learned.Subdomain, nil
	}
	sub, err := st.Deps.API.GetSubdomain(ctx)
	if err != nil {
		if cfapi.NotFound(err) || cfapi.HasCode(err, cfapi.CodeNotFound) {
			return "", &clierr.HintError{Err: errors.New("the account has no workers.dev subdomain"),
				Fix: "open Workers & Pages in the Cloudflare dashboard once (it registers one), or run moltctl doctor"}
		}
		return "", fmt.Errorf("read the workers.dev subdomain: %w", err)
	}
	st.Learned.Subdomain = sub
	st.Learned.URL = st.Deps.WorkersDevURL(st.WorkerName(), sub)
	st.Saved.Dep.Subdomain, st.Saved.Dep.URL = sub, st.Learned.URL
	return sub, nil
}

// WorkerHost is the Worker's workers.dev host name, which Access protects.
func (st *State) WorkerHost() string {
	return st.WorkerName() + "." + st.Learned.Subdomain + ".workers.dev"
}

func (*routeStep) Skip(ctx context.Context, st *State) (bool, string) {
	if !st.In.Config.ServesWorkersDev() {
		return true, "workers_dev is off in wrangler.jsonc"
	}
	if _, err := st.subdomain(ctx); err != nil {
		return false, "enable workers.dev"
	}
	// Preview URLs are hosts the Access application does not cover: a
	// Worker that has them (an older deploy, the dashboard) is set again.
	if sub, err := st.Deps.API.GetScriptSubdomain(ctx, st.WorkerName()); err == nil && sub.Enabled && !sub.PreviewsEnabled {
		return true, "served at " + st.Learned.URL
	}
	return false, "enable " + st.WorkerHost()
}

func (*routeStep) Run(ctx context.Context, st *State) error {
	if _, err := st.subdomain(ctx); err != nil {
		return err
	}
	if err := st.Deps.API.EnableScriptSubdomain(ctx, st.WorkerName()); err != nil {
		return fmt.Errorf("enable workers.dev for %q: %w", st.WorkerName(), err)
	}
	st.Learned.Details["route"] = "served at " + st.Learned.URL
	return nil
}
