package cfemu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/internal/testenv"
)

// These conformance tests drive the real wrangler (see .ci/node.sh) against
// the emulator and check that each command succeeds and leaves the state
// Cloudflare would.

// syncBuffer is a goroutine-safe request log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// count returns how many logged requests had method and a path ending in suffix.
func (s *syncBuffer) count(method, suffix string) int {
	n := 0
	for _, line := range strings.Split(s.String(), "\n") {
		var e logEntry
		if json.Unmarshal([]byte(line), &e) == nil && e.Method == method && strings.HasSuffix(e.Path, suffix) {
			n++
		}
	}
	return n
}

type wranglerRun struct {
	t    *testing.T
	bin  string
	srv  *Server
	log  *syncBuffer
	env  []string
	home string
}

// newWrangler starts an emulator and returns a wrangler runner pointed at
// it, with HOME, config and temp dirs of its own.
func newWrangler(t *testing.T, opts Options) *wranglerRun {
	t.Helper()
	bin := testenv.Wrangler(t)
	t.Parallel()
	logBuf := &syncBuffer{}
	opts.Log = logBuf
	if opts.AccountID == "" {
		opts.AccountID = "0123456789abcdef0123456789abcdef"
	}
	srv := New(opts).Start()
	t.Cleanup(srv.Close)
	home := t.TempDir()
	tmp := filepath.Join(home, "tmp")
	// A fresh update-check cache keeps wrangler from asking the npm registry.
	if err := os.MkdirAll(filepath.Join(tmp, "update-check"), 0o755); err != nil {
		t.Fatal(err)
	}
	cache := fmt.Sprintf(`{"latest":"4.164.0","lastUpdate":%d}`, time.Now().UnixMilli())
	if err := os.WriteFile(filepath.Join(tmp, "update-check", "wrangler-latest.json"), []byte(cache), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"TMPDIR=" + tmp,
		"CLOUDFLARE_API_BASE_URL=" + srv.APIURL(),
		"CLOUDFLARE_API_TOKEN=" + srv.Token(),
		"CLOUDFLARE_ACCOUNT_ID=" + srv.AccountID(),
		"WRANGLER_SEND_METRICS=false",
		"DO_NOT_TRACK=1",
		"CI=1",
		"NO_COLOR=1",
		"FORCE_COLOR=0",
	}
	if dir, err := os.UserCacheDir(); err == nil {
		env = append(env, "NODE_COMPILE_CACHE="+filepath.Join(dir, "moltctl", "node-compile-cache"))
	}
	return &wranglerRun{t: t, bin: bin, srv: srv, log: logBuf, env: env, home: home}
}

// run runs wrangler in dir with stdin and extra environment; it returns the
// combined output and fails the test when wantOK differs from the outcome.
func (w *wranglerRun) run(dir, stdin string, extraEnv []string, wantOK bool, args ...string) string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.bin, args...)
	if dir == "" {
		dir = w.home
	}
	cmd.Dir = dir
	cmd.Env = append(append([]string{}, w.env...), extraEnv...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if (err == nil) != wantOK {
		w.t.Fatalf("wrangler %s: err=%v, want success=%v\n%s", strings.Join(args, " "), err, wantOK, out)
	}
	return string(out)
}

func TestWranglerWhoami(t *testing.T) {
	w := newWrangler(t, Options{})
	out := w.run("", "", nil, true, "whoami")
	for _, want := range []string{"User API Token", "user@example.com", w.srv.AccountID(), "Emulated Account"} {
		if !strings.Contains(out, want) {
			t.Errorf("whoami output lacks %q:\n%s", want, out)
		}
	}
	out = w.run("", "", []string{"CLOUDFLARE_API_TOKEN=" + w.srv.AccountToken()}, true, "whoami")
	if !strings.Contains(out, "Account API Token") {
		t.Errorf("whoami with an account token should say so:\n%s", out)
	}
	out = w.run("", "", []string{"CLOUDFLARE_API_TOKEN=" + w.srv.ExpiredToken()}, false, "r2", "bucket", "list")
	if !strings.Contains(out, "Authentication error [code: 10000]") {
		t.Errorf("an expired token should fail with 10000:\n%s", out)
	}
}

func TestWranglerSecrets(t *testing.T) {
	w := newWrangler(t, Options{})
	const script = "secrets-demo"
	// No such Worker: wrangler creates a draft Worker, then sets the secret.
	w.run("", "value one\n", nil, true, "secret", "put", "FOO", "--name", script)
	w.srv.View(func(st *State) {
		sc := st.Scripts[script]
		if sc == nil {
			t.Fatalf("secret put did not create the draft Worker")
		}
		if got := sc.Secrets["FOO"]; got != "value one" {
			t.Errorf("FOO = %q, want %q", got, "value one")
		}
	})

	file := filepath.Join(t.TempDir(), "secrets.json")
	if err := os.WriteFile(file, []byte(`{"A":"alpha","B":"beta","FOO":null}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := w.run("", "", nil, true, "secret", "bulk", file, "--name", script)
	if !strings.Contains(out, "2 secrets successfully created") || !strings.Contains(out, "1 secrets successfully deleted") {
		t.Errorf("secret bulk output:\n%s", out)
	}
	if n := w.log.count("PATCH", "/workers/scripts/"+script+"/secrets-bulk"); n != 1 {
		t.Errorf("secret bulk sent %d PATCH secrets-bulk requests, want 1", n)
	}

	w.run("", "", nil, true, "secret", "delete", "A", "--name", script)
	out = w.run("", "", nil, true, "secret", "list", "--name", script)
	var listed []map[string]string
	if i := strings.Index(out, "["); i < 0 || json.Unmarshal([]byte(out[i:strings.LastIndex(out, "]")+1]), &listed) != nil {
		t.Fatalf("secret list printed no JSON:\n%s", out)
	}
	if len(listed) != 1 || listed[0]["name"] != "B" || listed[0]["type"] != "secret_text" {
		t.Errorf("secret list = %v, want only B", listed)
	}
	w.srv.View(func(st *State) {
		sc := st.Scripts[script]
		if len(sc.Secrets) != 1 || sc.Secrets["B"] != "beta" {
			t.Errorf("secrets after delete = %v keys, want B=beta", len(sc.Secrets))
		}
		if len(sc.Deployments) < 4 {
			t.Errorf("each secret change should deploy a version; got %d deployments", len(sc.Deployments))
		}
	})
	for _, v := range []string{"value one", "alpha", "beta"} {
		if strings.Contains(w.log.String(), v) {
			t.Errorf("the request log holds a secret value %q", v)
		}
	}
}

func TestWranglerR2(t *testing.T) {
	t.Parallel()
	t.Run("ready", func(t *testing.T) {
		w := newWrangler(t, Options{})
		w.run("", "", nil, true, "r2", "bucket", "create", "moltbot-data", "--location", "weur")
		w.srv.View(func(st *State) {
			b := st.Buckets["moltbot-data"]
			if b == nil || b.Location != "weur" || b.StorageClass != "Standard" {
				t.Errorf("bucket = %+v, want moltbot-data in weur, Standard", b)
			}
		})
		out := w.run("", "", nil, true, "r2", "bucket", "list")
		if !strings.Contains(out, "moltbot-data") {
			t.Errorf("r2 bucket list lacks the bucket:\n%s", out)
		}
		out = w.run("", "", nil, false, "r2", "bucket", "create", "moltbot-data")
		if !strings.Contains(out, "[code: 10004]") {
			t.Errorf("creating an existing bucket should fail with 10004:\n%s", out)
		}

		file := filepath.Join(t.TempDir(), "note.txt")
		if err := os.WriteFile(file, []byte("remember\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		w.run("", "", nil, true, "r2", "object", "put", "moltbot-data/backup/note.txt", "--file", file, "--remote")
		if out := w.run("", "", nil, true, "r2", "object", "get", "moltbot-data/backup/note.txt", "--remote", "--pipe"); !strings.Contains(out, "remember") {
			t.Errorf("object get:\n%s", out)
		}
		if out := w.run("", "", nil, false, "r2", "bucket", "delete", "moltbot-data"); !strings.Contains(out, "[code: 10008]") {
			t.Errorf("deleting a bucket with an object should fail with 10008:\n%s", out)
		}
		w.run("", "", nil, true, "r2", "object", "delete", "moltbot-data/backup/note.txt", "--remote")
		w.run("", "", nil, true, "r2", "bucket", "delete", "moltbot-data")
		w.srv.View(func(st *State) {
			if st.Buckets["moltbot-data"] != nil {
				t.Errorf("r2 bucket delete left the bucket")
			}
		})
	})
	t.Run("new-account", func(t *testing.T) {
		w := newWrangler(t, Options{Scenario: ScenarioNewAccount})
		out := w.run("", "", nil, false, "r2", "bucket", "create", "moltbot-data")
		if !strings.Contains(out, "Please enable R2 through the Cloudflare Dashboard. [code: 10042]") {
			t.Errorf("R2 not enabled should fail with 10042:\n%s", out)
		}
		w.srv.View(func(st *State) {
			if len(st.Buckets) != 0 {
				t.Errorf("a failed create left buckets: %v", st.Buckets)
			}
		})
	})
}

// deployProject writes a small Worker with static assets, a Durable Object
// (SQLite migration), a var and an R2 binding.
func deployProject(t *testing.T) string {
	dir := t.TempDir()
	files := map[string]string{
		"index.js": `export class Counter {
  constructor(state) { this.state = state; }
  async fetch() { return new Response("ok"); }
}
export default { async fetch(req, env) { return env.ASSETS.fetch(req); } };
`,
		"wrangler.jsonc": `{
  // conformance Worker
  "name": "conformance",
  "main": "index.js",
  "compatibility_date": "2025-05-06",
  "compatibility_flags": ["nodejs_compat"],
  "assets": { "directory": "./public", "binding": "ASSETS", "not_found_handling": "single-page-application" },
  "durable_objects": { "bindings": [{ "name": "COUNTER", "class_name": "Counter" }] },
  "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Counter"] }],
  "vars": { "GREETING": "hello" },
  "r2_buckets": [{ "binding": "BUCKET", "bucket_name": "conformance-data" }],
  "observability": { "enabled": true }
}
`,
		"public/index.html": "<!doctype html><h1>hello</h1>\n",
		"public/app.css":    "body { margin: 0 }\n",
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

func TestWranglerDeploy(t *testing.T) {
	w := newWrangler(t, Options{})
	dir := deployProject(t)
	// wrangler provisions a missing R2 bucket itself.
	out := w.run(dir, "", nil, true, "deploy")
	if !strings.Contains(out, "https://conformance.emulated.workers.dev") {
		t.Errorf("deploy should print the workers.dev URL:\n%s", out)
	}
	var nsID string
	w.srv.View(func(st *State) {
		sc := st.Scripts["conformance"]
		if sc == nil {
			t.Fatal("deploy left no script")
		}
		if sc.MigrationTag != "v1" || !sc.WorkersDevEnabled || sc.CompatibilityDate != "2025-05-06" {
			t.Errorf("script: tag %q workers.dev %v date %q", sc.MigrationTag, sc.WorkersDevEnabled, sc.CompatibilityDate)
		}
		nsID = sc.DONamespaces()["Counter"]
		if ns := st.DONamespaces[nsID]; ns == nil || ns.Script != "conformance" || !ns.UseSQLite {
			t.Errorf("Counter namespace = %+v", ns)
		}
		if sc.Env()["GREETING"] != "hello" {
			t.Errorf("GREETING var = %q", sc.Env()["GREETING"])
		}
		if st.Buckets["conformance-data"] == nil {
			t.Errorf("deploy did not provision the R2 bucket")
		}
		if sc.Assets == nil || sc.Assets.Manifest["/index.html"] != AssetHash("index.html", []byte("<!doctype html><h1>hello</h1>\n")) {
			t.Errorf("assets manifest = %+v", sc.Assets)
		}
		if sc.Observability == nil {
			t.Errorf("observability not stored")
		}
		sc.Secrets["KEPT"] = "kept value" // set between deploys, as `secret put` would
	})
	uploads := w.log.count("POST", "/workers/assets/upload")

	// A second deploy changes nothing Cloudflare keeps: same namespace, the
	// secret survives, no asset is uploaded again.
	w.run(dir, "", nil, true, "deploy")
	w.srv.View(func(st *State) {
		sc := st.Scripts["conformance"]
		if got := sc.DONamespaces()["Counter"]; got != nsID {
			t.Errorf("namespace id changed across deploys: %q → %q", nsID, got)
		}
		if sc.Secrets["KEPT"] != "kept value" {
			t.Errorf("a redeploy dropped the secret")
		}
		if len(sc.Deployments) != 2 {
			t.Errorf("deployments = %d, want 2", len(sc.Deployments))
		}
	})
	if n := w.log.count("POST", "/workers/assets/upload"); n != uploads {
		t.Errorf("the second deploy uploaded assets again (%d → %d requests)", uploads, n)
	}

	// wrangler delete removes the Worker and its Durable Object namespace;
	// the R2 bucket and the account's asset content stay.
	out = w.run(dir, "", nil, true, "delete")
	if !strings.Contains(out, "Successfully deleted conformance") {
		t.Errorf("delete output:\n%s", out)
	}
	w.srv.View(func(st *State) {
		if st.Scripts["conformance"] != nil || st.DONamespaces[nsID] != nil || st.Buckets["conformance-data"] == nil || len(st.AssetSet) == 0 {
			t.Errorf("after delete: script %v namespace %v bucket %v assets %d",
				st.Scripts["conformance"] != nil, st.DONamespaces[nsID] != nil, st.Buckets["conformance-data"] != nil, len(st.AssetSet))
		}
	})
}

// On a new account wrangler checks for a workers.dev subdomain before the
// first upload and, non-interactively, declines to register one.
func TestWranglerDeployNewAccount(t *testing.T) {
	w := newWrangler(t, Options{Scenario: ScenarioNewAccount})
	out := w.run(deployProject(t), "", nil, false, "deploy")
	if !strings.Contains(out, "You need to register a workers.dev subdomain before publishing to workers.dev") ||
		!strings.Contains(out, "/workers/onboarding") {
		t.Errorf("deploy on a new account:\n%s", out)
	}
	w.srv.View(func(st *State) {
		if len(st.Scripts) != 0 || len(st.DONamespaces) != 0 {
			t.Errorf("a refused deploy left state: %d scripts, %d namespaces", len(st.Scripts), len(st.DONamespaces))
		}
	})
}

// TestWranglerAndMoltctlAgree runs the same operations through wrangler
// and through moltctl's API client, each against its own emulator, and
// checks both leave the same state.
func TestWranglerAndMoltctlAgree(t *testing.T) {
	w := newWrangler(t, Options{})
	m := New(Options{AccountID: w.srv.AccountID()}).Start()
	t.Cleanup(m.Close)
	seed := func(st *State) {
		st.Scripts["agree"] = &Script{Name: "agree", ID: "tag", Secrets: map[string]string{"OLD": "gone"}}
	}
	w.srv.Update(seed)
	m.Update(seed)

	w.run("", "", nil, true, "r2", "bucket", "create", "agree-data", "--location", "weur")
	file := filepath.Join(t.TempDir(), "secrets.json")
	if err := os.WriteFile(file, []byte(`{"A":"alpha","B":"beta","OLD":null}`), 0o600); err != nil {
		t.Fatal(err)
	}
	w.run("", "", nil, true, "secret", "bulk", file, "--name", "agree")

	ctx := context.Background()
	c := cfapi.New(cfapi.Options{BaseURL: m.APIURL(), Token: m.Token(), AccountID: m.AccountID()})
	if _, err := c.CreateBucket(ctx, "agree-data", "weur"); err != nil {
		t.Fatal(err)
	}
	if err := c.BulkSecrets(ctx, "agree", map[string]string{"A": "alpha", "B": "beta"}, []string{"OLD"}); err != nil {
		t.Fatal(err)
	}

	summary := func(srv *Server) string {
		var out string
		srv.View(func(st *State) {
			b := st.Buckets["agree-data"]
			sc := st.Scripts["agree"]
			out = fmt.Sprintf("bucket=%v/%s/%s secrets=%v deployments=%d", b != nil, b.Location, b.StorageClass, sc.Secrets, len(sc.Deployments))
		})
		return out
	}
	if a, b := summary(w.srv), summary(m); a != b {
		t.Errorf("wrangler and moltctl disagree:\nwrangler: %s\nmoltctl:  %s", a, b)
	}
}
