package deploy

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/secrets"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

func TestModuleTypeFollowsRules(t *testing.T) {
	t.Parallel()
	own := &wrangler.Config{Rules: []wrangler.Rule{
		{Type: "Text", Globs: []string{"**/*.html"}},
		{Type: "Data", Globs: []string{"**/*.png"}},
	}}
	built := &wrangler.Config{Rules: []wrangler.Rule{{Type: "ESModule", Globs: []string{"**/*.js", "**/*.mjs"}}}, Own: own}
	for name, want := range map[string]string{
		"index.js":                      "application/javascript+module",
		"assets/worker-entry-CKnx10.js": "application/javascript+module",
		"assets/loading-DBox.html":      "text/plain",
		"logo.png":                      "application/octet-stream",
		"deep/er/logo.png":              "application/octet-stream",
		"x.wasm":                        "application/wasm",
		"wrangler.json":                 "",
		"README.md":                     "",
	} {
		if got := moduleType(name, built); got != want {
			t.Errorf("moduleType(%q) = %q, want %q", name, got, want)
		}
	}
	// Without the user's rules a .png is no module (wrangler has no default for it).
	if got := moduleType("logo.png", &wrangler.Config{}); got != "" {
		t.Errorf("png without a rule = %q", got)
	}
}

func TestSourcesHashIsContentNotMtime(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mk := func(rel, body string) string {
		p := filepath.Join(dir, rel)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mk("wrangler.jsonc", `{"name":"w","main":"src/index.ts","build":{"command":"npm run build"}}`)
	idx := mk("src/index.ts", "export default {}")
	mk("node_modules/x/index.js", "dep")
	mk("dist/w/index.js", "out")
	cfg, err := wrangler.Load(filepath.Join(dir, "wrangler.jsonc"), "")
	if err != nil {
		t.Fatal(err)
	}
	h1, err := sourcesHash(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Touching a source, or changing dependencies, outputs, hidden files
	// or moltctl.yaml, is no change.
	old := time.Now().Add(-time.Hour)
	_ = os.Chtimes(idx, old, old)
	mk("node_modules/x/index.js", "dep2")
	mk("dist/w/index.js", "out2")
	mk(".dev.vars", "SECRET=1")
	mk("moltctl.yaml", "secrets: {}")
	if h2, _ := sourcesHash(cfg); h2 != h1 {
		t.Error("the hash changed without a source change")
	}
	// The same mtime with other content is a change.
	mk("src/index.ts", "export default {a:1}")
	_ = os.Chtimes(idx, old, old)
	if h3, _ := sourcesHash(cfg); h3 == h1 {
		t.Error("an edit with an old mtime was not seen")
	}
}

func TestInstallNeeded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if why := installNeeded(dir); why != "" {
		t.Errorf("no package.json: %q", why)
	}
	_ = os.WriteFile(filepath.Join(dir, "package.json"), []byte("{}"), 0o644)
	if why := installNeeded(dir); why != "node_modules is missing" {
		t.Errorf("fresh clone: %q", why)
	}
	_ = os.MkdirAll(filepath.Join(dir, "node_modules"), 0o755)
	marker := filepath.Join(dir, "node_modules", ".package-lock.json")
	_ = os.WriteFile(marker, []byte("{}"), 0o644)
	past := time.Now().Add(-time.Hour)
	_ = os.Chtimes(filepath.Join(dir, "package.json"), past, past)
	if why := installNeeded(dir); why != "" {
		t.Errorf("installed: %q", why)
	}
	_ = os.WriteFile(filepath.Join(dir, "package-lock.json"), []byte("{}"), 0o644)
	_ = os.Chtimes(marker, past.Add(-time.Hour), past.Add(-time.Hour))
	if why := installNeeded(dir); why != "node_modules is older than package-lock.json and package.json" {
		t.Errorf("after a pull: %q", why)
	}
}

func TestLockfileRefused(t *testing.T) {
	t.Parallel()
	out := "npm error code EUSAGE\nnpm error\nnpm error `npm ci` can only install packages when your package.json and package-lock.json or npm-shrinkwrap.json are in sync.\nnpm error\nnpm error Missing: @img/sharp-darwin-x64@0.34.5 from lock file\n"
	if got := lockfileRefused(out); got != "Missing: @img/sharp-darwin-x64@0.34.5 from lock file" {
		t.Errorf("lockfileRefused = %q", got)
	}
	if got := lockfileRefused("npm error code ECONNREFUSED\nnpm error network request failed"); got != "" {
		t.Errorf("a network error counted as a lockfile refusal: %q", got)
	}
}

func TestWorkerURLFromTheDeploy(t *testing.T) {
	t.Parallel()
	st := &State{Learned: Learned{URL: "https://moltbot-sandbox.example.workers.dev"}}
	st.Learned.Values = secrets.NewValues(map[string]string{"CDP_SECRET": "cdp-shared-secret-0123456789"})
	if got := (&secretsStep{}).desiredSecrets(st)["WORKER_URL"]; got != st.Learned.URL {
		t.Errorf("WORKER_URL with CDP_SECRET = %q", got)
	}
	st.Learned.Values = secrets.NewValues(map[string]string{"CDP_SECRET": "x", "WORKER_URL": "https://custom.example.com"})
	if got := (&secretsStep{}).desiredSecrets(st)["WORKER_URL"]; got != "https://custom.example.com" {
		t.Errorf("a given WORKER_URL was replaced: %q", got)
	}
	st.Learned.Values = secrets.NewValues(map[string]string{"ANTHROPIC_API_KEY": "x"})
	if _, ok := (&secretsStep{}).desiredSecrets(st)["WORKER_URL"]; ok {
		t.Error("WORKER_URL set without CDP_SECRET")
	}
}

// A custom instance type goes to the Containers API as its resources, and
// the application the API answers with (numbers as JSON floats) is current.
func TestCustomInstanceType(t *testing.T) {
	t.Parallel()
	it := wrangler.InstanceType{VCPU: 1, MemoryMiB: 6144, DiskMB: 12000}
	st := &State{In: Inputs{Config: &wrangler.Config{Name: "w", Containers: []wrangler.Container{{ClassName: "Sandbox", InstanceType: it}}}}}
	want := (&containerStep{}).wantApp(st)
	if _, named := want.Configuration["instance_type"]; named || want.Configuration["vcpu"] != 1.0 {
		t.Fatalf("configuration = %v", want.Configuration)
	}
	app := want
	app.Configuration = map[string]any{"image": want.Configuration["image"], "vcpu": 1.0, "memory_mib": 6144.0, "disk": map[string]any{"size_mb": 12000.0}}
	if !appCurrent(app, want) {
		t.Error("the API's answer for the same resources is not current")
	}
	app.Configuration["memory_mib"] = 4096.0
	if appCurrent(app, want) {
		t.Error("other memory counts as current")
	}
	if c, err := estimateType(it, "never"); err != nil || c.MonthlyUSD <= 0 {
		t.Errorf("cost of a custom type: %+v, %v", c, err)
	}
}
