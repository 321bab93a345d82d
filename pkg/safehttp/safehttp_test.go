package safehttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "[::1]": true, "localhost": true, "LOCALHOST.": true,
		"x.workers.dev.localhost": true,
		"10.0.0.1":                false, "192.168.1.1": false, "0.0.0.0": false, "::": false, "example.com": false,
		"localhost.example.com": false, "127.0.0.1.nip.io": false, "mylocalhost": false, "": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	ok := []string{"https://api.cloudflare.com/client/v4", "http://127.0.0.1:8787/client/v4", "http://localhost:1", "http://[::1]:1/x",
		"http://molt.me.workers.dev.localhost:9", "wss://x.example"}
	for _, u := range ok {
		if err := CheckURL("u", u); err != nil {
			t.Errorf("CheckURL(%q) = %v", u, err)
		}
	}
	bad := []string{"http://api.example.com/client/v4", "http://10.0.0.5:5000", "http://localhost.attacker.example", "ftp://x", "api.cloudflare.com", "http://0.0.0.0:1"}
	for _, u := range bad {
		if err := CheckURL("u", u); err == nil {
			t.Errorf("CheckURL(%q) = nil, want an error", u)
		}
	}
	var ie *InsecureError
	if err := CheckURL("the API base URL", "http://api.example.com/x?token=1"); !errors.As(err, &ie) || strings.Contains(err.Error(), "token=1") {
		t.Errorf("err = %v", err)
	}
}

// target is a server that counts what reaches it.
func target(t *testing.T) (*httptest.Server, *atomic.Int32, *atomic.Value) {
	t.Helper()
	var n atomic.Int32
	var seen atomic.Value
	seen.Store("")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		b, _ := io.ReadAll(r.Body)
		seen.Store(r.Header.Get("Authorization") + "|" + string(b))
	}))
	t.Cleanup(srv.Close)
	return srv, &n, &seen
}

func redirector(t *testing.T, to string, code int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to+r.URL.Path, code)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestRedirects: nothing crosses to another port (the same host) or host,
// and nothing with a body or a token is redirected even on the same origin.
func TestRedirects(t *testing.T) {
	t.Parallel()
	other, hits, seen := target(t)
	otherHost := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	for _, tt := range []struct {
		name   string
		to     string
		method string
		body   string
		token  bool
		code   int
	}{
		{"another port, token", other.URL, "GET", "", true, http.StatusFound},
		{"another port, body", other.URL, "PUT", "secret-body", false, http.StatusTemporaryRedirect},
		{"another port, plain", other.URL, "GET", "", false, http.StatusMovedPermanently},
		{"another host", otherHost, "GET", "", false, http.StatusFound},
		{"308 with body", other.URL, "POST", "secret-body", true, http.StatusPermanentRedirect},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			from := redirector(t, tt.to, tt.code)
			for _, c := range []*http.Client{NewClient(), {Transport: &Transport{}}} {
				var body io.Reader
				if tt.body != "" {
					body = strings.NewReader(tt.body)
				}
				req, _ := http.NewRequest(tt.method, from.URL+"/x", body)
				if tt.token {
					req.Header.Set("Authorization", "Bearer secret-token")
				}
				res, err := c.Do(req)
				if err == nil {
					res.Body.Close()
				}
				if !errors.Is(err, ErrRedirect) {
					t.Errorf("err = %v, want a refused redirect", err)
				}
			}
			if hits.Load() != 0 {
				t.Errorf("the other server got %d request(s): %q", hits.Load(), seen.Load())
			}
		})
	}
	// Same origin, nothing to protect: followed.
	var n atomic.Int32
	same := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			http.Redirect(w, r, "/next", http.StatusFound)
		}
	}))
	defer same.Close()
	res, err := NewClient().Get(same.URL)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("same-origin redirect: %v", err)
	}
	res.Body.Close()
	// Same origin with a token: refused.
	req, _ := http.NewRequest("GET", same.URL, nil)
	req.Header.Set("Authorization", "Bearer secret-token")
	n.Store(0)
	if _, err := NewClient().Do(req); !errors.Is(err, ErrRedirect) {
		t.Errorf("same-origin redirect with a token: %v", err)
	}
}

func TestTransportRefusesPlainHTTP(t *testing.T) {
	t.Parallel()
	req, _ := http.NewRequest("GET", "http://192.0.2.1:9/x", nil)
	_, err := (&Transport{}).RoundTrip(req)
	var ie *InsecureError
	if !errors.As(err, &ie) {
		t.Errorf("err = %v, want an InsecureError", err)
	}
}

// TestIdleTimeout: a server that sends headers and then nothing is
// abandoned after Idle; one that trickles faster than Idle is not.
func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		if r.URL.Path == "/trickle" {
			for range 6 {
				w.Write([]byte("x"))
				w.(http.Flusher).Flush()
				time.Sleep(20 * time.Millisecond)
			}
			return
		}
		w.(http.Flusher).Flush()
		<-release
	}))
	defer srv.Close()
	defer close(release)
	// Idle is 15 times the trickle's gap, so a busy machine (the tests run
	// in parallel) does not stall the trickle past it.
	c := &http.Client{Transport: &Transport{Idle: 300 * time.Millisecond}}
	start := time.Now()
	res, err := c.Get(srv.URL + "/hang")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(res.Body)
	res.Body.Close()
	var ie *IdleError
	if !errors.As(err, &ie) || time.Since(start) > 5*time.Second {
		t.Errorf("err = %v after %s, want an IdleError", err, time.Since(start))
	}
	res, err = c.Get(srv.URL + "/trickle")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || len(b) != 6 {
		t.Errorf("trickle: %q, %v", b, err)
	}
	// No headers at all: also bounded.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", hang.URL, nil)
	if _, err := c.Do(req); !errors.As(err, &ie) {
		t.Errorf("no headers: err = %v, want an IdleError", err)
	}
}
