package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmd/initcmd"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/deploy"
	"github.com/moltctl/moltctl/pkg/internal/testenv"
	"github.com/moltctl/moltctl/pkg/iostreams"
	"github.com/moltctl/moltctl/pkg/lease"
	"github.com/moltctl/moltctl/pkg/remotestate"
	"github.com/moltctl/moltctl/pkg/state"
)

const fakeAnthropicKey = "sk-ant-api03-test-0000000000000000000000000000000000000000"

// hostRecorder records which hosts saw the API token.
type hostRecorder struct {
	mu    sync.Mutex
	token string
	next  http.RoundTripper
	leaks []string
	hosts map[string]bool
}

func (h *hostRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	if h.hosts == nil {
		h.hosts = map[string]bool{}
	}
	h.hosts[r.Host] = true
	if strings.Contains(r.Header.Get("Authorization"), h.token) && !strings.HasPrefix(r.URL.Path, cfemu.APIPrefix+"/") {
		h.leaks = append(h.leaks, r.Method+" "+r.Host+r.URL.Path)
	}
	if strings.Contains(r.Host, "workers.dev") {
		for _, vs := range r.Header {
			for _, v := range vs {
				if strings.Contains(v, h.token) {
					h.leaks = append(h.leaks, "worker host "+r.Host)
				}
			}
		}
	}
	h.mu.Unlock()
	return h.next.RoundTrip(r)
}

type run struct {
	code           int
	err            error
	stdout, stderr string
}

func deployOnce(ctx context.Context, t *testing.T, srv *cfemu.Server, dir string, rec *hostRecorder, o func(*DeployOptions)) run {
	return deployOnceTB(ctx, t, srv, dir, rec, o)
}

func deployOnceTB(ctx context.Context, t testing.TB, srv *cfemu.Server, dir string, rec *hostRecorder, o func(*DeployOptions)) run {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	env := map[string]string{
		"CLOUDFLARE_API_BASE_URL": srv.APIURL(), "CLOUDFLARE_API_TOKEN": srv.Token(), "CLOUDFLARE_ACCOUNT_ID": srv.AccountID(),
		"CLOUDFLARE_CONTAINER_REGISTRY": srv.RegistryHost(), "MOLTCTL_WORKERS_DEV_URL": srv.WorkersDevURLTemplate(),
		"ANTHROPIC_API_KEY": fakeAnthropicKey,
		// One user per test: the checkouts of a test share the key file.
		"MOLTCTL_CONFIG_DIR": filepath.Join(filepath.Dir(dir), "config"),
	}
	hc := cmdutil.NewHTTPClient()
	if rec != nil {
		rec.next = hc.Transport
		hc.Transport = rec
	}
	f := &cmdutil.Factory{IOStreams: ios, Global: &cmdutil.GlobalOptions{Output: cmdutil.OutputJSON, Yes: true},
		Getenv: func(k string) string { return env[k] }, WorkingDir: dir, Now: time.Now, HTTPClient: hc}
	opts := &DeployOptions{F: f, Timeout: time.Minute, Init: InitFuncs{Run: initcmd.Run, Suggest: initcmd.SuggestCommand}}
	if o != nil {
		o(opts)
	}
	err := deployRun(ctx, opts)
	return run{code: clierr.ExitCodeOf(err), err: err, stdout: out.String(), stderr: errOut.String()}
}

func newEmulator(t *testing.T, faults cfemu.FaultOptions) (*cfemu.Server, *testenv.RequestLog) {
	log := &testenv.RequestLog{}
	srv := cfemu.New(cfemu.Options{ColdStart: 50 * time.Millisecond, Log: log, Faults: faults}).Start()
	t.Cleanup(srv.Close)
	return srv, log
}

// endState is what a converged deploy leaves in the emulator, in a
// comparable form.
func endState(srv *cfemu.Server) string {
	var b strings.Builder
	srv.View(func(s *cfemu.State) {
		sc := s.Scripts["moltbot-sandbox"]
		if sc == nil {
			b.WriteString("no script")
			return
		}
		var names []string
		for k := range sc.Secrets {
			names = append(names, k)
		}
		sort.Strings(names)
		fmt.Fprintf(&b, "secrets=%s workers_dev=%v previews=%v migration=%s ", strings.Join(names, ","), sc.WorkersDevEnabled, sc.PreviewsEnabled, sc.MigrationTag)
		fmt.Fprintf(&b, "buckets=%d apps=%d access_apps=%d service_tokens=%d ", len(s.Buckets), len(s.Containers.Applications), len(s.Access.Apps), len(s.Access.ServiceTokens))
		r2 := 0
		for _, tk := range s.Tokens {
			if strings.HasPrefix(tk.Name, "moltctl ") {
				r2++
			}
		}
		fmt.Fprintf(&b, "r2_tokens=%d", r2)
	})
	return b.String()
}

// reference is the end state of a plain deploy of the example, which the
// interrupted and faulted deploys must reach too. One deploy serves the
// whole package: the example is built and deployed for it once.
var reference struct {
	once  sync.Once
	state string
	err   error
}

func referenceEndState(t *testing.T) string {
	t.Helper()
	reference.once.Do(func() {
		// Stays if the deploy below stops the test that runs it.
		reference.err = errors.New("the reference deploy did not finish")
		srv, _ := newEmulator(t, cfemu.FaultOptions{})
		if r := deployOnce(context.Background(), t, srv, testenv.CopyExample(t), nil, nil); r.err != nil {
			reference.err = fmt.Errorf("reference deploy: %v\n%s", r.err, r.stderr)
			return
		}
		reference.state, reference.err = endState(srv), nil
	})
	if reference.err != nil {
		t.Fatal(reference.err)
	}
	return reference.state
}

func gatewayRunning(srv *cfemu.Server) bool {
	return srv.Gateway("moltbot-sandbox").Status == "running"
}

func decodeResult(t *testing.T, s string) Result {
	t.Helper()
	var r Result
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("stdout is not the JSON result: %v\n%s", err, s)
	}
	return r
}

func TestDeployExampleEndToEndThenNoChange(t *testing.T) {
	t.Parallel()
	testenv.RequireDocker(t)
	srv, log := newEmulator(t, cfemu.FaultOptions{})
	dir := testenv.CopyExample(t)
	rec := &hostRecorder{token: srv.Token()}
	r := deployOnce(context.Background(), t, srv, dir, rec, nil)
	if r.err != nil {
		t.Fatalf("deploy: %v\n%s", r.err, r.stderr)
	}
	res := decodeResult(t, r.stdout)
	if res.URL == "" || res.AdminURL == "" || res.Image == "" || len(res.Steps) != len(deploy.Steps()) || !res.Running {
		t.Fatalf("result = %+v", res)
	}
	if !gatewayRunning(srv) {
		t.Fatal("the deployed gateway is not running")
	}

	// The deployed Worker answers /api/status through Access with the service token.
	store, _ := state.Open(dir, "moltbot-sandbox")
	dep, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}
	creds, _ := store.LoadCredentials()
	hc := cmdutil.NewHTTPClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get := func(path string, withToken bool) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, res.URL+path, nil)
		req.Header.Set("Accept", "application/json")
		if withToken {
			req.Header.Set("CF-Access-Client-Id", dep.Access.ServiceTokenClientID)
			req.Header.Set("CF-Access-Client-Secret", creds.ServiceTokenClientSecret)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp, b.String()
	}
	if resp, body := get("/api/status", true); resp.StatusCode != 200 || !strings.Contains(body, `"running"`) {
		t.Fatalf("/api/status with the service token = %d %s", resp.StatusCode, body)
	}
	for _, p := range []string{"/api/admin/devices", "/_admin/", "/"} {
		if resp, _ := get(p, false); resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			t.Errorf("unauthenticated %s = %d, want Access to turn it away", p, resp.StatusCode)
		}
	}
	// Nothing is written before the lease: the first writes take it.
	var firstWrites []string
	for _, l := range log.Lines() {
		if m := l["method"].(string); m != http.MethodGet && m != http.MethodHead && len(firstWrites) < 2 {
			firstWrites = append(firstWrites, m+" "+l["path"].(string))
		}
	}
	if len(firstWrites) != 2 || !strings.HasSuffix(firstWrites[0], "/r2/buckets") || !strings.HasPrefix(firstWrites[0], "POST ") ||
		!strings.Contains(firstWrites[1], "/r2/buckets/moltctl-lock-moltbot-sandbox/") {
		t.Errorf("first deploy's first writes %v; want the lease (its bucket, then its holder)", firstWrites)
	}
	first := endState(srv)
	// Preview URLs are hosts outside the Access application: off, as the
	// emulator only takes with wrangler's API date header.
	if !strings.Contains(first, "workers_dev=true previews=false") {
		t.Errorf("after deploy: %s; want workers.dev on and preview URLs off", first)
	}

	// A second deploy sends no layers, assets, secrets or Worker upload.
	mark := len(log.Lines())
	r2 := deployOnce(context.Background(), t, srv, dir, rec, nil)
	if r2.err != nil {
		t.Fatalf("second deploy: %v\n%s", r2.err, r2.stderr)
	}
	var writes []string
	lines := log.Lines()[mark:]
	for _, l := range lines {
		m, p := l["method"].(string), l["path"].(string)
		if m != http.MethodGet && m != http.MethodHead {
			writes = append(writes, m+" "+p)
		}
	}
	// Nothing to change: no lease, no state written, no registry login.
	for _, w := range writes {
		t.Errorf("second deploy wrote %s", w)
	}
	// Its plan comes from reads alone, each asked once in the run (the
	// checks hand theirs to the steps): wrangler sends 14 for the same.
	asked := map[string]bool{}
	for _, l := range lines {
		k := l["method"].(string) + " " + l["path"].(string)
		if asked[k] {
			t.Errorf("second deploy asked %s twice", k)
		}
		asked[k] = true
	}
	if len(lines) > 14 {
		t.Errorf("no-change redeploy sent %d requests; want at most 14 (the state read included)", len(lines))
	}
	t.Logf("no-change redeploy: %d requests", len(lines))
	// The container application runs the image the sources hash to: the
	// registry is not asked at all (no login, no manifest check).
	for _, l := range lines {
		if p, _ := l["path"].(string); strings.HasPrefix(p, "/v2/") || strings.Contains(p, "/containers/registries/") {
			t.Errorf("second deploy asked the registry: %v %s", l["method"], p)
		}
	}
	res2 := decodeResult(t, r2.stdout)
	for _, s := range res2.Steps {
		if s.Name != "preflight" && s.Name != "wait" && s.Status != deploy.StatusSkipped {
			t.Errorf("second deploy step %s = %s (%s)", s.Name, s.Status, s.Detail)
		}
		// The version ID whole, as status shows it, not cut at its first dash.
		if v, _ := res2.Versions["worker"].(string); s.Name == "worker" && (v == "" || !strings.Contains(s.Detail, v)) {
			t.Errorf("worker step detail %q; want the whole version %q", s.Detail, v)
		}
	}
	if got := endState(srv); got != first {
		t.Errorf("end state changed:\n%s\n%s", first, got)
	}

	// No secret value reaches the output or the state file; the token stays with the API.
	stateJSON, _ := os.ReadFile(filepath.Join(store.Dir, "state.json"))
	secretsToCheck := []string{fakeAnthropicKey, creds.ServiceTokenClientSecret, creds.Generated["MOLTBOT_GATEWAY_TOKEN"], creds.Generated["R2_SECRET_ACCESS_KEY"], srv.Token()}
	for _, v := range secretsToCheck {
		if v == "" {
			t.Fatal("a secret is missing from the credentials")
		}
		for name, s := range map[string]string{"stdout": r.stdout + r2.stdout, "stderr": r.stderr + r2.stderr, "state.json": string(stateJSON)} {
			if strings.Contains(s, v) {
				t.Errorf("a secret value reached %s", name)
			}
		}
	}
	// On disk: only the credentials file holds secrets, and only those moltctl
	// made; the API token and the user's keys are in no file at all.
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		held := secretsToCheck
		if p == store.CredentialsPath() {
			held = []string{fakeAnthropicKey, srv.Token()}
		}
		for _, v := range held {
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("a secret value reached %s", p)
			}
		}
		return nil
	})
	if info, err := os.Stat(store.CredentialsPath()); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("credentials mode = %v, %v", info.Mode(), err)
	}
	if len(rec.leaks) > 0 {
		t.Errorf("the API token went elsewhere: %v", rec.leaks)
	}
	// What the emulator saw, image pushes included (they bypass the
	// recorder): the API token only at the API, registry passwords only at
	// the registry, and neither at the deployed Worker.
	seen := map[string]int{}
	belongs := map[string]string{cfemu.CredentialAPIToken: cfemu.APIPrefix + "/", cfemu.CredentialRegistryPassword: "/v2/"}
	for _, l := range log.Lines() {
		host, _ := l["host"].(string)
		p, _ := l["path"].(string)
		creds, _ := l["credentials"].([]any)
		for _, c := range creds {
			seen[c.(string)]++
			if strings.Contains(host, "workers.dev") || !strings.HasPrefix(p, belongs[c.(string)]) {
				t.Errorf("%s reached %s%s", c, host, p)
			}
		}
	}
	if seen[cfemu.CredentialAPIToken] == 0 || seen[cfemu.CredentialRegistryPassword] == 0 {
		t.Errorf("the log saw credentials %v; want both kinds, or this check proves nothing", seen)
	}
}

func TestDeployInterruptedAtEachStepConverges(t *testing.T) {
	t.Parallel()
	testenv.RequireDocker(t)
	want := referenceEndState(t)
	for _, s := range deploy.Steps() {
		name := s.Name()
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, _ := newEmulator(t, cfemu.FaultOptions{})
			dir := testenv.CopyExample(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := deployOnce(ctx, t, srv, dir, nil, func(o *DeployOptions) {
				o.OnStepStart = func(step string) {
					if step == name {
						cancel()
					}
				}
			})
			var ie *clierr.InterruptedError
			if !errors.As(r.err, &ie) || ie.Step != name || r.code != clierr.ExitInterrupted {
				t.Fatalf("interrupted deploy: err = %v (code %d), want interrupted at %s", r.err, r.code, name)
			}
			if !strings.Contains(ie.Error()+clierr.HintOf(ie), "run the same command to continue") {
				t.Errorf("message %q does not say how to continue", ie.Error()+clierr.HintOf(ie))
			}
			if r := deployOnce(context.Background(), t, srv, dir, nil, nil); r.err != nil {
				t.Fatalf("resumed deploy: %v\n%s", r.err, r.stderr)
			}
			if got := endState(srv); got != want || !gatewayRunning(srv) {
				t.Errorf("end state after resuming at %s:\n got %s\nwant %s", name, got, want)
			}
		})
	}
}

func TestConcurrentDeployRefusesNamingTheFirst(t *testing.T) {
	t.Parallel()
	srv, _ := newEmulator(t, cfemu.FaultOptions{})
	dir := testenv.CopyExample(t)
	store, err := state.Open(dir, "moltbot-sandbox")
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := store.Lock(context.Background(), "moltctl deploy --yes", false)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	r := deployOnce(context.Background(), t, srv, dir, nil, nil)
	var le *state.LockedError
	if !errors.As(r.err, &le) || le.Holder == nil || !strings.Contains(r.err.Error(), "moltctl deploy --yes") {
		t.Fatalf("second deploy err = %v, want a refusal naming the first", r.err)
	}
	srv.View(func(s *cfemu.State) {
		if len(s.Scripts) != 0 || len(s.Buckets) != 0 {
			t.Errorf("the refused deploy changed the account")
		}
	})
}

// What doctor --fix can do through the API, deploy does itself: an account
// without a workers.dev subdomain or a Zero Trust organization still deploys.
func TestDeployAppliesTheFixesTheAPICanMake(t *testing.T) {
	t.Parallel()
	testenv.RequireDocker(t)
	srv, _ := newEmulator(t, cfemu.FaultOptions{})
	srv.Update(func(s *cfemu.State) {
		s.Account.Subdomain = ""
		s.Access.Organization = nil
	})
	r := deployOnce(context.Background(), t, srv, testenv.CopyExample(t), nil, func(o *DeployOptions) { o.F.Global.Output = "text" })
	if r.err != nil {
		t.Fatalf("deploy: %v\n%s%s", r.err, r.stderr, r.stdout)
	}
	srv.View(func(s *cfemu.State) {
		if s.Account.Subdomain == "" || s.Access.Organization == nil || len(s.Access.Apps) != 1 {
			t.Errorf("subdomain %q, organization %v, %d Access apps", s.Account.Subdomain, s.Access.Organization, len(s.Access.Apps))
		}
	})
}

// A blocker only a person can clear (no Workers Paid plan) means the
// fixable ones are left alone too: the account is not changed at all.
func TestDeployFixesNothingWhenAPersonMustAct(t *testing.T) {
	t.Parallel()
	srv, log := newEmulator(t, cfemu.FaultOptions{})
	srv.Update(func(s *cfemu.State) {
		s.Account.Subdomain = ""
		s.Account.R2Enabled = false
	})
	r := deployOnce(context.Background(), t, srv, testenv.CopyExample(t), nil, func(o *DeployOptions) { o.SkipBuild, o.Image = true, "registry.example/x:y" })
	if r.code != clierr.ExitPreflight {
		t.Fatalf("deploy: code %d, err %v, want the preflight exit code", r.code, r.err)
	}
	// The JSON result names what blocked it (the report itself is for terminals).
	if res := decodeResult(t, r.stdout); !strings.Contains(res.Error, "r2.enabled") {
		t.Errorf("result error %q does not name the failed check", res.Error)
	}
	for _, l := range log.Lines() {
		if m := l["method"].(string); m != http.MethodGet && m != http.MethodHead && !strings.Contains(l["path"].(string), "/r2/buckets") {
			t.Errorf("a deploy that could not go ahead sent %s %s", m, l["path"])
		}
	}
}

// Two CI runners share no disk: the file lock cannot see the other, the
// lease kept in the account does.
func TestRunnersWithoutASharedDiskDoNotInterleave(t *testing.T) {
	t.Parallel()
	testenv.RequireDocker(t)
	srv, log := newEmulator(t, cfemu.FaultOptions{})
	reached, proceed := make(chan struct{}), make(chan struct{})
	first := make(chan run, 1)
	go func() {
		first <- deployOnce(context.Background(), t, srv, testenv.CopyExample(t), nil, func(o *DeployOptions) {
			o.OnStepStart = func(step string) {
				if step == "worker" {
					close(reached)
					<-proceed
				}
			}
		})
	}()
	select {
	case <-reached:
	case r := <-first:
		t.Fatalf("the first deploy ended early: %v\n%s", r.err, r.stderr)
	}
	mark := len(log.Lines())
	second := deployOnce(context.Background(), t, srv, testenv.CopyExample(t), nil, nil)
	var held *lease.HeldError
	if !errors.As(second.err, &held) || held.Holder == nil || !strings.Contains(second.err.Error(), "moltctl deploy") {
		t.Fatalf("second runner: err = %v, want a refusal naming the first", second.err)
	}
	for _, l := range log.Lines()[mark:] {
		if m, p := l["method"].(string), l["path"].(string); m != http.MethodGet && m != http.MethodHead && !strings.HasSuffix(p, "/r2/buckets") {
			t.Errorf("the refused runner sent %s %s", m, p)
		}
	}

	// With --wait-lock it waits for the first, then converges.
	waiting := make(chan run, 1)
	go func() {
		waiting <- deployOnce(context.Background(), t, srv, testenv.CopyExample(t), nil, func(o *DeployOptions) {
			o.WaitLock = true
			o.Lease.Poll = 20 * time.Millisecond
		})
	}()
	select {
	case r := <-waiting:
		t.Fatalf("the waiting runner did not wait: %v\n%s", r.err, r.stderr)
	case <-time.After(300 * time.Millisecond):
	}
	close(proceed)
	if r := <-first; r.err != nil {
		t.Fatalf("first deploy: %v\n%s", r.err, r.stderr)
	}
	r := <-waiting
	if r.err != nil {
		t.Fatalf("waiting deploy: %v\n%s", r.err, r.stderr)
	}
	if !strings.Contains(r.stderr, "waiting for") {
		t.Errorf("the waiting runner did not say whom it waited for:\n%s", r.stderr)
	}
	srv.View(func(s *cfemu.State) {
		if s.Buckets[lease.BucketName("moltbot-sandbox")] != nil {
			t.Error("the lease outlived both deploys")
		}
	})
}

func TestDeployUnderFaultsReachesTheSameEndState(t *testing.T) {
	t.Parallel()
	testenv.RequireDocker(t)
	want := referenceEndState(t)
	for i, kind := range cfemu.AllFaultKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			srv, log := newEmulator(t, cfemu.FaultOptions{Rate: 0.15, Kinds: []string{kind}, Seed: uint64(i + 1)})
			r := deployOnce(context.Background(), t, srv, testenv.CopyExample(t), nil, nil)
			if r.err != nil {
				t.Fatalf("deploy under %s faults: %v\n%s", kind, r.err, r.stderr)
			}
			faulted := 0
			for _, l := range log.Lines() {
				if l["fault"] != nil {
					faulted++
				}
			}
			if faulted == 0 {
				t.Fatalf("no request was faulted")
			}
			if got := endState(srv); got != want || !gatewayRunning(srv) {
				t.Errorf("end state under %s faults (%d faulted):\n got %s\nwant %s", kind, faulted, got, want)
			}
		})
	}
}

func TestDryRunChangesNothingAndEstimatesCost(t *testing.T) {
	t.Parallel()
	srv, log := newEmulator(t, cfemu.FaultOptions{})
	dir := testenv.CopyExample(t)
	// The dry run runs the checks; with --image they need no Docker daemon.
	r := deployOnce(context.Background(), t, srv, dir, nil, func(o *DeployOptions) {
		o.DryRun, o.SkipBuild, o.Image = true, true, "registry.example/x:y"
	})
	if r.err != nil {
		t.Fatalf("dry run: %v\n%s\n%s", r.err, r.stdout, r.stderr)
	}
	var plan deploy.Plan
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatal(err)
	}
	if plan.Cost == nil || plan.Cost.InstanceType != "standard-1" || plan.Cost.MonthlyUSD < 5 || plan.Cost.MonthlyUSD > 7 {
		t.Errorf("cost = %+v, want about $5-6 for standard-1 sleeping after 10m", plan.Cost)
	}
	for _, l := range log.Lines() {
		if m := l["method"]; m != "GET" && m != "HEAD" {
			t.Errorf("dry run sent %v %v", m, l["path"])
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".moltctl", "moltbot-sandbox", "state.json")); err == nil {
		t.Error("dry run wrote the state file")
	}
}

func stateObjectPath(srv *cfemu.Server) string {
	return cfemu.APIPrefix + "/accounts/" + srv.AccountID() + "/r2/buckets/" + remotestate.Bucket + "/objects/" + remotestate.ObjectKey("moltbot-sandbox")
}

// A dry run runs the checks: on an account that cannot take the deploy it
// names the blockers and exits 3, changing nothing.
func TestDryRunNamesTheBlockers(t *testing.T) {
	t.Parallel()
	srv, log := newEmulator(t, cfemu.FaultOptions{})
	srv.Update(func(s *cfemu.State) { s.Account.R2Enabled = false })
	r := deployOnce(context.Background(), t, srv, testenv.CopyExample(t), nil, func(o *DeployOptions) {
		o.DryRun, o.SkipBuild, o.Image = true, true, "registry.example/x:y"
		o.F.Global.Output = "text"
	})
	if r.code != clierr.ExitPreflight {
		t.Fatalf("dry run: code %d, err %v, want %d\n%s%s", r.code, r.err, clierr.ExitPreflight, r.stderr, r.stdout)
	}
	if !strings.Contains(r.stdout, "Blocked: the deploy would stop at preflight (r2.enabled") || !strings.Contains(r.stderr, "R2") {
		t.Errorf("the dry run does not name the blocker:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	for _, l := range log.Lines() {
		if m := l["method"]; m != "GET" && m != "HEAD" {
			t.Errorf("dry run sent %v %v", m, l["path"])
		}
	}
}

// deployPermissions are what deploy needs, in the API's spelling, without
// the permission to read the token itself.
var deployPermissions = []string{"Workers Scripts Write", "Cloudflare Containers Write", "Workers R2 Storage Write",
	"Access: Apps and Policies Write", "Access: Service Tokens Write",
	"Access: Organizations, Identity Providers, and Groups Read", "Account Settings Read"}

// The R2 token is an account token: "API Tokens Write" (the user
// permission) does not let moltctl create it. Preflight, which can read
// such a token's permissions, stops before anything is built or changed,
// naming the permission the dashboard calls Account API Tokens Edit.
func TestDeployStopsAtPreflightWithoutAccountAPITokens(t *testing.T) {
	t.Parallel()
	srv, log := newEmulator(t, cfemu.FaultOptions{})
	srv.Update(func(s *cfemu.State) {
		s.Tokens[srv.Token()].Permissions = append(append([]string{}, deployPermissions...), "API Tokens Write")
	})
	r := deployOnce(context.Background(), t, srv, testenv.CopyExample(t), nil, func(o *DeployOptions) { o.SkipBuild, o.Image = true, "registry.example/x:y" })
	if r.code != clierr.ExitPreflight || !strings.Contains(r.err.Error(), "token.permissions") {
		t.Fatalf("deploy: code %d, err %v, want the preflight exit code for token.permissions", r.code, r.err)
	}
	for _, l := range log.Lines() {
		if m := l["method"].(string); m != http.MethodGet && m != http.MethodHead && !strings.Contains(l["path"].(string), "/r2/buckets") {
			t.Errorf("a refused deploy wrote %s %s", m, l["path"])
		}
	}
}

// A token that cannot read its own permissions passes preflight with a
// warning; when it then lacks the account permission for the R2 token, the
// step says which permission, not just "Authentication error".
func TestDeployNamesThePermissionTheR2TokenNeeds(t *testing.T) {
	t.Parallel()
	testenv.RequireDocker(t)
	srv, _ := newEmulator(t, cfemu.FaultOptions{})
	srv.Update(func(s *cfemu.State) { s.Tokens[srv.Token()].Permissions = deployPermissions })
	r := deployOnce(context.Background(), t, srv, testenv.CopyExample(t), nil, nil)
	if r.err == nil || !strings.Contains(r.err.Error(), "r2-credentials") {
		t.Fatalf("deploy: err %v; want preflight to let it through and the R2 token step to fail", r.err)
	}
	var he interface{ Hint() string }
	if !errors.As(r.err, &he) || !strings.Contains(he.Hint(), "Account API Tokens Edit") {
		t.Errorf("deploy error %v has no fix naming Account API Tokens Edit", r.err)
	}
}

// Without a terminal the progress lines are the same human lines (no
// colour, no spinner); step=… lines only with --log-format kv.
func TestProgressLinesWithoutTerminal(t *testing.T) {
	t.Parallel()
	for _, kv := range []bool{false, true} {
		ios, _, _, errOut := iostreams.Test()
		p := newProgress(ios, false)
		p.kv = kv
		p.Start("preflight", "check")
		p.Done(deploy.StepResult{Name: "preflight", Status: deploy.StatusSkipped, Detail: "up to date"})
		got := errOut.String()
		if strings.Contains(got, "step=") != kv || !strings.Contains(got, "preflight") || strings.Contains(got, "\x1b") {
			t.Errorf("kv=%v: %q", kv, got)
		}
	}
}

// TestDeployWaitNamesTheCauseFromTheLogs: when the gateway does not come
// up and /api/status says no more than "starting", the hint names the
// cause the Worker's logs show, without repeating the log line.
func TestDeployWaitNamesTheCauseFromTheLogs(t *testing.T) {
	testenv.RequireDocker(t)
	t.Parallel()
	srv, _ := newEmulator(t, cfemu.FaultOptions{})
	srv.SetGatewayFault("moltbot-sandbox", "Config invalid: channels.telegram.botToken: sk-secret-in-log must match")
	dir := testenv.CopyExample(t)
	r := deployOnce(context.Background(), t, srv, dir, nil, func(o *DeployOptions) { o.Timeout = time.Second })
	if r.err == nil {
		t.Fatal("deploy succeeded with a gateway that never listens")
	}
	msg := r.err.Error() + "\n" + clierr.HintOf(r.err)
	if !strings.Contains(msg, "OpenClaw refused its configuration") || !strings.Contains(msg, "moltctl secrets check") || !strings.Contains(msg, "#57") {
		t.Errorf("error does not name the cause and fix from the logs:\n%s\n%s", msg, r.stderr)
	}
	if strings.Contains(msg+r.stderr+r.stdout, "sk-secret-in-log") {
		t.Errorf("the log line's secret came out:\n%s\n%s", msg, r.stderr)
	}
}

// Inside launch (composed) the summary leaves the next steps to launch,
// which pairs the browser next; on its own, deploy lists them.
func TestSummaryNextStepsOnlyOnItsOwn(t *testing.T) {
	t.Parallel()
	res := &Result{Worker: "molt", URL: "https://molt.example.workers.dev", AdminURL: "https://molt.example.workers.dev/_admin/", Running: true}
	for _, composed := range []bool{false, true} {
		var b strings.Builder
		printSummary(&b, res, &DeployOptions{F: &cmdutil.Factory{Composed: composed}})
		if strings.Contains(b.String(), "Next steps:") == composed || !strings.Contains(b.String(), "Deployed molt") {
			t.Errorf("composed=%v:\n%s", composed, b.String())
		}
	}
}
