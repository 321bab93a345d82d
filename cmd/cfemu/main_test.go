package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunFlagErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--scenario", "rich"}, "--scenario"},
		{[]string{"--fault-kinds", "418"}, "unknown fault"},
		{[]string{"--fail-at", "0"}, "--fail-at"},
		{[]string{"--fault-rate", "2"}, "--fault-rate"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"--addr", "0.0.0.0:0"}, "not a loopback address"},
		{[]string{"--addr", ":0"}, "--listen-any"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			err := run(context.Background(), tt.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestRunServes starts the command, reads its output contract, makes a
// faulted and a normal request, and checks the log and the saved state.
func TestRunServes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logPath, statePath := filepath.Join(dir, "log.jsonl"), filepath.Join(dir, "state.json")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--token", "tok", "--account-id", "0123456789abcdef0123456789abcdef",
			"--scenario", "new-account", "--log", logPath, "--state", statePath, "--fail-at", "1", "--fault-kinds", "503"}, pw)
		pw.Close()
	}()
	lines := map[string]string{}
	sc := bufio.NewScanner(pr)
	for len(lines) < 5 && sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ": ")
		lines[k] = v
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if lines["token"] != "tok" || lines["account"] != "0123456789abcdef0123456789abcdef" || !strings.HasSuffix(lines["api"], "/client/v4") ||
		lines["registry"] == "" || !strings.Contains(lines["workers_dev"], "{name}.{subdomain}.workers.dev.localhost:") {
		t.Fatalf("output = %v", lines)
	}
	get := func() int {
		req, _ := http.NewRequest("GET", lines["api"]+"/user/tokens/verify", nil)
		req.Header.Set("Authorization", "Bearer tok")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if a, b := get(), get(); a != 503 || b != 200 {
		t.Errorf("statuses %d %d, want 503 200", a, b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	logLines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var first map[string]any
	if len(logLines) != 2 || json.Unmarshal([]byte(logLines[0]), &first) != nil || first["fault"] != "503" || first["status"] != float64(503) {
		t.Errorf("log = %s", b)
	}
	var st struct {
		Account struct {
			WorkersPaid bool   `json:"workers_paid"`
			Subdomain   string `json:"subdomain"`
		}
	}
	if b, err := os.ReadFile(statePath); err != nil || json.Unmarshal(b, &st) != nil || st.Account.WorkersPaid || st.Account.Subdomain != "" {
		t.Errorf("saved state %s (%v)", b, err)
	}
}

// TestRunListenAny serves on every interface only when asked to.
func TestRunListenAny(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "0.0.0.0:0", "--listen-any"}, pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "api: http://") || strings.Contains(sc.Text(), "127.0.0.1") {
		t.Fatalf("first line %q, err %v", sc.Text(), sc.Err())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
