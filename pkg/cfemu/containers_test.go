package cfemu

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestContainersEntitlement(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		scenario string
		patch    func(*State)
		want     int
	}{
		{"ready", ScenarioReady, nil, 200},
		{"new account", ScenarioNewAccount, nil, 401},
		{"paid without containers", ScenarioNewAccount, func(st *State) { st.Account.WorkersPaid = true }, 401},
		{"under-scoped token", ScenarioReady, func(st *State) {
			for _, tok := range st.Tokens {
				tok.Permissions = []string{"Workers Scripts Write"}
			}
		}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := New(Options{Scenario: tt.scenario}).Start()
			defer srv.Close()
			if tt.patch != nil {
				srv.Update(tt.patch)
			}
			code, env := rtCall(t, srv, "GET", "/accounts/"+srv.AccountID()+"/containers/me", nil)
			if code != tt.want {
				t.Fatalf("%d %v", code, env)
			}
			if code == 401 && rtMessage(env) != "Unauthorized" {
				t.Errorf("401 body: %v", env)
			}
			if code == 200 && rtResult(env)["external_account_id"] != srv.AccountID() {
				t.Errorf("me: %v", env)
			}
		})
	}
}

func TestRegistryCredentials(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := now
	srv := New(Options{Now: func() time.Time { return clock }}).Start()
	defer srv.Close()
	base := "/accounts/" + srv.AccountID() + "/containers/registries/"
	bad := []struct {
		name   string
		domain string
		body   map[string]any
		want   int
	}{
		{"unknown registry", "docker.io", map[string]any{"expiration_minutes": 5, "permissions": []string{"push"}}, 404},
		{"no minutes", srv.RegistryHost(), map[string]any{"permissions": []string{"push"}}, 400},
		{"bad permission", srv.RegistryHost(), map[string]any{"expiration_minutes": 5, "permissions": []string{"admin"}}, 400},
	}
	for _, tt := range bad {
		if code, env := rtCall(t, srv, "POST", base+tt.domain+"/credentials", tt.body); code != tt.want {
			t.Errorf("%s: %d %v", tt.name, code, env)
		}
	}
	code, env := rtCall(t, srv, "POST", base+srv.RegistryHost()+"/credentials", map[string]any{"expiration_minutes": 15, "permissions": []string{"pull"}})
	if code != 201 {
		t.Fatalf("%d %v", code, env)
	}
	cred := rtResult(env)
	if cred["registry_host"] != srv.RegistryHost() || cred["account_id"] != srv.AccountID() || cred["password"] == "" {
		t.Fatalf("credentials: %v", cred)
	}
	v2 := func(user, pass, method, path string) (int, http.Header) {
		req, _ := http.NewRequest(method, srv.URL()+path, nil)
		if pass != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	pw := cred["password"].(string)
	repo := "/v2/" + srv.AccountID() + "/app/manifests/latest"
	checks := []struct {
		name, user, pass, method, path string
		minutes                        time.Duration
		want                           int
	}{
		{"no auth", "", "", "GET", "/v2/", 0, 401},
		{"wrong password", "v1", "nope", "GET", "/v2/", 0, 401},
		{"valid, any username", "v1", pw, "GET", "/v2/", 0, 200},
		{"pull of a missing manifest", cred["username"].(string), pw, "GET", repo, 0, 404},
		{"other account's repository", "v1", pw, "GET", "/v2/" + strings.Repeat("a", 32) + "/app/manifests/latest", 0, 403},
		{"push with pull-only credentials", "v1", pw, "PUT", repo, 0, 403},
		{"expired", "v1", pw, "GET", "/v2/", 16, 401},
	}
	for _, c := range checks {
		clock = now.Add(c.minutes * time.Minute)
		code, h := v2(c.user, c.pass, c.method, c.path)
		if code != c.want {
			t.Errorf("%s: %d", c.name, code)
		}
		if code == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("%s: challenge %q", c.name, h.Get("WWW-Authenticate"))
		}
	}
}

func TestContainerApplications(t *testing.T) {
	t.Parallel()
	srv := New(Options{}).Start()
	defer srv.Close()
	srv.Update(func(st *State) {
		st.Scripts["molt"] = &Script{Name: "molt", Bindings: []Binding{{Type: "durable_object_namespace", Name: "Sandbox", ClassName: "Sandbox", NamespaceID: "ns-molt"}}}
	})
	ref := pushRandom(t, srv, "molt-sandbox", "v1")
	if !srv.ImageExists(ref) {
		t.Fatalf("pushed image %s not found", ref)
	}
	apps := "/accounts/" + srv.AccountID() + "/containers/applications"
	app := func(image, ns string) map[string]any {
		return map[string]any{"name": "molt-sandbox", "scheduling_policy": "default", "max_instances": 1,
			"configuration": map[string]any{"image": image, "instance_type": "standard-1"}, "durable_objects": map[string]any{"namespace_id": ns}}
	}
	bad := []struct {
		name, image, ns, enum string
	}{
		{"missing image", srv.RegistryHost() + "/" + srv.AccountID() + "/molt-sandbox:v2", "ns-molt", "IMAGE_REGISTRY_DOESNT_CONTAIN_IMAGE"},
		{"other registry", "docker.io/library/busybox:latest", "ns-molt", "IMAGE_REGISTRY_NOT_CONFIGURED"},
		{"unknown namespace", ref, "ns-none", "DURABLE_OBJECT_NOT_FOUND"},
	}
	for _, tt := range bad {
		code, env := rtCall(t, srv, "POST", apps, app(tt.image, tt.ns))
		var inner map[string]any
		_ = json.Unmarshal([]byte(rtMessage(env)), &inner)
		if code != 400 || inner["error"] != tt.enum {
			t.Errorf("%s: %d %v", tt.name, code, env)
		}
	}
	srv.Update(func(st *State) { st.Scripts["molt"].Containers = json.RawMessage(`[{"class_name":"Other"}]`) })
	if code, env := rtCall(t, srv, "POST", apps, app(ref, "ns-molt")); code != 400 || !strings.Contains(rtMessage(env), "DURABLE_OBJECT_NOT_CONTAINER_ENABLED") {
		t.Errorf("class without a container: %d %v", code, env)
	}
	srv.Update(func(st *State) { st.Scripts["molt"].Containers = json.RawMessage(`[{"class_name":"Sandbox"}]`) })
	code, env := rtCall(t, srv, "POST", apps, app(ref, "ns-molt"))
	if code != 201 {
		t.Fatalf("create: %d %v", code, env)
	}
	id := rtResult(env)["id"].(string)
	// The API answers with the size an instance type stands for, not its
	// name; wrangler infers the name back (inferInstanceType).
	conf := rtResult(env)["configuration"].(map[string]any)
	if _, echoed := conf["instance_type"]; echoed || conf["vcpu"] != 0.5 || conf["memory_mib"] != float64(4096) ||
		conf["disk"].(map[string]any)["size_mb"] != float64(8000) {
		t.Errorf("created configuration = %v; want standard-1's vcpu, memory_mib and disk, no instance_type", conf)
	}
	if code, env := rtCall(t, srv, "POST", apps, app(ref, "ns-molt")); code != 400 {
		t.Errorf("second app for the namespace: %d %v", code, env)
	}
	ref2 := pushRandom(t, srv, "molt-sandbox", "v2")
	code, env = rtCall(t, srv, "PATCH", apps+"/"+id, map[string]any{"configuration": map[string]any{"image": ref2, "instance_type": "standard-1"}})
	if code != 200 || rtResult(env)["version"] != float64(2) {
		t.Fatalf("modify: %d %v", code, env)
	}
	code, env = rtCall(t, srv, "POST", apps+"/"+id+"/rollouts", map[string]any{"description": "Progressive update", "strategy": "rolling",
		"kind": "full_auto", "step_percentage": 100, "target_configuration": map[string]any{"image": ref2}})
	if code != 201 || rtResult(env)["status"] != "completed" {
		t.Fatalf("rollout: %d %v", code, env)
	}
	if _, env := rtCall(t, srv, "GET", apps+"/"+id+"/rollouts", nil); len(env["result"].([]any)) != 1 {
		t.Errorf("rollouts: %v", env)
	}
	for _, p := range []string{"/accounts/" + srv.AccountID() + "/containers", "/accounts/" + srv.AccountID() + "/containers/dash/applications", apps} {
		_, env := rtCall(t, srv, "GET", p, nil)
		list, _ := env["result"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["image"] != nil && list[0].(map[string]any)["image"] != ref2 {
			t.Errorf("%s: %v", p, env)
		}
	}
	if _, env := rtCall(t, srv, "GET", apps+"?name=other", nil); len(env["result"].([]any)) != 0 {
		t.Errorf("name filter: %v", env)
	}
	if code, _ := rtCall(t, srv, "DELETE", apps+"/"+id, nil); code != 200 {
		t.Errorf("delete: %d", code)
	}
	if code, _ := rtCall(t, srv, "GET", apps+"/"+id, nil); code != 404 {
		t.Errorf("get deleted: %d", code)
	}
}

func TestRegistryLogCountsPushedBytes(t *testing.T) {
	t.Parallel()
	log := &rtLogBuffer{}
	srv := New(Options{Log: log}).Start()
	defer srv.Close()
	pushRandom(t, srv, "app", "v1")
	total := 0
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var e struct {
			Method, Path string
			Bytes        int
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(e.Path, "/v2/") {
			total += e.Bytes
		}
	}
	if total < 256 {
		t.Errorf("registry requests logged %d bytes, want at least the 256-byte layer", total)
	}
}

// rtLogBuffer is a log writer safe to read while the server writes.
type rtLogBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *rtLogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *rtLogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestRegistryImagesSurviveSaveAndLoad(t *testing.T) {
	t.Parallel()
	srv := New(Options{}).Start()
	defer srv.Close()
	ref := pushRandom(t, srv, "app", "v1")
	path := filepath.Join(t.TempDir(), "state.json")
	if err := srv.Save(path); err != nil {
		t.Fatal(err)
	}
	again := New(Options{AccountID: srv.AccountID()}).Start()
	defer again.Close()
	missing := again.RegistryHost() + "/" + srv.AccountID() + "/app:v1"
	if again.ImageExists(missing) {
		t.Fatal("image exists before the state is loaded")
	}
	if err := again.Load(path); err != nil {
		t.Fatal(err)
	}
	if !again.ImageExists(missing) {
		t.Errorf("%s (pushed as %s) missing after Load", missing, ref)
	}
	if again.ImageExists(again.RegistryHost() + "/" + srv.AccountID() + "/app:v2") {
		t.Error("an image never pushed exists")
	}
}
