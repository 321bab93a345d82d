package push_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dimage "github.com/docker/docker/api/types/image"

	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmd/root"
	"github.com/moltctl/moltctl/pkg/dockerhost"
	"github.com/moltctl/moltctl/pkg/internal/testenv"
	"github.com/moltctl/moltctl/pkg/iostreams"
)

func project(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"wrangler.jsonc": `{
  // moltworker's shape
  "name": "moltbot-sandbox",
  "main": "src/index.ts",
  "compatibility_date": "2025-05-06",
  "containers": [{ "class_name": "Sandbox", "image": "./Dockerfile", "instance_type": "standard-1", "max_instances": 1 }],
}`,
		"Dockerfile":    "FROM scratch\nCOPY start.sh /usr/local/bin/start.sh\nEXPOSE 18789\n",
		"start.sh":      "#!/bin/sh\n# " + t.Name() + "\n",
		".dockerignore": "node_modules\n",
	}
	for p, c := range files {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func run(t *testing.T, env map[string]string, dir string, args ...string) (int, string, string) {
	t.Helper()
	io, _, _, _ := iostreams.Test()
	f := root.NewFactory(io, func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		if strings.HasPrefix(k, "DOCKER_") || k == "HOME" {
			return os.Getenv(k) // the machine's Docker daemon
		}
		return ""
	}, dir)
	so, se := &strings.Builder{}, &strings.Builder{}
	f.IOStreams.Out, f.IOStreams.ErrOut = so, se
	code := root.Run(context.Background(), f, args)
	return code, so.String(), se.String()
}

func TestBuildAndPushCommands(t *testing.T) {
	t.Parallel()
	testenv.RequireDocker(t)
	srv := cfemu.New(cfemu.Options{}).Start()
	defer srv.Close()
	env := map[string]string{
		"CLOUDFLARE_API_TOKEN":          srv.Token(),
		"CLOUDFLARE_ACCOUNT_ID":         srv.AccountID(),
		"CLOUDFLARE_API_BASE_URL":       srv.APIURL(),
		"CLOUDFLARE_CONTAINER_REGISTRY": srv.RegistryHost(),
	}
	dir := project(t)
	engine, err := dockerhost.Connect(context.Background(), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()

	code, out, errOut := run(t, env, dir, "build", "--tag-only")
	tag := strings.TrimSpace(out)
	if code != 0 || len(tag) != 24 {
		t.Fatalf("build --tag-only: %d %q %s", code, out, errOut)
	}

	code, out, errOut = run(t, env, dir, "build", "-o", "json")
	if code != 0 {
		t.Fatalf("build: exit %d: %s", code, errOut)
	}
	var br struct {
		Tag     string   `json:"tag"`
		ImageID string   `json:"image_id"`
		Refs    []string `json:"refs"`
	}
	if err := json.Unmarshal([]byte(out), &br); err != nil || br.Tag != tag || br.ImageID == "" {
		t.Fatalf("build json %q: %v", out, err)
	}
	t.Cleanup(func() {
		for _, r := range append(br.Refs, "moltctl-build:"+tag) {
			_, _ = engine.ImageRemove(context.Background(), r, dimage.RemoveOptions{Force: true, PruneChildren: true})
		}
	})
	// Structured progress on stderr: one JSON event per line.
	if !strings.Contains(errOut, `"kind":"build-step"`) {
		t.Errorf("no build-step events on stderr: %s", errOut)
	}

	code, out, errOut = run(t, env, dir, "push")
	wantRef := srv.RegistryHost() + "/" + srv.AccountID() + "/moltbot-sandbox-sandbox:" + tag
	if code != 0 || !strings.HasPrefix(out, wantRef+"\n") || !strings.Contains(out, "@sha256:") {
		t.Fatalf("push: exit %d out %q err %s", code, out, errOut)
	}
	t.Logf("push output:\n%s%s", errOut, out)
	if !strings.Contains(errOut, "pushed") || !strings.Contains(errOut, "✓ Pushed") {
		t.Errorf("no per-layer progress on stderr:\n%s", errOut)
	}
	if !srv.ImageExists(wantRef) {
		t.Fatalf("registry lacks %s", wantRef)
	}

	code, out, errOut = run(t, env, dir, "push", "-o", "json")
	var pr struct {
		Skipped     bool   `json:"skipped"`
		BytesPushed int64  `json:"bytes_pushed"`
		Ref         string `json:"ref"`
		DigestRef   string `json:"digest_ref"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &pr) != nil || !pr.Skipped || pr.BytesPushed != 0 || pr.Ref != wantRef {
		t.Fatalf("second push: exit %d %q %s", code, out, errOut)
	}
}

func TestPushWithoutContainers(t *testing.T) {
	t.Parallel()
	srv := cfemu.New(cfemu.Options{Scenario: cfemu.ScenarioNewAccount}).Start()
	defer srv.Close()
	env := map[string]string{
		"CLOUDFLARE_API_TOKEN":    srv.Token(),
		"CLOUDFLARE_ACCOUNT_ID":   srv.AccountID(),
		"CLOUDFLARE_API_BASE_URL": srv.APIURL(),
		"DOCKER_HOST":             "unix:///nonexistent.sock", // never reached
	}
	code, _, errOut := run(t, env, project(t), "push")
	if code != clierr.ExitPreflight || !strings.Contains(errOut, "Workers Paid") {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
}

func TestPushNeedsToken(t *testing.T) {
	t.Parallel()
	code, _, errOut := run(t, map[string]string{"CLOUDFLARE_API_TOKEN": ""}, project(t), "push")
	if code != clierr.ExitUsage || !strings.Contains(errOut, "CLOUDFLARE_API_TOKEN") {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
}
