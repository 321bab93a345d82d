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
	if st.Subdomain != "" {
		return st.Subdomain, nil
	}
	sub, err := st.API.GetSubdomain(ctx)
	if err != nil {
		if cfapi.NotFound(err) || cfapi.HasCode(err, cfapi.CodeNotFound) {
			return "", &clierr.HintError{Err: errors.New("the account has no workers.dev subdomain"),
				Fix: "open Workers & Pages in the Cloudflare dashboard once (it registers one), or run moltctl doctor"}
		}
		return "", fmt.Errorf("read the workers.dev subdomain: %w", err)
	}
	st.Subdomain = sub
	st.URL = st.WorkersDevURL(st.WorkerName(), sub)
	st.Dep.Subdomain, st.Dep.URL = sub, st.URL
	return sub, nil
}

// WorkerHost is the Worker's workers.dev host name, which Access protects.
func (st *State) WorkerHost() string {
	return st.WorkerName() + "." + st.Subdomain + ".workers.dev"
}

func (*routeStep) Skip(ctx context.Context, st *State) (bool, string) {
	if !st.Config.ServesWorkersDev() {
		return true, "workers_dev is off in wrangler.jsonc"
	}
	if _, err := st.subdomain(ctx); err != nil {
		return false, "enable workers.dev"
	}
	// Preview URLs are hosts the Access application does not cover: a
	// Worker that has them (an older deploy, the dashboard) is set again.
	if sub, err := st.API.GetScriptSubdomain(ctx, st.WorkerName()); err == nil && sub.Enabled && !sub.PreviewsEnabled {
		return true, "served at " + st.URL
	}
	return false, "enable " + st.WorkerHost()
}

func (*routeStep) Run(ctx context.Context, st *State) error {
	if _, err := st.subdomain(ctx); err != nil {
		return err
	}
	if err := st.API.EnableScriptSubdomain(ctx, st.WorkerName()); err != nil {
		return fmt.Errorf("enable workers.dev for %q: %w", st.WorkerName(), err)
	}
	st.Details["route"] = "served at " + st.URL
	return nil
}
