package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moltctl/moltctl/pkg/assistant"
	"github.com/moltctl/moltctl/pkg/clierr"
)

// restartStep restarts the gateway when secrets changed under a running
// assistant: a running gateway keeps the environment it started with.
type restartStep struct{}

func (*restartStep) Name() string { return "restart" }
func (*restartStep) String() string {
	return "restart the gateway if secrets changed while it runs"
}

// assistantClient is the deployed Worker's admin client, for the
// restart and wait steps.
func assistantClient(st *State) (Assistant, error) {
	if st.Deps.Assistants == nil {
		return nil, errors.New("no assistant client")
	}
	if st.Learned.URL == "" || st.Saved.Dep.Access.ServiceTokenClientID == "" || st.Saved.Creds.ServiceTokenClientSecret == "" {
		return nil, errors.New("the Worker's URL or the Access service token is unknown")
	}
	return st.Deps.Assistants(st.Learned.URL, st.Saved.Dep.Access.ServiceTokenClientID, st.Saved.Creds.ServiceTokenClientSecret), nil
}

func (*restartStep) Skip(ctx context.Context, st *State) (bool, string) {
	if len(st.Learned.SecretsChanged) == 0 {
		return true, "no secret changed"
	}
	a, err := assistantClient(st)
	if err != nil {
		return true, err.Error()
	}
	if running, err := a.Running(ctx); err != nil || !running {
		return true, "the gateway is not running; it starts with the new secrets"
	}
	return false, "restart the gateway"
}

func (*restartStep) Run(ctx context.Context, st *State) error {
	a, err := assistantClient(st)
	if err != nil {
		return err
	}
	if err := a.Restart(ctx); err != nil {
		return fmt.Errorf("restart the gateway: %w", err)
	}
	st.Learned.Restarted = true
	st.Deps.logf("restarted the gateway so it picks up %d changed secret(s)", len(st.Learned.SecretsChanged))
	st.Learned.Details["restart"] = fmt.Sprintf("restarted the gateway for %d changed secret(s)", len(st.Learned.SecretsChanged))
	return nil
}

// waitStep waits until the assistant's /api/status says running.
type waitStep struct{}

func (*waitStep) Name() string   { return "wait" }
func (*waitStep) readOnly()      {}
func (*waitStep) String() string { return "wait until the assistant answers" }

func (*waitStep) Skip(_ context.Context, st *State) (bool, string) {
	if st.In.Options.NoWait {
		return true, "--no-wait"
	}
	if st.Saved.locked() {
		return true, "the Access service token's secret is sealed to a key this machine lacks"
	}
	return false, ""
}

func (w *waitStep) Run(ctx context.Context, st *State) error {
	a, err := assistantClient(st)
	if err != nil {
		return err
	}
	timeout := st.In.Options.WaitTimeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	start := st.Deps.now()
	var last time.Duration
	err = a.WaitRunning(ctx, timeout, func(status string, elapsed time.Duration) {
		if elapsed-last >= 10*time.Second {
			last = elapsed
			st.Deps.logf("waiting for the assistant: %s after %s (cold starts take 1-2 minutes)", status, elapsed.Round(time.Second))
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		hint := "check moltctl status and moltctl logs; cold starts can take 2 minutes: run again with a longer --timeout, or --no-wait"
		// What the Worker said (/api/status, a 503's details) may name a
		// failure moltworker's users know.
		ds := assistant.Diagnose(err.Error())
		if len(ds) == 0 {
			ds = w.diagnoseLogs(ctx, st, a)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if len(ds) > 0 {
			hint = ds[0].Hint()
		}
		return clierr.WithHint(fmt.Errorf("the assistant did not answer as running within %s: %w", timeout, err), hint)
	}
	st.Learned.Running, st.Learned.Waited = true, true
	st.Learned.Details["wait"] = fmt.Sprintf("running after %s", st.Deps.since(start).Round(100*time.Millisecond))
	return nil
}

// diagnoseLogs reads the Worker's logs for assistant.LogWindow, probing
// it once, for a failure /api/status did not name. Best effort: a tail
// that cannot be read leaves the generic hint.
func (*waitStep) diagnoseLogs(ctx context.Context, st *State, a Assistant) []assistant.Diagnosis {
	if st.Deps.API == nil {
		return nil
	}
	st.Deps.logf("reading the Worker's logs for up to %s to find why", assistant.LogWindow)
	ds, _ := assistant.DiagnoseLogs(ctx, st.Deps.API, st.WorkerName(), assistant.LogWindow, func(ctx context.Context) {
		_, _ = a.Running(ctx)
	})
	return ds
}
