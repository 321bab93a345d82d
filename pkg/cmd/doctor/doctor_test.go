package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/iostreams"
	"github.com/moltctl/moltctl/pkg/preflight"
	"github.com/moltctl/moltctl/pkg/prompt"
)

// fakeDocker is a Docker daemon that is down or up.
type fakeDocker struct{ up bool }

func (d *fakeDocker) Probe(context.Context) (*preflight.DockerInfo, error) {
	if !d.up {
		return nil, errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
	}
	return &preflight.DockerInfo{Host: "unix:///var/run/docker.sock", ServerVersion: "28.5.2", APIVersion: "1.51",
		OSType: "linux", Architecture: "x86_64", CanBuildAMD64: true, FreeBytes: 50 << 30, RootDir: "/var/lib/docker"}, nil
}

func (d *fakeDocker) Advice(error) string { return "start the daemon: `sudo systemctl start docker`" }

const wranglerJSONC = `// moltworker, trimmed
{
  "name": "moltbot-sandbox",
  "main": "src/index.ts",
  "compatibility_date": "2025-05-06",
  "assets": {"directory": "./dist/client", "binding": "ASSETS"},
  "build": {"command": "npm run build"},
  "containers": [{"class_name": "Sandbox", "image": "./Dockerfile", "instance_type": "standard-1", "max_instances": 1}],
  "durable_objects": {"bindings": [{"class_name": "Sandbox", "name": "Sandbox"}]},
  "migrations": [{"tag": "v1", "new_sqlite_classes": ["Sandbox"]}],
  "r2_buckets": [{"binding": "MOLTBOT_BUCKET", "bucket_name": "moltbot-data"}],
}
`

const dockerfile = "FROM docker.io/cloudflare/sandbox:0.7.0\nCOPY start-openclaw.sh /usr/local/bin/start-openclaw.sh\nCOPY skills/ /root/clawd/skills/\n"

const manifestYAML = `secrets:
  MOLTBOT_GATEWAY_TOKEN: generate
  ANTHROPIC_API_KEY: env
  CF_ACCESS_AUD: deploy
  CF_ACCESS_TEAM_DOMAIN: deploy
`

// project writes a moltworker-like project; crlf gives its start script CRLF line endings.
func project(t *testing.T, crlf bool) string {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/bash\nset -e\nexec openclaw gateway\n"
	if crlf {
		script = strings.ReplaceAll(script, "\n", "\r\n")
	}
	files := map[string]string{
		"wrangler.jsonc":    wranglerJSONC,
		"Dockerfile":        dockerfile,
		"start-openclaw.sh": script,
		"skills/README.md":  "skills\n",
		"src/index.ts":      "export default {}\n",
		"moltctl.yaml":      manifestYAML,
		"package.json":      `{"scripts": {"build": "vite build"}}`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type result struct {
	code        int
	out, errOut string
}

// run runs `moltctl doctor args...` in dir against srv.
func run(t *testing.T, srv *cfemu.Server, token, dir string, docker preflight.DockerProber, tty bool, args ...string) result {
	t.Helper()
	io, _, out, errOut := iostreams.Test()
	io.SetTTY(tty)
	io.SetColorEnabled(tty)
	// The project's manifest reads the key from the environment.
	env := map[string]string{"CLOUDFLARE_API_BASE_URL": srv.APIURL(), "ANTHROPIC_API_KEY": "sk-ant-api03-" + strings.Repeat("a", 40)}
	if token != "" {
		env["CLOUDFLARE_API_TOKEN"] = token
	}
	g := &cmdutil.GlobalOptions{Output: cmdutil.OutputText}
	f := &cmdutil.Factory{IOStreams: io, Global: g, Getenv: func(k string) string { return env[k] },
		WorkingDir: dir, Now: time.Now, HTTPClient: cmdutil.NewHTTPClient()}
	cmd := NewCmdDoctor(f, func(ctx context.Context, o *DoctorOptions) error {
		o.Docker = docker
		return doctorRun(ctx, o)
	})
	// The global flags live on root; parse the ones these tests use here.
	var rest []string
	for _, a := range args {
		switch a {
		case "--json":
			g.Output = cmdutil.OutputJSON
		case "--yes":
			g.Yes = true
		default:
			rest = append(rest, a)
		}
	}
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(rest)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	err := cmd.ExecuteContext(context.Background())
	return result{code: clierr.ExitCodeOf(err), out: out.String(), errOut: errOut.String()}
}

type jsonReport struct {
	OK     bool `json:"ok"`
	Checks []struct {
		ID, Title, Status, Message, Fix string
	} `json:"checks"`
}

func decode(t *testing.T, s string) jsonReport {
	t.Helper()
	var r jsonReport
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("output is not the documented JSON: %v\n%s", err, s)
	}
	return r
}

func statuses(r jsonReport) map[string]string {
	m := map[string]string{}
	for _, c := range r.Checks {
		m[c.ID] = c.Status
	}
	return m
}

func newEmulator(t *testing.T) *cfemu.Server {
	t.Helper()
	srv := cfemu.New(cfemu.Options{Scenario: cfemu.ScenarioNewAccount}).Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestNewAccountReportsEveryProblemThenFixGoesGreen(t *testing.T) {
	t.Parallel()
	srv := newEmulator(t)
	dir := project(t, true)
	docker := &fakeDocker{up: false}

	// One run finds every problem, each with its fix.
	res := run(t, srv, srv.Token(), dir, docker, false, "--json")
	if res.code != clierr.ExitPreflight {
		t.Fatalf("exit %d, want %d\n%s%s", res.code, clierr.ExitPreflight, res.out, res.errOut)
	}
	rep := decode(t, res.out)
	if rep.OK {
		t.Error(`"ok" is true with failures`)
	}
	want := map[string]string{
		preflight.IDDocker: "fail", preflight.IDDockerPlatform: "skipped", preflight.IDDockerDisk: "skipped",
		preflight.IDToken: "ok", preflight.IDPermissions: "ok", preflight.IDAccount: "ok",
		preflight.IDPlan: "fail", preflight.IDR2Enabled: "fail", preflight.IDR2Bucket: "skipped",
		preflight.IDSubdomain: "fail", preflight.IDAccessOrg: "fail",
		preflight.IDConfig: "ok", preflight.IDDockerfile: "ok", preflight.IDLineEndings: "fail", preflight.IDBuild: "ok",
		preflight.IDSecretsManifest: "ok", preflight.IDSecretsRemote: "ok", preflight.IDSecretsSettings: "ok",
		preflight.IDAccessApp: "ok",
	}
	got := statuses(rep)
	for id, st := range want {
		if got[id] != st {
			t.Errorf("check %s = %s, want %s", id, got[id], st)
		}
	}
	if len(rep.Checks) != len(preflight.Standard()) {
		t.Errorf("%d checks in JSON, want %d", len(rep.Checks), len(preflight.Standard()))
	}
	fixes := map[string]string{
		preflight.IDDocker:      "systemctl start docker",
		preflight.IDPlan:        "https://dash.cloudflare.com/?to=/:account/workers/plans",
		preflight.IDR2Enabled:   "https://dash.cloudflare.com/?to=/:account/r2",
		preflight.IDSubdomain:   "moltctl doctor --fix",
		preflight.IDAccessOrg:   ".cloudflareaccess.com",
		preflight.IDLineEndings: "sed -i",
	}
	for _, c := range rep.Checks {
		if (c.Status == "fail" || c.Status == "warn") && c.Fix == "" {
			t.Errorf("check %s is %s without a fix", c.ID, c.Status)
		}
		if w, ok := fixes[c.ID]; ok && !strings.Contains(c.Fix, w) {
			t.Errorf("check %s fix %q lacks %q", c.ID, c.Fix, w)
		}
		if c.Status == "skipped" && !strings.HasPrefix(c.Message, "skipped: ") {
			t.Errorf("check %s skipped without a reason: %q", c.ID, c.Message)
		}
	}
	if !strings.Contains(find(rep, preflight.IDPlan).Message, "Unauthorized") {
		t.Errorf("plan message does not explain the late Unauthorized: %q", find(rep, preflight.IDPlan).Message)
	}

	// --fix --yes does what the API allows and names the human steps.
	res = run(t, srv, srv.Token(), dir, docker, false, "--fix", "--yes")
	if res.code != clierr.ExitPreflight {
		t.Fatalf("--fix before the human steps: exit %d\n%s%s", res.code, res.out, res.errOut)
	}
	for _, w := range []string{"register the workers.dev subdomain", "create the Zero Trust organization", "These need you", "subscribe to Workers Paid", "enable R2"} {
		if !strings.Contains(res.errOut, w) {
			t.Errorf("--fix stderr lacks %q:\n%s", w, res.errOut)
		}
	}
	var sub string
	var org *cfemu.AccessOrganization
	srv.View(func(s *cfemu.State) { sub, org = s.Account.Subdomain, s.Access.Organization })
	if sub == "" || org == nil || !strings.HasSuffix(org.AuthDomain, ".cloudflareaccess.com") {
		t.Fatalf("--fix did not register the subdomain (%q) and organization (%+v)", sub, org)
	}

	// The human steps: subscribe, enable R2, start Docker, convert the script.
	srv.Update(func(s *cfemu.State) {
		s.Account.WorkersPaid, s.Account.R2Enabled, s.Account.ContainersEnabled = true, true, true
	})
	docker.up = true
	if err := os.WriteFile(filepath.Join(dir, "start-openclaw.sh"), []byte("#!/bin/bash\nexec openclaw gateway\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	res = run(t, srv, srv.Token(), dir, docker, false, "--fix", "--yes", "--json")
	if res.code != 0 {
		t.Fatalf("after the human steps and --fix: exit %d\n%s%s", res.code, res.out, res.errOut)
	}
	rep = decode(t, res.out)
	for _, c := range rep.Checks {
		if c.Status != "ok" {
			t.Errorf("check %s = %s (%s), want ok", c.ID, c.Status, c.Message)
		}
	}
	var bucket bool
	srv.View(func(s *cfemu.State) { _, bucket = s.Buckets["moltbot-data"] })
	if !bucket {
		t.Error("--fix did not create the R2 bucket")
	}
}

func find(r jsonReport, id string) struct{ ID, Title, Status, Message, Fix string } {
	for _, c := range r.Checks {
		if c.ID == id {
			return c
		}
	}
	return struct{ ID, Title, Status, Message, Fix string }{}
}

func TestTextOutputOnAndOffTTY(t *testing.T) {
	t.Parallel()
	srv := newEmulator(t)
	dir := project(t, false)
	for _, tty := range []bool{false, true} {
		res := run(t, srv, srv.Token(), dir, &fakeDocker{}, tty)
		if res.code != clierr.ExitPreflight {
			t.Fatalf("tty=%v: exit %d", tty, res.code)
		}
		hasColour := strings.Contains(res.out, "\x1b[")
		if hasColour != tty {
			t.Errorf("tty=%v: colour in output = %v", tty, hasColour)
		}
		for _, w := range []string{"Docker daemon", "start the daemon", "workers.dev subdomain", "failed,", "https://dash.cloudflare.com/?to=/:account/workers/plans"} {
			if !strings.Contains(res.out, w) {
				t.Errorf("tty=%v: output lacks %q:\n%s", tty, w, res.out)
			}
		}
		if !tty && res.errOut != "" {
			t.Errorf("progress written without a TTY: %q", res.errOut)
		}
		// JSON stays pure on stdout whether or not there is a terminal.
		res = run(t, srv, srv.Token(), dir, &fakeDocker{}, tty, "--json")
		if rep := decode(t, res.out); res.code != clierr.ExitPreflight || rep.OK || strings.Contains(res.out, "\x1b[") {
			t.Errorf("tty=%v: JSON exit %d ok=%v", tty, res.code, rep.OK)
		}
	}
}

func TestNoTokenSkipsAPIChecks(t *testing.T) {
	t.Parallel()
	srv := newEmulator(t)
	res := run(t, srv, "", project(t, false), &fakeDocker{up: true}, false, "--json")
	if res.code != clierr.ExitPreflight {
		t.Fatalf("exit %d", res.code)
	}
	rep := decode(t, res.out)
	tok := find(rep, preflight.IDToken)
	if tok.Status != "fail" || !strings.Contains(tok.Fix, "permissionGroupKeys") {
		t.Errorf("token check = %+v", tok)
	}
	for _, id := range []string{preflight.IDPermissions, preflight.IDAccount, preflight.IDPlan, preflight.IDR2Enabled, preflight.IDSubdomain, preflight.IDAccessOrg} {
		if c := find(rep, id); c.Status != "skipped" || c.Message != "skipped: no API token" {
			t.Errorf("%s = %s %q, want skipped: no API token", id, c.Status, c.Message)
		}
	}
}

func TestUnderScopedTokenNamesMissingPermissions(t *testing.T) {
	t.Parallel()
	srv := cfemu.New(cfemu.Options{}).Start()
	t.Cleanup(srv.Close)
	srv.Update(func(s *cfemu.State) {
		// API Tokens Read lets the user token read itself.
		s.Tokens[srv.Token()].Permissions = []string{"Workers Scripts Write", "Account Settings Read", "Workers R2 Storage Write", "API Tokens Read"}
	})
	res := run(t, srv, srv.Token(), project(t, false), &fakeDocker{up: true}, false, "--json", "--check", "token.permissions")
	rep := decode(t, res.out)
	c := find(rep, preflight.IDPermissions)
	if c.Status != "fail" {
		t.Fatalf("permissions = %+v", c)
	}
	for _, w := range []string{`"Access: Apps and Policies Edit"`, `"Access: Service Tokens Edit"`, `"Account API Tokens Edit"`} {
		if !strings.Contains(c.Message, w) || !strings.Contains(c.Fix, w) {
			t.Errorf("missing permission %s not named: %q / %q", w, c.Message, c.Fix)
		}
	}
	if strings.Contains(c.Message, "Workers Scripts") {
		t.Errorf("a granted permission is named missing: %q", c.Message)
	}
	if !strings.Contains(c.Fix, "https://dash.cloudflare.com/profile/api-tokens?") {
		t.Errorf("no token template link: %q", c.Fix)
	}
	if len(rep.Checks) != 1 {
		t.Errorf("--check ran %d checks", len(rep.Checks))
	}
}

// On Cloudflare a token cannot read its own permissions without API
// Tokens Read, and the Containers permission's API name is unconfirmed:
// either leaves the permissions unverified, which warns (naming the check
// to run by hand) and does not block.
func TestUnverifiablePermissionsWarnAndDoNotBlock(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, want string
		perms      []string
	}{
		{"token cannot read itself", "cannot read its own permissions", []string{"Workers Scripts Write", "Workers R2 Storage Write",
			"Access: Apps and Policies Write", "Access: Service Tokens Write", "Access: Organizations, Identity Providers, and Groups Read",
			"Account API Tokens Write", "Account Settings Read"}},
		{"containers under another name", `no permission named "Cloudflare Containers Write"`, []string{"Workers Scripts Write",
			"Workers R2 Storage Write", "Access: Apps and Policies Write", "Access: Service Tokens Write",
			"Access: Organizations, Identity Providers, and Groups Read", "Account API Tokens Write", "Account Settings Read", "API Tokens Read"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := cfemu.New(cfemu.Options{}).Start()
			t.Cleanup(srv.Close)
			srv.Update(func(s *cfemu.State) { s.Tokens[srv.Token()].Permissions = tt.perms })
			res := run(t, srv, srv.Token(), project(t, false), &fakeDocker{up: true}, false, "--check", "token.permissions")
			if res.code != 0 || !strings.Contains(res.out, "ready, permissions unverified") || !strings.Contains(res.out, tt.want) ||
				!strings.Contains(res.out, "https://dash.cloudflare.com/profile/api-tokens") {
				t.Errorf("exit %d, want 0 and a warning naming the check:\n%s%s", res.code, res.out, res.errOut)
			}
		})
	}
}

// fixSetup is a new account in the emulator and a project, for --fix.
func fixSetup(t *testing.T) (*cfemu.Server, *cmdutil.Factory, *bytes.Buffer) {
	t.Helper()
	srv := newEmulator(t)
	dir := project(t, false)
	io, _, _, errOut := iostreams.Test()
	env := map[string]string{"CLOUDFLARE_API_BASE_URL": srv.APIURL(), "CLOUDFLARE_API_TOKEN": srv.Token()}
	f := &cmdutil.Factory{IOStreams: io, Global: &cmdutil.GlobalOptions{Output: cmdutil.OutputText},
		Getenv: func(k string) string { return env[k] }, WorkingDir: dir, Now: time.Now, HTTPClient: cmdutil.NewHTTPClient()}
	return srv, f, errOut
}

// decline is a prompter that answers no to every confirmation.
type decline struct {
	prompt.NoPrompt
	asked *int
}

func (d decline) Confirm(string, bool) (bool, error) { *d.asked++; return false, nil }

func TestFixAsksFirstAndChangesNothingWhenDeclined(t *testing.T) {
	t.Parallel()
	srv, f, errOut := fixSetup(t)
	io := f.IOStreams
	asked := 0
	opts := &DoctorOptions{IO: io, Fix: true, Docker: &fakeDocker{up: true}, CanPrompt: true,
		Prompter: func() prompt.Prompter { return decline{asked: &asked} },
		NewEnv:   func() *preflight.Env { return f.PreflightEnv() }}
	err := doctorRun(context.Background(), opts)
	if !errors.Is(err, clierr.ErrCancelled) || asked != 1 {
		t.Fatalf("err = %v, asked %d times", err, asked)
	}
	if !strings.Contains(errOut.String(), "register the workers.dev subdomain") {
		t.Errorf("the confirmation does not list the fixes:\n%s", errOut)
	}
	srv.View(func(s *cfemu.State) {
		if s.Account.Subdomain != "" || s.Access.Organization != nil {
			t.Error("declined fixes were applied")
		}
	})
}

// Without a terminal and without --yes, --fix applies what can be undone
// and leaves the permanent workers.dev name alone, naming it; --subdomain
// chooses the name that --yes then registers.
func TestFixWithoutTerminalNeedsYesForTheWorkersDevName(t *testing.T) {
	t.Parallel()
	srv, f, errOut := fixSetup(t)
	io := f.IOStreams
	newEnv := func(sub string) func() *preflight.Env {
		return func() *preflight.Env { e := f.PreflightEnv(); e.Subdomain = sub; return e }
	}
	opts := &DoctorOptions{IO: io, Fix: true, Docker: &fakeDocker{up: true}, Prompter: func() prompt.Prompter { return prompt.NoPrompt{} }, NewEnv: newEnv("")}
	_ = doctorRun(context.Background(), opts)
	if !strings.Contains(errOut.String(), "not done without --yes: register the workers.dev subdomain") {
		t.Errorf("stderr does not name the name left alone:\n%s", errOut)
	}
	srv.View(func(s *cfemu.State) {
		if s.Account.Subdomain != "" {
			t.Errorf("registered %q without --yes", s.Account.Subdomain)
		}
		if s.Access.Organization == nil {
			t.Error("the Zero Trust organization, which can be undone, was not created")
		}
	})
	opts = &DoctorOptions{IO: io, Fix: true, Yes: true, Docker: &fakeDocker{up: true}, NewEnv: newEnv("my-pick")}
	_ = doctorRun(context.Background(), opts)
	srv.View(func(s *cfemu.State) {
		if s.Account.Subdomain != "my-pick" {
			t.Errorf("subdomain %q, want the one passed with --subdomain", s.Account.Subdomain)
		}
	})
}
