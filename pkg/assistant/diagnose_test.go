package assistant

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestDiagnoseKnownFailures(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		text, id, issue string
	}{
		{"Gateway exited: Config invalid\n- channels.telegram.dmPolicy: Invalid input", "openclaw-config-invalid", "#57"},
		{"Error: The container is not running, consider calling start()", "container-not-running", "#291"},
		{"gateway: lock timeout after 10000ms", "gateway-started-twice", "#289"},
		{"Error: listen EADDRINUSE: address already in use 0.0.0.0:18789", "gateway-started-twice", "#289"},
		{"container exited with code 126", "start-script-crlf", "#64"},
	} {
		ds := Diagnose("noise before", tt.text)
		if len(ds) != 1 || ds[0].ID != tt.id || !strings.Contains(ds[0].Hint(), tt.issue) {
			t.Errorf("Diagnose(%q) = %+v, want %s with %s", tt.text, ds, tt.id, tt.issue)
		}
	}
	if ds := Diagnose("the gateway is starting", ""); len(ds) != 0 {
		t.Errorf("an ordinary status was diagnosed: %+v", ds)
	}
}

// The hint of a failed wait names the cause the Worker reported.
func TestWaitTimeoutNamesTheCause(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, map[string]http.HandlerFunc{
		"GET /api/status": jsonReply(200, `{"ok":false,"status":"error","error":"The container is not running, consider calling start()"}`),
	})
	c := New(srv.URL, ServiceToken{}, nil)
	c.PollInterval = 10 * time.Millisecond
	_, err := c.WaitRunning(context.Background(), 50*time.Millisecond, nil)
	var wt *WaitTimeoutError
	if !errors.As(err, &wt) || !strings.Contains(wt.Hint(), "moltctl restart") || !strings.Contains(wt.Hint(), "#291") {
		t.Fatalf("err = %v, hint = %q", err, wt.Hint())
	}
	// A 503 whose details say the config is invalid.
	ge := &GatewayError{Status: 503, Message: "Moltbot gateway failed to start", Details: "Process exited with code 1: Config invalid", Fix: "check logs"}
	if !strings.Contains(ge.Hint(), "moltctl secrets check") {
		t.Errorf("GatewayError hint = %q", ge.Hint())
	}
}

func TestAwakeFarPastSleepAfter(t *testing.T) {
	t.Parallel()
	p := t.TempDir() + "/awake.json"
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if got := ObserveAwake(p, "proc-1", t0); !got.Equal(t0) {
		t.Fatalf("first sight = %v", got)
	}
	if got := ObserveAwake(p, "proc-1", t0.Add(30*time.Hour)); !got.Equal(t0) {
		t.Fatalf("same process later = %v, want %v", got, t0)
	}
	// A new process (the container slept and woke) starts again.
	if got := ObserveAwake(p, "proc-2", t0.Add(31*time.Hour)); !got.Equal(t0.Add(31 * time.Hour)) {
		t.Fatalf("new process = %v", got)
	}
	if msg, _ := SleepWarning("10m", 30*time.Hour); !strings.Contains(msg, "stayed up") || !strings.Contains(msg, "10m") {
		t.Errorf("30 h with 10m: %q", msg)
	}
	if msg, _ := SleepWarning("10m", 20*time.Minute); msg != "" {
		t.Errorf("20 min with 10m: %q", msg)
	}
	if msg, fix := SleepWarning("", 0); !strings.Contains(msg, "never sleeps") || !strings.Contains(fix, "SANDBOX_SLEEP_AFTER") {
		t.Errorf("never: %q %q", msg, fix)
	}
}
