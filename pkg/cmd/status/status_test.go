package status

import (
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
	"github.com/moltctl/moltctl/pkg/cmd/internal/opstest"
	setcmd "github.com/moltctl/moltctl/pkg/cmd/secrets/set"
	"github.com/moltctl/moltctl/pkg/cmdutil"
)

func run(t *testing.T, fx *opstest.Fixture, tty bool, args ...string) (string, string, error) {
	t.Helper()
	f, ios, outputs := fx.Factory()
	ios.SetTTY(tty)
	cmd := NewCmdStatus(f, nil)
	for i, a := range args {
		if a == "--output=json" {
			f.Global.Output = cmdutil.OutputJSON
			args = append(args[:i:i], args[i+1:]...)
			break
		}
	}
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	err := cmd.ExecuteContext(context.Background())
	out, errOut := outputs()
	return out, errOut, err
}

func TestStatusHealthyAfterWait(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	fx.Deploy(t)
	out, _, err := run(t, fx, false, "--wait", "1m", "--output=json")
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if !rep.Healthy || !rep.Worker.Exists || !rep.Worker.WorkersDev || rep.Worker.VersionID == "" ||
		!rep.Container.Exists || !rep.Gateway.OK || !rep.Access.Configured || !rep.Backup.Configured || len(rep.Secrets.Missing) != 0 {
		t.Errorf("report: %s", out)
	}
	if rep.LastDeploy == nil || !rep.LastDeploy.Succeeded {
		t.Errorf("last deploy: %+v", rep.LastDeploy)
	}
	// Text, on a terminal and not.
	for _, tty := range []bool{true, false} {
		out, _, err := run(t, fx, tty)
		if err != nil || !strings.Contains(out, "Healthy.") || !strings.Contains(out, "running (process proc_") {
			t.Errorf("tty=%v: %v\n%s", tty, err, out)
		}
	}
}

func TestStatusUnhealthy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		break_  func(fx *opstest.Fixture)
		wait    bool
		problem string
		inText  string
	}{
		{"gateway not started", func(*opstest.Fixture) {}, false, "gateway", "not_running"},
		{"secret missing", func(fx *opstest.Fixture) {
			fx.Srv.Update(func(st *cfemu.State) { delete(st.Scripts[opstest.Worker].Secrets, "ANTHROPIC_API_KEY") })
		}, false, "secrets", "ANTHROPIC_API_KEY"},
		{"worker deleted", func(fx *opstest.Fixture) {
			fx.Srv.Update(func(st *cfemu.State) { delete(st.Scripts, opstest.Worker) })
		}, false, "worker", "not deployed"},
		{"access app deleted", func(fx *opstest.Fixture) {
			if _, err := fx.API.DeleteAccessApp(context.Background(), fx.Deployment.Access.AppID); err != nil {
				panic(err)
			}
		}, true, "access", "no Cloudflare Access application"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := opstest.New(t)
			fx.Deploy(t)
			tt.break_(fx)
			args := []string{"--output=json"}
			if tt.wait {
				args = append(args, "--wait", "1m")
			}
			out, _, err := run(t, fx, false, args...)
			var se *clierr.SilentError
			if !errors.As(err, &se) || se.Code != clierr.ExitUnhealthy {
				t.Fatalf("err = %v, want exit %d\n%s", err, clierr.ExitUnhealthy, out)
			}
			var rep Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, p := range rep.Problems {
				if p.Component == tt.problem && strings.Contains(p.Message, tt.inText) {
					found = true
				}
			}
			if rep.Healthy || !found {
				t.Errorf("problems: %+v", rep.Problems)
			}
		})
	}
}

// A token Cloudflare refuses is one clear error (exit 2), not a screen of
// components that look missing and a gateway that looks fine.
func TestStatusBadTokenIsOneError(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	fx.Deploy(t)
	fx.Env["CLOUDFLARE_API_TOKEN"] = "not-a-token"
	out, _, err := run(t, fx, false)
	if clierr.ExitCodeOf(err) != clierr.ExitUsage || !strings.Contains(err.Error(), "does not accept the API token") {
		t.Fatalf("err = %v (exit %d), want the token refused, exit %d", err, clierr.ExitCodeOf(err), clierr.ExitUsage)
	}
	if out != "" {
		t.Errorf("printed a report with a bad token:\n%s", out)
	}
}

// The text shows whole version IDs.
func TestStatusTextShowsWholeIDs(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	fx.Deploy(t)
	js, _, _ := run(t, fx, false, "--output=json")
	var rep Report
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatal(err)
	}
	out, _, _ := run(t, fx, false)
	if v := rep.Worker.VersionID; len(v) < 32 || !strings.Contains(out, "version "+v+",") {
		t.Errorf("the whole version ID %q is not shown:\n%s", v, out)
	}
}

// The API's "active" counts every running instance; the other health keys
// say how they are, so one healthy instance is not "0 instance(s), 1 healthy".
func TestHealthText(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		h    map[string]int
		want string
	}{
		{map[string]int{"active": 1, "healthy": 1, "failed": 0, "starting": 0}, "1 instance(s) active: 1 healthy"},
		{map[string]int{"active": 0, "healthy": 0}, "0 instance(s) active"},
		{map[string]int{"active": 2, "healthy": 1, "starting": 1}, "2 instance(s) active: 1 healthy, 1 starting"},
	} {
		if got := healthText(tt.h); got != tt.want {
			t.Errorf("healthText(%v) = %q, want %q", tt.h, got, tt.want)
		}
	}
}

// After secrets set, status knows the new version is moltctl's own, and
// says when the running gateway still has the old values; a set without
// --no-restart restarts it.
func TestStatusAfterSecretsSet(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	fx.Deploy(t)
	if err := os.WriteFile(filepath.Join(fx.Dir, "moltctl.yaml"), []byte("secrets:\n  ANTHROPIC_API_KEY: {env: ANTHROPIC_API_KEY}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	report := func() Report {
		t.Helper()
		out, _, _ := run(t, fx, false, "--wait", "1m", "--output=json")
		var rep Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("json: %v\n%s", err, out)
		}
		return rep
	}
	warned := func(rep Report, what string) bool {
		for _, w := range rep.Warnings {
			if strings.Contains(w.Message, what) {
				return true
			}
		}
		return false
	}
	set := func(key string, args ...string) {
		t.Helper()
		fx.Env["ANTHROPIC_API_KEY"] = "sk-ant-api03-" + strings.Repeat(key, 40)
		f, ios, outputs := fx.Factory()
		cmd := setcmd.NewCmdSet(f, nil)
		cmd.SetArgs(append([]string{"ANTHROPIC_API_KEY"}, args...))
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		cmd.SetOut(ios.Out)
		cmd.SetErr(ios.ErrOut)
		if err := cmd.ExecuteContext(context.Background()); err != nil {
			out, errOut := outputs()
			t.Fatalf("secrets set: %v\n%s%s", err, out, errOut)
		}
	}
	before := report()
	if !before.Gateway.OK {
		t.Fatalf("gateway not running: %+v", before.Gateway)
	}

	set("b", "--no-restart")
	rep := report()
	if warned(rep, "another way") || warned(rep, "not the one moltctl last deployed") {
		t.Errorf("moltctl's own secret change taken for a deploy made another way: %+v", rep.Warnings)
	}
	if !warned(rep, "started before the last secret change") {
		t.Errorf("no warning that the gateway has the old values: %+v", rep.Warnings)
	}

	set("c")
	rep = report()
	if warned(rep, "started before the last secret change") {
		t.Errorf("still stale after a set that restarts: %+v", rep.Warnings)
	}
	if rep.Gateway.ProcessID == before.Gateway.ProcessID {
		t.Errorf("the gateway was not restarted (process %s)", rep.Gateway.ProcessID)
	}
}

// A gateway process seen running for a day although SANDBOX_SLEEP_AFTER is
// 10m means the container does not sleep (moltworker #156, #244).
func TestStatusWarnsWhenTheContainerStaysAwake(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	fx.Deploy(t)
	status := func(now time.Time) Report {
		t.Helper()
		f, ios, outputs := fx.Factory()
		f.Now = func() time.Time { return now }
		f.Global.Output = cmdutil.OutputJSON
		cmd := NewCmdStatus(f, nil)
		cmd.SetArgs([]string{"--wait", "1m"})
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		cmd.SetOut(ios.Out)
		cmd.SetErr(ios.ErrOut)
		err := cmd.ExecuteContext(context.Background())
		out, _ := outputs()
		var rep Report
		if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
			t.Fatalf("status: %v %v\n%s", err, jerr, out)
		}
		return rep
	}
	awake := func(rep Report) bool {
		for _, w := range rep.Warnings {
			if strings.Contains(w.Message, "stayed up") && strings.Contains(w.Message, "#156") {
				return true
			}
		}
		return false
	}
	never := func(rep Report) bool {
		for _, w := range rep.Warnings {
			if strings.Contains(w.Message, "never sleeps") {
				return true
			}
		}
		return false
	}
	t0 := time.Now()
	// No SANDBOX_SLEEP_AFTER: moltworker keeps the container alive.
	if rep := status(t0); !never(rep) {
		t.Fatalf("no sleep policy, no warning: %+v", rep.Warnings)
	}
	if err := os.WriteFile(filepath.Join(fx.Dir, "moltctl.yaml"), []byte("vars:\n  SANDBOX_SLEEP_AFTER: 10m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if rep := status(t0); awake(rep) || never(rep) || !rep.Gateway.OK {
		t.Fatalf("first look: %+v", rep.Warnings)
	}
	if rep := status(t0.Add(24 * time.Hour)); !awake(rep) {
		t.Fatalf("a day later, the same process, no warning: %+v", rep.Warnings)
	}
}

// TestStatusWaitNamesTheCauseFromTheLogs: a gateway that never listens,
// whose failure only the Worker's logs show, gets its cause and fix named
// after --wait runs out, and the log line itself is not printed.
func TestStatusWaitNamesTheCauseFromTheLogs(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	fx.Deploy(t)
	fx.Srv.SetGatewayFault(opstest.Worker, "Gateway failed to start: lock timeout after 5000ms (key sk-secret-in-log)")
	out, _, err := run(t, fx, false, "--output=json", "--wait", "1s")
	var se *clierr.SilentError
	if !errors.As(err, &se) || se.Code != clierr.ExitUnhealthy {
		t.Fatalf("err = %v, want exit %d\n%s", err, clierr.ExitUnhealthy, out)
	}
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range rep.Problems {
		if p.Component == "gateway" && strings.Contains(p.Fix, "a second gateway start") && strings.Contains(p.Fix, "#289") {
			found = true
		}
	}
	if !found {
		t.Errorf("no gateway problem names the lock timeout: %+v", rep.Problems)
	}
	if strings.Contains(out, "sk-secret-in-log") {
		t.Errorf("the log line's secret came out: %s", out)
	}
}
