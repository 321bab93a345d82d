package preflight

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestRunKeepsOrderAndSharesValues(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	gate := make(chan struct{})
	shared := func(env *Env) (string, error) {
		return Shared(env, "token", func() (string, error) {
			calls.Add(1)
			<-gate // every check must be waiting on the same computation
			return "v", nil
		})
	}
	var started atomic.Int32
	mk := func(id string, st Status) Check {
		return Check{ID: id, Title: id, Run: func(ctx context.Context, env *Env) Result {
			if started.Add(1) == 3 {
				close(gate)
			}
			v, _ := shared(env)
			return Result{Status: st, Message: id + v}
		}}
	}
	checks := []Check{mk("a", StatusOK), mk("b", StatusFail), mk("c", StatusWarn)}
	r := Run(context.Background(), checks, &Env{})
	if calls.Load() != 1 {
		t.Errorf("shared value computed %d times, want 1", calls.Load())
	}
	for i, id := range []string{"a", "b", "c"} {
		if r.Checks[i].ID != id || r.Checks[i].Message != id+"v" {
			t.Errorf("check %d = %+v", i, r.Checks[i])
		}
	}
	if !r.Failed() || r.OK {
		t.Errorf("report with a fail: Failed=%v OK=%v", r.Failed(), r.OK)
	}
}

func TestRunStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		run    func(context.Context, *Env) Result
		want   Status
		failed bool
	}{
		{"ok", func(context.Context, *Env) Result { return OK("fine") }, StatusOK, false},
		{"empty status is ok", func(context.Context, *Env) Result { return Result{Message: "x"} }, StatusOK, false},
		{"warn", func(context.Context, *Env) Result { return Warn("fix", "hmm") }, StatusWarn, false},
		{"skip", func(context.Context, *Env) Result { return Skip("no API token") }, StatusSkipped, false},
		{"fail", func(context.Context, *Env) Result { return Fail("fix", "bad") }, StatusFail, true},
		{"panic is a fail", func(context.Context, *Env) Result { panic("boom") }, StatusFail, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Run(context.Background(), []Check{{ID: "x", Title: "x", Run: tt.run}}, nil)
			if got := r.Checks[0].Status; got != tt.want {
				t.Errorf("status = %s, want %s", got, tt.want)
			}
			if r.Failed() != tt.failed {
				t.Errorf("Failed() = %v", r.Failed())
			}
		})
	}
}

func TestSharedRemembersErrorsUntilForget(t *testing.T) {
	t.Parallel()
	env := &Env{}
	n := 0
	f := func() (int, error) { n++; return n, errors.New("down") }
	if _, err := Shared(env, "k", f); err == nil {
		t.Fatal("want error")
	}
	Shared(env, "k", f)
	if n != 1 {
		t.Fatalf("computed %d times", n)
	}
	env.Forget("k")
	if v, _ := Shared(env, "k", f); v != 2 {
		t.Errorf("after Forget got %d", v)
	}
}

// TestInterruptedRunIsNeverOK: checks the run's context stopped become
// failures, not skips, and the report is not OK.
func TestInterruptedRunIsNeverOK(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	checks := []Check{
		{ID: "quick", Title: "Quick", Run: func(context.Context, *Env) Result { return OK("fine") }},
		{ID: "slow", Title: "Slow", Run: func(ctx context.Context, _ *Env) Result {
			cancel()
			<-ctx.Done()
			return Skip(ctx.Err().Error())
		}},
	}
	r := RunWith(ctx, checks, &Env{}, Options{Sequential: true})
	if r.OK || !r.Interrupted {
		t.Errorf("OK=%v Interrupted=%v, want false true", r.OK, r.Interrupted)
	}
	if o, _ := r.Get("slow"); o.Status != StatusFail {
		t.Errorf("interrupted check: %s %q, want fail", o.Status, o.Message)
	}
	// A run started after the interrupt runs nothing and reports failures.
	r = Run(ctx, checks[:1], &Env{})
	if o, _ := r.Get("quick"); r.OK || o.Status != StatusFail {
		t.Errorf("after interrupt: OK=%v %s", r.OK, o.Status)
	}
}
