package cfemu

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/internal/testenv"
)

// TestRegistryDockerPush logs the real Docker daemon in with credentials
// from the credentials endpoint and pushes a tiny FROM-scratch image.
func TestRegistryDockerPush(t *testing.T) {
	t.Parallel()
	testenv.RequireDocker(t)
	srv := New(Options{}).Start()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	dir := t.TempDir()
	cfg := filepath.Join(dir, "docker-config")
	docker := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, "docker", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfg)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello "+newID()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY hello.txt /\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := srv.RegistryHost() + "/" + srv.AccountID() + "/cfemu-docker-test:" + newID()[:8]
	docker("", "build", "-q", "-t", ref, ".")
	defer exec.Command("docker", "image", "rm", "-f", ref).Run()

	// Without logging in the push is refused.
	cmd := exec.CommandContext(ctx, "docker", "push", ref)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfg)
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("push without login succeeded:\n%s", out)
	}

	code, env := rtCall(t, srv, "POST", "/accounts/"+srv.AccountID()+"/containers/registries/"+srv.RegistryHost()+"/credentials",
		map[string]any{"expiration_minutes": 5, "permissions": []string{"push", "pull"}})
	if code != 201 {
		t.Fatalf("credentials: %d %v", code, env)
	}
	cred := rtResult(env)
	docker(cred["password"].(string), "login", "--username", cred["username"].(string), "--password-stdin", srv.RegistryHost())
	out := docker("", "push", ref)
	if !strings.Contains(out, "digest: sha256:") {
		t.Errorf("push output: %s", out)
	}
	if !srv.ImageExists(ref) {
		t.Errorf("%s not in the registry after push", ref)
	}
	digest := out[strings.Index(out, "sha256:"):]
	digest = strings.Fields(digest)[0]
	if at := strings.LastIndex(ref, ":"); !srv.ImageExists(ref[:at] + "@" + digest) {
		t.Errorf("digest reference %s not found", digest)
	}
}
