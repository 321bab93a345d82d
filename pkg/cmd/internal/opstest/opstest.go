// Package opstest prepares, in the emulator, what `moltctl deploy` leaves
// behind (Worker with secrets, container application and image, Access
// application with a service-token policy, service token, R2 bucket and
// token) plus the matching local state, so the ops commands can be tested
// without a real deploy.
package opstest

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/iostreams"
	"github.com/moltctl/moltctl/pkg/state"
)

// Names used by the fixture.
const (
	Worker       = "molt"
	ContainerApp = "molt-sandbox"
	Bucket       = "molt-data"
	GatewayToken = "0123456789abcdef0123456789abcdef"
)

// WranglerJSONC is the project's configuration, moltworker's shape.
const WranglerJSONC = `{
  "name": "molt",
  "main": "src/index.ts",
  "compatibility_date": "2025-05-06",
  "containers": [{"class_name": "Sandbox", "image": "./Dockerfile", "instance_type": "standard-1", "max_instances": 1}],
  "durable_objects": {"bindings": [{"class_name": "Sandbox", "name": "Sandbox"}]},
  "migrations": [{"tag": "v1", "new_sqlite_classes": ["Sandbox"]}],
  "r2_buckets": [{"binding": "MOLTBOT_BUCKET", "bucket_name": "molt-data"}],
}
`

// Fixture is a prepared emulator and project.
type Fixture struct {
	Srv *cfemu.Server
	Dir string
	// Env is the environment commands see.
	Env map[string]string
	// Deployment and Credentials are what was saved to local state.
	Deployment  *state.Deployment
	Credentials *state.Credentials
	API         *cfapi.Client
}

// New starts an emulator and writes a project directory; nothing is deployed.
func New(t testing.TB) *Fixture {
	t.Helper()
	srv := cfemu.New(cfemu.Options{ColdStart: 20 * time.Millisecond}).Start()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "wrangler.jsonc"), []byte(WranglerJSONC), 0o644); err != nil {
		t.Fatal(err)
	}
	fx := &Fixture{Srv: srv, Dir: dir, Env: map[string]string{
		"CLOUDFLARE_API_TOKEN":    srv.Token(),
		"CLOUDFLARE_ACCOUNT_ID":   srv.AccountID(),
		"CLOUDFLARE_API_BASE_URL": srv.APIURL(),
		"MOLTCTL_WORKERS_DEV_URL": srv.WorkersDevURLTemplate(),
	}}
	fx.API = cfapi.New(cfapi.Options{BaseURL: srv.APIURL(), Token: srv.Token(), AccountID: srv.AccountID(), HTTPClient: cmdutil.NewHTTPClient()})
	return fx
}

// Factory returns a Factory for the project with test streams.
func (fx *Fixture) Factory() (*cmdutil.Factory, *iostreams.IOStreams, func() (string, string)) {
	ios, _, out, errOut := iostreams.Test()
	f := &cmdutil.Factory{
		IOStreams:  ios,
		Global:     &cmdutil.GlobalOptions{Output: cmdutil.OutputText},
		Getenv:     func(k string) string { return fx.Env[k] },
		WorkingDir: fx.Dir,
		Now:        time.Now,
		HTTPClient: cmdutil.NewHTTPClient(),
	}
	return f, ios, func() (string, string) { return out.String(), errOut.String() }
}

// URL is the Worker's base URL.
func (fx *Fixture) URL() string {
	return strings.NewReplacer("{name}", Worker, "{subdomain}", "emulated").Replace(fx.Srv.WorkersDevURLTemplate())
}

func (fx *Fixture) do(t testing.TB, method, path string, body, out any) {
	t.Helper()
	if err := fx.API.Do(context.Background(), cfapi.Request{Method: method, Path: fx.API.AccountPath("%s", path), JSON: body}, out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
}

// Deploy creates everything a deploy creates and saves local state.
func (fx *Fixture) Deploy(t testing.TB) {
	t.Helper()
	srv := fx.Srv
	host := Worker + ".emulated.workers.dev"

	// Bucket and R2 token.
	fx.do(t, http.MethodPost, "r2/buckets", map[string]any{"name": Bucket}, nil)
	var r2tok struct {
		ID    string `json:"id"`
		Value string `json:"value"`
	}
	fx.do(t, http.MethodPost, "tokens", map[string]any{"name": "moltctl-r2-molt", "policies": []map[string]any{{
		"effect": "allow", "permission_groups": []map[string]any{{"id": "2efd5506f9c8494dacb1fa10a3e7d5b6"}},
		"resources": map[string]any{"com.cloudflare.edge.r2.bucket." + srv.AccountID() + "_default_" + Bucket: "*"},
	}}}, &r2tok)

	// The Worker, with moltworker's bindings and secrets.
	secrets := map[string]string{
		"MOLTBOT_GATEWAY_TOKEN": GatewayToken, "ANTHROPIC_API_KEY": "sk-ant-test",
		"CF_ACCESS_TEAM_DOMAIN": "emulated.cloudflareaccess.com",
		"R2_ACCESS_KEY_ID":      r2tok.ID, "R2_SECRET_ACCESS_KEY": "r2-secret", "CF_ACCOUNT_ID": srv.AccountID(), "R2_BUCKET_NAME": Bucket,
	}
	versionID := "11111111-2222-3333-4444-555555555555"
	srv.Update(func(st *cfemu.State) {
		st.Scripts[Worker] = &cfemu.Script{Name: Worker, ID: "tag-molt", WorkersDevEnabled: true, Secrets: secrets,
			Bindings: []cfemu.Binding{
				{Type: "durable_object_namespace", Name: "Sandbox", ClassName: "Sandbox", NamespaceID: "ns-molt"},
				{Type: "r2_bucket", Name: "MOLTBOT_BUCKET", BucketName: Bucket},
			},
			Deployments: []*cfemu.ScriptDeployment{{ID: "dep-1", Source: "api", Strategy: "percentage", CreatedOn: time.Now().UTC(),
				Versions: []cfemu.DeploymentVersion{{VersionID: versionID, Percentage: 100}}}},
		}
	})

	// Image and container application.
	ref := pushImage(t, fx)
	var app struct {
		ID string `json:"id"`
	}
	fx.do(t, http.MethodPost, "containers/applications", map[string]any{
		"name": ContainerApp, "scheduling_policy": "default", "instances": 0, "max_instances": 1,
		"configuration":   map[string]any{"image": ref, "instance_type": "standard-1"},
		"durable_objects": map[string]any{"namespace_id": "ns-molt"},
	}, &app)

	// Access: service token, application, service-token policy.
	var tok struct {
		ID           string `json:"id"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	fx.do(t, http.MethodPost, "access/service_tokens", map[string]any{"name": "moltctl-molt", "duration": "8760h"}, &tok)
	var acc struct {
		ID  string `json:"id"`
		AUD string `json:"aud"`
	}
	fx.do(t, http.MethodPost, "access/apps", map[string]any{"name": "molt", "domain": host, "type": "self_hosted", "session_duration": "24h"}, &acc)
	var pol struct {
		ID string `json:"id"`
	}
	fx.do(t, http.MethodPost, "access/apps/"+acc.ID+"/policies", map[string]any{"name": "moltctl", "decision": "non_identity", "precedence": 1,
		"include": []map[string]any{{"service_token": map[string]any{"token_id": tok.ID}}}}, &pol)
	srv.Update(func(st *cfemu.State) { st.Scripts[Worker].Secrets["CF_ACCESS_AUD"] = acc.AUD })

	store, err := state.Open(fx.Dir, Worker)
	if err != nil {
		t.Fatal(err)
	}
	d := &state.Deployment{
		AccountID: srv.AccountID(), WorkerName: Worker, URL: fx.URL(), Subdomain: "emulated", Bucket: Bucket,
		Worker:       state.Worker{VersionID: versionID, DurableObjectNamespaceID: "ns-molt"},
		ContainerApp: state.ContainerApp{ID: app.ID, Name: ContainerApp, Version: 1},
		Access: state.Access{AppID: acc.ID, AUD: acc.AUD, TeamDomain: "emulated.cloudflareaccess.com", PolicyIDs: []string{pol.ID},
			ServiceTokenID: tok.ID, ServiceTokenClientID: tok.ClientID},
		R2Token:    state.R2Token{ID: r2tok.ID},
		Secrets:    map[string]string{},
		LastDeploy: &state.DeployRecord{At: time.Now().UTC(), Version: "test", Succeeded: true},
	}
	if err := store.Save(d); err != nil {
		t.Fatal(err)
	}
	c := &state.Credentials{ServiceTokenClientSecret: tok.ClientSecret, Generated: map[string]string{"MOLTBOT_GATEWAY_TOKEN": GatewayToken}}
	if err := store.SaveCredentials(c); err != nil {
		t.Fatal(err)
	}
	fx.Deployment, fx.Credentials = d, c
}

func pushImage(t testing.TB, fx *Fixture) string {
	t.Helper()
	var cred struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	fx.do(t, http.MethodPost, "containers/registries/"+fx.Srv.RegistryHost()+"/credentials",
		map[string]any{"expiration_minutes": 5, "permissions": []string{"push", "pull"}}, &cred)
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref := fx.Srv.RegistryHost() + "/" + fx.Srv.AccountID() + "/" + ContainerApp + ":v1"
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, remote.WithAuth(&authn.Basic{Username: cred.Username, Password: cred.Password})); err != nil {
		t.Fatalf("push: %v", err)
	}
	return ref
}

// AddWorker creates the project's Worker in the emulator with these
// secrets and nothing else: enough for the secrets commands.
func (fx *Fixture) AddWorker(secrets map[string]string) {
	s := map[string]string{}
	for k, v := range secrets {
		s[k] = v
	}
	fx.Srv.Update(func(st *cfemu.State) { st.Scripts[Worker] = &cfemu.Script{Name: Worker, ID: "tag-molt", Secrets: s} })
}

// WorkerSecrets returns the Worker's secrets in the emulator (nil when
// there is no Worker).
func (fx *Fixture) WorkerSecrets() map[string]string {
	var out map[string]string
	fx.Srv.View(func(st *cfemu.State) {
		if sc := st.Scripts[Worker]; sc != nil {
			out = map[string]string{}
			for k, v := range sc.Secrets {
				out[k] = v
			}
		}
	})
	return out
}

// WriteFile writes a file of the project (relative to its directory).
func (fx *Fixture) WriteFile(t testing.TB, name, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(fx.Dir, name), []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// NoLeak fails t when value appears in an error's text or fix, or in any
// of the outputs: secret values are never shown.
func NoLeak(t testing.TB, value string, err error, outputs ...string) {
	t.Helper()
	if err != nil {
		outputs = append(outputs, err.Error(), clierr.HintOf(err))
	}
	for _, o := range outputs {
		if strings.Contains(o, value) {
			t.Fatalf("a secret value was shown:\n%s", o)
		}
	}
}
