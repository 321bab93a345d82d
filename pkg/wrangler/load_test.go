package wrangler

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadMoltworker(t *testing.T) {
	t.Parallel()
	cfg, err := Load("testdata/moltworker/wrangler.jsonc", "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "moltbot-sandbox" || cfg.CompatibilityDate != "2025-05-06" {
		t.Errorf("name/date = %q %q", cfg.Name, cfg.CompatibilityDate)
	}
	if len(cfg.Containers) != 1 || cfg.Containers[0].InstanceType.Name != "standard-1" || cfg.Containers[0].MaxInstances != 1 {
		t.Errorf("containers = %+v", cfg.Containers)
	}
	if got := cfg.ContainerAppName(cfg.Containers[0]); got != "moltbot-sandbox-sandbox" {
		t.Errorf("ContainerAppName = %q", got)
	}
	if b, ok := cfg.Bucket(""); !ok || b.BucketName != "moltbot-data" {
		t.Errorf("bucket = %+v", b)
	}
	if !cfg.Assets.RunWorkerFirstBool() || cfg.Assets.Directory != "./dist/client" {
		t.Errorf("assets = %+v", cfg.Assets)
	}
	if cfg.Migrations[0].Tag != "v1" || cfg.Migrations[0].NewSqliteClasses[0] != "Sandbox" {
		t.Errorf("migrations = %+v", cfg.Migrations)
	}
	if cfg.Browser == nil || cfg.Browser.Binding != "BROWSER" || !cfg.ServesWorkersDev() {
		t.Errorf("browser/workers.dev = %+v %v", cfg.Browser, cfg.ServesWorkersDev())
	}
	if want, _ := filepath.Abs("testdata/moltworker/dist/client"); cfg.Resolve(cfg.Assets.Directory) != want {
		t.Errorf("Resolve = %q, want %q", cfg.Resolve(cfg.Assets.Directory), want)
	}
}

func TestLoadEnv(t *testing.T) {
	t.Parallel()
	cfg, err := Load("testdata/moltworker/wrangler.jsonc", "staging")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "moltbot-sandbox-staging" {
		t.Errorf("name = %q", cfg.Name)
	}
	if cfg.CompatibilityDate != "2025-05-06" || cfg.Assets == nil || len(cfg.Migrations) != 1 {
		t.Errorf("inheritable keys not inherited: %+v", cfg)
	}
	if b, _ := cfg.Bucket(""); b.BucketName != "moltbot-data-staging" {
		t.Errorf("bucket = %q", b.BucketName)
	}
	if cfg.Vars["DEBUG_ROUTES"] != "true" || cfg.EnvName != "staging" {
		t.Errorf("vars/env = %v %q", cfg.Vars, cfg.EnvName)
	}
	_, err = Load("testdata/moltworker/wrangler.jsonc", "prod")
	if err == nil || !strings.Contains(err.Error(), `no environment "prod"`) || !strings.Contains(err.Error(), "staging") {
		t.Errorf("unknown env error = %v", err)
	}
}

func TestParseErrorsHavePositions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, want string
	}{
		{"missing comma", "{\n  \"name\": \"x\"\n  \"main\": \"y\"\n}", "wrangler.jsonc:3:3: syntax error"},
		{"unterminated", "{\n  // comment\n  \"name\": \"x\",\n", "wrangler.jsonc:4:1: syntax error"},
		{"wrong type", "{\n  // c\n  \"name\": \"x\",\n  \"compatibility_flags\": \"nodejs_compat\"\n}", `wrangler.jsonc:4:26: "compatibility_flags" must be a list, not string`},
		{"nested type", "{\n  \"containers\": [{\n    \"class_name\": \"S\",\n    \"max_instances\": \"one\"\n  }]\n}", `wrangler.jsonc:4:22: "containers.max_instances" must be a number, not string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("wrangler.jsonc", []byte(tt.src))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ParseError", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %q, want prefix %q", err, tt.want)
			}
			if pe.ExitCode() != 2 {
				t.Errorf("exit code = %d", pe.ExitCode())
			}
		})
	}
}

func TestFindWalksUp(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "wrangler.jsonc"), []byte(`{"name":"x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Find(deep)
	if err != nil || got != filepath.Join(root, "wrangler.jsonc") {
		t.Errorf("Find = %q, %v", got, err)
	}
	if _, err := Find(t.TempDir()); !errors.Is(err, ErrNotFound) {
		t.Errorf("Find(empty) err = %v", err)
	}
}

func TestLoadDeployFollowsViteRedirect(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write := func(rel, body string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("wrangler.jsonc", `{"name": "moltbot-sandbox", "main": "src/index.ts"}`)
	write(".wrangler/deploy/config.json", `{"configPath": "../../dist/moltbot_sandbox/wrangler.json", "auxiliaryWorkers": []}`)
	write("dist/moltbot_sandbox/wrangler.json", `{"name": "moltbot-sandbox", "topLevelName": "moltbot-sandbox", "main": "index.js", "assets": {"directory": "../client"}}`)

	cfg, err := LoadDeploy(filepath.Join(root, "wrangler.jsonc"), "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Main != "index.js" || cfg.Resolve(cfg.Main) != filepath.Join(root, "dist/moltbot_sandbox/index.js") {
		t.Errorf("main = %q resolved %q", cfg.Main, cfg.Resolve(cfg.Main))
	}
	if cfg.Resolve(cfg.Assets.Directory) != filepath.Join(root, "dist/client") || cfg.ProjectDir() != root {
		t.Errorf("assets %q project %q", cfg.Resolve(cfg.Assets.Directory), cfg.ProjectDir())
	}

	if cfg.Source().Main != "src/index.ts" || cfg.Source().Path != filepath.Join(root, "wrangler.jsonc") {
		t.Errorf("source = %+v", cfg.Source())
	}

	// A redirect to output that is gone means "not built yet": the user's file.
	write(".wrangler/deploy/config.json", `{"configPath": "../../dist/gone/wrangler.json"}`)
	cfg, err = LoadDeploy(filepath.Join(root, "wrangler.jsonc"), "")
	if err != nil || cfg.Main != "src/index.ts" || cfg.Source() != cfg {
		t.Errorf("stale redirect: %+v, %v", cfg, err)
	}
}

// Output built for one environment is never deployed as another.
func TestLoadDeployEnvironments(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write := func(rel, body string) {
		p := filepath.Join(root, rel)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	own := filepath.Join(root, "wrangler.jsonc")
	write("wrangler.jsonc", `{"name": "bot", "main": "src/index.ts", "build": {"command": "npm run build"}, "env": {"staging": {"name": "bot-staging"}}}`)
	write(".wrangler/deploy/config.json", `{"configPath": "../../dist/bot/wrangler.json"}`)
	write("dist/bot/wrangler.json", `{"name": "bot", "topLevelName": "bot", "main": "index.js"}`)

	prod, err := LoadDeploy(own, "")
	if err != nil || prod.Main != "index.js" || prod.Source().Build == nil {
		t.Fatalf("production: %+v, %v", prod, err)
	}
	// Built for production, asked for staging: the user's staging config, to be built.
	stg, err := LoadDeploy(own, "staging")
	if err != nil || stg.Name != "bot-staging" || stg.Main != "src/index.ts" {
		t.Fatalf("staging before its build: %+v, %v", stg, err)
	}
	// A build that ignored CLOUDFLARE_ENV is refused, naming both Workers.
	_, err = LoadBuilt(own, "staging")
	if err == nil || !strings.Contains(err.Error(), `"bot"`) || !strings.Contains(err.Error(), `"bot-staging"`) {
		t.Fatalf("LoadBuilt with production output for staging: %v", err)
	}
	write("dist/bot/wrangler.json", `{"name": "bot-staging", "topLevelName": "bot", "targetEnvironment": "staging", "main": "index.js"}`)
	if stg, err = LoadBuilt(own, "staging"); err != nil || stg.Name != "bot-staging" || stg.EnvName != "staging" {
		t.Fatalf("staging built: %+v, %v", stg, err)
	}
	if prod, err = LoadDeploy(own, ""); err != nil || prod.Name != "bot" || prod.Main != "src/index.ts" {
		t.Fatalf("production after a staging build: %+v, %v", prod, err)
	}
}

// wrangler accepts a custom instance type given by its resources.
func TestInstanceTypeObject(t *testing.T) {
	t.Parallel()
	cfg, err := Parse("wrangler.jsonc", []byte(`{"containers": [
		{"class_name": "Sandbox", "image": "./Dockerfile", "instance_type": {"vcpu": 1, "memory_mib": 6144, "disk_mb": 12000}},
		{"class_name": "Other", "image": "./Dockerfile", "instance_type": "standard-1"},
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Containers[0].InstanceType
	if !c.Custom() || c.VCPU != 1 || c.MemoryMiB != 6144 || c.DiskMB != 12000 || c.Name != "" {
		t.Errorf("custom = %+v", c)
	}
	if n := cfg.Containers[1].InstanceType; n.Custom() || n.Name != "standard-1" {
		t.Errorf("named = %+v", n)
	}
	if _, err := Parse("wrangler.jsonc", []byte(`{"containers": [{"class_name": "S", "instance_type": 3}]}`)); err == nil {
		t.Error("a number was accepted as instance_type")
	}
}
