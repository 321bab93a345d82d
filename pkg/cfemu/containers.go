package cfemu

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/moltctl/moltctl/pkg/cfemu/account"
	"github.com/moltctl/moltctl/pkg/cfemu/worker"
)

// permContainers is the permission every Containers endpoint needs.
const permContainers = "Cloudflare Containers Write"

func (s *Server) registerContainers() {
	base := "/accounts/{account_id}/containers"
	s.handle("GET", base, s.containersGuard(s.publicListContainers))
	s.handle("GET", base+"/me", s.containersGuard(s.containersMe))
	s.handle("POST", base+"/registries/{domain}/credentials", s.containersGuard(s.registryCredentials))
	s.handle("GET", base+"/applications", s.containersGuard(s.listContainerApps))
	s.handle("POST", base+"/applications", s.containersGuard(s.createContainerApp))
	s.handle("GET", base+"/applications/{app_id}", s.containersGuard(s.getContainerApp))
	s.handle("PATCH", base+"/applications/{app_id}", s.containersGuard(s.modifyContainerApp))
	s.handle("DELETE", base+"/applications/{app_id}", s.containersGuard(s.deleteContainerApp))
	s.handle("POST", base+"/applications/{app_id}/rollouts", s.containersGuard(s.createRollout))
	s.handle("GET", base+"/applications/{app_id}/rollouts", s.containersGuard(s.listRollouts))
	s.handle("GET", base+"/dash/applications", s.containersGuard(s.dashContainerApps))
}

// containersGuard locks the state, checks the token and the account's
// entitlement: without Workers Paid and Containers every endpoint answers
// 401, which wrangler prints as "Unauthorized".
func (s *Server) containersGuard(h http.HandlerFunc) http.HandlerFunc {
	return s.guarded(permContainers, func(w http.ResponseWriter, r *http.Request, _ *Token) {
		if err := s.state.ContainersAllowed(); err != nil {
			writeFailure(w, err)
			return
		}
		s.workers.PruneLocked()
		h(w, r)
	})
}

func (s *Server) containersMe(w http.ResponseWriter, r *http.Request) {
	acct := s.state.Account.ID
	ok(w, http.StatusOK, map[string]any{
		"external_account_id": acct,
		"legacy_identity":     "cfemu-" + acct[:8],
		"limits": map[string]any{
			"account_id":                acct,
			"vcpu_per_deployment":       4,
			"memory_per_deployment":     "12GB",
			"memory_mib_per_deployment": 12288,
			"disk_per_deployment":       "20GB",
			"disk_mb_per_deployment":    20000,
			"total_vcpu":                1500,
			"total_memory":              "6000GB",
			"total_memory_mib":          6144000,
			"total_disk_mb":             30000000,
			"node_group":                "metal",
			"network_modes":             []string{"public", "private"},
			"ipv4s":                     0,
		},
		"locations": []any{},
		"defaults":  map[string]any{"vcpus": 0.0625, "memory_mib": 256, "disk_mb": 2000},
	})
}

// imageRegistry is the emulator's image registry as the Containers model asks
// it (account.Registry). The caller holds s.mu.
type imageRegistry struct{ s *Server }

// IsDomain: the registry domains the credentials endpoint knows.
func (g imageRegistry) IsDomain(domain string) bool {
	return domain == g.s.RegistryHost() || domain == "registry.cloudflare.com"
}

func (g imageRegistry) ImageExists(ref string) bool { return g.s.imageExists(ref) }

func (s *Server) registryCredentials(w http.ResponseWriter, r *http.Request) {
	domain := r.PathValue("domain")
	if !(imageRegistry{s}).IsDomain(domain) {
		fail(w, http.StatusNotFound, 1000, "The image registry does not exist")
		return
	}
	var body struct {
		ExpirationMinutes int      `json:"expiration_minutes"`
		Permissions       []string `json:"permissions"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	cred, password, err := s.state.IssueRegistryCredentials(s.opts.Now(), body.ExpirationMinutes, body.Permissions)
	if err != nil {
		writeFailure(w, err)
		return
	}
	ok(w, http.StatusCreated, map[string]any{
		"account_id":    s.state.Account.ID,
		"registry_host": domain,
		"username":      cred.Username,
		"password":      password,
	})
}

// sortedApps returns the applications oldest first.
func (s *Server) sortedApps() []*ContainerApp { return s.state.Containers.SortedApps() }

// appHealth derives instance health from the deployed Worker bound to the app.
func (s *Server) appHealth(a *ContainerApp) map[string]int {
	h := map[string]int{"active": 0, "healthy": 0, "failed": 0, "starting": 0, "scheduling": 0}
	if a.DurableObjects == nil {
		return h
	}
	script, _, found := s.doNamespace(a.DurableObjects.NamespaceID)
	if !found {
		return h
	}
	switch s.workers.StatusLocked(script) {
	case worker.StatusRunning:
		h["active"], h["healthy"] = 1, 1
	case worker.StatusStarting:
		h["active"], h["starting"] = 1, 1
	}
	return h
}

// appView is an application as the API shows it.
func (s *Server) appView(a *ContainerApp) map[string]any {
	b, _ := json.Marshal(a)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	delete(m, "rollouts")
	delete(m, "updated_at")
	m["health"] = map[string]any{"instances": s.appHealth(a)}
	return m
}

func (s *Server) listContainerApps(w http.ResponseWriter, r *http.Request) {
	name, image := r.URL.Query().Get("name"), r.URL.Query().Get("image")
	out := []any{}
	for _, a := range s.sortedApps() {
		if (name != "" && a.Name != name) || (image != "" && a.Image() != image) {
			continue
		}
		out = append(out, s.appView(a))
	}
	ok(w, http.StatusOK, out)
}

func (s *Server) publicListContainers(w http.ResponseWriter, r *http.Request) {
	name, image := r.URL.Query().Get("name"), r.URL.Query().Get("image")
	out := []any{}
	for _, a := range s.sortedApps() {
		if (name != "" && a.Name != name) || (image != "" && a.Image() != image) {
			continue
		}
		v := map[string]any{
			"id": a.ID, "name": a.Name, "image": a.Image(), "instance_type": account.InstanceTypeOf(a.Configuration),
			"max_instances": a.MaxInstances, "version": a.Version, "created_at": a.CreatedAt, "updated_at": a.UpdatedAt,
			"health": map[string]any{"active": s.appHealth(a)["active"]},
		}
		if a.DurableObjects != nil {
			v["durable_object"] = map[string]any{"namespace_id": a.DurableObjects.NamespaceID}
		}
		if o, has := a.Configuration["observability"]; has {
			v["observability"] = o
		}
		if a.RolloutActiveGracePeriod != nil {
			v["rollout_active_grace_period"] = *a.RolloutActiveGracePeriod
		}
		out = append(out, v)
	}
	ok(w, http.StatusOK, out)
}

func (s *Server) dashContainerApps(w http.ResponseWriter, r *http.Request) {
	apps := s.sortedApps()
	perPage, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if perPage <= 0 {
		perPage = len(apps)
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("page_token"))
	start = min(max(start, 0), len(apps))
	end := min(start+perPage, len(apps))
	out := []any{}
	for _, a := range apps[start:end] {
		out = append(out, map[string]any{
			"id": a.ID, "name": a.Name, "version": a.Version, "instances": s.appHealth(a)["active"],
			"image": a.Image(), "created_at": a.CreatedAt, "updated_at": a.UpdatedAt,
			"health": map[string]any{"instances": s.appHealth(a)},
		})
	}
	info := map[string]any{"per_page": perPage}
	if end < len(apps) {
		info["next_page_token"] = strconv.Itoa(end)
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "errors": []any{}, "messages": []any{}, "result": out, "result_info": info})
}

func (s *Server) createContainerApp(w http.ResponseWriter, r *http.Request) {
	var req account.ContainerAppRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	a, err := s.state.CreateContainerApp(s.opts.Now(), imageRegistry{s}, req)
	if err != nil {
		writeFailure(w, err)
		return
	}
	ok(w, http.StatusCreated, s.appView(a))
}

// appFor finds {app_id} or answers 404 as the Containers API does.
func (s *Server) appFor(w http.ResponseWriter, r *http.Request) *ContainerApp {
	a, err := s.state.Containers.App(r.PathValue("app_id"))
	if err != nil {
		writeFailure(w, err)
	}
	return a
}

func (s *Server) getContainerApp(w http.ResponseWriter, r *http.Request) {
	if a := s.appFor(w, r); a != nil {
		ok(w, http.StatusOK, s.appView(a))
	}
}

func (s *Server) modifyContainerApp(w http.ResponseWriter, r *http.Request) {
	a := s.appFor(w, r)
	if a == nil {
		return
	}
	var req account.ContainerAppRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if err := account.ModifyContainerApp(s.opts.Now(), imageRegistry{s}, a, req); err != nil {
		writeFailure(w, err)
		return
	}
	ok(w, http.StatusOK, s.appView(a))
}

func (s *Server) deleteContainerApp(w http.ResponseWriter, r *http.Request) {
	a := s.appFor(w, r)
	if a == nil {
		return
	}
	delete(s.state.Containers.Applications, a.ID)
	ok(w, http.StatusOK, map[string]any{})
}

func (s *Server) createRollout(w http.ResponseWriter, r *http.Request) {
	a := s.appFor(w, r)
	if a == nil {
		return
	}
	var req account.RolloutRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	ro, err := account.Rollout(s.opts.Now(), imageRegistry{s}, a, req)
	if err != nil {
		writeFailure(w, err)
		return
	}
	ok(w, http.StatusCreated, s.rolloutView(a, ro))
}

func (s *Server) rolloutView(a *ContainerApp, ro *ContainerRollout) map[string]any {
	b, _ := json.Marshal(ro)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["health"] = map[string]any{"instances": s.appHealth(a)}
	return m
}

func (s *Server) listRollouts(w http.ResponseWriter, r *http.Request) {
	a := s.appFor(w, r)
	if a == nil {
		return
	}
	out := []any{}
	for i := len(a.Rollouts) - 1; i >= 0; i-- {
		out = append(out, s.rolloutView(a, a.Rollouts[i]))
	}
	ok(w, http.StatusOK, out)
}
