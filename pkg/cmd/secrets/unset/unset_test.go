package unset

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmd/internal/opstest"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/state"
)

// sentinel is the value the Worker holds; it must never be shown.
const sentinel = "xoxb-111111111111-2222222222222-SENTINELunsetValue"

func project(t *testing.T) *opstest.Fixture {
	t.Helper()
	fx := opstest.New(t)
	fx.WriteFile(t, "moltctl.yaml", "secrets:\n  SLACK_BOT_TOKEN: {env: SLACK_BOT_TOKEN}\n", 0o644)
	fx.AddWorker(map[string]string{"SLACK_BOT_TOKEN": sentinel, "TELEGRAM_BOT_TOKEN": sentinel, "KEEP": sentinel})
	st, err := state.Open(fx.Dir, opstest.Worker)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(&state.Deployment{WorkerName: opstest.Worker, AccountID: fx.Srv.AccountID(),
		Secrets: map[string]string{"SLACK_BOT_TOKEN": "digest-1", "TELEGRAM_BOT_TOKEN": "digest-2", "KEEP": "digest-3"}}); err != nil {
		t.Fatal(err)
	}
	return fx
}

func TestUnsetRun(t *testing.T) {
	t.Parallel()
	for _, asJSON := range []bool{false, true} {
		t.Run(map[bool]string{false: "text", true: "json"}[asJSON], func(t *testing.T) {
			t.Parallel()
			fx := project(t)
			f, _, output := fx.Factory()
			f.Global.Yes = true
			if asJSON {
				f.Global.Output = cmdutil.OutputJSON
			}
			names := []string{"TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "NOT_THERE", "SLACK_BOT_TOKEN"}
			err := unsetRun(context.Background(), &UnsetOptions{Factory: f, Names: names})
			out, errOut := output()
			opstest.NoLeak(t, sentinel, err, out, errOut)
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut)
			}
			remote := fx.WorkerSecrets()
			if _, ok := remote["SLACK_BOT_TOKEN"]; ok || remote["TELEGRAM_BOT_TOKEN"] != "" || remote["KEEP"] != sentinel {
				t.Errorf("Worker's secrets after unset: %d left", len(remote))
			}
			st, _ := state.Open(fx.Dir, opstest.Worker)
			d, err := st.Load()
			if err != nil || len(d.Secrets) != 1 || d.Secrets["KEEP"] == "" {
				t.Errorf("recorded digests after unset: %v %v", d.Secrets, err)
			}
			if asJSON {
				var res map[string]any
				if err := json.Unmarshal([]byte(out), &res); err != nil {
					t.Fatalf("not JSON: %v\n%s", err, out)
				}
				b, _ := json.Marshal(res)
				if want := `{"deleted":["TELEGRAM_BOT_TOKEN","SLACK_BOT_TOKEN"],"not_found":["NOT_THERE"],"worker":"molt"}`; string(b) != want {
					t.Errorf("JSON %s, want %s", b, want)
				}
				return
			}
			if want := "✓ Deleted TELEGRAM_BOT_TOKEN, SLACK_BOT_TOKEN from molt\n"; out != want {
				t.Errorf("stdout %q, want %q", out, want)
			}
			for _, w := range []string{"! not set on molt: NOT_THERE\n", "! SLACK_BOT_TOKEN still in moltctl.yaml"} {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if strings.Contains(errOut, "TELEGRAM_BOT_TOKEN") {
				t.Errorf("a name not in moltctl.yaml reported as still there:\n%s", errOut)
			}
		})
	}
}

func TestUnsetErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		names   []string
		yes     bool
		noToken bool
		code    int
		want    string
		fix     string
	}{
		{name: "none of them set", names: []string{"NOT_THERE"}, yes: true, code: clierr.ExitUsage,
			want: `NOT_THERE not set on worker "molt"`, fix: "moltctl secrets list"},
		{name: "no terminal, no --yes", names: []string{"KEEP"}, code: clierr.ExitUsage, want: "not running interactively", fix: "--yes"},
		{name: "no token", names: []string{"KEEP"}, yes: true, noToken: true, code: clierr.ExitUsage, want: "CLOUDFLARE_API_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := project(t)
			if tt.noToken {
				delete(fx.Env, "CLOUDFLARE_API_TOKEN")
			}
			f, _, output := fx.Factory()
			f.Global.Yes = tt.yes
			err := unsetRun(context.Background(), &UnsetOptions{Factory: f, Names: tt.names})
			out, errOut := output()
			opstest.NoLeak(t, sentinel, err, out, errOut)
			if code := clierr.ExitCodeOf(err); code != tt.code || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("exit %d err %v, want %d %q", code, err, tt.code, tt.want)
			}
			if h := clierr.HintOf(err); !strings.Contains(h, tt.fix) {
				t.Errorf("fix %q, want %q", h, tt.fix)
			}
			if len(fx.WorkerSecrets()) != 3 {
				t.Errorf("a failed unset deleted secrets: %d left", len(fx.WorkerSecrets()))
			}
		})
	}
}

func TestNewCmdUnsetArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want []string // nil: refused
	}{
		{"names", []string{"A", "B_2"}, []string{"A", "B_2"}},
		{"none", nil, nil},
		// A value typed where a name goes: refused without repeating it.
		{"a value", []string{"A", sentinel}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := opstest.New(t)
			f, _, output := fx.Factory()
			var got *UnsetOptions
			cmd := NewCmdUnset(f, func(_ context.Context, o *UnsetOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			out, errOut := output()
			opstest.NoLeak(t, sentinel, err, out, errOut)
			if tt.want == nil {
				if err == nil || got != nil {
					t.Fatalf("%v accepted", tt.args)
				}
				if tt.name == "a value" {
					var u *clierr.UsageError
					if !errors.As(err, &u) || !strings.Contains(err.Error(), "argument 2") {
						t.Errorf("err %v, want a usage error naming argument 2", err)
					}
				}
				return
			}
			if err != nil || strings.Join(got.Names, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("err %v names %v", err, got)
			}
		})
	}
}
