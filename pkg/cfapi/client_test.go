package cfapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func testClient(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return New(Options{BaseURL: srv.URL + "/client/v4", Token: "tok", AccountID: "acc",
		Retry: RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}})
}

func TestDoDecodesResultAndSendsToken(t *testing.T) {
	t.Parallel()
	c := testClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/client/v4/accounts/acc/r2/buckets" || r.Header.Get("Authorization") != "Bearer tok" {
			t.Errorf("got %s %s auth=%q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"success":true,"errors":[],"messages":[],"result":{"buckets":[{"name":"b"}]}}`))
	})
	var out struct{ Buckets []struct{ Name string } }
	if err := c.Do(context.Background(), Request{Method: "GET", Path: c.AccountPath("r2/buckets")}, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Buckets) != 1 || out.Buckets[0].Name != "b" {
		t.Errorf("out = %+v", out)
	}
}

func TestDoTypedErrors(t *testing.T) {
	t.Parallel()
	c := testClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"success":false,"errors":[{"code":10042,"message":"Please enable R2 through the Cloudflare Dashboard."}],"messages":[],"result":null}`))
	})
	err := c.Do(context.Background(), Request{Method: "POST", Path: c.AccountPath("r2/buckets"), JSON: map[string]string{"name": "b"}}, nil)
	if !HasCode(err, CodeR2NotEnabled) || !IsStatus(err, 403) {
		t.Fatalf("err = %v", err)
	}
	if want := "POST /accounts/acc/r2/buckets: Please enable R2 through the Cloudflare Dashboard. [code: 10042]"; err.Error() != want {
		t.Errorf("err = %q\nwant %q", err, want)
	}
}

func TestDoNonJSONBodyNamesRequest(t *testing.T) {
	t.Parallel()
	c := testClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>gateway</html>"))
	})
	err := c.Do(context.Background(), Request{Method: "GET", Path: "user/tokens/verify"}, nil)
	if err == nil || !strings.Contains(err.Error(), "GET /user/tokens/verify") || !strings.Contains(err.Error(), "non-JSON") {
		t.Fatalf("err = %v", err)
	}
}

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		method    string
		status    int
		idem      bool
		wantCalls int32
	}{
		{"GET retried on 503", "GET", 503, false, 3},
		{"POST not retried on 503", "POST", 503, false, 1},
		{"idempotent POST retried", "POST", 502, true, 3},
		{"POST retried on 429", "POST", 429, false, 3},
		{"404 never retried", "GET", 404, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			c := testClient(t, func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(tt.status)
				w.Write([]byte(`{"success":false,"errors":[{"code":1,"message":"x"}],"result":null}`))
			})
			c.Do(context.Background(), Request{Method: tt.method, Path: "x", Idempotent: tt.idem}, nil)
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestRetryRecovers(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	c := testClient(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(500)
			return
		}
		w.Write([]byte(`{"success":true,"errors":[],"result":{"id":"1"}}`))
	})
	var out struct{ ID string }
	if err := c.Do(context.Background(), Request{Method: "GET", Path: "x"}, &out); err != nil || out.ID != "1" {
		t.Fatalf("out=%+v err=%v", out, err)
	}
}

func TestTraceRedacts(t *testing.T) {
	t.Parallel()
	var trace strings.Builder
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"success":true,"errors":[],"result":null}`))
	}))
	defer srv.Close()
	c := New(Options{BaseURL: srv.URL, Token: "super-secret-token", Trace: &trace})
	c.Do(context.Background(), Request{Method: "PUT", Path: "x?value=hidden", JSON: map[string]string{"text": "secret-value"}}, nil)
	out := trace.String()
	for _, leak := range []string{"super-secret-token", "secret-value", "hidden"} {
		if strings.Contains(out, leak) {
			t.Errorf("trace leaks %q: %s", leak, out)
		}
	}
	if !strings.Contains(out, "Authorization: [redacted]") || !strings.Contains(out, "PUT ") {
		t.Errorf("trace = %q", out)
	}
}
