package deploy

import (
	"context"
	"fmt"

	"github.com/moltctl/moltctl/pkg/cfapi"
)

// routeStep serves the Worker on <name>.<subdomain>.workers.dev.
type routeStep struct{}

func (*routeStep) Name() string   { return "route" }
func (*routeStep) String() string { return "enable the Worker's workers.dev route" }

// subdomain is the account's workers.dev subdomain, learned now if learn
// could not (preflight registered it since).
func (st *State) subdomain(ctx context.Context) (string, error) {
	if st.Learned.Subdomain != "" {
		return st.Learned.Subdomain, nil
	}
	sub, err := st.lookupSubdomain(ctx)
	if err != nil {
		return "", err
	}
	st.setSubdomain(sub)
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
	if st.Learned.URL == "" {
		return false, "enable workers.dev"
	}
	// Preview URLs are hosts the Access application does not cover: a
	// Worker that has them (an older deploy, the dashboard) is set again.
	sub, err := read(st.Deps.Reads, readScriptSubdomain, func() (cfapi.ScriptSubdomain, error) {
		return st.Deps.API.GetScriptSubdomain(ctx, st.WorkerName())
	})
	if err == nil && sub.Enabled && !sub.PreviewsEnabled {
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
	st.Deps.Reads.Forget(readScriptSubdomain)
	st.Learned.Details["route"] = "served at " + st.Learned.URL
	return nil
}
