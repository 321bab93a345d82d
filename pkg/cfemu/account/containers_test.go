package account

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// fakeRegistry holds the images listed.
type fakeRegistry map[string]bool

func (f fakeRegistry) IsDomain(host string) bool   { return host == "registry.example" }
func (f fakeRegistry) ImageExists(ref string) bool { return f[ref] }

func enumOf(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return ""
	}
	var m struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal([]byte(e.Message), &m)
	return m.Error
}

func TestContainerApps(t *testing.T) {
	t.Parallel()
	st := newReady()
	if err := st.ContainersAllowed(); err != nil {
		t.Fatal(err)
	}
	sc, _, err := st.UploadScript(t0, "molt", sandboxUpload(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	ns := sc.SandboxNamespace()
	img := "registry.example/acct/molt:1"
	reg := fakeRegistry{img: true}
	name, policy := "molt-sandbox", "default"
	req := func(image string) ContainerAppRequest {
		return ContainerAppRequest{Name: &name, SchedulingPolicy: &policy, Configuration: map[string]any{"image": image, "instance_type": "standard-1"},
			DurableObjects: &ContainerDO{NamespaceID: ns}}
	}
	for _, tt := range []struct{ image, enum string }{
		{"", "VALIDATE_INPUT"},
		{"docker.io/x:1", "IMAGE_REGISTRY_NOT_CONFIGURED"},
		{"registry.example/acct/molt:2", "IMAGE_REGISTRY_DOESNT_CONTAIN_IMAGE"},
	} {
		if _, err := st.CreateContainerApp(t0, reg, req(tt.image)); enumOf(err) != tt.enum {
			t.Errorf("image %q: %v, want %s", tt.image, err, tt.enum)
		}
	}
	a, err := st.CreateContainerApp(t0, reg, req(img))
	if err != nil {
		t.Fatal(err)
	}
	if a.Configuration["vcpu"] != 0.5 || InstanceTypeOf(a.Configuration) != "standard-1" || st.Containers.AppForNamespace(ns) != a {
		t.Errorf("app %+v", a)
	}
	other := "other"
	dup := req(img)
	dup.Name = &other
	if _, err := st.CreateContainerApp(t0, reg, dup); enumOf(err) != "DURABLE_OBJECT_ALREADY_HAS_APPLICATION" {
		t.Errorf("a second app on the namespace: %v", err)
	}
	ro, err := Rollout(t0, reg, a, RolloutRequest{Description: "d", Strategy: "rolling", TargetConfiguration: map[string]any{"instance_type": "basic"}})
	if err != nil || a.Version != 2 || InstanceTypeOf(a.Configuration) != "basic" || a.Image() != img || ro.TargetVersion != 2 {
		t.Fatalf("Rollout = %+v, %v", ro, err)
	}
	st.Account.ContainersEnabled = false
	if err := st.ContainersAllowed(); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("Containers off: %v", err)
	}
}

func TestRegistryCredentials(t *testing.T) {
	t.Parallel()
	st := newReady()
	if _, _, err := st.IssueRegistryCredentials(t0, 0, []string{"pull"}); enumOf(err) != "VALIDATE_INPUT" {
		t.Errorf("no expiry: %v", err)
	}
	cred, password, err := st.IssueRegistryCredentials(t0, 5, []string{"pull"})
	if err != nil {
		t.Fatal(err)
	}
	if st.RegistryLogin(t0, password) != cred || st.RegistryLogin(cred.ExpiresAt, password) != nil || st.RegistryLogin(t0, "x") != nil {
		t.Error("the password logs in until it expires")
	}
	if !cred.Allows("pull") || cred.Allows("push") {
		t.Error("a pull credential")
	}
}
