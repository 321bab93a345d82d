package devices

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmd/internal/opstest"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/state"
)

func run(t *testing.T, fx *opstest.Fixture, tty, jsonOut bool, args ...string) (string, string, error) {
	t.Helper()
	f, ios, outputs := fx.Factory()
	ios.SetTTY(tty)
	if jsonOut {
		f.Global.Output = cmdutil.OutputJSON
	}
	cmd := NewCmdDevices(f)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(args)
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	err := cmd.ExecuteContext(context.Background())
	out, errOut := outputs()
	return out, errOut, err
}

func TestListAndApprove(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	fx.Deploy(t)
	id1, err := fx.Srv.AddPendingDevice(opstest.Worker)
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := fx.Srv.AddPendingDevice(opstest.Worker)

	out, _, err := run(t, fx, false, true, "list")
	if err != nil {
		t.Fatal(err)
	}
	var l ListResult
	if err := json.Unmarshal([]byte(out), &l); err != nil || len(l.Pending) != 2 || len(l.Paired) != 0 ||
		!strings.Contains(out, `"request_id"`) || l.Pending[0].RequestedAt == nil {
		t.Fatalf("list json: %v %s", err, out)
	}
	for _, tty := range []bool{true, false} {
		out, _, err := run(t, fx, tty, false, "list")
		if err != nil || !strings.Contains(out, "pending  "+id1) || strings.Contains(out, "STATE") != tty {
			t.Errorf("tty=%v: %v\n%s", tty, err, out)
		}
	}

	// A unique prefix of the ID is enough.
	out, _, err = run(t, fx, false, false, "approve", id1[:len(id1)-4])
	if err != nil || !strings.Contains(out, "Approved "+id1) {
		t.Fatalf("approve: %v %s", err, out)
	}
	out, _, err = run(t, fx, false, true, "approve", "--all")
	var rep ApproveReport
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Approved) != 1 || rep.Approved[0] != id2 {
		t.Fatalf("approve --all: %v %s", err, out)
	}
	out, _, _ = run(t, fx, false, true, "list")
	_ = json.Unmarshal([]byte(out), &l)
	if len(l.Pending) != 0 || len(l.Paired) != 2 {
		t.Errorf("after approving: %s", out)
	}
	// An unknown request fails with exit 2 and says so.
	_, _, err = run(t, fx, false, false, "approve", "nope")
	if clierr.ExitCodeOf(err) != clierr.ExitUsage || !strings.Contains(err.Error(), `no pending request has the ID "nope"`) {
		t.Errorf("unknown: %v", err)
	}
}

// --wait approves the request made after it starts, never one that was
// already pending (an earlier browser's, or someone else's), which it lists.
func TestApproveWait(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	fx.Deploy(t)
	var earlier string
	for earlier == "" {
		var err error
		if earlier, err = fx.Srv.AddPendingDevice(opstest.Worker); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2 * time.Millisecond) // the gateway stamps requests in milliseconds
	f, _, outputs := fx.Factory()
	var id string
	opts := &ApproveOptions{Factory: f, Wait: true, Timeout: time.Minute, PollInterval: 5 * time.Millisecond,
		// The request arrives while approve waits (as when the user opens the Control UI).
		waiting: func() {
			time.Sleep(2 * time.Millisecond)
			id, _ = fx.Srv.AddPendingDevice(opstest.Worker)
		}}
	if err := approveRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	out, errOut := outputs()
	if !strings.Contains(out, "Approved "+id) || !strings.Contains(errOut, "Pairing request "+id) || strings.Contains(out, earlier) {
		t.Errorf("out %q err %q", out, errOut)
	}
	if !strings.Contains(errOut, "already pending") || !strings.Contains(errOut, earlier) {
		t.Errorf("the earlier request is not listed: %q", errOut)
	}
	var paired, pending int
	fx.Srv.View(func(st *cfemu.State) {
		paired, pending = len(st.Runtimes[opstest.Worker].Paired), len(st.Runtimes[opstest.Worker].Pending)
	})
	if paired != 1 || pending != 1 {
		t.Errorf("paired = %d, pending = %d; want the new one paired and the earlier one still pending", paired, pending)
	}
}

func TestApproveErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		prep   func(fx *opstest.Fixture)
		code   int
		inErr  string
		inHint string
	}{
		{"no arguments", []string{"approve"}, nil, clierr.ExitUsage, "exactly one", "devices list"},
		{"ids and --all", []string{"approve", "x", "--all"}, nil, clierr.ExitUsage, "exactly one", ""},
		{"not deployed", []string{"list"}, func(fx *opstest.Fixture) {}, clierr.ExitError, "no Access service token", "moltctl deploy"},
		{"wrong service token secret", []string{"list"}, nil, clierr.ExitError, "Cloudflare Access refused", "service token"},
		{"missing secret", []string{"approve", "--all"}, func(fx *opstest.Fixture) {
			fx.Srv.Update(func(st *cfemu.State) { delete(st.Scripts[opstest.Worker].Secrets, "MOLTBOT_GATEWAY_TOKEN") })
		}, clierr.ExitError, "MOLTBOT_GATEWAY_TOKEN", "moltctl secrets set MOLTBOT_GATEWAY_TOKEN"},
		{"aud mismatch", []string{"list"}, func(fx *opstest.Fixture) {
			fx.Srv.Update(func(st *cfemu.State) { st.Scripts[opstest.Worker].Secrets["CF_ACCESS_AUD"] = "other-aud" })
		}, clierr.ExitError, "rejected the Access JWT", "run `moltctl deploy`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := opstest.New(t)
			switch tt.name {
			case "not deployed":
			case "wrong service token secret":
				fx.Deploy(t)
				st, _ := state.Open(fx.Dir, opstest.Worker)
				_ = st.SaveCredentials(&state.Credentials{ServiceTokenClientSecret: "wrong"})
			default:
				fx.Deploy(t)
				if tt.prep != nil {
					tt.prep(fx)
				}
			}
			_, _, err := run(t, fx, false, false, tt.args...)
			if err == nil || clierr.ExitCodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.inErr) {
				t.Fatalf("err = %v (exit %d)", err, clierr.ExitCodeOf(err))
			}
			if !strings.Contains(clierr.HintOf(err), tt.inHint) {
				t.Errorf("hint = %q", clierr.HintOf(err))
			}
			if strings.Contains(err.Error(), "wrong") && tt.name == "wrong service token secret" {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}
