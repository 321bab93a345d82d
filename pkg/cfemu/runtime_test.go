package cfemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/moltctl/moltctl/pkg/cfemu/worker"
)

// rtCall sends an API request with the emulator's token and decodes the envelope.
func rtCall(t *testing.T, srv *Server, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, srv.APIURL()+path, rd)
	req.Header.Set("Authorization", "Bearer "+srv.Token())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&env)
	return resp.StatusCode, env
}

func rtResult(env map[string]any) map[string]any {
	m, _ := env["result"].(map[string]any)
	return m
}

// pushRandom pushes a small random image as <account>/<repo>:<tag> with
// credentials from the credentials endpoint, and returns its reference.
func pushRandom(t *testing.T, srv *Server, repo, tag string) string {
	t.Helper()
	code, env := rtCall(t, srv, "POST", "/accounts/"+srv.AccountID()+"/containers/registries/"+srv.RegistryHost()+"/credentials",
		map[string]any{"expiration_minutes": 5, "permissions": []string{"push", "pull"}})
	if code != 201 {
		t.Fatalf("credentials: %d %v", code, env)
	}
	cred := rtResult(env)
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := srv.RegistryHost() + "/" + srv.AccountID() + "/" + repo + ":" + tag
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	auth := &authn.Basic{Username: cred["username"].(string), Password: cred["password"].(string)}
	if err := remote.Write(r, img, remote.WithAuth(auth)); err != nil {
		t.Fatalf("push: %v", err)
	}
	return ref
}

// deployWorker sets up what moltctl deploy leaves: a script with the
// Sandbox Durable Object and secrets, an image and its container application.
func deployWorker(t *testing.T, srv *Server, secrets map[string]string) {
	t.Helper()
	srv.Update(func(st *State) {
		st.Scripts["molt"] = &Script{Name: "molt", ID: newID(), WorkersDevEnabled: true, Secrets: secrets,
			Bindings: []Binding{{Type: "durable_object_namespace", Name: "Sandbox", ClassName: "Sandbox", NamespaceID: "ns-molt"}}}
	})
	ref := pushRandom(t, srv, "molt-sandbox", "v1")
	code, env := rtCall(t, srv, "POST", "/accounts/"+srv.AccountID()+"/containers/applications", map[string]any{
		"name": "molt-sandbox", "scheduling_policy": "default", "instances": 0, "max_instances": 1,
		"configuration":   map[string]any{"image": ref, "instance_type": "standard-1"},
		"durable_objects": map[string]any{"namespace_id": "ns-molt"},
	})
	if code != 201 {
		t.Fatalf("create application: %d %v", code, env)
	}
}

func workerURL(srv *Server, path string) string {
	return strings.NewReplacer("{name}", "molt", "{subdomain}", "emulated").Replace(srv.WorkersDevURLTemplate()) + path
}

// rtGet requests the deployed Worker through the loopback listener with the
// workers.dev Host.
func rtGet(t *testing.T, srv *Server, method, path string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	u, _ := url.Parse(workerURL(srv, path))
	req, _ := http.NewRequest(method, srv.URL()+u.RequestURI(), nil)
	req.Host = u.Host
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

var e2eSecrets = map[string]string{"MOLTBOT_GATEWAY_TOKEN": "gw-token", "ANTHROPIC_API_KEY": "sk-ant-x", "E2E_TEST_MODE": "true"}

func TestWorkerConfigurationError(t *testing.T) {
	t.Parallel()
	srv := New(Options{ColdStart: 20 * time.Millisecond}).Start()
	defer srv.Close()
	deployWorker(t, srv, map[string]string{"ANTHROPIC_API_KEY": "k"})
	code, _, body := rtGet(t, srv, "GET", "/", nil)
	if code != 503 || !strings.Contains(body, `"Configuration error"`) || !strings.Contains(body, "MOLTBOT_GATEWAY_TOKEN") {
		t.Errorf("json: %d %s", code, body)
	}
	code, _, body = rtGet(t, srv, "GET", "/", map[string]string{"Accept": "text/html"})
	if code != 503 || !strings.Contains(body, "Configuration Required") || !strings.Contains(body, "CF_ACCESS_AUD") {
		t.Errorf("html: %d %s", code, body)
	}
	if code, _, body := rtGet(t, srv, "GET", "/sandbox-health", nil); code != 200 || !strings.Contains(body, `"gateway_port":18789`) {
		t.Errorf("sandbox-health: %d %s", code, body)
	}
}

func TestWorkerGatewayLifecycle(t *testing.T) {
	t.Parallel()
	srv := New(Options{ColdStart: 30 * time.Millisecond}).Start()
	defer srv.Close()
	deployWorker(t, srv, map[string]string{"MOLTBOT_GATEWAY_TOKEN": "gw-token", "ANTHROPIC_API_KEY": "sk-ant-x", "E2E_TEST_MODE": "true"})

	if _, _, body := rtGet(t, srv, "GET", "/api/status", nil); !strings.Contains(body, `"not_running"`) {
		t.Fatalf("status before start: %s", body)
	}
	// /api/status does not start the gateway; a browser request does, in the background.
	if _, _, body := rtGet(t, srv, "GET", "/api/status", nil); !strings.Contains(body, `"not_running"`) {
		t.Fatalf("status started the gateway: %s", body)
	}
	code, _, body := rtGet(t, srv, "GET", "/?token=gw-token", map[string]string{"Accept": "text/html"})
	if code != 200 || !strings.Contains(body, "Waiting for Moltworker to load") {
		t.Fatalf("loading page: %d %s", code, body)
	}
	// A non-browser request waits for the gateway.
	code, _, body = rtGet(t, srv, "GET", "/?token=gw-token", nil)
	if code != 200 || !strings.Contains(body, "OpenClaw Control") {
		t.Fatalf("proxied: %d %s", code, body)
	}
	if _, _, body := rtGet(t, srv, "GET", "/api/status", nil); !strings.Contains(body, `"running"`) || !strings.Contains(body, `"processId":"proc_`) {
		t.Fatalf("status after start: %s", body)
	}
	html := map[string]string{"Accept": "text/html"}
	if code, _, body := rtGet(t, srv, "GET", "/?token=wrong", html); code != 200 || !strings.Contains(body, "Invalid or missing token. Visit https://molt.emulated.workers.dev") {
		t.Errorf("wrong token: %d %s", code, body)
	}
	if _, _, body := rtGet(t, srv, "GET", "/", html); !strings.Contains(body, "Invalid or missing token") {
		t.Errorf("no token: %s", body)
	}
	// The Control UI with the right token asks to pair the browser.
	if _, _, body := rtGet(t, srv, "GET", "/?token=gw-token", html); !strings.Contains(body, "Pairing required. Visit https://molt.emulated.workers.dev/_admin/") {
		t.Errorf("pairing: %s", body)
	}
	uiDevice := ""
	srv.View(func(st *State) { uiDevice = st.Runtimes["molt"].Pending[0].RequestID })

	// Devices: created by a test, listed, approved.
	id, err := srv.AddPendingDevice("molt")
	if err != nil {
		t.Fatal(err)
	}
	_, _, body = rtGet(t, srv, "GET", "/api/admin/devices", nil)
	var devs struct {
		Pending []map[string]any `json:"pending"`
		Paired  []map[string]any `json:"paired"`
	}
	_ = json.Unmarshal([]byte(body), &devs)
	if len(devs.Pending) != 2 || devs.Pending[1]["requestId"] != id {
		t.Fatalf("devices: %s", body)
	}
	if _, _, body := rtGet(t, srv, "POST", "/api/admin/devices/"+uiDevice+"/approve", nil); !strings.Contains(body, `"success":true`) {
		t.Fatalf("approve: %s", body)
	}
	if _, _, body := rtGet(t, srv, "GET", "/?token=gw-token", html); !strings.Contains(body, "Connected") {
		t.Errorf("after pairing: %s", body)
	}
	if _, _, body := rtGet(t, srv, "POST", "/api/admin/devices/approve-all", nil); !strings.Contains(body, `"approved":["`+id+`"]`) {
		t.Fatalf("approve-all: %s", body)
	}
	if _, _, body := rtGet(t, srv, "POST", "/api/admin/devices/approve-all", nil); !strings.Contains(body, "No pending devices to approve") {
		t.Fatalf("approve-all again: %s", body)
	}
	if _, _, body := rtGet(t, srv, "POST", "/api/admin/devices/nope/approve", nil); !strings.Contains(body, `"success":false`) {
		t.Fatalf("approve unknown: %s", body)
	}

	// A secret changed after start reaches the gateway only after a restart.
	before := srv.Gateway("molt")
	if before.Env["MOLTBOT_GATEWAY_TOKEN"] != ShortHash("gw-token") {
		t.Fatalf("gateway env: %v", before.Env)
	}
	srv.Update(func(st *State) { st.Scripts["molt"].Secrets["MOLTBOT_GATEWAY_TOKEN"] = "new-token" })
	if got := srv.Gateway("molt").Env["MOLTBOT_GATEWAY_TOKEN"]; got != ShortHash("gw-token") {
		t.Fatalf("env changed without restart: %s", got)
	}
	_, _, body = rtGet(t, srv, "POST", "/api/admin/gateway/restart", nil)
	if !strings.Contains(body, `"previousProcessId":"`+before.ProcessID+`"`) {
		t.Fatalf("restart: %s", body)
	}
	after := srv.Gateway("molt")
	if after.ProcessID == before.ProcessID || after.Restarts != 1 || after.Env["MOLTBOT_GATEWAY_TOKEN"] != ShortHash("new-token") {
		t.Fatalf("after restart: %+v", after)
	}

	// The control endpoint reports the same.
	resp, err := http.Get(srv.URL() + "/__emulator/workers/molt/gateway")
	if err != nil {
		t.Fatal(err)
	}
	var info GatewayInfo
	_ = json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if info.ProcessID != after.ProcessID || info.Restarts != 1 {
		t.Errorf("control gateway: %+v", info)
	}
}

func TestWorkerStorage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		secrets    map[string]string
		configured bool
		syncCode   int
	}{
		{"not configured", map[string]string{}, false, 400},
		{"configured, bucket exists", map[string]string{"R2_ACCESS_KEY_ID": "a", "R2_SECRET_ACCESS_KEY": "b", "CF_ACCOUNT_ID": "c", "R2_BUCKET_NAME": "data"}, true, 200},
		{"configured, no bucket", map[string]string{"R2_ACCESS_KEY_ID": "a", "R2_SECRET_ACCESS_KEY": "b", "CF_ACCOUNT_ID": "c", "R2_BUCKET_NAME": "gone"}, true, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := New(Options{ColdStart: time.Millisecond}).Start()
			defer srv.Close()
			sec := map[string]string{}
			for k, v := range e2eSecrets {
				sec[k] = v
			}
			for k, v := range tt.secrets {
				sec[k] = v
			}
			deployWorker(t, srv, sec)
			srv.Update(func(st *State) { st.Buckets["data"] = &Bucket{Name: "data"} })
			if code, _, _ := rtGet(t, srv, "GET", "/api/admin/devices", nil); code != 200 { // starts the gateway
				t.Fatalf("devices: %d", code)
			}
			_, _, body := rtGet(t, srv, "GET", "/api/admin/storage", nil)
			var st map[string]any
			_ = json.Unmarshal([]byte(body), &st)
			if st["configured"] != tt.configured {
				t.Errorf("storage: %s", body)
			}
			code, _, body := rtGet(t, srv, "POST", "/api/admin/storage/sync", nil)
			if code != tt.syncCode {
				t.Errorf("sync: %d %s", code, body)
			}
			if code == 200 {
				if _, _, body := rtGet(t, srv, "GET", "/api/admin/storage", nil); strings.Contains(body, `"lastSync":null`) {
					t.Errorf("lastSync after sync: %s", body)
				}
			}
		})
	}
}

func TestWorkerWithoutContainerApp(t *testing.T) {
	t.Parallel()
	srv := New(Options{ColdStart: time.Millisecond}).Start()
	defer srv.Close()
	srv.Update(func(st *State) {
		st.Scripts["molt"] = &Script{Name: "molt", WorkersDevEnabled: true, Secrets: e2eSecrets,
			Bindings: []Binding{{Type: "durable_object_namespace", Name: "Sandbox", ClassName: "Sandbox", NamespaceID: "ns-molt"}}}
	})
	code, _, body := rtGet(t, srv, "GET", "/", nil)
	if code != 503 || !strings.Contains(body, "Moltbot gateway failed to start") || !strings.Contains(body, "There is no container application assigned") {
		t.Errorf("proxy: %d %s", code, body)
	}
	if code, _, body := rtGet(t, srv, "GET", "/api/admin/devices", nil); code != 500 || !strings.Contains(body, "no container application") {
		t.Errorf("devices: %d %s", code, body)
	}
	if _, _, body := rtGet(t, srv, "GET", "/api/status", nil); !strings.Contains(body, "not_running") {
		t.Errorf("status: %s", body)
	}
	// Deleting the Worker takes its container and gateway state with it.
	srv.Update(func(st *State) { st.Runtimes["molt"] = &Runtime{Status: worker.StatusRunning, Restarts: 3} })
	srv.Update(func(st *State) { delete(st.Scripts, "molt") })
	if g := srv.Gateway("molt"); g.Status != worker.StatusNotRunning || g.Restarts != 0 {
		t.Errorf("gateway of a deleted Worker: %+v", g)
	}
	srv.View(func(st *State) {
		if len(st.Runtimes) != 0 {
			t.Errorf("runtimes left: %v", st.Runtimes)
		}
	})
	srv.Update(func(st *State) {
		st.Scripts["molt"] = &Script{Name: "molt", WorkersDevEnabled: true, Secrets: e2eSecrets,
			Bindings: []Binding{{Type: "durable_object_namespace", Name: "Sandbox", ClassName: "Sandbox", NamespaceID: "ns-molt"}}}
	})
	// Not on workers.dev: nothing here.
	srv.Update(func(st *State) { st.Scripts["molt"].WorkersDevEnabled = false })
	if code, _, _ := rtGet(t, srv, "GET", "/sandbox-health", nil); code != 404 {
		t.Errorf("workers.dev disabled: %d", code)
	}
}

func TestWorkerWebSocket(t *testing.T) {
	t.Parallel()
	srv := New(Options{ColdStart: time.Millisecond}).Start()
	defer srv.Close()
	deployWorker(t, srv, e2eSecrets)
	dial := func(query string) (*websocket.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		u, _ := url.Parse(workerURL(srv, "/"+query))
		c, _, err := websocket.Dial(ctx, "ws://"+strings.TrimPrefix(srv.URL(), "http://")+"/"+query, &websocket.DialOptions{Host: u.Host})
		return c, err
	}
	read := func(c *websocket.Conn) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, b, err := c.Read(ctx)
		return string(b), err
	}
	tests := []struct {
		name, query, reason string
	}{
		{"wrong token", "?token=wrong", "Invalid or missing token. Visit https://molt.emulated.workers.dev?token={REPLACE_WITH_YOUR_TOKEN}"},
		{"token added by the Worker, unpaired", "", "Pairing required. Visit https://molt.emulated.workers.dev/_admin/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := dial(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			_, err = read(c)
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != tt.reason {
				t.Errorf("close: %v", err)
			}
		})
	}
	if _, _, body := rtGet(t, srv, "POST", "/api/admin/devices/approve-all", nil); !strings.Contains(body, "Approved 1 of 1") {
		t.Fatalf("approve-all: %s", body)
	}
	c, err := dial("")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if msg, err := read(c); err != nil || !strings.Contains(msg, "connect.ok") {
		t.Errorf("paired: %q %v", msg, err)
	}
}

func TestRuntimeControlEndpoints(t *testing.T) {
	t.Parallel()
	srv := New(Options{ColdStart: time.Millisecond}).Start()
	defer srv.Close()
	deployWorker(t, srv, e2eSecrets)
	tests := []struct {
		method, path string
		want         int
		field        string
	}{
		{"POST", "/__emulator/workers/molt/devices", 201, "requestId"},
		{"POST", "/__emulator/workers/nope/devices", 404, "error"},
		{"GET", "/__emulator/workers/molt/gateway", 200, "status"},
		{"GET", "/__emulator/workers/nope/gateway", 404, "error"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL()+tt.path, nil)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if resp.StatusCode != tt.want || m[tt.field] == nil {
			t.Errorf("%s %s: %d %v", tt.method, tt.path, resp.StatusCode, m)
		}
	}
	srv.View(func(st *State) {
		if rt := st.Runtimes["molt"]; rt == nil || len(rt.Pending) != 1 {
			t.Errorf("pending devices: %+v", rt)
		}
	})
}
