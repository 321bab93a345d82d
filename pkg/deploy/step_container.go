package deploy

import (
	"context"
	"fmt"
	"reflect"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
)

// containerStep creates the container application for the Worker's
// Durable Object, or modifies and rolls it out when the image or the
// configuration changed.
type containerStep struct{}

func (*containerStep) Name() string { return "container" }
func (*containerStep) String() string {
	return "create or update the container application and roll it out"
}

func (*containerStep) wantApp(st *State) cfapi.ContainerApp {
	ct, _ := st.In.container()
	maxInst := ct.MaxInstances
	if maxInst == 0 {
		maxInst = 20
	}
	conf := map[string]any{"image": st.Learned.ImageRef}
	if it := ct.InstanceType; it.Custom() {
		// wrangler sends a custom type as its resources, not a name.
		conf["vcpu"], conf["memory_mib"] = it.VCPU, it.MemoryMiB
		conf["disk"] = map[string]any{"size_mb": it.DiskMB}
	} else if it.Name != "" {
		conf["instance_type"] = it.Name
	} else {
		conf["instance_type"] = "lite"
	}
	logs := st.In.Config.Observability != nil && st.In.Config.Observability.Enabled != nil && *st.In.Config.Observability.Enabled
	if logs {
		conf["observability"] = map[string]any{"logs": map[string]any{"enabled": true}}
	}
	zero := 0
	return cfapi.ContainerApp{
		Name: st.In.Config.ContainerAppName(ct), SchedulingPolicy: "default", Instances: &zero, MaxInstances: maxInst,
		Configuration: conf, Constraints: map[string]any{"tiers": []any{1, 2}},
		DurableObjects: &cfapi.AppDO{NamespaceID: st.Learned.NamespaceID}, RolloutActiveGracePeriod: &zero,
	}
}

// appCurrent reports whether app already has what want asks for.
func appCurrent(app, want cfapi.ContainerApp) bool {
	if app.Image() != want.Image() || app.MaxInstances != want.MaxInstances {
		return false
	}
	// The API answers with vcpu, memory_mib and disk, not instance_type.
	if wantType, ok := want.Configuration["instance_type"].(string); ok {
		if cfapi.InstanceType(app.Configuration) != cfapi.CanonicalInstanceType(wantType) {
			return false
		}
	} else if !sameResources(app.Configuration, want.Configuration) {
		return false
	}
	wo, _ := want.Configuration["observability"]
	ao, _ := app.Configuration["observability"]
	if (wo == nil) != (ao == nil) || (wo != nil && fmt.Sprint(wo) != fmt.Sprint(ao)) {
		return false
	}
	return app.DurableObjects != nil && app.DurableObjects.NamespaceID == want.DurableObjects.NamespaceID
}

func (c *containerStep) Skip(ctx context.Context, st *State) (bool, string) {
	if _, ok := st.In.container(); !ok {
		return true, "the Worker has no container"
	}
	want := c.wantApp(st)
	app, err := st.deployedApp(ctx, want.Name)
	if err != nil || app == nil {
		return false, "create " + want.Name
	}
	if st.Learned.ImageRef == "" || st.Learned.NamespaceID == "" || !appCurrent(*app, want) {
		return false, "update and roll out " + want.Name
	}
	if d := st.Saved.Dep.ContainerApp; d.ID != app.ID || d.Name != app.Name || d.Version != app.Version {
		return false, "record " + want.Name + " in the deploy state"
	}
	return true, fmt.Sprintf("%s is up to date (version %d)", app.Name, app.Version)
}

func (c *containerStep) Run(ctx context.Context, st *State) error {
	want := c.wantApp(st)
	if st.Learned.ImageRef == "" || st.Learned.NamespaceID == "" {
		return fmt.Errorf("container application %s: the image or the Durable Object namespace is unknown", want.Name)
	}
	app, err := st.deployedApp(ctx, want.Name)
	if err != nil {
		return err
	}
	dep := &st.Saved.Dep.ContainerApp
	if app == nil {
		created, err := st.Deps.API.CreateContainerApp(ctx, want)
		st.Deps.Reads.Forget(readContainerApp)
		if err != nil {
			return fmt.Errorf("create container application %s: %w", want.Name, err)
		}
		dep.ID, dep.Name, dep.Version = created.ID, created.Name, created.Version
		st.Learned.Details["container"] = fmt.Sprintf("created %s with %s", created.Name, st.Learned.ImageRef)
		return nil
	}
	dep.ID, dep.Name = app.ID, app.Name
	if app.DurableObjects == nil || app.DurableObjects.NamespaceID != st.Learned.NamespaceID {
		return &clierr.HintError{Err: fmt.Errorf("container application %s belongs to another Durable Object namespace", app.Name),
			Fix: "it was made for an earlier copy of this Worker; delete it (moltctl destroy, or the Containers dashboard) and deploy again"}
	}
	if appCurrent(*app, want) {
		dep.Version = app.Version
		st.Learned.Details["container"] = fmt.Sprintf("%s is up to date (version %d)", app.Name, app.Version)
		return nil
	}
	st.Deps.Reads.Forget(readContainerApp)
	if !reflect.DeepEqual(app.Configuration, want.Configuration) || app.MaxInstances != want.MaxInstances {
		if _, err := st.Deps.API.ModifyContainerApp(ctx, app.ID, want); err != nil {
			return fmt.Errorf("update container application %s: %w", app.Name, err)
		}
	}
	ro, err := st.Deps.API.CreateRollout(ctx, app.ID, want.Configuration, 100)
	if err != nil {
		return fmt.Errorf("roll out container application %s: %w", app.Name, err)
	}
	dep.Version = ro.TargetVersion
	st.Learned.Details["container"] = fmt.Sprintf("rolled %s out to %s", app.Name, st.Learned.ImageRef)
	return nil
}

// sameResources compares a custom instance type's vcpu, memory_mib and
// disk.size_mb (numbers decoded from JSON or set from wrangler.jsonc).
func sameResources(a, b map[string]any) bool {
	num := func(v any) float64 {
		switch n := v.(type) {
		case float64:
			return n
		case int64:
			return float64(n)
		case int:
			return float64(n)
		}
		return -1
	}
	disk := func(c map[string]any) float64 {
		d, _ := c["disk"].(map[string]any)
		return num(d["size_mb"])
	}
	return num(a["vcpu"]) == num(b["vcpu"]) && num(a["memory_mib"]) == num(b["memory_mib"]) && disk(a) == disk(b)
}
