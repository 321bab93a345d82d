package assistant

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeWorker mimics moltworker's routes closely enough to test the client:
// it fails any request it does not expect.
type fakeWorker struct {
	t      *testing.T
	mu     sync.Mutex
	routes map[string]http.HandlerFunc
	seen   []*http.Request
}

func newFake(t *testing.T, routes map[string]http.HandlerFunc) (*fakeWorker, *httptest.Server) {
	fw := &fakeWorker{t: t, routes: routes}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fw.mu.Lock()
		fw.seen = append(fw.seen, r)
		fw.mu.Unlock()
		if strings.Contains(r.Header.Get("Accept"), "text/html") {
			t.Errorf("%s %s sent Accept: %s", r.Method, r.URL.Path, r.Header.Get("Accept"))
		}
		h, ok := routes[r.Method+" "+r.URL.Path]
		if !ok {
			t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
			http.Error(w, "unexpected", http.StatusTeapot)
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return fw, srv
}

func jsonReply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

var tok = ServiceToken{ClientID: "cid.access", ClientSecret: "s3cret-value"}

func TestStatusSendsTokenAndDecodes(t *testing.T) {
	t.Parallel()
	fw, srv := newFake(t, map[string]http.HandlerFunc{
		"GET /api/status": jsonReply(200, `{"ok":true,"status":"running","processId":"p1"}`),
	})
	st, err := New(srv.URL, tok, nil).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !st.OK || st.Status != StatusRunning || st.ProcessID != "p1" {
		t.Errorf("status = %+v", st)
	}
	r := fw.seen[0]
	if r.Header.Get(HeaderClientID) != tok.ClientID || r.Header.Get(HeaderClientSecret) != tok.ClientSecret {
		t.Errorf("service token headers not sent: %v", r.Header)
	}
	if r.Header.Get("Accept") != "application/json" {
		t.Errorf("Accept = %q", r.Header.Get("Accept"))
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	redirect := func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://team.cloudflareaccess.com/cdn-cgi/access/login/x?redirect_url=/", http.StatusFound)
	}
	tests := []struct {
		name    string
		auth    ServiceToken
		h       http.HandlerFunc
		check   func(error) bool
		inMsg   string
		inHint  string
		isFatal bool
	}{
		{"access redirect", tok, redirect, func(e error) bool { var x *AccessError; return errors.As(e, &x) && !x.NoToken }, "team.cloudflareaccess.com", "service token", true},
		{"access redirect without token", ServiceToken{}, redirect, func(e error) bool { var x *AccessError; return errors.As(e, &x) && x.NoToken }, "no Access service token", "moltctl deploy", true},
		{"access 403 page", tok, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(403)
			_, _ = w.Write([]byte("<html>Forbidden</html>"))
		}, func(e error) bool { var x *AccessError; return errors.As(e, &x) }, "refused", "service token", true},
		{"config error", tok, jsonReply(503, `{"error":"Configuration error","message":"Required environment variables are not configured","missing":["MOLTBOT_GATEWAY_TOKEN","CF_ACCESS_AUD"],"hint":"Set these using: wrangler secret put <VARIABLE_NAME>"}`),
			func(e error) bool { var x *ConfigError; return errors.As(e, &x) && len(x.Missing) == 2 }, "MOLTBOT_GATEWAY_TOKEN, CF_ACCESS_AUD", "moltctl secrets set MOLTBOT_GATEWAY_TOKEN", true},
		{"jwt mismatch", tok, jsonReply(401, `{"error":"Unauthorized","details":"unexpected \"aud\" claim value"}`),
			func(e error) bool { var x *UnauthorizedError; return errors.As(e, &x) && !x.MissingJWT }, "aud", "CF_ACCESS_AUD", true},
		{"jwt missing", tok, jsonReply(401, `{"error":"Unauthorized","hint":"Missing Cloudflare Access JWT. Ensure this route is protected by Cloudflare Access."}`),
			func(e error) bool { var x *UnauthorizedError; return errors.As(e, &x) && x.MissingJWT }, "no Cloudflare Access JWT", "moltctl deploy", true},
		{"access vars unset", tok, jsonReply(500, `{"error":"Cloudflare Access not configured","hint":"Set CF_ACCESS_TEAM_DOMAIN and CF_ACCESS_AUD environment variables"}`),
			func(e error) bool { var x *ConfigError; return errors.As(e, &x) }, "CF_ACCESS_TEAM_DOMAIN", "moltctl secrets set", true},
		{"gateway failed", tok, jsonReply(503, `{"error":"Moltbot gateway failed to start","details":"timeout","hint":"check logs"}`),
			func(e error) bool { var x *GatewayError; return errors.As(e, &x) && x.Status == 503 }, "failed to start", "check logs", false},
		{"nothing deployed", tok, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "There is nothing here yet", 404) },
			func(e error) bool { var x *NotDeployedError; return errors.As(e, &x) }, "no Worker answers", "moltctl deploy", true},
		{"html with 200", tok, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>loading</html>"))
		}, func(e error) bool { return e != nil }, "expected JSON", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newFake(t, map[string]http.HandlerFunc{"GET /api/admin/storage": tt.h})
			_, err := New(srv.URL, tt.auth, nil).Storage(context.Background())
			if err == nil || !tt.check(err) {
				t.Fatalf("err = %#v (%v)", err, err)
			}
			if !strings.Contains(err.Error(), tt.inMsg) {
				t.Errorf("message %q lacks %q", err.Error(), tt.inMsg)
			}
			if h := hintOf(err); !strings.Contains(h, tt.inHint) {
				t.Errorf("hint %q lacks %q", h, tt.inHint)
			}
			if Fatal(err) != tt.isFatal {
				t.Errorf("Fatal = %v", Fatal(err))
			}
			if strings.Contains(err.Error(), tok.ClientSecret) {
				t.Errorf("error text holds the secret: %v", err)
			}
		})
	}
}

func hintOf(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if h, ok := e.(interface{ Hint() string }); ok {
			return h.Hint()
		}
	}
	return ""
}

func TestRedirectIsNotFollowed(t *testing.T) {
	t.Parallel()
	// The secret must never reach another host: a redirect is an error.
	other := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		t.Errorf("redirect followed to %s with headers %v", r.URL, r.Header)
	}))
	defer other.Close()
	_, srv := newFake(t, map[string]http.HandlerFunc{
		"GET /api/status": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/login", http.StatusFound)
		},
	})
	_, err := New(srv.URL, tok, &http.Client{}).Status(context.Background())
	var ae *AccessError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v", err)
	}
}

func TestWaitRunningKicksTheGateway(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	started := false
	kicks := 0
	_, srv := newFake(t, map[string]http.HandlerFunc{
		"GET /api/status": func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			if started {
				jsonReply(200, `{"ok":true,"status":"running","processId":"p2"}`)(w, r)
				return
			}
			jsonReply(200, `{"ok":false,"status":"not_running"}`)(w, r)
		},
		"GET /": func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			kicks++
			started = true
			mu.Unlock()
			if r.Header.Get(HeaderClientID) == "" {
				t.Error("kick sent without the service token")
			}
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>control ui</html>"))
		},
	})
	c := New(srv.URL, tok, nil)
	c.PollInterval = time.Millisecond
	ticks := 0
	st, err := c.WaitRunning(context.Background(), time.Minute, func(*GatewayStatus, time.Duration) { ticks++ })
	if err != nil {
		t.Fatal(err)
	}
	if st.ProcessID != "p2" || kicks != 1 || ticks == 0 {
		t.Errorf("status %+v, kicks %d, ticks %d", st, kicks, ticks)
	}
}

func TestWaitRunningStopsOnFatal(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, map[string]http.HandlerFunc{
		"GET /api/status": jsonReply(200, `{"ok":false,"status":"not_running"}`),
		"GET /":           jsonReply(503, `{"error":"Configuration error","missing":["ANTHROPIC_API_KEY"]}`),
	})
	c := New(srv.URL, tok, nil)
	c.PollInterval = time.Millisecond
	_, err := c.WaitRunning(context.Background(), time.Minute, nil)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Missing[0] != "ANTHROPIC_API_KEY" {
		t.Fatalf("err = %v", err)
	}
}

// moltworker lists the AI providers as one entry of alternatives: the fix
// is one command that runs as written, the others said in prose.
func TestConfigErrorHintIsOneRunnableCommand(t *testing.T) {
	t.Parallel()
	e := &ConfigError{Missing: []string{"ANTHROPIC_API_KEY, OPENAI_API_KEY, or CLOUDFLARE_AI_GATEWAY_API_KEY + CF_AI_GATEWAY_ACCOUNT_ID + CF_AI_GATEWAY_GATEWAY_ID"}}
	h := e.Hint()
	if !strings.Contains(h, "`moltctl secrets set ANTHROPIC_API_KEY`") {
		t.Errorf("hint %q: want the command `moltctl secrets set ANTHROPIC_API_KEY`", h)
	}
	if !strings.Contains(h, "OPENAI_API_KEY") {
		t.Errorf("hint %q: want the alternatives named", h)
	}
}

func TestWaitRunningTimesOut(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, map[string]http.HandlerFunc{
		"GET /api/status": jsonReply(200, `{"ok":false,"status":"not_responding","processId":"p1"}`),
	})
	c := New(srv.URL, tok, nil)
	c.PollInterval = time.Millisecond
	st, err := c.WaitRunning(context.Background(), 20*time.Millisecond, nil)
	var te *WaitTimeoutError
	if !errors.As(err, &te) || st == nil || st.Status != StatusNotResponding {
		t.Fatalf("st %+v err %v", st, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.WaitRunning(ctx, time.Minute, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}

func TestDevicesApprove(t *testing.T) {
	t.Parallel()
	fw, srv := newFake(t, map[string]http.HandlerFunc{
		"GET /api/admin/devices":              jsonReply(200, `{"pending":[{"requestId":"r1","deviceId":"d1","displayName":"Chrome","ts":1700000000000}],"paired":[{"deviceId":"d0","clientId":"cli","approvedAtMs":1690000000000}]}`),
		"POST /api/admin/devices/r1/approve":  jsonReply(200, `{"success":true,"requestId":"r1","message":"Device approved","stdout":"ok","stderr":""}`),
		"POST /api/admin/devices/bad/approve": jsonReply(200, `{"success":false,"requestId":"bad","stderr":"unknown request\nmore"}`),
		"POST /api/admin/devices/approve-all": jsonReply(200, `{"approved":["r1"],"failed":[{"requestId":"r2","success":false,"error":"gone"}],"message":"Approved 1 of 2"}`),
		"POST /api/admin/gateway/restart":     jsonReply(200, `{"success":true,"message":"Gateway process killed, new instance starting...","previousProcessId":"p1"}`),
		"POST /api/admin/storage/sync":        jsonReply(400, `{"success":false,"error":"R2 storage is not configured"}`),
	})
	c := New(srv.URL, tok, nil)
	ctx := context.Background()
	l, err := c.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Pending) != 1 || l.Pending[0].RequestID != "r1" || l.Pending[0].Name() != "Chrome" || l.Pending[0].RequestedAt().Year() != 2023 {
		t.Errorf("pending = %+v", l.Pending)
	}
	if len(l.Paired) != 1 || l.Paired[0].Name() != "cli" || l.Paired[0].ApprovedAt().IsZero() {
		t.Errorf("paired = %+v", l.Paired)
	}
	if r, err := c.Approve(ctx, "r1"); err != nil || !r.Success {
		t.Errorf("approve r1: %+v %v", r, err)
	}
	if _, err := c.Approve(ctx, "bad"); err == nil || !strings.Contains(err.Error(), "unknown request") || strings.Contains(err.Error(), "more") {
		t.Errorf("approve bad: %v", err)
	}
	all, err := c.ApproveAll(ctx)
	if err != nil || len(all.Approved) != 1 || all.Failed[0].Error != "gone" {
		t.Errorf("approve all: %+v %v", all, err)
	}
	rr, err := c.Restart(ctx)
	if err != nil || rr.PreviousProcessID != "p1" {
		t.Errorf("restart: %+v %v", rr, err)
	}
	if _, err := c.Sync(ctx); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Errorf("sync: %v", err)
	}
	for _, r := range fw.seen {
		if r.Method == http.MethodPost && r.Header.Get(HeaderClientSecret) != tok.ClientSecret {
			t.Errorf("%s %s without service token", r.Method, r.URL.Path)
		}
	}
}

func TestServiceTokenStringRedacts(t *testing.T) {
	t.Parallel()
	if s := tok.String(); strings.Contains(s, tok.ClientSecret) {
		t.Errorf("String() = %q", s)
	}
}
