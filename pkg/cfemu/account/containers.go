package account

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Registry is what the Containers model asks of the image registry, which
// the emulator serves beside the API.
type Registry interface {
	// IsDomain reports whether host names the registry.
	IsDomain(host string) bool
	// ImageExists reports whether the registry holds ref (tag or digest).
	ImageExists(ref string) bool
}

// containersError is the Containers API's refusal: the message is itself
// JSON {"error": ENUM, "details": {...}}, which wrangler's formatError
// parses and prints.
func containersError(status int, enum string, details map[string]any) *Error {
	b, _ := json.Marshal(map[string]any{"error": enum, "details": details})
	return &Error{Status: status, Code: 1000, Message: string(b)}
}

// ContainersAllowed answers 401, as every Containers endpoint does, without
// Workers Paid and Containers (wrangler prints "Unauthorized").
func (st *State) ContainersAllowed() error {
	if !st.Account.WorkersPaid || !st.Account.ContainersEnabled {
		return errorf(http.StatusUnauthorized, 10000, "Unauthorized")
	}
	c := &st.Containers
	if c.Applications == nil {
		c.Applications = map[string]*ContainerApp{}
	}
	if c.Credentials == nil {
		c.Credentials = map[string]*RegistryCredential{}
	}
	return nil
}

// IssueRegistryCredentials issues a registry login for minutes with
// permissions (push, pull, library_push) and returns its password, which
// is kept only as a hash.
func (st *State) IssueRegistryCredentials(now time.Time, minutes int, permissions []string) (*RegistryCredential, string, error) {
	details := map[string]any{}
	if minutes <= 0 {
		details["expiration_minutes"] = "must be a positive number of minutes"
	}
	if len(permissions) == 0 {
		details["permissions"] = "must list push and/or pull"
	}
	for _, p := range permissions {
		if p != "push" && p != "pull" && p != "library_push" {
			details["permissions"] = "unknown permission " + strconv.Quote(p)
		}
	}
	if len(details) > 0 {
		return nil, "", containersError(http.StatusBadRequest, "VALIDATE_INPUT", details)
	}
	password := "cfemu-registry." + NewID() + NewID()
	cred := &RegistryCredential{
		Username:       "v1",
		Permissions:    permissions,
		ExpiresAt:      now.Add(time.Duration(minutes) * time.Minute).UTC(),
		PasswordSHA256: FullHash(password),
	}
	if st.Containers.Credentials == nil {
		st.Containers.Credentials = map[string]*RegistryCredential{}
	}
	st.Containers.Credentials[cred.PasswordSHA256] = cred
	return cred, password, nil
}

// RegistryLogin is the live credential whose password this is, or nil.
func (st *State) RegistryLogin(now time.Time, password string) *RegistryCredential {
	cred := st.Containers.Credentials[FullHash(password)]
	if cred == nil || !now.Before(cred.ExpiresAt) {
		return nil
	}
	return cred
}

// Allows reports whether the credential may push (need "push") or pull.
func (c *RegistryCredential) Allows(need string) bool {
	for _, p := range c.Permissions {
		if p == need || (need == "push" && p == "library_push") {
			return true
		}
	}
	return false
}

// SortedApps returns the applications oldest first.
func (c *ContainersState) SortedApps() []*ContainerApp {
	apps := make([]*ContainerApp, 0, len(c.Applications))
	for _, a := range c.Applications {
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

// AppForNamespace is the application bound to a Durable Object namespace, or nil.
func (c *ContainersState) AppForNamespace(ns string) *ContainerApp {
	for _, a := range c.Applications {
		if ns != "" && a.DurableObjects != nil && a.DurableObjects.NamespaceID == ns {
			return a
		}
	}
	return nil
}

// App is application id, or 404 APPLICATION_NOT_FOUND.
func (c *ContainersState) App(id string) (*ContainerApp, error) {
	a := c.Applications[id]
	if a == nil {
		return nil, errorf(http.StatusNotFound, 1000, "APPLICATION_NOT_FOUND")
	}
	return a, nil
}

// ContainerAppRequest is the body of create and modify.
type ContainerAppRequest struct {
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

// checkImage refuses ref unless it is in the registry.
func checkImage(reg Registry, ref string) error {
	if ref == "" {
		return containersError(http.StatusBadRequest, "VALIDATE_INPUT", map[string]any{"configuration.image": "is required"})
	}
	host, _, _ := strings.Cut(ref, "/")
	if !reg.IsDomain(host) {
		return containersError(http.StatusBadRequest, "IMAGE_REGISTRY_NOT_CONFIGURED", map[string]any{"image": ref})
	}
	if !reg.ImageExists(ref) {
		return containersError(http.StatusBadRequest, "IMAGE_REGISTRY_DOESNT_CONTAIN_IMAGE", map[string]any{"image": ref})
	}
	return nil
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

// InstanceTypeOf names a stored configuration's size, "" when it is none of
// the named ones (the dashboard's list shows the name).
func InstanceTypeOf(conf map[string]any) string {
	disk, _ := conf["disk"].(map[string]any)
	vcpu, mem, size := number(conf["vcpu"]), number(conf["memory_mib"]), number(disk["size_mb"])
	for _, n := range []string{"lite", "basic", "standard-1", "standard-2", "standard-3", "standard-4"} {
		if t := instanceTypes[n]; t.vcpu == vcpu && float64(t.memMiB) == mem && float64(t.diskMB) == size {
			return n
		}
	}
	return ""
}

// CreateContainerApp creates a container application: its name unused, its
// Durable Object namespace (if any) a container-enabled class without an
// application, its image in the registry.
func (st *State) CreateContainerApp(now time.Time, reg Registry, req ContainerAppRequest) (*ContainerApp, error) {
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
		return nil, containersError(http.StatusBadRequest, "VALIDATE_INPUT", details)
	}
	for _, a := range st.Containers.Applications {
		if a.Name == *req.Name {
			return nil, containersError(http.StatusBadRequest, "VALIDATE_INPUT", map[string]any{"name": "an application with this name already exists"})
		}
	}
	if req.DurableObjects != nil {
		script, class, found := st.NamespaceOwner(req.DurableObjects.NamespaceID)
		if !found {
			return nil, containersError(http.StatusBadRequest, "DURABLE_OBJECT_NOT_FOUND", map[string]any{"namespace_id": req.DurableObjects.NamespaceID})
		}
		if !containerEnabled(st.Scripts[script], class) {
			return nil, containersError(http.StatusBadRequest, "DURABLE_OBJECT_NOT_CONTAINER_ENABLED", map[string]any{"namespace_id": req.DurableObjects.NamespaceID, "class_name": class})
		}
		if a := st.Containers.AppForNamespace(req.DurableObjects.NamespaceID); a != nil {
			return nil, containersError(http.StatusBadRequest, "DURABLE_OBJECT_ALREADY_HAS_APPLICATION", map[string]any{"name": a.Name, "id": a.ID})
		}
	}
	img, _ := req.Configuration["image"].(string)
	if err := checkImage(reg, img); err != nil {
		return nil, err
	}
	if msg := resolveInstanceType(req.Configuration); msg != "" {
		return nil, containersError(http.StatusBadRequest, "VALIDATE_INPUT", map[string]any{"configuration.instance_type": msg})
	}
	now = now.UTC()
	a := &ContainerApp{
		ID: NewID(), CreatedAt: now, UpdatedAt: now, AccountID: st.Account.ID, Name: *req.Name, Version: 1,
		SchedulingPolicy: *req.SchedulingPolicy, Configuration: req.Configuration, Constraints: req.Constraints,
		Affinities: req.Affinities, DurableObjects: req.DurableObjects, RolloutActiveGracePeriod: req.RolloutActiveGracePeriod,
	}
	if req.Instances != nil {
		a.Instances = *req.Instances
	}
	if req.MaxInstances != nil {
		a.MaxInstances = *req.MaxInstances
	}
	if st.Containers.Applications == nil {
		st.Containers.Applications = map[string]*ContainerApp{}
	}
	st.Containers.Applications[a.ID] = a
	return a, nil
}

// ModifyContainerApp changes a; a new configuration keeps the image and the
// size unless it names them.
func ModifyContainerApp(now time.Time, reg Registry, a *ContainerApp, req ContainerAppRequest) error {
	if req.Configuration != nil {
		img, _ := req.Configuration["image"].(string)
		if img == "" {
			img = a.Image()
			req.Configuration["image"] = img
		}
		if err := checkImage(reg, img); err != nil {
			return err
		}
		if _, has := req.Configuration["vcpu"]; !has {
			if _, named := req.Configuration["instance_type"]; !named {
				req.Configuration["vcpu"], req.Configuration["memory_mib"], req.Configuration["disk"] = a.Configuration["vcpu"], a.Configuration["memory_mib"], a.Configuration["disk"]
			}
		}
		if msg := resolveInstanceType(req.Configuration); msg != "" {
			return containersError(http.StatusBadRequest, "VALIDATE_INPUT", map[string]any{"configuration.instance_type": msg})
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
	a.UpdatedAt = now.UTC()
	return nil
}

// RolloutRequest is the body of POST .../rollouts.
type RolloutRequest struct {
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

// Rollout applies a rolling rollout to a at once (completed): the target
// configuration over the current one becomes the next version.
func Rollout(now time.Time, reg Registry, a *ContainerApp, req RolloutRequest) (*ContainerRollout, error) {
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
		return nil, containersError(http.StatusBadRequest, "VALIDATE_INPUT", details)
	}
	target := map[string]any{}
	maps.Copy(target, a.Configuration)
	maps.Copy(target, req.TargetConfiguration)
	img, _ := target["image"].(string)
	if err := checkImage(reg, img); err != nil {
		return nil, err
	}
	if msg := resolveInstanceType(target); msg != "" {
		return nil, containersError(http.StatusBadRequest, "VALIDATE_INPUT", map[string]any{"target_configuration.instance_type": msg})
	}
	if req.Kind == "" {
		req.Kind = "full_auto"
	}
	now = now.UTC()
	ro := &ContainerRollout{
		ID: NewID(), Description: req.Description, CreatedAt: now, LastUpdatedAt: now, Kind: req.Kind, Strategy: req.Strategy,
		CurrentVersion: a.Version, TargetVersion: a.Version + 1, CurrentConfiguration: a.Configuration, TargetConfiguration: target,
		Status: "completed",
	}
	if len(req.Steps) > 0 {
		for i, step := range req.Steps {
			ro.Steps = append(ro.Steps, RolloutStep{ID: i + 1, StepSize: step.StepSize, Description: step.Description, Status: "completed"})
		}
	} else {
		pct := 100
		if req.StepPercentage != nil {
			pct = *req.StepPercentage
		}
		ro.Steps = []RolloutStep{{ID: 1, StepSize: map[string]int{"percentage": pct}, Description: "Step 1 of 1", Status: "completed"}}
	}
	ro.Progress = map[string]int{"total_steps": len(ro.Steps), "current_step": len(ro.Steps), "updated_instances": a.MaxInstances, "total_instances": a.MaxInstances}
	a.Configuration = target
	a.Version++
	a.UpdatedAt = now
	a.ActiveRolloutID = ro.ID
	a.Rollouts = append(a.Rollouts, ro)
	return ro, nil
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
