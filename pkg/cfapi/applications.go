package cfapi

import (
	"context"
	"net/http"
	"net/url"
)

// ContainerApp is a container application (wrangler's Application model).
type ContainerApp struct {
	ID               string         `json:"id,omitempty"`
	Name             string         `json:"name"`
	Version          int            `json:"version,omitempty"`
	SchedulingPolicy string         `json:"scheduling_policy,omitempty"`
	Instances        *int           `json:"instances,omitempty"`
	MaxInstances     int            `json:"max_instances,omitempty"`
	Configuration    map[string]any `json:"configuration"`
	Constraints      map[string]any `json:"constraints,omitempty"`
	DurableObjects   *AppDO         `json:"durable_objects,omitempty"`
	// RolloutActiveGracePeriod is in seconds.
	RolloutActiveGracePeriod *int `json:"rollout_active_grace_period,omitempty"`
}

// AppDO ties an application to a Durable Object namespace.
type AppDO struct {
	NamespaceID string `json:"namespace_id"`
}

// Image is the application's configured image reference.
func (a *ContainerApp) Image() string {
	s, _ := a.Configuration["image"].(string)
	return s
}

// ListContainerApps lists the account's container applications called
// name ("" for all).
func (c *Client) ListContainerApps(ctx context.Context, name string) ([]ContainerApp, error) {
	var apps []ContainerApp
	if err := c.Do(ctx, Request{Method: http.MethodGet, Path: c.AccountPath("containers/applications")}, &apps); err != nil {
		return nil, err
	}
	if name == "" {
		return apps, nil
	}
	var out []ContainerApp
	for _, a := range apps {
		if a.Name == name {
			out = append(out, a)
		}
	}
	return out, nil
}

// CreateContainerApp creates a container application. It is not safe to
// repeat: look the application up by name before trying again.
func (c *Client) CreateContainerApp(ctx context.Context, app ContainerApp) (*ContainerApp, error) {
	var out ContainerApp
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: c.AccountPath("containers/applications"), JSON: app}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ModifyContainerApp changes application id (PATCH).
func (c *Client) ModifyContainerApp(ctx context.Context, id string, app ContainerApp) (*ContainerApp, error) {
	body := map[string]any{"configuration": app.Configuration}
	if app.MaxInstances > 0 {
		body["max_instances"] = app.MaxInstances
	}
	if app.SchedulingPolicy != "" {
		body["scheduling_policy"] = app.SchedulingPolicy
	}
	if app.Constraints != nil {
		body["constraints"] = app.Constraints
	}
	if app.RolloutActiveGracePeriod != nil {
		body["rollout_active_grace_period"] = *app.RolloutActiveGracePeriod
	}
	var out ContainerApp
	// PATCH with the whole target configuration converges: safe to repeat.
	if err := c.Do(ctx, Request{Method: http.MethodPatch, Path: c.AccountPath("containers/applications/%s", url.PathEscape(id)), JSON: body, Idempotent: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Rollout is an application rollout.
type Rollout struct {
	ID            string `json:"id"`
	Status        string `json:"status"`
	TargetVersion int    `json:"target_version"`
}

// CreateRollout rolls application id out to configuration target, all
// instances at once when stepPercentage is 100 (wrangler's choice for
// max_instances < 2).
func (c *Client) CreateRollout(ctx context.Context, id string, target map[string]any, stepPercentage int) (*Rollout, error) {
	body := map[string]any{"description": "Progressive update", "strategy": "rolling", "kind": "full_auto",
		"target_configuration": target, "step_percentage": stepPercentage}
	var out Rollout
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: c.AccountPath("containers/applications/%s/rollouts", url.PathEscape(id)), JSON: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// instanceSizes are the named container sizes and what each stands for
// (packages/wrangler/src/cloudchamber/instance-type/instance-type.ts);
// "dev" and "standard" are older names of lite and standard-1.
var instanceSizes = []struct {
	name           string
	vcpu           float64
	memMiB, diskMB float64
}{
	{"lite", 0.0625, 256, 2000}, {"basic", 0.25, 1024, 4000}, {"standard-1", 0.5, 4096, 8000},
	{"standard-2", 1, 6144, 12000}, {"standard-3", 2, 8192, 16000}, {"standard-4", 4, 12288, 20000},
}

// CanonicalInstanceType maps the older names to today's, as wrangler's
// LEGACY_TO_CANONICAL does.
func CanonicalInstanceType(name string) string {
	switch name {
	case "dev":
		return "lite"
	case "standard":
		return "standard-1"
	}
	return name
}

// InstanceType names an application configuration's size. The API answers
// with vcpu, memory_mib and disk.size_mb rather than the instance_type it
// was given, so, like wrangler's inferInstanceType, the name is inferred
// from those; a configuration without them gives its instance_type. ""
// when the sizes match no named size.
func InstanceType(conf map[string]any) string {
	disk, _ := conf["disk"].(map[string]any)
	vcpu, okV := conf["vcpu"].(float64)
	mem, okM := conf["memory_mib"].(float64)
	size, okD := disk["size_mb"].(float64)
	if !okV && !okM && !okD {
		it, _ := conf["instance_type"].(string)
		return CanonicalInstanceType(it)
	}
	for _, s := range instanceSizes {
		if okV && okM && okD && s.vcpu == vcpu && s.memMiB == mem && s.diskMB == size {
			return s.name
		}
	}
	return ""
}
