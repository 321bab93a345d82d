package cfemu

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

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
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.authorize(w, r, permContainers); !ok {
			return
		}
		if !s.checkAccount(w, r) {
			return
		}
		if !s.state.Account.WorkersPaid || !s.state.Account.ContainersEnabled {
			fail(w, http.StatusUnauthorized, 10000, "Unauthorized")
			return
		}
		s.workers.PruneLocked()
		if s.state.Containers.Applications == nil {
			s.state.Containers.Applications = map[string]*ContainerApp{}
		}
		if s.state.Containers.Credentials == nil {
			s.state.Containers.Credentials = map[string]*RegistryCredential{}
		}
		h(w, r)
	}
}

// failContainers answers as the Containers API does: the error message is
// itself JSON {"error": ENUM, "details": {...}}, which wrangler's formatError
// parses and prints.
func failContainers(w http.ResponseWriter, status int, enum string, details map[string]any) {
	b, _ := json.Marshal(map[string]any{"error": enum, "details": details})
	writeJSON(w, status, envelope{Success: false, Errors: []apiError{{Code: 1000, Message: string(b)}}, Messages: []any{}})
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

// registryHosts are the registry domains the credentials endpoint knows.
func (s *Server) isRegistryDomain(domain string) bool {
	return domain == s.RegistryHost() || domain == "registry.cloudflare.com"
}

func (s *Server) registryCredentials(w http.ResponseWriter, r *http.Request) {
	domain := r.PathValue("domain")
	if !s.isRegistryDomain(domain) {
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
	details := map[string]any{}
	if body.ExpirationMinutes <= 0 {
		details["expiration_minutes"] = "must be a positive number of minutes"
	}
	if len(body.Permissions) == 0 {
		details["permissions"] = "must list push and/or pull"
	}
	for _, p := range body.Permissions {
		if p != "push" && p != "pull" && p != "library_push" {
			details["permissions"] = "unknown permission " + strconv.Quote(p)
		}
	}
	if len(details) > 0 {
		failContainers(w, http.StatusBadRequest, "VALIDATE_INPUT", details)
		return
	}
	password := "cfemu-registry." + newID() + newID()
	sum := sha256.Sum256([]byte(password))
	cred := &RegistryCredential{
		Username:       "v1",
		Permissions:    body.Permissions,
		ExpiresAt:      s.opts.Now().Add(time.Duration(body.ExpirationMinutes) * time.Minute).UTC(),
		PasswordSHA256: hex.EncodeToString(sum[:]),
	}
	s.state.Containers.Credentials[cred.PasswordSHA256] = cred
	ok(w, http.StatusCreated, map[string]any{
		"account_id":    s.state.Account.ID,
		"registry_host": domain,
		"username":      cred.Username,
		"password":      password,
	})
}

// sortedApps returns the applications oldest first.
func (s *Server) sortedApps() []*ContainerApp {
	apps := make([]*ContainerApp, 0, len(s.state.Containers.Applications))
	for _, a := range s.state.Containers.Applications {
		apps = append(apps, a)
	}
	sort.Slice(apps, func(i, j int) bool {
		if !apps[i].CreatedAt.Equal(apps[j].CreatedAt) {
			return apps[i].CreatedAt.Before(apps[j].CreatedAt)
		}
		return apps[i].ID < apps[j].ID
	})
	return apps
}

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
			"id": a.ID, "name": a.Name, "image": a.Image(), "instance_type": instanceTypeOf(a.Configuration),
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

// appRequest is the body of create and modify.
type appRequest struct {
	Name                     *string        `json:"name"`
	SchedulingPolicy         *string        `json:"scheduling_policy"`
	Configuration            map[string]any `json:"configuration"`
	Instances                *int           `json:"instances"`
	MaxInstances             *int           `json:"max_instances"`
	Constraints              any            `json:"constraints"`
	Affinities               any            `json:"affinities"`
	DurableObjects           *ContainerDO   `json:"durable_objects"`
	RolloutActiveGracePeriod *int           `json:"rollout_active_grace_period"`
}

// checkImage answers the Containers API's error when ref is not in the
// registry and reports whether it is.
func (s *Server) checkImage(w http.ResponseWriter, ref string) bool {
	if ref == "" {
		failContainers(w, http.StatusBadRequest, "VALIDATE_INPUT", map[string]any{"configuration.image": "is required"})
		return false
	}
	host, _, _ := strings.Cut(ref, "/")
	if !s.isRegistryDomain(host) {
		failContainers(w, http.StatusBadRequest, "IMAGE_REGISTRY_NOT_CONFIGURED", map[string]any{"image": ref})
		return false
	}
	if !s.imageExists(ref) {
		failContainers(w, http.StatusBadRequest, "IMAGE_REGISTRY_DOESNT_CONTAIN_IMAGE", map[string]any{"image": ref})
		return false
	}
	return true
}

// instanceTypes are the named sizes a configuration may ask for
// (packages/wrangler/src/cloudchamber/instance-type/instance-type.ts).
var instanceTypes = map[string]struct {
	vcpu           float64
	memMiB, diskMB int
}{
	"lite": {0.0625, 256, 2000}, "dev": {0.0625, 256, 2000}, "basic": {0.25, 1024, 4000},
	"standard": {0.5, 4096, 8000}, "standard-1": {0.5, 4096, 8000}, "standard-2": {1, 6144, 12000},
	"standard-3": {2, 8192, 16000}, "standard-4": {4, 12288, 20000},
}

// resolveInstanceType turns a configuration's instance_type into the
// vcpu, memory_mib and disk.size_mb the API stores and answers with: the
// API does not echo instance_type, which is why wrangler infers it back
// from those three (inferInstanceType, and cleanApplicationFromAPI in
// packages/wrangler/src/containers/deploy.ts). A configuration with
// neither gets lite's sizes (the documented 2 GB default disk,
// containers-shared/src/client/models/Disk.ts). It returns the problem with
// an unknown type, "" when there is none.
func resolveInstanceType(conf map[string]any) string {
	it, named := conf["instance_type"].(string)
	delete(conf, "instance_type")
	if !named {
		if _, has := conf["vcpu"]; has {
			return ""
		}
		it = "lite"
	}
	size, ok := instanceTypes[it]
	if !ok {
		return "unknown instance type " + strconv.Quote(it)
	}
	conf["vcpu"], conf["memory_mib"], conf["disk"] = size.vcpu, size.memMiB, map[string]any{"size_mb": size.diskMB}
	return ""
}

// number reads a JSON number that may have been decoded (float64) or set
// here (int).
func number(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int:
		return float64(n)
	}
	return -1
}

// instanceTypeOf names a stored configuration's size, "" when it is none of
// the named ones (the dashboard's list shows the name).
func instanceTypeOf(conf map[string]any) string {
	disk, _ := conf["disk"].(map[string]any)
	vcpu, mem, size := number(conf["vcpu"]), number(conf["memory_mib"]), number(disk["size_mb"])
	for _, n := range []string{"lite", "basic", "standard-1", "standard-2", "standard-3", "standard-4"} {
		if t := instanceTypes[n]; t.vcpu == vcpu && float64(t.memMiB) == mem && float64(t.diskMB) == size {
			return n
		}
	}
	return ""
}

func (s *Server) createContainerApp(w http.ResponseWriter, r *http.Request) {
	var req appRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	details := map[string]any{}
	if req.Name == nil || *req.Name == "" {
		details["name"] = "is required"
	}
	if req.Configuration == nil {
		details["configuration"] = "is required"
	}
	if req.SchedulingPolicy == nil {
		details["scheduling_policy"] = "is required"
	}
	if len(details) > 0 {
		failContainers(w, http.StatusBadRequest, "VALIDATE_INPUT", details)
		return
	}
	for _, a := range s.state.Containers.Applications {
		if a.Name == *req.Name {
			failContainers(w, http.StatusBadRequest, "VALIDATE_INPUT", map[string]any{"name": "an application with this name already exists"})
			return
		}
	}
	if req.DurableObjects != nil {
		script, class, found := s.doNamespace(req.DurableObjects.NamespaceID)
		if !found {
			failContainers(w, http.StatusBadRequest, "DURABLE_OBJECT_NOT_FOUND", map[string]any{"namespace_id": req.DurableObjects.NamespaceID})
			return
		}
		if !containerEnabled(s.state.Scripts[script], class) {
			failContainers(w, http.StatusBadRequest, "DURABLE_OBJECT_NOT_CONTAINER_ENABLED", map[string]any{"namespace_id": req.DurableObjects.NamespaceID, "class_name": class})
			return
		}
		for _, a := range s.state.Containers.Applications {
			if a.DurableObjects != nil && a.DurableObjects.NamespaceID == req.DurableObjects.NamespaceID {
				failContainers(w, http.StatusBadRequest, "DURABLE_OBJECT_ALREADY_HAS_APPLICATION", map[string]any{"name": a.Name, "id": a.ID})
				return
			}
		}
	}
	img, _ := req.Configuration["image"].(string)
	if !s.checkImage(w, img) {
		return
	}
	if msg := resolveInstanceType(req.Configuration); msg != "" {
		failContainers(w, http.StatusBadRequest, "VALIDATE_INPUT", map[string]any{"configuration.instance_type": msg})
		return
	}
	now := s.opts.Now().UTC()
	a := &ContainerApp{
		ID: newID(), CreatedAt: now, UpdatedAt: now, AccountID: s.state.Account.ID, Name: *req.Name, Version: 1,
		SchedulingPolicy: *req.SchedulingPolicy, Configuration: req.Configuration, Constraints: req.Constraints,
		Affinities: req.Affinities, DurableObjects: req.DurableObjects, RolloutActiveGracePeriod: req.RolloutActiveGracePeriod,
	}
	if req.Instances != nil {
		a.Instances = *req.Instances
	}
	if req.MaxInstances != nil {
		a.MaxInstances = *req.MaxInstances
	}
	s.state.Containers.Applications[a.ID] = a
	ok(w, http.StatusCreated, s.appView(a))
}

// appFor finds {app_id} or answers 404 as the Containers API does.
func (s *Server) appFor(w http.ResponseWriter, r *http.Request) *ContainerApp {
	a := s.state.Containers.Applications[r.PathValue("app_id")]
	if a == nil {
		fail(w, http.StatusNotFound, 1000, "APPLICATION_NOT_FOUND")
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
	var req appRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.Configuration != nil {
		img, _ := req.Configuration["image"].(string)
		if img == "" {
			img = a.Image()
			req.Configuration["image"] = img
		}
		if !s.checkImage(w, img) {
			return
		}
		if _, has := req.Configuration["vcpu"]; !has {
			if _, named := req.Configuration["instance_type"]; !named {
				req.Configuration["vcpu"], req.Configuration["memory_mib"], req.Configuration["disk"] = a.Configuration["vcpu"], a.Configuration["memory_mib"], a.Configuration["disk"]
			}
		}
		if msg := resolveInstanceType(req.Configuration); msg != "" {
			failContainers(w, http.StatusBadRequest, "VALIDATE_INPUT", map[string]any{"configuration.instance_type": msg})
			return
		}
		a.Configuration = req.Configuration
	}
	if req.SchedulingPolicy != nil {
		a.SchedulingPolicy = *req.SchedulingPolicy
	}
	if req.Instances != nil {
		a.Instances = *req.Instances
	}
	if req.MaxInstances != nil {
		a.MaxInstances = *req.MaxInstances
	}
	if req.Constraints != nil {
		a.Constraints = req.Constraints
	}
	if req.Affinities != nil {
		a.Affinities = req.Affinities
	}
	if req.RolloutActiveGracePeriod != nil {
		a.RolloutActiveGracePeriod = req.RolloutActiveGracePeriod
	}
	a.Version++
	a.UpdatedAt = s.opts.Now().UTC()
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
	var req struct {
		Description    string `json:"description"`
		Strategy       string `json:"strategy"`
		Kind           string `json:"kind"`
		StepPercentage *int   `json:"step_percentage"`
		Steps          []struct {
			StepSize    map[string]int `json:"step_size"`
			Description string         `json:"description"`
		} `json:"steps"`
		TargetConfiguration map[string]any `json:"target_configuration"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	details := map[string]any{}
	if req.Description == "" {
		details["description"] = "is required"
	}
	if req.Strategy != "rolling" {
		details["strategy"] = "must be rolling"
	}
	if req.TargetConfiguration == nil {
		details["target_configuration"] = "is required"
	}
	if req.StepPercentage != nil && !slices.Contains([]int{5, 10, 20, 25, 50, 100}, *req.StepPercentage) {
		details["step_percentage"] = "must be one of 5, 10, 20, 25, 50, 100"
	}
	if len(details) > 0 {
		failContainers(w, http.StatusBadRequest, "VALIDATE_INPUT", details)
		return
	}
	target := map[string]any{}
	for k, v := range a.Configuration {
		target[k] = v
	}
	for k, v := range req.TargetConfiguration {
		target[k] = v
	}
	img, _ := target["image"].(string)
	if !s.checkImage(w, img) {
		return
	}
	if msg := resolveInstanceType(target); msg != "" {
		failContainers(w, http.StatusBadRequest, "VALIDATE_INPUT", map[string]any{"target_configuration.instance_type": msg})
		return
	}
	if req.Kind == "" {
		req.Kind = "full_auto"
	}
	now := s.opts.Now().UTC()
	ro := &ContainerRollout{
		ID: newID(), Description: req.Description, CreatedAt: now, LastUpdatedAt: now, Kind: req.Kind, Strategy: req.Strategy,
		CurrentVersion: a.Version, TargetVersion: a.Version + 1, CurrentConfiguration: a.Configuration, TargetConfiguration: target,
		Status: "completed",
	}
	if len(req.Steps) > 0 {
		for i, st := range req.Steps {
			ro.Steps = append(ro.Steps, account.RolloutStep{ID: i + 1, StepSize: st.StepSize, Description: st.Description, Status: "completed"})
		}
	} else {
		pct := 100
		if req.StepPercentage != nil {
			pct = *req.StepPercentage
		}
		ro.Steps = []account.RolloutStep{{ID: 1, StepSize: map[string]int{"percentage": pct}, Description: "Step 1 of 1", Status: "completed"}}
	}
	ro.Progress = map[string]int{"total_steps": len(ro.Steps), "current_step": len(ro.Steps), "updated_instances": a.MaxInstances, "total_instances": a.MaxInstances}
	a.Configuration = target
	a.Version++
	a.UpdatedAt = now
	a.ActiveRolloutID = ro.ID
	a.Rollouts = append(a.Rollouts, ro)
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

// containerEnabled reports whether the script's upload metadata declared a
// container for the Durable Object class. Scripts prepared without any
// containers metadata (tests building state directly) count as enabled.
func containerEnabled(sc *Script, class string) bool {
	if sc == nil || len(sc.Containers) == 0 || string(sc.Containers) == "null" {
		return true
	}
	var cs []struct {
		ClassName string `json:"class_name"`
	}
	if json.Unmarshal(sc.Containers, &cs) != nil {
		return true
	}
	for _, c := range cs {
		if c.ClassName == class {
			return true
		}
	}
	return false
}
