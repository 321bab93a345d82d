package status

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/moltctl/moltctl/pkg/assistant"
	"github.com/moltctl/moltctl/pkg/assistant/target"
	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/secrets"
	"github.com/moltctl/moltctl/pkg/state"
)

// Report is the result of `moltctl status`; its JSON names are a contract.
type Report struct {
	Healthy    bool                `json:"healthy"`
	Worker     WorkerStatus        `json:"worker"`
	Container  ContainerStatus     `json:"container"`
	Gateway    GatewayStatus       `json:"gateway"`
	Secrets    SecretsStatus       `json:"secrets"`
	Access     AccessStatus        `json:"access"`
	Backup     BackupStatus        `json:"backup"`
	LastDeploy *state.DeployRecord `json:"last_deploy,omitempty"`
	// Problems make the assistant unhealthy; Warnings do not.
	Problems []Problem `json:"problems"`
	Warnings []Problem `json:"warnings"`
}

// Problem is one thing wrong, with its fix.
type Problem struct {
	Component string `json:"component"`
	Message   string `json:"message"`
	Fix       string `json:"fix,omitempty"`
}

// WorkerStatus describes the Worker script.
type WorkerStatus struct {
	Name       string    `json:"name"`
	URL        string    `json:"url,omitempty"`
	Exists     bool      `json:"exists"`
	VersionID  string    `json:"version_id,omitempty"`
	DeployedOn time.Time `json:"deployed_on,omitzero"`
	// WorkersDev is whether the workers.dev route is enabled.
	WorkersDev bool   `json:"workers_dev"`
	Error      string `json:"error,omitempty"`
}

// ContainerStatus describes the container application.
type ContainerStatus struct {
	Name            string         `json:"name,omitempty"`
	ID              string         `json:"id,omitempty"`
	Exists          bool           `json:"exists"`
	Version         int            `json:"version,omitempty"`
	Instances       int            `json:"instances"`
	MaxInstances    int            `json:"max_instances,omitempty"`
	Health          map[string]int `json:"health,omitempty"`
	ActiveRolloutID string         `json:"active_rollout_id,omitempty"`
	Error           string         `json:"error,omitempty"`
}

// GatewayStatus is the gateway's /api/status.
type GatewayStatus struct {
	OK        bool   `json:"ok"`
	Status    string `json:"status,omitempty"`
	ProcessID string `json:"process_id,omitempty"`
	Error     string `json:"error,omitempty"`
	fix       string
}

// SecretsStatus compares the Worker's secrets with what is required.
type SecretsStatus struct {
	// Source is "moltctl.yaml" or "moltworker" (its required set).
	Source  string   `json:"source"`
	Present []string `json:"present"`
	Missing []string `json:"missing"`
	Error   string   `json:"error,omitempty"`
}

// AccessStatus describes Cloudflare Access in front of the Worker.
type AccessStatus struct {
	Configured   bool   `json:"configured"`
	AppID        string `json:"app_id,omitempty"`
	Domain       string `json:"domain,omitempty"`
	ServiceToken bool   `json:"service_token"`
	Error        string `json:"error,omitempty"`
}

// BackupStatus is R2 persistence as the Worker reports it.
type BackupStatus struct {
	Configured bool     `json:"configured"`
	Required   bool     `json:"required"`
	Bucket     string   `json:"bucket,omitempty"`
	LastSync   string   `json:"last_sync,omitempty"`
	Missing    []string `json:"missing,omitempty"`
	Error      string   `json:"error,omitempty"`
	fix        string
}

func collect(ctx context.Context, f *cmdutil.Factory, t *target.Target, wait time.Duration) *Report {
	rep := &Report{Problems: []Problem{}, Warnings: []Problem{}, LastDeploy: t.State.LastDeploy}
	rep.Worker = WorkerStatus{Name: t.Worker, URL: t.URL}
	man, manErr := manifest.Load(manifest.Path(t.ProjectDir))
	if manErr != nil && !errors.Is(manErr, manifest.ErrNotFound) {
		// The error names the file, line and column.
		rep.Warnings = append(rep.Warnings, Problem{Component: "manifest", Message: manErr.Error(), Fix: "run `moltctl secrets check` for details"})
	}
	if t.StateErr != nil {
		rep.Warnings = append(rep.Warnings, Problem{Component: "state", Message: t.StateErr.Error(), Fix: "run `moltctl deploy` to rebuild it from Cloudflare"})
	}

	var wg sync.WaitGroup
	run := func(fn func()) { wg.Add(1); go func() { defer wg.Done(); fn() }() }
	run(func() { workerStatus(ctx, t, &rep.Worker) })
	run(func() { rep.Container = containerStatus(ctx, t) })
	run(func() { rep.Secrets = secretsStatus(ctx, t, man) })
	run(func() { rep.Access = accessStatus(ctx, t) })
	var client *assistant.Client
	if t.URL != "" {
		client, _ = t.Assistant()
	}
	run(func() { rep.Gateway = gatewayStatus(ctx, client, wait) })
	wg.Wait()
	diagnoseGateway(ctx, t, client, wait, rep)
	// The admin API starts the gateway if it is down; ask it last.
	rep.Backup = backupStatus(ctx, t, client, man)
	judge(rep, t, f.Command)
	sleepWarning(rep, f, t, man)
	return rep
}

// sleepWarning warns when the container never sleeps, or has stayed awake
// far past SANDBOX_SLEEP_AFTER (moltworker #156, #244): /api/status names
// the gateway process, and a process seen running for that long means the
// container did not sleep in between.
func sleepWarning(rep *Report, f *cmdutil.Factory, t *target.Target, man *manifest.Manifest) {
	if !rep.Worker.Exists || !rep.Gateway.OK {
		return
	}
	now := time.Now()
	if f.Now != nil {
		now = f.Now()
	}
	record := ""
	if t.Store != nil {
		record = filepath.Join(t.Store.Dir, "awake.json")
	}
	since := assistant.ObserveAwake(record, rep.Gateway.ProcessID, now)
	sleep := ""
	if t.Config != nil {
		sleep, _ = t.Config.Vars["SANDBOX_SLEEP_AFTER"].(string)
	}
	if man != nil {
		if v, ok := man.Vars["SANDBOX_SLEEP_AFTER"]; ok {
			sleep = v
		}
	}
	if msg, fix := assistant.SleepWarning(sleep, now.Sub(since)); msg != "" {
		rep.Warnings = append(rep.Warnings, Problem{Component: "container", Message: msg, Fix: fix})
	}
}

func workerStatus(ctx context.Context, t *target.Target, w *WorkerStatus) {
	api := t.API
	var deps struct {
		Deployments []struct {
			CreatedOn time.Time `json:"created_on"`
			Versions  []struct {
				VersionID  string  `json:"version_id"`
				Percentage float64 `json:"percentage"`
			} `json:"versions"`
		} `json:"deployments"`
	}
	err := api.Do(ctx, cfapi.Request{Method: http.MethodGet, Path: api.AccountPath("workers/scripts/%s/deployments", url.PathEscape(t.Worker))}, &deps)
	if cfapi.IsStatus(err, http.StatusNotFound) {
		return
	}
	if err != nil {
		w.Error = err.Error()
		return
	}
	w.Exists = true
	if len(deps.Deployments) > 0 {
		d := deps.Deployments[0]
		w.DeployedOn = d.CreatedOn
		for _, v := range d.Versions {
			if w.VersionID == "" || v.Percentage >= 100 {
				w.VersionID = v.VersionID
			}
		}
	}
	var sub struct {
		Enabled bool `json:"enabled"`
	}
	if err := api.Do(ctx, cfapi.Request{Method: http.MethodGet, Path: api.AccountPath("workers/scripts/%s/subdomain", url.PathEscape(t.Worker))}, &sub); err != nil {
		w.Error = err.Error()
		return
	}
	w.WorkersDev = sub.Enabled
}

func containerName(t *target.Target) string {
	if t.State.ContainerApp.Name != "" {
		return t.State.ContainerApp.Name
	}
	if len(t.Config.Containers) > 0 {
		return t.Config.ContainerAppName(t.Config.Containers[0])
	}
	return ""
}

func containerStatus(ctx context.Context, t *target.Target) ContainerStatus {
	cs := ContainerStatus{Name: containerName(t)}
	if cs.Name == "" {
		return cs
	}
	var apps []struct {
		ID              string `json:"id"`
		Name            string `json:"name"`
		Version         int    `json:"version"`
		Instances       int    `json:"instances"`
		MaxInstances    int    `json:"max_instances"`
		ActiveRolloutID string `json:"active_rollout_id"`
		Health          struct {
			Instances map[string]int `json:"instances"`
		} `json:"health"`
	}
	api := t.API
	if err := api.Do(ctx, cfapi.Request{Method: http.MethodGet, Path: api.AccountPath("containers/applications")}, &apps); err != nil {
		cs.Error = err.Error()
		return cs
	}
	for _, a := range apps {
		if a.Name != cs.Name {
			continue
		}
		cs.Exists, cs.ID, cs.Version = true, a.ID, a.Version
		cs.Instances, cs.MaxInstances, cs.ActiveRolloutID = a.Instances, a.MaxInstances, a.ActiveRolloutID
		cs.Health = a.Health.Instances
	}
	return cs
}

func secretsStatus(ctx context.Context, t *target.Target, man *manifest.Manifest) SecretsStatus {
	ss := SecretsStatus{Source: "moltworker", Present: []string{}, Missing: []string{}}
	var list []struct {
		Name string `json:"name"`
	}
	api := t.API
	err := api.Do(ctx, cfapi.Request{Method: http.MethodGet, Path: api.AccountPath("workers/scripts/%s/secrets", url.PathEscape(t.Worker))}, &list)
	if cfapi.IsStatus(err, http.StatusNotFound) {
		return ss
	}
	if err != nil {
		ss.Error = err.Error()
		return ss
	}
	have := map[string]bool{}
	for _, s := range list {
		have[s.Name] = true
		ss.Present = append(ss.Present, s.Name)
	}
	sort.Strings(ss.Present)
	if man != nil && len(man.Secrets) > 0 {
		ss.Source = "moltctl.yaml"
		for _, sec := range man.Secrets {
			if !have[sec.Name] {
				ss.Missing = append(ss.Missing, sec.Name)
			}
		}
		sort.Strings(ss.Missing)
		return ss
	}
	for _, name := range []string{"MOLTBOT_GATEWAY_TOKEN", "CF_ACCESS_TEAM_DOMAIN", "CF_ACCESS_AUD"} {
		if !have[name] {
			ss.Missing = append(ss.Missing, name)
		}
	}
	anyProvider := false
	for _, g := range secrets.ProviderChoices() {
		all := true
		for _, n := range g {
			all = all && have[n]
		}
		anyProvider = anyProvider || all
	}
	if !anyProvider {
		ss.Missing = append(ss.Missing, "ANTHROPIC_API_KEY (or another AI provider)")
	}
	return ss
}

func workerHost(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Hostname()
}

func accessStatus(ctx context.Context, t *target.Target) AccessStatus {
	as := AccessStatus{ServiceToken: t.ServiceToken().ClientID != "" && t.ServiceToken().ClientSecret != ""}
	api := t.API
	host := t.WorkersDevHost()
	if host == "" {
		host = workerHost(t.URL)
	}
	if t.State.Access.AppID != "" {
		var app cfapi.AccessAppRef
		err := api.Do(ctx, cfapi.Request{Method: http.MethodGet, Path: api.AccountPath("access/apps/%s", url.PathEscape(t.State.Access.AppID))}, &app)
		switch {
		case err == nil:
			as.Configured, as.AppID, as.Domain = true, app.ID, app.Domain
			return as
		case !cfapi.IsStatus(err, http.StatusNotFound):
			as.Error = err.Error()
			return as
		}
	}
	if host == "" {
		return as
	}
	apps, err := api.FindAccessAppsByDomain(ctx, host)
	if err != nil {
		as.Error = err.Error()
		return as
	}
	if len(apps) > 0 {
		as.Configured, as.AppID, as.Domain = true, apps[0].ID, apps[0].Domain
	}
	return as
}

func gatewayStatus(ctx context.Context, c *assistant.Client, wait time.Duration) GatewayStatus {
	if c == nil {
		return GatewayStatus{Error: "the Worker's URL is unknown"}
	}
	var (
		st  *assistant.GatewayStatus
		err error
	)
	if wait > 0 {
		st, err = c.WaitRunning(ctx, wait, nil)
	} else {
		st, err = c.Status(ctx)
	}
	gs := GatewayStatus{}
	if st != nil {
		gs.OK, gs.Status, gs.ProcessID, gs.Error = st.OK, st.Status, st.ProcessID, st.Error
	}
	if err != nil {
		gs.OK = false
		gs.Error = err.Error()
		gs.fix = clierr.HintOf(err)
	}
	return gs
}

// diagnoseGateway reads the Worker's logs for a few seconds when the
// gateway is stuck (a process that does not listen, or --wait ran out) and
// /api/status named no cause, and names the cause the logs show. A gateway
// that is merely not running (asleep) is not worth the wait.
func diagnoseGateway(ctx context.Context, t *target.Target, c *assistant.Client, wait time.Duration, rep *Report) {
	g := &rep.Gateway
	stuck := g.Status == assistant.StatusNotResponding || (wait > 0 && g.Status != "")
	if c == nil || t.API == nil || !rep.Worker.Exists || g.OK || !stuck || len(assistant.Diagnose(g.Error)) > 0 {
		return
	}
	ds, _ := assistant.DiagnoseLogs(ctx, t.API, t.Worker, assistant.LogWindow, func(ctx context.Context) {
		_, _ = c.Status(ctx)
	})
	if len(ds) > 0 {
		g.fix = ds[0].Hint()
	}
}

func backupStatus(ctx context.Context, t *target.Target, c *assistant.Client, man *manifest.Manifest) BackupStatus {
	bs := BackupStatus{Bucket: t.State.Bucket, Required: man != nil && man.Persistence.R2}
	if c == nil {
		return bs
	}
	if err := t.RequireAdmin(); err != nil {
		bs.Error, bs.fix = err.Error(), clierr.HintOf(err)
		return bs
	}
	s, err := c.Storage(ctx)
	if err != nil {
		bs.Error, bs.fix = err.Error(), clierr.HintOf(err)
		return bs
	}
	bs.Configured, bs.LastSync, bs.Missing = s.Configured, s.LastSync, s.Missing
	return bs
}

// judge decides health and lists the problems with their fixes; command
// spells the moltctl commands they suggest, with this run's global flags.
func judge(rep *Report, t *target.Target, command func(string) string) {
	bad := func(comp, msg, fix string) {
		rep.Problems = append(rep.Problems, Problem{Component: comp, Message: msg, Fix: fix})
	}
	warn := func(comp, msg, fix string) {
		rep.Warnings = append(rep.Warnings, Problem{Component: comp, Message: msg, Fix: fix})
	}
	w := rep.Worker
	switch {
	case w.Error != "":
		bad("worker", w.Error, "")
	case !w.Exists:
		bad("worker", fmt.Sprintf("Worker %q is not deployed", w.Name), "run `"+command("deploy")+"`")
	case !w.WorkersDev:
		bad("worker", "the workers.dev route is disabled", "run `"+command("deploy")+"` to enable it")
	}
	if w.Exists && w.VersionID != "" && t.State.Worker.VersionID != "" && w.VersionID != t.State.Worker.VersionID {
		warn("worker", fmt.Sprintf("the deployed version %s is not the one moltctl last deployed (%s)", w.VersionID, t.State.Worker.VersionID),
			"someone deployed another way; run `"+command("deploy")+"` to converge")
	}
	c := rep.Container
	switch {
	case !w.Exists && w.Error == "":
		// Nothing deployed: the container's state (often a 401 without
		// Workers Paid) is not a second problem to fix.
	case c.Error != "":
		bad("container", c.Error, "")
	case c.Name != "" && !c.Exists && w.Exists:
		bad("container", fmt.Sprintf("container application %q does not exist", c.Name), "run `"+command("deploy")+"`")
	}
	g := rep.Gateway
	if w.Exists && !g.OK {
		msg := "the gateway is " + g.Status
		if g.Status == "" {
			msg = "the gateway did not answer"
		}
		if g.Error != "" {
			msg += ": " + g.Error
		}
		fix := g.fix
		if fix == "" {
			fix = "a cold start takes 1-2 minutes: `" + command("status --wait 3m") + "` starts it and waits; see `" + command("logs") + "`"
		}
		bad("gateway", msg, fix)
	}
	if g.OK && g.ProcessID != "" && g.ProcessID == t.State.StaleGatewayProcess {
		warn("gateway", fmt.Sprintf("the gateway (process %s) started before the last secret change and still has the old values", g.ProcessID),
			"run `"+command("restart")+"`")
	}
	s := rep.Secrets
	switch {
	case s.Error != "":
		bad("secrets", s.Error, "")
	case w.Exists && len(s.Missing) > 0:
		set, _ := secrets.SetCommand(s.Missing)
		if set == "" {
			set = "moltctl secrets set NAME"
		}
		bad("secrets", fmt.Sprintf("missing on the Worker: %v", s.Missing), "`"+command(strings.TrimPrefix(set, "moltctl "))+"`, then `"+command("deploy")+"`")
	}
	a := rep.Access
	switch {
	case a.Error != "":
		bad("access", a.Error, "")
	case w.Exists && !a.Configured:
		bad("access", "no Cloudflare Access application protects the Worker", "run `"+command("deploy")+"`: it creates the Access application")
	case w.Exists && !a.ServiceToken:
		warn("access", "moltctl has no service token for the admin API", "run `"+command("deploy")+"` to create one")
	}
	b := rep.Backup
	switch {
	case !w.Exists:
	case b.Error != "":
		bad("backup", b.Error, b.fix)
	case !b.Configured && b.Required:
		bad("backup", fmt.Sprintf("R2 backup is not configured (missing %v)", b.Missing), "run `"+command("deploy")+"` (persistence.r2 is on in moltctl.yaml)")
	case !b.Configured:
		warn("backup", "R2 backup is not configured: paired devices and conversations are lost when the container restarts", "set persistence.r2: true in moltctl.yaml and run `"+command("deploy")+"`")
	case b.LastSync == "":
		warn("backup", "R2 backup is configured but has not synced yet", "the container syncs every 30 s after a change")
	}
	rep.Healthy = len(rep.Problems) == 0
}
