package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/cmd/internal/opstest"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogsStreamsFilteredJSONAndStopsOnCancel(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	fx.Deploy(t)
	f, ios, _ := fx.Factory()
	out := &syncBuf{}
	ios.Out = out
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- logsRun(ctx, &LogsOptions{Factory: f, Status: []string{"4xx"}, Format: "json"})
	}()

	hc := *f.HTTPClient
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get := func(path string) {
		req, _ := http.NewRequest(http.MethodGet, fx.URL()+path, nil)
		req.Header.Set("Accept", "application/json")
		// Requests Access turns away never reach the Worker: send the service token.
		req.Header.Set("CF-Access-Client-Id", fx.Deployment.Access.ServiceTokenClientID)
		req.Header.Set("CF-Access-Client-Secret", fx.Credentials.ServiceTokenClientSecret)
		if res, err := hc.Do(req); err == nil {
			res.Body.Close()
		}
	}
	// Until the tail is connected, requests are not seen: keep sending.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "\n") && time.Now().Before(deadline) {
		get("/api/status")    // 200: filtered out
		get("/debug/version") // 404: debug routes are disabled
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("logs: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatal("no events")
	}
	for _, l := range lines {
		var ev Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("not one JSON object per line: %q", l)
		}
		if ev.Event.Response == nil || ev.Event.Response.Status != 404 {
			t.Errorf("event passed the 4xx filter: %s", l)
		}
		if strings.Contains(l, fx.Credentials.ServiceTokenClientSecret) {
			t.Errorf("secret header in the tail: %s", l)
		}
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	ev := func(outcome string, status int, method, url, log string) *Event {
		e := &Event{Outcome: outcome, Logs: []Log{{Message: []any{log}, Level: "log"}}}
		e.Event.Request = &struct {
			URL    string `json:"url"`
			Method string `json:"method"`
		}{url, method}
		e.Event.Response = &struct {
			Status int `json:"status"`
		}{status}
		return e
	}
	tests := []struct {
		name string
		opts LogsOptions
		ev   *Event
		want bool
	}{
		{"no filter", LogsOptions{}, ev("ok", 200, "GET", "/", ""), true},
		{"ok keeps ok", LogsOptions{Status: []string{"ok"}}, ev("ok", 500, "GET", "/", ""), true},
		{"error drops ok", LogsOptions{Status: []string{"error"}}, ev("ok", 500, "GET", "/", ""), false},
		{"error keeps exception", LogsOptions{Status: []string{"error"}}, ev("exception", 500, "GET", "/", ""), true},
		{"5xx", LogsOptions{Status: []string{"5xx"}}, ev("ok", 503, "GET", "/", ""), true},
		{"503 exact", LogsOptions{Status: []string{"503"}}, ev("ok", 502, "GET", "/", ""), false},
		{"either", LogsOptions{Status: []string{"error", "4xx"}}, ev("ok", 401, "GET", "/", ""), true},
		{"method", LogsOptions{Method: []string{"post"}}, ev("ok", 200, "GET", "/", ""), false},
		{"search url", LogsOptions{Search: "/api/admin"}, ev("ok", 200, "GET", "https://x/api/admin/devices", ""), true},
		{"search log", LogsOptions{Search: "gateway"}, ev("ok", 200, "GET", "/", "[gateway] started"), true},
		{"search miss", LogsOptions{Search: "nothing"}, ev("ok", 200, "GET", "/", "[gateway] started"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := newFilter(&tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := f(tt.ev, nil); got != tt.want {
				t.Errorf("filter = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := parseStatus("teapot"); err == nil {
		t.Error("bad status accepted")
	}
	// Outcome-only filters go to the server; an HTTP status filter cannot.
	if f := serverFilters(&LogsOptions{Status: []string{"error"}}); len(f) != 1 || f[0]["outcome"] == nil {
		t.Errorf("server filters: %v", f)
	}
	if f := serverFilters(&LogsOptions{Status: []string{"error", "5xx"}}); len(f) != 0 {
		t.Errorf("server filters with 5xx: %v", f)
	}
}
