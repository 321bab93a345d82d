package cfemu

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestGuardHost: a request whose Host a DNS rebinding attack could produce
// is refused, before it can read the state or reach a Worker.
func TestGuardHost(t *testing.T) {
	t.Parallel()
	srv := New(Options{}).Start()
	defer srv.Close()
	tests := []struct {
		host string
		want int
	}{
		{"attacker.example", http.StatusMisdirectedRequest},
		{"attacker.example:8787", http.StatusMisdirectedRequest},
		{"127.0.0.1.nip.io", http.StatusMisdirectedRequest},
		{"localhost.attacker.example", http.StatusMisdirectedRequest},
		{"127.0.0.1:8787", http.StatusOK},
		{"localhost", http.StatusOK},
		{"LOCALHOST:1", http.StatusOK},
		{"api.localhost", http.StatusOK},
		{"[::1]:8787", http.StatusOK},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", srv.URL()+"/__emulator/state", nil)
		req.Host = tt.host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.want {
			t.Errorf("Host %q: %d, want %d", tt.host, res.StatusCode, tt.want)
		}
		if tt.want != http.StatusOK && strings.Contains(string(b), srv.Token()) {
			t.Errorf("Host %q: refused answer holds the token", tt.host)
		}
	}
	// A deployed Worker's name is served, with or without .localhost.
	for _, host := range []string{"molt.sub.workers.dev", "molt.sub.workers.dev.localhost:1"} {
		req, _ := http.NewRequest("GET", srv.URL()+"/", nil)
		req.Host = host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusMisdirectedRequest {
			t.Errorf("Host %q refused", host)
		}
	}
}

// TestGuardControlContentType: a web page can POST a form or text/plain
// anywhere without a preflight; control endpoints refuse both.
func TestGuardControlContentType(t *testing.T) {
	t.Parallel()
	srv := New(Options{}).Start()
	defer srv.Close()
	post := func(ct, auth string) int {
		req, _ := http.NewRequest("POST", srv.URL()+"/__emulator/tokens", strings.NewReader(`{"value":"minted"}`))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"} {
		if code := post(ct, ""); code != http.StatusUnsupportedMediaType {
			t.Errorf("Content-Type %q: %d, want 415", ct, code)
		}
	}
	if code := post("text/plain", "wrong"); code != http.StatusUnsupportedMediaType {
		t.Errorf("wrong token: %d, want 415", code)
	}
	srv.View(func(st *State) {
		if st.Tokens["minted"] != nil {
			t.Fatal("a refused request minted a token")
		}
	})
	if code := post("application/json; charset=utf-8", ""); code != http.StatusOK {
		t.Errorf("application/json: %d, want 200", code)
	}
	if code := post("", srv.Token()); code != http.StatusOK {
		t.Errorf("bearer token: %d, want 200", code)
	}
}

func TestListenLoopbackOnly(t *testing.T) {
	t.Parallel()
	srv := New(Options{})
	if _, err := srv.Listen("0.0.0.0:0"); err == nil || !strings.Contains(err.Error(), "loopback") {
		srv.Close()
		t.Fatalf("Listen(0.0.0.0:0) = %v, want a loopback error", err)
	}
	srv = New(Options{ListenAny: true})
	if _, err := srv.Listen("0.0.0.0:0"); err != nil {
		t.Fatal(err)
	}
	srv.Close()
}
