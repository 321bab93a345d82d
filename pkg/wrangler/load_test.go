package wrangler

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadMoltworker(t *testing.T) {
	cfg, err := Load("testdata/moltworker/wrangler.jsonc", "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "moltbot-sandbox" || cfg.CompatibilityDate != "2025-05-06" {
		t.Errorf("name/date = %q %q", cfg.Name, cfg.CompatibilityDate)
	}
	if len(cfg.Containers) != 1 || cfg.Containers[0].InstanceType != "standard-1" || cfg.Containers[0].MaxInstances != 1 {
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

	write(".wrangler/deploy/config.json", `{"configPath": "../../dist/gone/wrangler.json"}`)
	if _, err := LoadDeploy(filepath.Join(root, "wrangler.jsonc"), ""); err == nil || !strings.Contains(err.Error(), "rebuild") {
		t.Errorf("stale redirect err = %v", err)
	}
}
