package rotate

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/deploy"
	"github.com/moltctl/moltctl/pkg/iostreams"
)

type call struct {
	f        *cmdutil.Factory
	name     string
	waitLock bool
}

// The command hands the name and --wait-lock to the deploy it is given,
// and returns its error as it is (exit codes come from there).
func TestRotateRunsTheDeploy(t *testing.T) {
	t.Parallel()
	deployErr := &clierr.HintError{Err: errors.New("needs moltctl's key"), Fix: "copy the key", Code: clierr.ExitUsage}
	tests := []struct {
		name string
		args []string
		err  error
		want call
	}{
		{"gateway token", []string{"MOLTBOT_GATEWAY_TOKEN"}, nil, call{name: "MOLTBOT_GATEWAY_TOKEN"}},
		{"wait for the lock", []string{"service-token", "--wait-lock"}, nil, call{name: "service-token", waitLock: true}},
		{"deploy fails", []string{"r2-token"}, deployErr, call{name: "r2-token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, out, errOut := iostreams.Test()
			f := &cmdutil.Factory{IOStreams: ios, Global: &cmdutil.GlobalOptions{}}
			var got []call
			cmd := NewCmdRotate(f, func(_ context.Context, gf *cmdutil.Factory, name string, wait bool) error {
				got = append(got, call{gf, name, wait})
				return tt.err
			}, nil)
			cmd.SetArgs(tt.args)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if err != tt.err {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if tt.err != nil && clierr.ExitCodeOf(err) != clierr.ExitUsage {
				t.Errorf("exit code %d changed on the way", clierr.ExitCodeOf(err))
			}
			tt.want.f = f
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("deploy called with %+v, want once with %+v", got, tt.want)
			}
			if out.Len()+errOut.Len() != 0 {
				t.Errorf("the command printed by itself: %q %q", out, errOut)
			}
		})
	}
}

func TestNewCmdRotateArgs(t *testing.T) {
	t.Parallel()
	ios, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Global: &cmdutil.GlobalOptions{}}
	never := func(context.Context, *cmdutil.Factory, string, bool) error { t.Error("deploy ran"); return nil }
	for _, args := range [][]string{nil, {"a", "b"}} {
		cmd := NewCmdRotate(f, never, nil)
		cmd.SetArgs(args)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		if err := cmd.Execute(); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
	// runF sees the options instead of the run.
	var got *RotateOptions
	cmd := NewCmdRotate(f, never, func(o *RotateOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"service-token", "--wait-lock"})
	if err := cmd.Execute(); err != nil || got == nil || got.Name != "service-token" || !got.WaitLock || got.F != f {
		t.Fatalf("err %v opts %+v", err, got)
	}
	// The usage line names what can be rotated.
	for _, n := range deploy.Rotatable() {
		if !strings.Contains(cmd.Use, n) {
			t.Errorf("Use %q lacks %q", cmd.Use, n)
		}
	}
}
