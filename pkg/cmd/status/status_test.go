package status

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/assistant/opstest"
	"github.com/moltctl/moltctl/pkg/cfemu"
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
			fx := opstest.New(t)
			fx.Deploy(t)
			tt.break_(fx)
			args := []string{"--output=json"}
			if tt.wait {
				args = append(args, "--wait", "1m")
			}
			out, _, err := run(t, fx, false, args...)
			var se *cmdutil.SilentError
			if !errors.As(err, &se) || se.Code != cmdutil.ExitUnhealthy {
				t.Fatalf("err = %v, want exit %d\n%s", err, cmdutil.ExitUnhealthy, out)
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
	fx := opstest.New(t)
	fx.Deploy(t)
	fx.Env["CLOUDFLARE_API_TOKEN"] = "not-a-token"
	out, _, err := run(t, fx, false)
	if cmdutil.ExitCodeOf(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "does not accept the API token") {
		t.Fatalf("err = %v (exit %d), want the token refused, exit %d", err, cmdutil.ExitCodeOf(err), cmdutil.ExitUsage)
	}
	if out != "" {
		t.Errorf("printed a report with a bad token:\n%s", out)
	}
}

// The text shows whole version IDs.
func TestStatusTextShowsWholeIDs(t *testing.T) {
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
