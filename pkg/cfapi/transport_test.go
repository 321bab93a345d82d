package cfapi

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/internal/testenv"
	"github.com/moltctl/moltctl/pkg/safehttp"
)

// TestRedirectToAnotherPortCarriesNothing: a 307 (which would re-send the
// secrets body) and a 302 (which would forward the token to the same host
// on another port) are refused; the other server gets nothing.
func TestRedirectToAnotherPortCarriesNothing(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		t.Errorf("other server got %s %s auth=%q body=%q", r.Method, r.URL.Path, r.Header.Get("Authorization"), b)
	}))
	defer other.Close()
	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound, http.StatusMovedPermanently} {
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, code)
		}))
		c := New(Options{BaseURL: api.URL + "/client/v4", Token: "secret-token", AccountID: "acc", Retry: NoRetry})
		err := c.Do(context.Background(), Request{Method: "PUT", Path: c.AccountPath("workers/scripts/w/secrets"),
			JSON: map[string]string{"name": "K", "text": "secret-value"}}, nil)
		if !errors.Is(err, safehttp.ErrRedirect) {
			t.Errorf("%d: err = %v, want a refused redirect", code, err)
		}
		if err != nil && (strings.Contains(err.Error(), "secret-token") || strings.Contains(err.Error(), "secret-value")) {
			t.Errorf("%d: error shows a secret: %v", code, err)
		}
		err = c.Do(context.Background(), Request{Method: "GET", Path: "user/tokens/verify"}, nil)
		if !errors.Is(err, safehttp.ErrRedirect) {
			t.Errorf("%d GET: err = %v, want a refused redirect", code, err)
		}
		api.Close()
	}
	if hits.Load() != 0 {
		t.Errorf("other server got %d requests", hits.Load())
	}
}

// TestPlainHTTPBaseRefused: the token never goes to a non-loopback host in
// clear text; nothing is even dialled.
func TestPlainHTTPBaseRefused(t *testing.T) {
	t.Parallel()
	dialled := false
	hc := &http.Client{Transport: &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		dialled = true
		return nil, errors.New("no")
	}}}
	for _, base := range []string{"http://api.example.com/client/v4", "http://10.1.2.3:8787/client/v4", "http://localhost.example.com/client/v4"} {
		c := New(Options{BaseURL: base, Token: "tok", HTTPClient: hc})
		err := c.Do(context.Background(), Request{Method: "GET", Path: "user/tokens/verify"}, nil)
		var ie *safehttp.InsecureError
		if !errors.As(err, &ie) {
			t.Errorf("%s: err = %v, want an InsecureError", base, err)
		}
	}
	if dialled {
		t.Error("a connection was attempted")
	}
}

// TestHangingAPIIsBounded: an API that accepts connections and never
// answers fails each attempt after RequestTimeout and the whole call,
// retries included, after MaxElapsed — with an error saying so.
func TestHangingAPIIsBounded(t *testing.T) {
	t.Parallel()
	addr := testenv.SilentServer(t)
	c := New(Options{BaseURL: "http://" + addr + "/client/v4", Token: "tok", RequestTimeout: 100 * time.Millisecond,
		Retry: RetryPolicy{MaxAttempts: 10, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxElapsed: time.Second}})
	start := time.Now()
	err := c.Do(context.Background(), Request{Method: "GET", Path: "user/tokens/verify"}, nil)
	el := time.Since(start)
	var te *TimeoutError
	if !errors.As(err, &te) || el > 5*time.Second {
		t.Fatalf("err = %v after %s, want a TimeoutError within the bound", err, el)
	}
	if !strings.Contains(err.Error(), "no answer from "+addr+" within 1s") || te.Attempts < 2 {
		t.Errorf("err = %v (attempts %d)", err, te.Attempts)
	}
	// Not the caller's deadline: callers that skip on their own
	// (preflight's checks) must see a failure.
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v matches context.DeadlineExceeded", err)
	}
	// A POST that is not idempotent is not repeated: one attempt, its own timeout.
	err = c.Do(context.Background(), Request{Method: "POST", Path: "x", JSON: map[string]string{}}, nil)
	var tr *TransportError
	if !errors.As(err, &tr) || !strings.Contains(err.Error(), "no answer within 100ms") {
		t.Errorf("POST: err = %v", err)
	}
	// Ctrl-C stays a cancellation, not a timeout.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if err := c.Do(ctx, Request{Method: "GET", Path: "user/tokens/verify"}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}
}

// TestAttemptTimeoutGrowsWithTheBody: a Worker bundle on a slow uplink
// gets ten more seconds per MiB, and the call's deadline is never shorter
// than its one attempt.
func TestAttemptTimeoutGrowsWithTheBody(t *testing.T) {
	t.Parallel()
	c := New(Options{RequestTimeout: time.Second})
	for n, want := range map[int]time.Duration{0: time.Second, 1 << 20: time.Second, 1<<20 + 1: 11 * time.Second, 3 << 20: 21 * time.Second} {
		if got := c.attemptTimeout(n); got != want {
			t.Errorf("attemptTimeout(%d) = %s, want %s", n, got, want)
		}
	}
}
