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

func (st *State) assistant() (Assistant, error) {
	if st.Assistants == nil {
		return nil, errors.New("no assistant client")
	}
	if st.URL == "" || st.Dep.Access.ServiceTokenClientID == "" || st.Creds.ServiceTokenClientSecret == "" {
		return nil, errors.New("the Worker's URL or the Access service token is unknown")
	}
	return st.Assistants(st.URL, st.Dep.Access.ServiceTokenClientID, st.Creds.ServiceTokenClientSecret), nil
}

func (*restartStep) Skip(_ context.Context, st *State) (bool, string) {
	if len(st.SecretsChanged) == 0 {
		return true, "no secret changed"
	}
	return false, "restart the gateway"
}

func (*restartStep) Run(ctx context.Context, st *State) error {
	a, err := st.assistant()
	if err != nil {
		return Skipped("%v", err)
	}
	running, err := a.Running(ctx)
	if err != nil || !running {
		return Skipped("the gateway is not running; it starts with the new secrets")
	}
	if err := a.Restart(ctx); err != nil {
		return fmt.Errorf("restart the gateway: %w", err)
	}
	st.Restarted = true
	st.logf("restarted the gateway so it picks up %d changed secret(s)", len(st.SecretsChanged))
	st.Details["restart"] = fmt.Sprintf("restarted the gateway for %d changed secret(s)", len(st.SecretsChanged))
	return nil
}

// waitStep waits until the assistant's /api/status says running.
type waitStep struct{}

func (*waitStep) Name() string   { return "wait" }
func (*waitStep) String() string { return "wait until the assistant answers" }

func (*waitStep) Skip(_ context.Context, st *State) (bool, string) {
	if st.Options.NoWait {
		return true, "--no-wait"
	}
	return false, ""
}

func (*waitStep) Run(ctx context.Context, st *State) error {
	if st.locked() {
		return Skipped("the Access service token's secret is sealed to a key this machine lacks")
	}
	a, err := st.assistant()
	if err != nil {
		return err
	}
	timeout := st.Options.WaitTimeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	start := time.Now()
	var last time.Duration
	err = a.WaitRunning(ctx, timeout, func(status string, elapsed time.Duration) {
		if elapsed-last >= 10*time.Second {
			last = elapsed
			st.logf("waiting for the assistant: %s after %s (cold starts take 1-2 minutes)", status, elapsed.Round(time.Second))
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
			ds = st.diagnoseLogs(ctx, a)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if len(ds) > 0 {
			hint = ds[0].Hint()
		}
		return clierr.WithHint(fmt.Errorf("the assistant did not answer as running within %s: %w", timeout, err), hint)
	}
	st.Running, st.Waited = true, true
	st.Details["wait"] = fmt.Sprintf("running after %s", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// diagnoseLogs reads the Worker's logs for assistant.LogWindow, probing
// it once, for a failure /api/status did not name. Best effort: a tail
// that cannot be read leaves the generic hint.
func (st *State) diagnoseLogs(ctx context.Context, a Assistant) []assistant.Diagnosis {
	if st.API == nil {
		return nil
	}
	st.logf("reading the Worker's logs for up to %s to find why", assistant.LogWindow)
	ds, _ := assistant.DiagnoseLogs(ctx, st.API, st.WorkerName(), assistant.LogWindow, func(ctx context.Context) {
		_, _ = a.Running(ctx)
	})
	return ds
}
