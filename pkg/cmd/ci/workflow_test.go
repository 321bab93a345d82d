package ci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/cmd/root"
	"github.com/moltctl/moltctl/pkg/internal/testenv"
	"github.com/moltctl/moltctl/pkg/iostreams"
	"github.com/moltctl/moltctl/pkg/remotestate"
	"github.com/moltctl/moltctl/pkg/state"
)

// runMainEnv, set in this test binary's environment, makes it run
// moltctl's Main instead of the tests: the workflow's steps call it as moltctl.
const runMainEnv = "MOLTCTL_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Exit(root.Main(context.Background(), os.Args[1:], iostreams.System(os.Getenv), os.Getenv))
	}
	os.Exit(m.Run())
}

// workflow is the part of a GitHub Actions workflow the test runs.
type workflow struct {
	Env  map[string]string `yaml:"env"`
	Jobs map[string]struct {
		Env     map[string]string `yaml:"env"`
		Outputs map[string]string `yaml:"outputs"`
		Steps   []struct {
			ID   string `yaml:"id"`
			Name string `yaml:"name"`
			Uses string `yaml:"uses"`
			Run  string `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

var expr = regexp.MustCompile(`\$\{\{\s*([^}]+?)\s*\}\}`)

// The workflow `init --ci github` writes, run step by step as two fresh
// runners would, after the user deployed once from their machine and added
// what `ci setup` printed as CI secrets: neither runner changes anything.
// Only the download of moltctl is not run (no network): the runners find
// this test binary as moltctl on their PATH.
func TestGitHubWorkflowRunsTwiceFromCleanRunners(t *testing.T) {
	t.Parallel()
	testenv.RequireDocker(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	wrapper := fmt.Sprintf("#!/bin/sh\n%s=1 exec %q \"$@\"\n", runMainEnv, self)
	if err := os.WriteFile(filepath.Join(bin, "moltctl"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	log := &testenv.RequestLog{}
	srv := cfemu.New(cfemu.Options{ColdStart: 50 * time.Millisecond, Log: log}).Start()
	t.Cleanup(srv.Close)
	secrets := map[string]string{
		"CLOUDFLARE_API_TOKEN": srv.Token(), "CLOUDFLARE_ACCOUNT_ID": srv.AccountID(),
		"ANTHROPIC_API_KEY": "sk-ant-api03-test-0000000000000000000000000000000000000000",
	}
	// What every machine here shares: the emulator instead of Cloudflare.
	base := []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "NO_COLOR=1", "DOCKER_HOST=" + os.Getenv("DOCKER_HOST"),
		"CLOUDFLARE_API_BASE_URL=" + srv.APIURL(), "CLOUDFLARE_CONTAINER_REGISTRY=" + srv.RegistryHost(),
		"MOLTCTL_WORKERS_DEV_URL=" + srv.WorkersDevURLTemplate()}
	sh := func(dir string, env []string, script string) string {
		t.Helper()
		cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", script)
		cmd.Dir, cmd.Env = dir, append(append([]string(nil), base...), env...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s%s", script, err, out.String(), errOut.String())
		}
		return out.String()
	}

	// The user's machine: init writes the workflow, deploy, then ci setup.
	home := t.TempDir()
	user := testenv.CopyExample(t)
	userEnv := []string{"HOME=" + home, "CLOUDFLARE_API_TOKEN=" + srv.Token(), "CLOUDFLARE_ACCOUNT_ID=" + srv.AccountID(), "ANTHROPIC_API_KEY=" + secrets["ANTHROPIC_API_KEY"]}
	sh(user, userEnv, "moltctl init --ci github --yes --skip-doctor >/dev/null 2>&1")
	sh(user, userEnv, "moltctl deploy --yes --output json >/dev/null")
	for _, l := range strings.Split(sh(user, userEnv, "moltctl ci setup"), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && k == remotestate.EnvKey {
			secrets[k] = v
		}
	}
	if secrets[remotestate.EnvKey] == "" {
		t.Fatal("ci setup printed no key")
	}
	path := filepath.Join(user, ".github", "workflows", "moltctl-deploy.yml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if lint, err := exec.LookPath("actionlint"); err == nil {
		if out, err := exec.Command(lint, path).CombinedOutput(); err != nil {
			t.Errorf("actionlint: %v\n%s", err, out)
		}
	}
	var wf workflow
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatal(err)
	}

	mark := len(log.Lines())
	for runner := 1; runner <= 2; runner++ {
		// A runner: a checkout of the repository (no .moltctl/) and a home of its own.
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS(user)); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(dir, ".moltctl")); err != nil {
			t.Fatal(err)
		}
		outputs, tmp := map[string]string{}, t.TempDir()
		for _, job := range []string{"build", "deploy"} {
			j := wf.Jobs[job]
			steps := map[string]string{}
			for _, s := range j.Steps {
				if s.Uses != "" || s.Name == "Install moltctl" {
					continue
				}
				outFile := filepath.Join(t.TempDir(), "output")
				env := []string{"HOME=" + t.TempDir(), "GITHUB_OUTPUT=" + outFile, "RUNNER_TEMP=" + tmp}
				eval := func(v string) string {
					return expr.ReplaceAllStringFunc(v, func(m string) string {
						e := expr.FindStringSubmatch(m)[1]
						switch {
						case strings.HasPrefix(e, "secrets."):
							return secrets[strings.TrimPrefix(e, "secrets.")]
						case e == "needs.build.outputs.image":
							return outputs["image"]
						case strings.HasPrefix(e, "steps."):
							return steps[e]
						}
						t.Fatalf("the test does not know ${{ %s }}", e)
						return ""
					})
				}
				for _, m := range []map[string]string{wf.Env, j.Env} {
					for k, v := range m {
						env = append(env, k+"="+eval(v))
					}
				}
				sh(dir, env, eval(s.Run))
				if b, err := os.ReadFile(outFile); err == nil && s.ID != "" {
					for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
						if k, v, ok := strings.Cut(l, "="); ok {
							steps["steps."+s.ID+".outputs."+k] = v
						}
					}
				}
			}
			for k, v := range j.Outputs {
				outputs[k] = expr.ReplaceAllStringFunc(v, func(m string) string { return steps[expr.FindStringSubmatch(m)[1]] })
			}
		}
		if outputs["image"] == "" {
			t.Fatalf("runner %d: the build job gave no image", runner)
		}
		var res struct {
			Running bool `json:"running"`
		}
		if b, err := os.ReadFile(filepath.Join(tmp, "deploy.json")); err != nil || json.Unmarshal(b, &res) != nil || !res.Running {
			t.Fatalf("runner %d: deploy.json = %s (%v)", runner, b, err)
		}
		for _, c := range log.ChangesSince(mark) {
			t.Errorf("runner %d changed the account: %s", runner, c)
		}
		mark = len(log.Lines())
	}
}

// ci setup refuses to print a key the account's credentials are not sealed to.
func TestSetupRefusesAnotherKey(t *testing.T) {
	t.Parallel()
	srv := cfemu.New(cfemu.Options{}).Start()
	t.Cleanup(srv.Close)
	dir := testenv.CopyExample(t)
	env := map[string]string{"CLOUDFLARE_API_BASE_URL": srv.APIURL(), "CLOUDFLARE_API_TOKEN": srv.Token(),
		"CLOUDFLARE_ACCOUNT_ID": srv.AccountID(), "MOLTCTL_CONFIG_DIR": t.TempDir()}
	run := func(args ...string) (int, string, string) {
		ios, _, out, errOut := iostreams.Test()
		code := root.Run(context.Background(), root.NewFactory(ios, func(k string) string { return env[k] }, dir), args)
		return code, out.String(), errOut.String()
	}
	// Before any deploy, ci setup makes the key.
	fresh := env["MOLTCTL_CONFIG_DIR"]
	env["MOLTCTL_CONFIG_DIR"] = t.TempDir()
	if code, out, errOut := run("ci", "setup"); code != 0 || !strings.Contains(out, remotestate.EnvKey+"=AGE-SECRET-KEY-1") || !strings.Contains(errOut, "created") {
		t.Fatalf("ci setup before any deploy: %d\n%s%s", code, out, errOut)
	}
	env["MOLTCTL_CONFIG_DIR"] = fresh
	// The state sealed to the key of the machine that deployed.
	api := cfapi.New(cfapi.Options{BaseURL: srv.APIURL(), Token: srv.Token()})
	api.SetAccountID(srv.AccountID())
	store, err := state.Open(dir, "moltbot-sandbox")
	if err != nil {
		t.Fatal(err)
	}
	k, err := remotestate.NewKeeper(api, store, "moltbot-sandbox", func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	dep, creds, err := k.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	creds.ServiceTokenClientSecret = "s"
	if err := k.Save(context.Background(), dep, creds); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run("ci", "setup"); code != 0 || !strings.Contains(out, remotestate.EnvKey+"=AGE-SECRET-KEY-1") {
		t.Fatalf("ci setup with the key: %d\n%s%s", code, out, errOut)
	}
	env["MOLTCTL_CONFIG_DIR"] = t.TempDir()
	if code, out, errOut := run("ci", "setup"); code == 0 || strings.Contains(out, "AGE-SECRET-KEY") || !strings.Contains(errOut, "this machine has no key") {
		t.Errorf("ci setup without a key after a deploy: %d\n%s%s", code, out, errOut)
	}
	if _, err := remotestate.CreateKey(filepath.Join(env["MOLTCTL_CONFIG_DIR"], "age.key")); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run("ci", "setup"); code == 0 || strings.Contains(out, "AGE-SECRET-KEY") || !strings.Contains(errOut, "not sealed to the key in") {
		t.Errorf("ci setup with another key: %d\n%s%s", code, out, errOut)
	}
}
