package deploy

import (
	"context"
	"errors"
	"testing"
)

// readStep is a step that only reads (its Run changes nothing).
type readStep struct{ fakeStep }

func (*readStep) readOnly() {}

// skipStep has nothing to do.
type skipStep struct{ fakeStep }

func (*skipStep) Skip(context.Context, *State) (bool, string) { return true, "nothing to do" }

// The runner takes Deps.Hold (the lease) once, just before the first step
// that changes the account; a run of read-only and skipped steps takes
// nothing and leaves no deploy record.
func TestRunnerHoldsOnlyBeforeTheFirstChange(t *testing.T) {
	t.Parallel()
	holds := 0
	newState := func() *State {
		st := testState(t)
		st.Deps.Hold = func(context.Context) error { holds++; return nil }
		return st
	}

	st := newState()
	pre, wait := &readStep{fakeStep{name: "preflight"}}, &readStep{fakeStep{name: "wait"}}
	if _, err := (&Runner{Steps: []Step{pre, &skipStep{fakeStep{name: "worker"}}, wait}}).Run(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if holds != 0 || pre.runs != 1 || wait.runs != 1 || st.Saved.Dep.LastDeploy != nil {
		t.Errorf("no change: %d holds, runs %d/%d, record %+v; want no hold and no record", holds, pre.runs, wait.runs, st.Saved.Dep.LastDeploy)
	}

	st = newState()
	a, b := &fakeStep{name: "a"}, &fakeStep{name: "b"}
	if _, err := (&Runner{Steps: []Step{&readStep{fakeStep{name: "preflight"}}, a, b}}).Run(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if holds != 1 || a.runs != 1 || b.runs != 1 || st.Saved.Dep.LastDeploy == nil || !st.Saved.Dep.LastDeploy.Succeeded {
		t.Errorf("changes: %d holds, runs %d/%d, record %+v; want one hold and a record", holds, a.runs, b.runs, st.Saved.Dep.LastDeploy)
	}

	// A hold that fails (a gate check, the lease held elsewhere) stops the
	// run before the step changes anything.
	st = newState()
	refused := errors.New("held by another deploy")
	st.Deps.Hold = func(context.Context) error { return refused }
	c := &fakeStep{name: "c"}
	_, err := (&Runner{Steps: []Step{c}}).Run(context.Background(), st)
	var se *StepError
	if !errors.As(err, &se) || !errors.Is(err, refused) || se.Step != "c" || c.runs != 0 {
		t.Errorf("hold refused: err %v, step ran %d times", err, c.runs)
	}
}
