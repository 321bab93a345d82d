package build_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmd/root"
	"github.com/moltctl/moltctl/pkg/internal/testenv"
	"github.com/moltctl/moltctl/pkg/iostreams"
)

func run(t *testing.T, dir string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	io, _, _, _ := iostreams.Test()
	f := root.NewFactory(io, func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		if strings.HasPrefix(k, "DOCKER_") || k == "HOME" {
			return os.Getenv(k)
		}
		return ""
	}, dir)
	so, se := &strings.Builder{}, &strings.Builder{}
	f.IOStreams.Out, f.IOStreams.ErrOut = so, se
	return root.Run(context.Background(), f, args), so.String(), se.String()
}

func project(t *testing.T, dockerfile string) string {
	dir := t.TempDir()
	for p, c := range map[string]string{
		"wrangler.jsonc": `{"name": "moltbot-sandbox", "main": "src/index.ts",
  "containers": [{"class_name": "Sandbox", "image": "./Dockerfile", "instance_type": "standard-1"}]}`,
		"Dockerfile": dockerfile,
		"a.txt":      t.Name(),
	} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBuildFailureShowsStep(t *testing.T) {
	t.Parallel()
	testenv.RequireDocker(t)
	dir := project(t, "FROM scratch\nCOPY a.txt /\nCOPY nope.txt /\n")
	code, _, errOut := run(t, dir, nil, "build")
	if code != clierr.ExitError || !strings.Contains(errOut, "build failed at Step 3/") || !strings.Contains(errOut, "COPY nope.txt") ||
		!strings.Contains(errOut, "Fix:") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
}

func TestBuildDaemonDown(t *testing.T) {
	t.Parallel()
	dir := project(t, "FROM scratch\n")
	code, _, errOut := run(t, dir, map[string]string{"DOCKER_HOST": "unix://" + filepath.Join(t.TempDir(), "no.sock")}, "build")
	if code != clierr.ExitError || !strings.Contains(errOut, "Fix:") || !strings.Contains(errOut, "start") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
}

func TestBuildNoContainer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "wrangler.jsonc"), []byte(`{"name": "w", "main": "src/index.ts"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, dir, nil, "build", "--tag-only")
	if code != clierr.ExitUsage || !strings.Contains(errOut, "containers[]") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
}

func TestHelpHasExamples(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"build", "push"} {
		code, out, _ := run(t, t.TempDir(), nil, c, "--help")
		if code != 0 || !strings.Contains(out, "Examples:") {
			t.Errorf("%s --help: exit %d\n%s", c, code, out)
		}
	}
}
