package root

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/internal/testenv"
	"github.com/moltctl/moltctl/pkg/iostreams"
)

// projectFactory is a Factory for the example project against base.
func projectFactory(t *testing.T, base string) (*cmdutil.Factory, *strings.Builder, *strings.Builder) {
	t.Helper()
	env := map[string]string{
		"CLOUDFLARE_API_BASE_URL": base,
		"CLOUDFLARE_API_TOKEN":    "tok",
		"CLOUDFLARE_ACCOUNT_ID":   "0123456789abcdef0123456789abcdef",
		"ANTHROPIC_API_KEY":       "sk-test",
		"DOCKER_HOST":             "unix:///nonexistent/docker.sock",
	}
	io, _, _, _ := iostreams.Test()
	f := NewFactory(io, func(k string) string { return env[k] }, testenv.CopyExample(t))
	so, se := &strings.Builder{}, &strings.Builder{}
	f.IOStreams.Out, f.IOStreams.ErrOut = so, se
	return f, so, se
}

var hangCommands = [][]string{
	{"doctor"},
	{"doctor", "-o", "json"},
	{"status"},
	{"secrets", "list"},
	{"deploy", "--dry-run", "--yes"},
}

// TestSilentAPIFailsWithinTheBound: an API that never answers makes each
// command fail within the (here short) bound, saying so.
func TestSilentAPIFailsWithinTheBound(t *testing.T) {
	t.Parallel()
	base := "http://" + testenv.SilentServer(t) + "/client/v4"
	for _, args := range hangCommands {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			f, stdout, stderr := projectFactory(t, base)
			f.APIRequestTimeout = 100 * time.Millisecond
			f.APIRetry = cfapi.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, MaxElapsed: 300 * time.Millisecond}
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			code := Run(ctx, f, args)
			el := time.Since(start)
			if ctx.Err() != nil {
				t.Fatalf("still running after 20s (exit %d)", code)
			}
			if code == clierr.ExitOK || code == clierr.ExitInterrupted {
				t.Errorf("exit %d, want a failure", code)
			}
			out := stdout.String() + stderr.String()
			if !strings.Contains(out, "no answer") {
				t.Errorf("output does not say the API did not answer:\n%s", out)
			}
			if strings.Contains(out, "ready to deploy") || strings.Contains(out, `"ok": true`) {
				t.Errorf("reports success:\n%s", out)
			}
			if args[0] == "doctor" && (strings.Contains(out, "token is not valid") || !strings.Contains(out, "check your network")) {
				t.Errorf("doctor blames the token, or does not point at the network:\n%s", out)
			}
			t.Logf("exit %d after %s", code, el.Round(time.Millisecond))
		})
	}
}

// TestInterruptIsExit130: Ctrl-C in the middle of a command is exit 130
// and never a report of success (with the default bounds, only the
// interrupt can end these runs).
func TestInterruptIsExit130(t *testing.T) {
	t.Parallel()
	base := "http://" + testenv.SilentServer(t) + "/client/v4"
	for _, args := range hangCommands {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			f, stdout, stderr := projectFactory(t, base)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			done := make(chan int, 1)
			go func() { done <- Run(ctx, f, args) }()
			var code int
			select {
			case code = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("did not stop within 20s of the interrupt")
			}
			out := stdout.String() + stderr.String()
			if code != clierr.ExitInterrupted {
				t.Errorf("exit %d, want 130\n%s", code, out)
			}
			if strings.Contains(out, "ready to deploy") || strings.Contains(out, `"ok": true`) || strings.Contains(out, "skipped: context canceled") {
				t.Errorf("reports success after an interrupt:\n%s", out)
			}
		})
	}
}

// TestInterruptAfterCleanStop: a command that returns normally after the
// interrupt (logs streams until Ctrl-C) still exits 130, printing nothing.
func TestInterruptAfterCleanStop(t *testing.T) {
	t.Parallel()
	f, _, stderr := testFactory(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if code := Run(ctx, f, []string{"version"}); code != clierr.ExitInterrupted || stderr.Len() != 0 {
		t.Errorf("exit %d, stderr %q; want 130 and nothing", code, stderr)
	}
}
